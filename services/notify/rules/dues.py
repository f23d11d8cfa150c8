"""Party dues (党费): three months in arrears, a gentle reminder; six, a review task for the bureau.

Unpaid dues are never treated as lost membership: the six-month task asks for a review, nothing more.
"""

from __future__ import annotations

from datetime import date, timedelta

from contracts.rulebook import dues as rulebook
from contracts.rulebook.calendar import month_of, previous_month
from contracts.rulebook.people import owes_dues
from services.notify.rules.model import BUREAU, BureauSnapshot, Dues, Member, Reminder, secretary_of

REVIEW_EVENT_WINDOW_DAYS = 90


def unpaid_run(dues: Dues, member: Member, today: date) -> list[str]:
    """The consecutive unpaid months that end with the last completed month (the current one is not late)."""
    return rulebook.unpaid_run(dues.ledger(), member.on_register_in, previous_month(month_of(today)))


def arrears_reminders(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """Party members only: a gentle reminder, then a review task, by the rulebook's counts of unpaid months."""
    members = {m.member_id: m for m in snapshot.active_members() if owes_dues(m.party_member)}
    reminders = []
    for dues in snapshot.dues:
        member = members.get(dues.member_id)
        if member is None:
            continue
        run = unpaid_run(dues, member, today)
        if rulebook.review_due(run, rules):
            reminders.append(_review(member, run, today))
        elif rulebook.reminder_due(run, rules):
            reminders.append(_gentle(member, run, today))
        for first_month, raised_on in dues.reviews:
            raised_lately = raised_on <= today <= raised_on + timedelta(days=REVIEW_EVENT_WINDOW_DAYS)
            if raised_lately and not (run and run[0] == first_month):
                reminders.append(_review(member, [first_month], raised_on, raised=True))
    return reminders


def _gentle(member: Member, run: list[str], today: date) -> Reminder:
    return Reminder(
        rule="dues.arrears_reminder", subject=f"member-{member.member_id}", period=run[0],
        branch_id=member.branch_id, audiences=(secretary_of(member.branch_id),), due_on=today,
        title=f"党费提醒：{member.name}同志已 {len(run)} 个月未交党费",
        body=(f"{member.name}同志自 {run[0]} 起 {len(run)} 个月（{', '.join(run)}）的党费尚未收缴。"
              "请与其本人或家属温和沟通，了解是否有困难（确有困难的可经支部研究少交或免交）。"),
        records=(("member", member.member_id),),
        details={"member_id": member.member_id, "months_unpaid": run})


def _review(member: Member, run: list[str], today: date, raised: bool = False) -> Reminder:
    months = f"自 {run[0]} 起连续 {len(run)} 个月" if not raised else f"自 {run[0]} 起连续六个月以上"
    return Reminder(
        rule="dues.arrears_review", subject=f"member-{member.member_id}", period=run[0],
        branch_id=member.branch_id, audiences=(BUREAU, secretary_of(member.branch_id)), due_on=today,
        title=f"党费审查：{member.name}同志{months}未交党费",
        body=(f"{member.name}同志{months}未交纳党费。请支部了解原因、核实情况并提出处理意见；"
              "无正当理由的按规定处理，不得简单视为自动脱党。"),
        records=(("member", member.member_id),),
        details={"member_id": member.member_id, "months_unpaid": run, "raised_by_members_service": raised})
