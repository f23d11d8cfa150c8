"""This month's list of a branch: what is still to do, each item with the form that answers it (pure).

Everything here comes from the services' answers — the scorecard says what the rules require, the
coverage report who is not reached and how to reach them, the care overview who still needs a visit,
the dues summary which months are open, the inbox what the platform reminded — and is only sorted,
worded and linked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from contracts import words
from shared import chinese
from contracts.rulebook.holidays import holiday_label
from contracts.rulebook.people import birthday_on

HORIZON_DAYS = 30
"""How far ahead the list looks for birthdays and holidays: a month, to buy the cake and plan the visits."""

MEETING_ORDER = ("committee_meeting", "general_meeting", "group_meeting", "party_lecture", "theme_day", "briefing",
                 "life_meeting", "appraisal")
PERIOD_WORDS = {"month": "本月", "quarter": "本季度", "year": "本年"}


@dataclass(frozen=True)
class Item:
    text: str
    detail: str = ""
    href: str = ""
    action: str = ""
    read_href: str = ""
    person: bool = False
    """The item is a member, named by ``text``: a name is never broken across lines."""


@dataclass
class Section:
    key: str
    title: str
    empty: str
    items: list[Item] = field(default_factory=list)


@dataclass(frozen=True)
class Sources:
    """The answers the list is made of, for one branch, fetched with the signed-in person's token."""

    branch_id: str
    today: date
    cards: dict  # "month", "quarter", "year" → the audit scorecard of the period that holds today
    planned: list
    coverage: dict
    members: list
    care: dict  # year → the care overview of that year (a holiday early next year is visited this December)
    holidays: list
    dues: dict
    inbox: list


def href(branch_id: str, form: str, **params) -> str:
    query = urlencode({name: value for name, value in params.items() if value not in (None, "")})
    return f"/branches/{branch_id}/{form}" + (f"?{query}" if query else "")


def build(sources: Sources) -> list[Section]:
    return [meetings(sources), coverage(sources), care(sources), dues(sources), reminders(sources)]


def meetings(sources: Sources) -> Section:
    """Each kind of meeting in the shortest period the rules require one of, while fewer were held there."""
    section = Section("meetings", "应开未开和已计划的会议", "本期应开的会议都已召开，也没有计划中的会议")
    planned = {}
    for activity in sorted(sources.planned, key=lambda a: a.get("planned_on") or ""):
        planned.setdefault(activity["kind"], activity)
    for kind in MEETING_ORDER:
        due = _shortfall(sources.cards, kind)
        if due is None:
            continue
        period, figure = due
        label = words.word(words.ACTIVITY_KINDS, kind)
        text = f"{label}：{PERIOD_WORDS[period]}应开{figure['required']}次，已开{figure['done']}次"
        if kind in planned:
            section.items.append(_planned(sources.branch_id, planned.pop(kind), text))
        else:
            section.items.append(Item(text, "", href(sources.branch_id, "meetings/new", kind=kind), "记录或安排会议"))
    for activity in planned.values():
        label = words.word(words.ACTIVITY_KINDS, activity["kind"])
        section.items.append(_planned(sources.branch_id, activity, f"{label}：{activity.get('title') or ''}"))
    return section


def _planned(branch_id: str, activity: dict, text: str) -> Item:
    when = chinese.short_day(activity.get("planned_on"))
    return Item(text, f"已计划在{when}召开", href(branch_id, f"meetings/{activity['id']}/record"), "记录召开情况")


def _shortfall(cards: dict, kind: str) -> tuple[str, dict] | None:
    for period in ("month", "quarter", "year"):
        figure = _meeting_figure(cards.get(period), kind)
        if figure and figure.get("required"):
            return (period, figure) if figure["done"] < figure["required"] else None
    return None


def _meeting_figure(card: dict | None, kind: str) -> dict | None:
    if not card:
        return None
    figures = card.get("figures") or {}
    return figures.get("briefings") if kind == "briefing" else (figures.get("meetings") or {}).get(kind)


def coverage(sources: Sources) -> Section:
    report = sources.coverage or {}
    period = chinese.period(report["period"]) if report.get("period") else "本期"
    section = Section("coverage", f"{period}尚未参加学习的党员", f"{period}每名党员都已参加学习或接受送学")
    for member in report.get("uncovered") or []:
        channel = member.get("suggested_channel")
        state = "，".join(filter(None, [_word(words.HEALTH, member.get("health"), "健康"),
                                       _word(words.MOBILITY, member.get("mobility"))]))
        section.items.append(Item(member["name"], f"{state}；建议{words.word(words.OUTREACH_CHANNELS, channel)}",
                                  href(sources.branch_id, "outreach/new", member=member["member_id"], channel=channel),
                                  "记录走访送学", person=True))
    return section


def _word(table: dict, code, prefix: str = "") -> str:
    return f"{prefix}{words.word(table, code)}" if code else ""


