"""The branch's annual work report, in the seed's structure, every number and list filled from the records.

The same context renders as HTML (the dashboard, the API) and as PDF (WeasyPrint, with a CJK font from the
system's fontconfig: Debian's fonts-noto-cjk)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.web import read_transaction
from services.audit import facts as facts_module
from services.audit.demonstration import assess
from services.audit.periods import parse_period
from services.audit.queries import require_branch
from services.audit.scorecard import scorecard
from services.audit.scorecard.care import HOLIDAY_LABELS
from services.audit.store import SqlStore

TEMPLATES = Path(__file__).parent / "templates"
environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
CHANNEL_LABELS = {"visit": "走访谈心", "phone": "电话沟通", "home_study": "送学上门"}


def annual_context(tenant_id: str, branch_id: str, year: int, today: date) -> dict:
    period = parse_period(str(year))
    with read_transaction(tenant_id) as conn:
        loaded = facts_module.load(SqlStore(conn), tenant_id, period.start - timedelta(days=45), period.end, branch_id)
        bureau = conn.execute("SELECT name FROM bureaus WHERE bureau_id = %s", (tenant_id,)).fetchone()
    require_branch(loaded, branch_id)
    return build_context(loaded, branch_id, year, today, bureau["name"] if bureau else "")


def build_context(loaded, branch_id: str, year: int, today: date, bureau_name: str) -> dict:
    """Numbers and lists of the report from a year's scorecard and the facts behind it (pure)."""
    period = parse_period(str(year))
    card = scorecard(loaded, branch_id, period, today)
    figures = card["figures"]
    activities = [a for a in loaded.of("activities", branch_id)
                  if a["status"] == "held" and period.start <= a["on_date"] <= period.end]
    committee = figures["committee"]
    posts = committee["posts"]
    numbers = {
        "retirees": figures["members"]["retirees"], "retiree_party_members": figures["members"]["retiree_party_members"],
        "members_total": figures["members"]["total"], "party_members": figures["members"]["party_members"],
        "deputies": sum(1 for p in posts if p["post"] == "deputy_secretary"),
        "deputies_in_service": sum(1 for p in posts if p["post"] == "deputy_secretary" and p["unit"]),
        "committee_members": sum(1 for p in posts if p["post"] == "member"),
        "allowance_months": (committee["allowance"] or {}).get("done", 0),
        "allowance_total": (committee["allowance"] or {}).get("paid_total", "0.00"),
        "committee_meetings": figures["meetings"]["committee_meeting"]["done"],
        "committee_meetings_required": figures["meetings"]["committee_meeting"]["required"],
        "general_meetings": figures["meetings"]["general_meeting"]["done"],
        "lectures": figures["meetings"]["party_lecture"]["done"],
        "study_sessions": sum(1 for a in activities if a["kind"] == "study"),
        "study_hours": str(sum((Decimal(a["hours"]) for a in activities if a["kind"] == "study" and a["hours"]),
                               Decimal(0))),
        "coverage_percent": round((figures["coverage"]["rate"] or 0) * 100, 1),
        "theme_days": figures["meetings"]["theme_day"]["done"], "briefings": figures["briefings"]["done"],
        "newspapers": figures["care"]["newspapers"]["done"], "health_checks": figures["care"]["health_checks"]["done"],
        "birthdays": figures["care"]["birthdays"]["done"], "holiday_visits": figures["care"]["holiday_visits"]["done"],
        "talks": figures["talks"]["count"], "talk_audience": figures["talks"]["audience"],
        "pledges": figures["pledges"]["count"], "teams": figures["teams"]["count"],
        "community": figures["community"]["count"], "inspections": figures["inspections"]["count"],
        "findings": len(card["findings"]), "year": year, "next_year": year + 1,
    }
    outreach = [o for o in loaded.of("outreach", branch_id) if period.start <= o["on_date"] <= period.end]
    for channel in CHANNEL_LABELS:
        numbers[f"outreach_{channel}"] = sum(1 for o in outreach if o["channel"] == channel)
    return {"year": year, "bureau": bureau_name, "branch": card["branch"], "numbers": numbers,
            "election": _election(committee, year), "posts": posts, "centre": figures["centre"],
            "theme_day_places": _places(activities, "theme_day"), "holidays": _holidays(figures),
            "talk_topics": [t["topic"] for t in loaded.of("talks", branch_id) if period.start <= t["on_date"] <= period.end],
            "teams": figures["teams"]["teams"], "inspections": figures["inspections"]["titles"],
            "channels": CHANNEL_LABELS, "findings": card["findings"], "compliant": card["compliant"],
            "demonstration": assess(card), "generated_on": today.isoformat()}


def _election(committee: dict, year: int) -> dict | None:
    term = committee["term"]
    if term is None:
        return None
    start = date.fromisoformat(term["starts_on"])
    when = "去年" if start.year == year - 1 else ("今年" if start.year == year else f"{start.year}年")
    return {"when": when, "month": start.month, "starts_on": term["starts_on"], "ends_on": term["ends_on"]}


def _places(activities: list[dict], kind: str) -> list[str]:
    seen: list[str] = []
    for activity in activities:
        if activity["kind"] == kind and activity["place"] and activity["place"] not in seen:
            seen.append(activity["place"])
    return seen


def _holidays(figures: dict) -> list[dict]:
    return [{"label": HOLIDAY_LABELS.get(h["holiday"], h["holiday"]), "done": h["done"], "required": h["required"]}
            for h in figures["care"]["holiday_visits"]["holidays"]]


def render_html(context: dict) -> str:
    return environment.get_template("report_annual.html").render(**context)


def render_pdf(context: dict) -> bytes:
    from weasyprint import HTML  # imported here: WeasyPrint loads Pango when first used
    return HTML(string=render_html({**context, "for_print": True})).write_pdf()
