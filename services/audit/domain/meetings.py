"""三会一课 and the other meetings: held against what the bureau's rules require, and general-meeting quorum."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from contracts.rulebook.calendar import Period, month_end, period_of
from shared import chinese
from services.audit.domain.context import BranchContext, event_ids, finding

# kind → (rule giving the yearly frequency, label)
MEETINGS = {
    "committee_meeting": ("committee_meeting_per_year", "支委会"),
    "general_meeting": ("general_meeting_per_year", "支部党员大会"),
    "group_meeting": ("group_meeting_per_year", "党小组会"),
    "party_lecture": ("party_lecture_per_year", "党课"),
    "theme_day": ("theme_day_per_year", "主题党日"),
    "life_meeting": ("life_meeting_per_year", "组织生活会"),
    "appraisal": ("appraisal_per_year", "民主评议党员"),
    "briefing": ("briefing_per_year", "情况通报"),
}


def figures(ctx: BranchContext) -> tuple[dict, list[dict]]:
    meetings, findings = {}, []
    for kind, (rule, label) in MEETINGS.items():
        figure, problem = _meeting(ctx, kind, rule, label)
        meetings[kind] = figure
        findings.extend(problem)
    quorum, quorum_findings = _quorum(ctx)
    talks = ctx.held("heart_talk")
    result = {"meetings": {k: v for k, v in meetings.items() if k != "briefing"}, "briefings": meetings["briefing"],
              "general_meeting_quorum": quorum,
              "heart_talks": {"count": len(talks), "events": event_ids(talks)}}
    return result, findings + quorum_findings


def _meeting(ctx: BranchContext, kind: str, rule: str, label: str) -> tuple[dict, list[dict]]:
    per_year = ctx.rules.get(rule, 0) or 0
    held = ctx.held(kind)
    groups = ctx.rows("party_groups")
    if kind == "group_meeting":
        return _group_meetings(ctx, per_year, held, groups, label)
    if kind == "committee_meeting" and not ctx.holds_committee():
        per_year = 0  # a branch without a committee (under 7 full members, no term saying otherwise) has none
    required, due = ctx.scaled(per_year), ctx.scaled(per_year, len(ctx.period.ended_months(ctx.today)))
    figure = {"required": required, "done": len(held), "due_so_far": due, "label": label, "events": event_ids(held)}
    missed = missed_windows(ctx, per_year, held)
    if missed:
        figure["missed"] = missed
        windows = "、".join(chinese.period(w) for w in missed)
        return figure, [finding(f"{kind}_short", f"{label}：{windows}未召开（按规定{_cadence(per_year)}）",
                                records=figure["events"])]
    if missed is None and len(held) < due:
        return figure, [finding(f"{kind}_short", f"{label}应开{due}次，实开{len(held)}次", records=figure["events"])]
    return figure, []


def _group_meetings(ctx, per_year, held, groups, label) -> tuple[dict, list[dict]]:
    """Each Party group meets on its own: the requirement is per group."""
    per_group = ctx.scaled(per_year)
    due = ctx.scaled(per_year, len(ctx.period.ended_months(ctx.today)))
    figure = {"required": per_group * len(groups), "done": len(held), "due_so_far": due * len(groups),
              "label": label, "groups": [], "events": event_ids(held)}
    problems = []
    for group in sorted(groups, key=lambda g: g["name"] or ""):
        mine = [a for a in held if a["group_id"] == group["group_id"]]
        missed = missed_windows(ctx, per_year, mine)
        figure["groups"].append({"group_id": group["group_id"], "name": group["name"], "required": per_group,
                                 "done": len(mine), "missed": missed or []})
        if missed or (missed is None and len(mine) < due):
            when = f"{'、'.join(missed)}未开小组会" if missed else f"应开{due}次小组会，实开{len(mine)}次"
            problems.append(finding("group_meeting_short", f"党小组「{group['name']}」{when}",
                                    records=event_ids(mine) + [str(group["event_id"])]))
    return figure, problems


def missed_windows(ctx: BranchContext, per_year: int | float, held: list[dict]) -> list[str] | None:
    """The rule's own intervals (each month for a monthly meeting, each quarter for a quarterly one) that ended
    inside the period without one held — a meeting made up later does not fill an earlier gap.

    None when the frequency does not divide the year into whole months: then only the total is judged.
    """
    if not per_year or per_year > 12 or 12 % per_year:
        return None
    held_months = {(a["on_date"].year, a["on_date"].month) for a in held}
    return [name for months, name in _windows(ctx.period, int(per_year), ctx.today) if held_months.isdisjoint(months)]


@lru_cache(maxsize=256)
def _windows(period: Period, per_year: int, today: date) -> tuple[tuple[frozenset, str], ...]:
    """The rule's intervals that ended inside the period before ``today``: (their months, their name). Worked out
    once per period and frequency: a roll-up asks it for every meeting kind of every branch."""
    span = 12 // per_year
    found = []
    for first in range(1, 13, span):
        window = [(period.year, m) for m in range(first, first + span)]
        start, end = date(*window[0], 1), month_end(f"{window[-1][0]}-{window[-1][1]:02d}")
        if start < period.start or end > period.end or end >= today:
            continue
        found.append((frozenset(window), _window_name(window, span)))
    return tuple(found)


def _cadence(per_year: int | float) -> str:
    span = 12 // int(per_year)
    return {1: "每月召开", 3: "每季度召开", 6: "每半年召开", 12: "每年召开"}.get(span, f"每{span}个月召开")


def _window_name(window: list[tuple[int, int]], span: int) -> str:
    year, first = window[0]
    if span in (1, 3):
        return period_of(date(year, first, 1), "month" if span == 1 else "quarter").id
    if span == 12:
        return f"{year}年"
    return f"{year}-{first:02d}至{window[-1][1]:02d}"


def _quorum(ctx: BranchContext) -> tuple[dict, list[dict]]:
    """A general meeting needs more than half of the voting members present."""
    meetings = ctx.held("general_meeting")
    not_quorate = [m for m in meetings if not _quorate(m)]
    figure = {"held": len(meetings), "quorate": len(meetings) - len(not_quorate),
              "meetings": [{"activity_id": m["activity_id"], "on_date": m["on_date"].isoformat(),
                            "voting_members": m["voting_members"], "voting_present": m["voting_present"],
                            "quorate": _quorate(m), "event_id": str(m["event_id"])} for m in meetings],
              "events": event_ids(meetings)}
    problems = [finding("general_meeting_not_quorate",
                        f"{chinese.day(m['on_date'])}党员大会到会{m['voting_present']}人，"
                        f"有表决权党员{m['voting_members']}人，未过半数",
                        records=[m["event_id"]]) for m in not_quorate]
    return figure, problems


def _quorate(meeting: dict) -> bool:
    if meeting["voting_members"] and meeting["voting_present"] is not None:
        return meeting["voting_present"] * 2 > meeting["voting_members"]
    return bool(meeting["quorate"])
