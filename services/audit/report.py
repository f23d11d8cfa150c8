"""The branch's annual work report, in the seed's structure, every number and list filled from the records.

The same context renders as HTML (the dashboard, the API) and as PDF (WeasyPrint, with a CJK font from the
system's fontconfig: Debian's fonts-noto-cjk)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import flask
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from shared.web import read_transaction
from contracts import words
from shared import chinese
from services.audit import csv_export
from services.audit import labels
from services.audit.demonstration import assess
from contracts.rulebook.calendar import parse_period
from services.audit.queries import load_facts, require_branch, work_record_ids
from services.audit.domain import scorecard

TEMPLATES = Path(__file__).parent / "templates"
environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                          extensions=["jinja2.ext.do"])
environment.filters.update(day=chinese.day, short_day=chinese.short_day, month=chinese.month, period=chinese.period,
                           percent=chinese.percent, amount=chinese.amount, moment=labels.moment,
                           local_day=labels.local_day,
                           figure=labels.figure, stream=labels.stream, event_type=labels.event_type)
environment.globals.update(words=words, word=words.word, labels=labels)
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
    """Numbers, lists and sentences of the report from a year's scorecard and the facts behind it (pure)."""
    period = parse_period(str(year))
    card = scorecard(loaded, branch_id, period, today)
    figures = card["figures"]
    activities = [a for a in loaded.of("activities", branch_id)
                  if a["status"] == "held" and period.start <= a["on_date"] <= period.end]
    numbers = _numbers(loaded, branch_id, card, activities, period, today)
    rules = loaded.rules(min(period.end, today))
    demonstration = assess(card)
    centre_places = _centre_places(loaded.of("centre", branch_id))
    return {"year": year, "bureau": bureau_name, "branch": card["branch"], "numbers": numbers,
            "title": _title(bureau_name, card["branch"]["name"] or "", year), "complete": card["period"]["complete"],
            "as_of": card["as_of"], "records": len(_record_ids(card)),
            "wording": {name: rules[f"report_{name}"] for name in ("leadership", "superior", "key_year")},
            "centre_moves": _centre_moves(loaded.of("centre", branch_id), period),
            "centre_standard": _standard_name(len(figures["centre"]["checklist"])),
            "election": _election(figures["committee"], year), "posts": figures["committee"]["posts"],
            "centre": figures["centre"], "coverage_percent": chinese.percent(figures["coverage"]["rate"] or 0),
            "study_topics": _study_topics(activities),
            "theme_days": _theme_days(activities, centre_places), "holidays": _holidays(figures),
            "talk_topics": [t["topic"] for t in loaded.of("talks", branch_id)
                            if period.start <= t["on_date"] <= period.end],
            "teams": figures["teams"]["teams"], "inspections": figures["inspections"]["titles"],
            "channels": CHANNEL_LABELS, "findings": card["findings"], "compliant": card["compliant"],
            "plans": plans(card["findings"], demonstration["met"]), "annex": _annex(card["findings"]),
            "demonstration": demonstration, "generated_on": today.isoformat()}


