"""Party dues (党费): three months in arrears, a gentle reminder; six, a review task for the bureau.

Unpaid dues are never treated as lost membership: the six-month task asks for a review, nothing more.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from services.notify.rules.model import BUREAU, BureauSnapshot, Dues, Member, Reminder, month_of, secretary_of

REVIEW_EVENT_WINDOW_DAYS = 90


def add_months(month: str, count: int) -> str:
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def amount_due(dues: Dues, month: str) -> Decimal | None:
    """The month's amount: a reduction in force that year, else the assessed amount; None if not assessed."""
    year = int(month[:4])
    if year not in dues.assessed:
        return None
    reductions = [(start, amount) for start, amount in dues.reductions if start[:4] == month[:4] and start <= month]
    return Decimal(max(reductions)[1]) if reductions else Decimal(dues.assessed[year])


def unpaid_run(dues: Dues, member: Member, today: date) -> list[str]:
    """The consecutive unpaid months that end with the last completed month (the current one is not late)."""
    last = month_of(today.replace(day=1) - timedelta(days=1))
    first_possible = month_of(member.joined_on) if member.joined_on else "0000-01"
    run: list[str] = []
    month = last
    while month >= first_possible:
        amount = amount_due(dues, month)
        if amount is None or amount == 0 or month in dues.paid:
            break
        run.insert(0, month)
        month = add_months(month, -1)
    return run


def arrears_reminders(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    remind_at, review_at = int(rules["dues_reminder_months"]), int(rules["dues_review_months"])
    members = {m.member_id: m for m in snapshot.active_members()}
    reminders = []
    for dues in snapshot.dues:
        member = members.get(dues.member_id)
        if member is None:
            continue
        run = unpaid_run(dues, member, today)
        if len(run) >= review_at:
            reminders.append(_review(member, run, today))
        elif len(run) >= remind_at:
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
