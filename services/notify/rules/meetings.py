"""Meetings (三会一课): the day-before reminder, the monthly committee meeting, the quarter's general meeting
and lectures, and study coverage by the monthly check day."""

from __future__ import annotations

from datetime import date, timedelta

from contracts.rulebook.calendar import period_of
from contracts.rulebook.coverage import activity_counts_as_study, outreach_reaches, suggested_channel as channel_for
from contracts.rulebook.people import counted_for_study, holds_committee
from contracts.rulebook.rules import occasions_due
from services.notify.rules.model import (
    CHANNEL_LABELS, HEALTH_LABELS, MOBILITY_LABELS, Activity, Branch, BureauSnapshot, Member, Reminded, Reminder,
    member_audience, secretary_of, webhook_audience, within)

KIND_LABELS = {"committee_meeting": "支委会", "general_meeting": "支部党员大会", "group_meeting": "党小组会",
               "party_lecture": "党课", "theme_day": "主题党日", "study": "集体学习", "life_meeting": "组织生活会",
               "appraisal": "民主评议党员", "briefing": "情况通报会"}


def meeting_reminders(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """A planned activity: remind its invitees from ``meeting_reminder_days`` before until the day itself."""
    ahead = int(rules["meeting_reminder_days"])
    reminders = []
    for activity in snapshot.activities:
        if (activity.status != "planned" or activity.planned_on is None
                or activity.kind not in rules["meeting_reminder_kinds"]
                or not within(today, activity.planned_on - timedelta(days=ahead), activity.planned_on)):
            continue
        invitees = invitees_of(snapshot, activity, today)
        audiences = invited_audiences(activity.branch_id, [m.member_id for m in invitees])
        when = "今天" if activity.planned_on == today else activity.planned_on.isoformat()
        kind = KIND_LABELS.get(activity.kind, activity.kind)
        reminders.append(Reminder(
            rule="meeting.reminder", subject=f"activity-{activity.activity_id}", period=activity.planned_on.isoformat(),
            branch_id=activity.branch_id, audiences=audiences, due_on=activity.planned_on - timedelta(days=ahead),
            title=f"会议提醒：{when}{kind}「{activity.title}」",
            body=(f"{kind}「{activity.title}」定于 {activity.planned_on.isoformat()} 举行"
                  + (f"，地点：{activity.place}" if activity.place else "") + "。请准时参加。"),
            records=(("activity", activity.activity_id),),
            details={"kind": activity.kind, "planned_on": activity.planned_on.isoformat(), "place": activity.place,
                     "invitees": [m.member_id for m in invitees]}))
    return reminders


def invited_audiences(branch_id: str, invitee_ids) -> tuple[str, ...]:
    """The invitees, each reached as a member; with none, the branch's secretary."""
    return tuple(member_audience(member_id) for member_id in invitee_ids) or (secretary_of(branch_id),)


def cancellation_notices(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """A reminded meeting called off before its day: tell everyone who was reminded, once, until the day.

    A record withdrawn after the meeting was held (``occurred_on`` set) is a correction, not a cancellation.
    """
    reminded: dict[str, list[Reminded]] = {}
    for notice in snapshot.reminded:
        reminded.setdefault(notice.activity_id, []).append(notice)
    return [_cancellation(activity, reminded[activity.activity_id], today) for activity in snapshot.activities
            if activity.activity_id in reminded and activity.status == "cancelled" and activity.occurred_on is None
            and activity.planned_on is not None and today <= activity.planned_on]


def _cancellation(activity: Activity, notices: list[Reminded], today: date) -> Reminder:
    invitees = dict.fromkeys(i for n in notices for i in n.invitees)
    webhooks = dict.fromkeys(w for n in notices for w in n.webhooks)
    kind, day = KIND_LABELS.get(activity.kind, activity.kind), activity.planned_on.isoformat()
    reason = f"，原因：{activity.cancel_reason}" if activity.cancel_reason else ""
    return Reminder(
        rule="meeting.cancelled", subject=f"activity-{activity.activity_id}", period=day,
        branch_id=activity.branch_id,
        audiences=invited_audiences(activity.branch_id, invitees) + tuple(webhook_audience(w) for w in webhooks),
        due_on=activity.cancelled_on or today,
        title=f"会议取消：原定 {day} 的{kind}「{activity.title}」不再举行",
        body=f"原定于 {day} 举行的{kind}「{activity.title}」已取消{reason}。此前发出的会议提醒作废。",
        records=(("activity", activity.activity_id),) + tuple(("notification", n.notification_id) for n in notices),
        details={"kind": activity.kind, "planned_on": day, "reason": activity.cancel_reason,
                 "cancelled_on": activity.cancelled_on.isoformat() if activity.cancelled_on else None,
                 "invitees": list(invitees), "reminders": [n.notification_id for n in notices]})


def invitees_of(snapshot: BureauSnapshot, activity: Activity, today: date) -> list[Member]:
    """Who an activity is for: the committee for its meetings, a group's members, else the whole branch."""
    members = snapshot.active_members(activity.branch_id)
    if activity.kind == "committee_meeting":
        term = snapshot.current_term(activity.branch_id, today)
        holders = {p.member_id for p in snapshot.holders(term.term_id)} if term else set()
        return [m for m in snapshot.members if m.member_id in holders and m.active]
    if activity.kind == "group_meeting" and activity.group_id:
        return [m for m in members if m.group_id == activity.group_id]
    return [m for m in members if m.party_member]


def committee_meeting_alerts(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """By the check day of a month with no committee meeting held yet: alert the secretary."""
    if int(rules["committee_meeting_per_year"]) <= 0 or today.day < int(rules["monthly_check_day"]):
        return []
    month = period_of(today, "month")
    first, last = month.start, month.end
    reminders = []
    for branch in snapshot.open_branches():
        if not has_committee(snapshot, branch.branch_id, today):
            continue  # a branch without a committee (the rulebook's ``holds_committee``) has none to meet
        if _held(snapshot, branch, "committee_meeting", first, last):
            continue
        planned = [a.planned_on.isoformat() for a in snapshot.activities if a.branch_id == branch.branch_id
                   and a.kind == "committee_meeting" and a.status == "planned" and a.planned_on
                   and within(a.planned_on, today, last)]
        reminders.append(Reminder(
            rule="meeting.committee_monthly", subject=f"branch-{branch.branch_id}", period=month.id,
            branch_id=branch.branch_id, audiences=(secretary_of(branch.branch_id),),
            due_on=today.replace(day=int(rules["monthly_check_day"])),
            title=f"{branch.name}：本月尚未召开支委会",
            body=(f"截至 {today.isoformat()}，{branch.name}本月（{month.id}）还没有召开支委会。"
                  + (f"已计划于 {', '.join(planned)} 召开。" if planned else "请安排召开。")),
            records=(("branch", branch.branch_id),), details={"month": month.id, "planned": planned}))
    return reminders


def has_committee(snapshot: BureauSnapshot, branch_id: str, today: date) -> bool:
    """As its current term says; with no term recorded, by its full members (the rulebook's rule)."""
    term = snapshot.current_term(branch_id, today)
    return holds_committee(term.committee if term else None, snapshot.full_members(branch_id, today))


def quarter_meeting_alerts(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """In the last days of a quarter: a general meeting not held, or fewer Party lectures than the quota."""
    quarter = period_of(today, "quarter")
    first, last = quarter.start, quarter.end
    if today < last - timedelta(days=int(rules["quarter_end_warning_days"])):
        return []
    owed = {kind: occasions_due(int(rules[f"{kind}_per_year"]), 3) for kind in ("general_meeting", "party_lecture")}
    checks = (("meeting.general_quarterly", "general_meeting", owed["general_meeting"]),
              ("meeting.lecture_quota", "party_lecture", owed["party_lecture"]))
    reminders = []
    for branch in snapshot.open_branches():
        for rule, kind, quota in checks:
            held = _held(snapshot, branch, kind, first, last)
            if quota <= 0 or held >= quota:
                continue
            label = KIND_LABELS[kind]
            reminders.append(Reminder(
                rule=rule, subject=f"branch-{branch.branch_id}", period=quarter.id,
                branch_id=branch.branch_id, audiences=(secretary_of(branch.branch_id),),
                due_on=last - timedelta(days=int(rules["quarter_end_warning_days"])),
                title=f"{branch.name}：本季度{label}尚未完成",
                body=(f"本季度（{quarter.id}，至 {last.isoformat()} 结束）"
                      f"{branch.name}已召开{label} {held} 次，应至少 {quota} 次。"),
                records=(("branch", branch.branch_id),),
                details={"quarter": quarter.id, "kind": kind, "held": held, "required": quota}))
    return reminders


def _held(snapshot: BureauSnapshot, branch: Branch, kind: str, first: date, last: date) -> int:
    return sum(1 for a in snapshot.activities if a.branch_id == branch.branch_id and a.kind == kind
               and a.status == "held" and a.occurred_on and within(a.occurred_on, first, last))


def coverage_tasks(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """By the check day: the members study has not reached this period, with a suggested channel each."""
    period = period_of(today, rules["coverage_period"])
    first, last, label = period.start, period.end, period.id
    deadline = last.replace(day=int(rules["monthly_check_day"]))
    if today < deadline:
        return []
    reached = reached_members(snapshot, first, today, rules)
    reminders = []
    for branch in snapshot.open_branches():
        missing = [m for m in snapshot.active_members(branch.branch_id)
                   if counted_for_study(m.party_member) and m.member_id not in reached]
        if not missing:
            continue
        listed = [{"member_id": m.member_id, "name": m.name, "health": m.health, "mobility": m.mobility,
                   "suggested_channel": suggested_channel(m, rules["coverage_channels"])} for m in missing]
        lines = [f"· {row['name']}（健康：{HEALTH_LABELS.get(row['health'], row['health'])}，"
                 f"{MOBILITY_LABELS.get(row['mobility'], row['mobility'])}）建议："
                 f"{CHANNEL_LABELS.get(row['suggested_channel'], row['suggested_channel'])}" for row in listed]
        reminders.append(Reminder(
            rule="coverage.unreached", subject=f"branch-{branch.branch_id}", period=label,
            branch_id=branch.branch_id, audiences=(secretary_of(branch.branch_id),), due_on=deadline,
            title=f"{branch.name}：{len(missing)} 名党员本期尚未参加学习",
            body=(f"本期（{label}，至 {last.isoformat()}）以下党员还没有参加学习或接受送学，请安排：\n"
                  + "\n".join(lines)),
            records=(("branch", branch.branch_id),) + tuple(("member", m.member_id) for m in missing),
            details={"period": label, "members": listed}))
    return reminders


def reached_members(snapshot: BureauSnapshot, first: date, last: date, rules: dict) -> set[str]:
    """Members reached anywhere in the bureau between the dates, by what the rulebook counts as study."""
    reached = {o.member_id for o in snapshot.outreach
               if within(o.occurred_on, first, last) and outreach_reaches(o.channel, rules)}
    for activity in snapshot.activities:
        if (activity.status == "held" and activity_counts_as_study(activity.kind, rules) and activity.occurred_on
                and within(activity.occurred_on, first, last)):
            reached.update(activity.attendees)
    return reached


def suggested_channel(member: Member, allowed: list[str]) -> str:
    """The channel the rulebook suggests for this member (one rule for notify and the secretaries' pages)."""
    return channel_for(member.mobility, member.health, allowed)
