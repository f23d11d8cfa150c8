"""The branch's annual work report, in the seed's structure, every number and list filled from the records.

The same context renders as HTML (the dashboard, the API) and as PDF (WeasyPrint, with a CJK font from the
system's fontconfig: Debian's fonts-noto-cjk)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.web import read_transaction
from services.audit import labels
from services.audit.demonstration import assess
from contracts.rulebook.calendar import parse_period
from services.audit.queries import load_facts, require_branch
from services.audit.scorecard import scorecard

TEMPLATES = Path(__file__).parent / "templates"
environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                          extensions=["jinja2.ext.do"])
CHANNEL_LABELS = labels.OUTREACH_CHANNELS
NUMERALS = "零一二三四五六七八九十"


def annual_context(tenant_id: str, branch_id: str, year: int, today: date, known_on: date | None = None) -> dict:
    period = parse_period(str(year))
    with read_transaction(tenant_id) as conn:
        loaded = load_facts(conn, tenant_id, period.start - timedelta(days=45), period.end, branch_id, known_on)
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
        "retirees": figures["members"]["retirees"],
        "retiree_party_members": figures["members"]["retiree_party_members"],
        "members_total": figures["members"]["total"], "party_members": figures["members"]["party_members"],
        "deputies": sum(1 for p in posts if p["post"] == "deputy_secretary"),
        "deputies_in_service": sum(1 for p in posts if p["post"] == "deputy_secretary" and p["unit"]),
        "committee_members": sum(1 for p in posts if p["post"] == "member"),
        "allowance_months": (committee["allowance"] or {}).get("done", 0),
        "allowance_total": (committee["allowance"] or {}).get("paid_total", "0.00"),
        "committee_meetings": figures["meetings"]["committee_meeting"]["done"],
        "committee_meetings_required": figures["meetings"]["committee_meeting"]["required"],
        "committee_meetings_due": figures["meetings"]["committee_meeting"]["due_so_far"],
        "general_meetings": figures["meetings"]["general_meeting"]["done"],
        "lectures": figures["meetings"]["party_lecture"]["done"],
        "study_sessions": sum(1 for a in activities if a["kind"] == "study"),
        "study_hours": _number(sum((Decimal(a["hours"]) for a in activities if a["kind"] == "study" and a["hours"]),
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
    numbers.update(_bureau_counts(loaded, min(period.end, today)))
    return {"year": year, "bureau": bureau_name, "branch": card["branch"], "numbers": numbers,
            "title": _title(bureau_name, card["branch"]["name"] or "", year), "complete": card["period"]["complete"],
            "as_of": card["as_of"], "centre_moves": _centre_moves(loaded.of("centre", branch_id), period),
            "centre_standard": _standard_name(len(figures["centre"]["checklist"])),
            "election": _election(committee, year), "posts": posts, "centre": figures["centre"],
            "theme_day_places": _places(activities, "theme_day"), "holidays": _holidays(figures),
            "talk_topics": [t["topic"] for t in loaded.of("talks", branch_id)
                            if period.start <= t["on_date"] <= period.end],
            "teams": figures["teams"]["teams"], "inspections": figures["inspections"]["titles"],
            "channels": CHANNEL_LABELS, "findings": card["findings"], "compliant": card["compliant"],
            "demonstration": assess(card), "generated_on": today.isoformat()}


def _bureau_counts(loaded, day: date) -> dict:
    """The seed's 我局现有离退休干部*名，其中离退休党员干部*名 counts the whole bureau, every branch of it."""
    everyone = loaded.register.everyone(day)
    return {"bureau_retirees": sum(1 for m in everyone if m.retiree),
            "bureau_retiree_party_members": sum(1 for m in everyone if m.retiree and m.party_member),
            "bureau_branches": len({m.branch_id for m in everyone})}


def _title(bureau: str, branch: str, year: int) -> str:
    """The report's byline: the branch's own name when it already says which bureau it belongs to."""
    return f"{branch if branch.startswith(bureau) else bureau + branch}{year}年度工作报告"


def _centre_moves(rows: list[dict], period) -> list[dict]:
    """Moves of the activity centre during the year, from where to where (the seed's 从局六楼搬到了三楼)."""
    place, moves = None, []
    for row in sorted(rows, key=lambda r: (r["on_date"], r["stream_version"] or 0)):
        if row["kind"] == "moved" and period.start <= row["on_date"] <= period.end:
            moves.append({"from": place, "to": row["place"], "on_date": row["on_date"].isoformat()})
        if row["kind"] in ("set_up", "moved"):
            place = row["place"]
    return moves


def _standard_name(items: int) -> str:
    """六有 for a checklist of six: the number in Chinese, as the standard is called."""
    return f"{NUMERALS[items] if items <= 10 else items}有"


def _number(value: Decimal) -> str:
    """Hours as people write them: 27.5, 30 — not 27.50."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


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
    return [{"label": h["label"], "done": h["done"], "required": h["required"]}
            for h in figures["care"]["holiday_visits"]["holidays"]]


def render_html(context: dict) -> str:
    return environment.get_template("report_annual.html").render(**context)


def render_pdf(context: dict) -> bytes:
    from weasyprint import HTML  # imported here: WeasyPrint loads Pango when first used
    return HTML(string=render_html({**context, "for_print": True})).write_pdf()