def _numbers(loaded, branch_id: str, card: dict, activities: list[dict], period, today: date) -> dict:
    figures = card["figures"]
    committee, meetings = figures["committee"], figures["meetings"]
    posts = committee["posts"]
    numbers = {
        "retirees": figures["members"]["retirees"],
        "retiree_party_members": figures["members"]["retiree_party_members"],
        "members_total": figures["members"]["total"], "party_members": figures["members"]["party_members"],
        "deputies": sum(1 for p in posts if p["post"] == "deputy_secretary"),
        "deputies_in_service": sum(1 for p in posts if p["post"] == "deputy_secretary" and p["unit"]),
        "committee_members": sum(1 for p in posts if p["post"] == "member"),
        "allowance_months": (committee["allowance"] or {}).get("done", 0),
        "allowance_total": _number(Decimal((committee["allowance"] or {}).get("paid_total", "0"))),
        "committee_meetings": meetings["committee_meeting"]["done"],
        "committee_meetings_required": meetings["committee_meeting"]["required"],
        "committee_meetings_due": meetings["committee_meeting"]["due_so_far"],
        "general_meetings": meetings["general_meeting"]["done"], "lectures": meetings["party_lecture"]["done"],
        "study_sessions": sum(1 for a in activities if a["kind"] == "study"),
        "study_hours": _number(sum((Decimal(a["hours"]) for a in activities if a["kind"] == "study" and a["hours"]),
                                   Decimal(0))),
        "coverage_percent": round((figures["coverage"]["rate"] or 0) * 100),
        "theme_days": meetings["theme_day"]["done"], "briefings": figures["briefings"]["done"],
        "newspapers": figures["care"]["newspapers"]["done"], "health_checks": figures["care"]["health_checks"]["done"],
        "birthdays": figures["care"]["birthdays"]["done"], "holiday_visits": figures["care"]["holiday_visits"]["done"],
        "talks": figures["talks"]["count"], "talk_audience": figures["talks"]["audience"],
        "pledges": figures["pledges"]["count"], "teams": figures["teams"]["count"],
        "community": figures["community"]["count"], "inspections": figures["inspections"]["count"],
        "findings": len(card["findings"]), "year": period.year, "next_year": period.year + 1,
    }
    outreach = [o for o in loaded.of("outreach", branch_id) if period.start <= o["on_date"] <= period.end]
    for channel in CHANNEL_LABELS:
        numbers[f"outreach_{channel}"] = sum(1 for o in outreach if o["channel"] == channel)
    numbers.update(_bureau_counts(loaded, min(period.end, today)))
    return numbers


def _record_ids(card: dict) -> set:
    return work_record_ids(card["figures"])


STUDY_KINDS = ("study", "party_lecture")


def _study_topics(activities: list[dict]) -> list[str]:
    """What the branch studied, in the order first taken up: the topics of its study sessions and lectures."""
    seen: list[str] = []
    for activity in sorted(activities, key=lambda a: a["on_date"]):
        if activity["kind"] in STUDY_KINDS:
            for topic in activity.get("topics") or []:
                if topic not in seen:
                    seen.append(topic)
    return seen


def _centre_places(rows: list[dict]) -> set[str]:
    """Everywhere the branch's own activity centre has been: never a 'place visited'."""
    return {row["place"] for row in rows if row["kind"] in ("set_up", "moved") and row.get("place")}


def _theme_days(activities: list[dict], centre_places: set[str]) -> list[dict]:
    """Theme Party days held away from the branch's centre, once per place: where they went and under which theme."""
    found: dict[str, str] = {}
    for activity in sorted(activities, key=lambda a: a["on_date"]):
        place = activity.get("place")
        if activity["kind"] == "theme_day" and place and place not in centre_places and place not in found:
            title = activity["title"] or ""
            found[place] = title + ("活动" if title.endswith("主题党日") else "")
    return [{"place": place, "title": title} for place, title in found.items()]


