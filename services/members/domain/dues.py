"""Party dues (党费): the yearly assessment, hardship reductions, payments, back-payment, arrears review.

The rules are the rulebook's (``contracts.rulebook.dues``): the national rates, Party members only,
which months the member owes here, a month more than six months back paid only by a recorded branch
decision, and ``dues_review_months`` unpaid in a row raising a review — never a removal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contracts.members import DuesArrearsReviewRaised, DuesAssessed, DuesCarried, DuesPaid, DuesReduced
from contracts.rulebook import dues as rulebook
from contracts.rulebook.calendar import month_of, previous_month
from contracts.rulebook.dues import MAX_BACK_PAYMENT_MONTHS, monthly_dues
from contracts.rulebook.people import owes_dues
from shared import chinese
from services.members.domain import refuse, require_not_future
from services.members.domain.member import Member, require_active


def skip_reason(member: Member, year: int) -> str | None:
    """Why the member is not assessed for ``year`` (None: they are to be)."""
    if not owes_dues(member.party_member):
        return "not_party_member"
    if year in member.dues.assessed:
        return "already_assessed"
    if member.profile.get("pension_base") is None:
        return "no_pension_base"
    return None


def assess(member: Member, year: int) -> list:
    """Fix a Party member's monthly amount for ``year``; [] when already fixed, not owed, or there is no base."""
    if not member.active or skip_reason(member, year):
        return []
    base = Decimal(member.profile["pension_base"])
    rate, amount = monthly_dues(member.profile["retirement_kind"], base)
    return [DuesAssessed(member_id=member.member_id, branch_id=member.branch_id, year=year, base=base,
                         rate=rate, monthly_amount=amount)]


def reduce(member: Member, year: int, from_month: str, amount: Decimal, resolution: str) -> list:
    """A hardship reduction or exemption, by a resolution of the branch."""
    require_active(member)
    if year not in member.dues.assessed:
        raise refuse(f"{year}年的党费还没有核定", "dues_not_assessed", "year")
    if from_month[:4] != str(year):
        raise refuse("月份须在这一年之内", "month_outside_year", "from_month")
    if amount > member.dues.assessed[year]:
        raise refuse("减免不能提高党费", "not_a_reduction", "monthly_amount")
    return [DuesReduced(member_id=member.member_id, branch_id=member.branch_id, year=year, from_month=from_month,
                        monthly_amount=amount, resolution=resolution)]


def pay(member: Member, months: list[str], paid_on: date, payer: str, payer_name: str | None,
        amount: Decimal | None, today: date, exception: dict | None = None) -> list:
    require_not_future(paid_on, "paid_on", today)
    months = sorted(set(months))
    _check_months_payable(member, months)
    _check_back_payment(months, paid_on, exception, today)
    breakdown = {month: member.dues.due_for(month) for month in months}
    due = sum(breakdown.values(), Decimal("0"))
    if amount is not None and amount != due:
        raise refuse(f"所缴月份合计应为 {due} 元，不是 {amount} 元", "amount_mismatch", "amount")
    if payer != "self" and not payer_name:
        raise refuse("请填写代缴人的姓名", "payer_name_required", "payer_name")
    return [DuesPaid(member_id=member.member_id, branch_id=member.branch_id, months=months, amount=due,
                     paid_on=paid_on, payer=payer, payer_name=payer_name,
                     breakdown={month: str(amount) for month, amount in breakdown.items()},
                     exception=_as_recorded(exception))]


def _as_recorded(exception: dict | None) -> dict | None:
    """The decision as the event keeps it: a free-form field, so its date is written out (as JSON can hold it)."""
    return exception and {**exception, "decided_on": exception["decided_on"].isoformat()}


def _check_months_payable(member: Member, months: list[str]) -> None:
    for month in months:
        if member.dues.due_for(month) is None:
            raise refuse(f"{month[:4]}年的党费还没有核定", "dues_not_assessed", "months")
        if month in member.dues.paid or month in member.dues.carried:
            raise refuse(f"{chinese.month(month)}的党费已经缴过", "month_already_paid", "months")
        if not member.on_register_in(month):
            raise refuse(f"{chinese.month(month)}这名党员不在本支部", "month_outside_membership", "months")


def _check_back_payment(months: list[str], paid_on: date, exception: dict | None, today: date) -> None:
    """Months more than six months back need the branch's recorded decision, whatever payments they are split over."""
    old = [month for month in months if rulebook.needs_exception(month, paid_on)]
    if not old:
        return
    if not exception:
        raise refuse(f"补交超过{MAX_BACK_PAYMENT_MONTHS}个月以前的党费（{'、'.join(old)}）须有支部决定："
                     "请填写 exception（resolution 决定、decided_on 日期）", "back_payment_needs_decision", "exception")
    require_not_future(exception["decided_on"], "exception.decided_on", today)
    if exception["decided_on"] > paid_on:
        raise refuse("支部决定须在补交之日或之前作出", "decision_after_payment", "exception.decided_on")


def carry(member: Member, transfer_id: str, paid_until: str | None, received_on: date) -> list:
    """The months a letter's "dues paid up to" settles here, from the month of the move: carried, naming it."""
    months = rulebook.carried_months(paid_until, received_on)
    if not months or not owes_dues(member.party_member):
        return []
    return [DuesCarried(member_id=member.member_id, branch_id=member.branch_id, transfer_id=transfer_id,
                        months=months, paid_until=paid_until)]


def arrears(member: Member, today: date) -> list[str]:
    """Months already over, fixed, owing something and unsettled, while the member was on the register."""
    return rulebook.arrears(member.dues, member.on_register_in, previous_month(month_of(today)))


def unpaid_streak(member: Member, today: date) -> list[str]:
    """The run of consecutive unpaid months that ends with the last month already over."""
    return rulebook.unpaid_run(member.dues, member.on_register_in, previous_month(month_of(today)))


def letter_dues(member: Member, issued_on: date) -> tuple[str | None, list[str]]:
    """What a letter says of dues: "paid up to" (the end of the unbroken settled run) and the months still owed."""
    owed = rulebook.months_owed(member.dues, member.on_register_in, previous_month(month_of(issued_on)))
    return rulebook.paid_up_to(member.dues, member.on_register_in), owed


def review_arrears(member: Member, today: date, rules: dict) -> list:
    """Raise one review when a Party member's unpaid run reaches the rules' months; a run is reviewed once."""
    streak = unpaid_streak(member, today)
    if not member.active or not owes_dues(member.party_member) or not rulebook.review_due(streak, rules) \
            or streak[0] in member.dues.reviews:
        return []
    return [DuesArrearsReviewRaised(member_id=member.member_id, branch_id=member.branch_id, months_unpaid=streak,
                                    raised_on=today)]
