"""Handlers for Party dues: the yearly assessment of a branch, reductions, payments, arrears reviews."""

from __future__ import annotations

from datetime import date

from shared.envelope import start_of_day
from shared.unit_of_work import UnitOfWork
from services.members import commands as c
from services.members.domain import dues
from services.members.domain.branch import require_open
from services.members.handlers import load_branch, load_bureau, load_member, member_stream, today
from services.members.handlers.register import change_member


def assess_branch(uow: UnitOfWork, branch_id: str, command: c.AssessDues) -> dict:
    """Fix the year's monthly amount for every member of the branch who has a pension base."""
    branch, _ = load_branch(uow, branch_id)
    require_open(branch)
    assessed, skipped = [], []
    for row in uow.queries.current_members(branch_id):
        member, version = load_member(uow, row["member_id"])
        events = dues.assess(member, command.year)
        if events:
            uow.record(member_stream(member.member_id), version, events, branch_id=branch_id)
            assessed.append({"member_id": member.member_id, "monthly_amount": str(events[0].monthly_amount)})
        else:
            skipped.append({"member_id": member.member_id, "reason": dues.skip_reason(member, command.year)})
    return {"id": branch_id, "year": command.year, "assessed": assessed, "skipped": skipped}


def reduce(uow: UnitOfWork, member_id: str, command: c.ReduceDues) -> dict:
    return change_member(uow, member_id, None, lambda m: dues.reduce(
        m, command.year, command.from_month, command.monthly_amount, command.resolution))


def pay(uow: UnitOfWork, member_id: str, command: c.PayDues) -> dict:
    return change_member(uow, member_id, None, lambda m: dues.pay(
        m, command.months, command.paid_on, command.payer, command.payer_name, command.amount, today(uow),
        command.exception),
        command.paid_on)


def review_arrears(uow: UnitOfWork, branch_id: str | None, on: date) -> dict:
    """Raise a review for every Party member whose unpaid run reached the rules' months by ``on`` (once a run)."""
    raised, rules = [], {}
    for row in uow.queries.active_member_ids(branch_id):
        member, version = load_member(uow, row["member_id"])
        if row["tenant_id"] not in rules:
            rules[row["tenant_id"]] = load_bureau(uow, row["tenant_id"])[0].rules_on(on)
        events = dues.review_arrears(member, on, rules[row["tenant_id"]])
        if events:
            uow.record(member_stream(member.member_id), version, events, branch_id=member.branch_id,
                       tenant_id=row["tenant_id"], occurred_at=start_of_day(on))
            raised.append(member.member_id)
    return {"raised": raised, "on": on.isoformat()}