# A finding's code → which of next year's three plans it sharpens, and with what words (no one is named).
PLAN_ADDITIONS = {
    "coverage_incomplete": (0, "对高龄、多病、行动不便的老党员坚持送学上门、电话沟通，确保教育全覆盖"),
    "study_hours_short": (0, "落实学习时长，确保每名党员学时达标"),
    "committee_meeting_short": (1, "按月召开支委会"),
    "general_meeting_short": (1, "按季度召开支部党员大会"),
    "group_meeting_short": (1, "按时召开党小组会"),
    "party_lecture_short": (1, "按期讲好党课"),
    "general_meeting_not_quorate": (1, "保证党员大会到会人数过半"),
    "life_meeting_short": (1, "按年召开组织生活会"),
    "appraisal_short": (1, "按年开展民主评议党员"),
    "briefing_short": (1, "按期向老干部通报情况"),
    "dues_arrears": (1, "按月足额收缴党费，对欠缴的党员及时了解情况、做好工作"),
    "dues_review_due": (1, "按月足额收缴党费，对欠缴的党员及时了解情况、做好工作"),
    "dues_not_assessed": (1, "年初核定每名党员的党费"),
    "no_committee_term": (1, "按期换届，配齐支部班子"),
    "term_expired": (1, "按期换届，配齐支部班子"),
    "secretary_missing": (1, "及时补齐支部书记和委员"),
    "post_vacant": (1, "及时补齐支部书记和委员"),
    "allowance_unpaid": (1, "按标准落实支部书记工作补贴"),
    "centre_missing": (1, "完善活动阵地建设"),
    "centre_checklist_incomplete": (1, "补齐活动阵地标准"),
    "transfer_letter_overdue": (1, "及时办理组织关系转接"),
    "return_slip_overdue": (1, "及时办理组织关系转接"),
    "theme_day_short": (2, "坚持每月开展主题党日"),
    "birthday_care_missed": (2, "做好生日关怀"),
    "holiday_visit_missed": (2, "做好节日走访慰问，不漏一人"),
    "health_check_missing": (2, "组织好年度体检"),
    "newspaper_missing": (2, "为每名老干部订阅党报"),
}
PLAN_BASES = (
    "持续开展习近平新时代中国特色社会主义思想学习教育，引导老干部进一步增强“四个意识”、坚定“四个自信”、做到“两个维护”",
    "{demonstration}，认真落实党支部组织生活、理论学习、党费收缴和党员教育管理等规章制度",
    "持续开展主题教育、主题党日活动，创新活动方式，丰富活动内容",
)
PLAN_ENDINGS = ("", "确保离退休党员干部离岗不离党、退休不褪色、流动不流失",
                "不断提升离退休党员干部的获得感、幸福感、归属感")


def plans(findings: list[dict], demonstration_met: bool) -> list[str]:
    """Next year's plans in the seed's three parts, each sharpened by this year's findings — naming no one."""
    additions: list[list[str]] = [[], [], []]
    for item in findings:
        part, words_ = PLAN_ADDITIONS.get(item["code"], (None, ""))
        if part is not None and words_ not in additions[part]:
            additions[part].append(words_)
    demonstration = ("巩固提升离退休干部党建示范点创建成果" if demonstration_met
                     else "对照离退休干部党建示范点标准补齐短板")
    sentences = []
    for part, base in enumerate(PLAN_BASES):
        clauses = [base.format(demonstration=demonstration), *additions[part], PLAN_ENDINGS[part]]
        sentences.append(f"{chinese.numeral(part + 1)}是" + "，".join(c for c in clauses if c) + "。")
    return sentences


def _annex(findings: list[dict]) -> list[dict]:
    """The findings with the members they concern: for the branch's own follow-up, not for the report's body."""
    return [{"message": f["message"], "names": [m["name"] for m in f.get("members") or []]} for f in findings]


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


def _holidays(figures: dict) -> list[dict]:
    return [{"label": h["label"], "done": h["done"], "required": h["required"]}
            for h in figures["care"]["holiday_visits"]["holidays"]]


def render_body(context: dict) -> str:
    """The report itself (its titles, paragraphs and annex), for a page of the dashboard to hold."""
    return environment.get_template("report_body.html").render(**context)


def render_html(context: dict) -> str:
    """The report as a document of its own: what the API answers and what the PDF is printed from."""
    return environment.get_template("report_annual.html").render(body=Markup(render_body(context)), **context)


def render_pdf(context: dict) -> bytes:
    from weasyprint import HTML  # imported here: WeasyPrint loads Pango when first used
    return HTML(string=render_html({**context, "for_print": True})).write_pdf()


def file_name(context: dict) -> str:
    """市自然资源局离退休干部党支部2026年度工作报告: the branch and the year, as the byline says."""
    return context["title"]


def pdf_response(context: dict) -> flask.Response:
    return flask.Response(render_pdf(context), mimetype="application/pdf",
                          headers=csv_export.attachment(f"{file_name(context)}.pdf", "inline",
                                                        fallback=f"annual-report-{context['year']}.pdf"))