def care(sources: Sources) -> Section:
    """Birthdays and the bureau's holiday visits of the coming month that nobody has recorded yet."""
    section = Section("care", f"未来{HORIZON_DAYS}天的生日和节日", f"未来{HORIZON_DAYS}天没有待办的生日关怀和节日慰问")
    end = sources.today + timedelta(days=HORIZON_DAYS)
    births = {m["id"]: m.get("birth_date") for m in sources.members}
    dated = []
    for member_id, row in _cared(sources, sources.today.year).items():
        birthday = _next_birthday(births.get(member_id), sources.today)
        if birthday and birthday <= end and not _greeted(_cared(sources, birthday.year).get(member_id), birthday):
            dated.append((birthday, Item(f"{row['name']}生日", chinese.day(birthday),
                                         href(sources.branch_id, "care/new", member=member_id, kind="birthday",
                                              on=birthday.isoformat()), "记录生日关怀")))
    for holiday in sources.holidays or []:
        when = chinese.as_date(holiday["date"])
        if not holiday.get("visits_required") or not sources.today <= when <= end:
            continue
        waiting = [row["name"] for row in _cared(sources, when.year).values() if not _visited(row, holiday["holiday"])]
        if waiting:
            label = holiday_label(holiday["holiday"])
            dated.append((when, Item(f"{label}慰问（{chinese.day(when)}）", f"尚未慰问：{'、'.join(waiting)}",
                                     href(sources.branch_id, "care/new", kind="holiday_visit",
                                          holiday=holiday["holiday"]), "记录节日慰问")))
    section.items.extend(item for _, item in sorted(dated, key=lambda pair: pair[0]))
    return section


def _cared(sources: Sources, year: int) -> dict:
    return {m["member_id"]: m for m in (sources.care or {}).get(year, {}).get("members") or []}


def _next_birthday(birth_date, today: date) -> date | None:
    born = chinese.as_date(birth_date)
    if born is None:
        return None
    return next(day for year in (today.year, today.year + 1) if (day := birthday_on(born, year)) >= today)


def _greeted(row: dict | None, birthday: date) -> bool:
    greeted = chinese.as_date((row or {}).get("birthday"))
    return greeted is not None and greeted.year == birthday.year


def _visited(row: dict, holiday: str) -> bool:
    return any(v["holiday"] == holiday and v.get("visited_on") for v in row.get("holiday_visits") or [])


def dues(sources: Sources) -> Section:
    """Members with months in arrears one by one; those who owe only this month, together in one line."""
    section = Section("dues", "未缴党费的月份", "党费都已按月缴纳")
    this_month = f"{sources.today:%Y-%m}"
    owing = [m for m in (sources.dues or {}).get("members") or [] if m.get("open_months")]
    for member in (m for m in owing if m["open_months"] != [this_month]):
        arrears = set(member.get("arrears") or [])
        detail = "、".join(chinese.month(m) + ("（欠缴）" if m in arrears else "") for m in member["open_months"])
        section.items.append(Item(member["name"], detail, href(sources.branch_id, "dues/new",
                                  member=member["member_id"], months=",".join(member["open_months"])), "记录缴纳",
                                  person=True))
    only_now = [m["name"] for m in owing if m["open_months"] == [this_month]]
    if only_now:
        section.items.append(Item(f"{chinese.month(this_month)}党费尚未缴纳（{len(only_now)}人）", "、".join(only_now),
                                  href(sources.branch_id, "dues/new"), "记录缴纳"))
    return section


# A reminder's rule → the form that answers it, and which of its details fill the form.
REMINDER_FORMS = {
    "care.birthday": ("care/new", "记录生日关怀", {"kind": "birthday"}),
    "care.holiday_visit": ("care/new", "记录节日慰问", {"kind": "holiday_visit"}),
    "care.health_check": ("care/new", "记录体检", {"kind": "health_check"}),
    "coverage.unreached": ("outreach/new", "记录走访送学", {}),
    "meeting.committee_monthly": ("meetings/new", "记录会议", {"kind": "committee_meeting"}),
    "meeting.general_quarterly": ("meetings/new", "记录会议", {"kind": "general_meeting"}),
    "meeting.lecture_quota": ("meetings/new", "记录会议", {"kind": "party_lecture"}),
    "dues.arrears_reminder": ("dues/new", "记录缴纳", {}),
    "dues.arrears_review": ("dues/new", "记录缴纳", {}),
}


def reminders(sources: Sources) -> Section:
    section = Section("reminders", "平台提醒（未读）", "没有未读的提醒")
    for notice in sources.inbox or []:
        if notice.get("branch_id") not in (None, sources.branch_id):
            continue
        form = REMINDER_FORMS.get(notice.get("rule"))
        link, action = "", ""
        if form:
            path, action, fixed = form
            details = notice.get("details") or {}
            link = href(sources.branch_id, path, member=details.get("member_id"),
                        holiday=details.get("holiday"), **fixed)
        detail = notice.get("body") or ""
        if notice.get("note"):
            detail += f"（{notice['note']}）"
        section.items.append(Item(notice.get("title") or "", detail, link, action,
                                  read_href=f"/inbox/{notice['id']}/read"))
    return section
