"""Party dues (党费): the yearly assessment, hardship reductions, payments, back-payment, arrears review.

National rules: retirees pay 0.5 % of the whole basic pension up to 5000 yuan and 1 % above;
in-service members 0.5 / 1 / 1.5 / 2 % in the bands up to 3000, 5000, 10000 and above.
Six consecutive unpaid months raise a review — never a removal.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from contracts.members import DuesArrearsReviewRaised, DuesAssessed, DuesPaid, DuesReduced
from services.members.domain import refuse, require_not_future
from services.members.domain.ledger import month_of, months_between, previous_month
from services.members.domain.member import Member, require_active

RETIREE_BANDS = ((Decimal("5000"), Decimal("0.005")), (None, Decimal("0.01")))
IN_SERVICE_BANDS = ((Decimal("3000"), Decimal("0.005")), (Decimal("5000"), Decimal("0.01")),
                    (Decimal("10000"), Decimal("0.015")), (None, Decimal("0.02")))
MAX_BACK_PAYMENT_MONTHS = 6
REVIEW_STREAK = 6
CENT = Decimal("0.01")


def dues_rate(retirement_kind: str, base: Decimal) -> Decimal:
    """The rate applied to the whole base (not progressively), from the member's band."""
    bands = IN_SERVICE_BANDS if retirement_kind == "in_service" else RETIREE_BANDS
    for ceiling, rate in bands:
        if ceiling is None or base <= ceiling:
            return rate
    raise AssertionError("unreachable: the last band has no ceiling")


def monthly_dues(retirement_kind: str, base: Decimal) -> tuple[Decimal, Decimal]:
    rate = dues_rate(retirement_kind, base)
    return rate, (base * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def assess(member: Member, year: int) -> list:
    """Fix the member's monthly amount for ``year``; returns [] when already fixed or there is no base."""
    base = member.profile.get("pension_base")
    if not member.active or year in member.dues.assessed or base is None:
        return []
    rate, amount = monthly_dues(member.profile["retirement_kind"], Decimal(base))
    return [DuesAssessed(member_id=member.member_id, branch_id=member.branch_id, year=year, base=Decimal(base),
                         rate=rate, monthly_amount=amount)]


def reduce(member: Member, year: int, from_month: str, amount: Decimal, resolution: str) -> list:
    """A hardship reduction or exemption, by a resolution of the branch."""
    require_active(member)
    if year not in member.dues.assessed:
        raise refuse(f"dues for {year} have not been fixed yet", "dues_not_assessed", "year")
    if from_month[:4] != str(year):
        raise refuse("the month must fall in the year", "month_outside_year", "from_month")
    if amount > member.dues.assessed[year]:
        raise refuse("a reduction cannot raise the amount", "not_a_reduction", "monthly_amount")
    return [DuesReduced(member_id=member.member_id, branch_id=member.branch_id, year=year, from_month=from_month,
                        monthly_amount=amount, resolution=resolution)]


def pay(member: Member, months: list[str], paid_on: date, payer: str, payer_name: str | None,
        amount: Decimal | None, today: date) -> list:
    require_not_future(paid_on, "paid_on", today)
    months = sorted(set(months))
    _check_months_payable(member, months, paid_on)
    breakdown = {month: member.dues.due_for(month) for month in months}
    due = sum(breakdown.values(), Decimal("0"))
    if amount is not None and amount != due:
        raise refuse(f"the months paid come to {due} yuan, not {amount}", "amount_mismatch", "amount")
    if payer != "self" and not payer_name:
        raise refuse("name who paid on the member's behalf", "payer_name_required", "payer_name")
    return [DuesPaid(member_id=member.member_id, branch_id=member.branch_id, months=months, amount=due,
                     paid_on=paid_on, payer=payer, payer_name=payer_name,
                     breakdown={month: str(amount) for month, amount in breakdown.items()})]


def _check_months_payable(member: Member, months: list[str], paid_on: date) -> None:
    for month in months:
        if member.dues.due_for(month) is None:
            raise refuse(f"dues for {month[:4]} have not been fixed yet", "dues_not_assessed", "months")
        if month in member.dues.paid:
            raise refuse(f"{month} is already paid", "month_already_paid", "months")
        if not member.on_register_in(month):
            raise refuse(f"{month} is outside the member's time in the branch", "month_outside_membership", "months")
    back = [month for month in months if month < month_of(paid_on)]
    if len(back) > MAX_BACK_PAYMENT_MONTHS:
        raise refuse(f"a back-payment covers at most {MAX_BACK_PAYMENT_MONTHS} months", "back_payment_too_long",
                     "months")


def arrears(member: Member, today: date) -> list[str]:
    """Months already over, fixed, owing something and unpaid, from the member's first due month on."""
    if not member.dues.assessed:
        return []
    first = max(month_of(member.joined_on), f"{min(member.dues.assessed)}-01")
    last = previous_month(month_of(today))
    if member.left_on is not None:
        last = min(last, month_of(member.left_on))
    return [m for m in months_between(first, last)
            if member.on_register_in(m) and (member.dues.due_for(m) or 0) > 0 and m not in member.dues.paid]


def unpaid_streak(member: Member, today: date) -> list[str]:
    """The run of consecutive unpaid months that ends with the last month already over."""
    owing = set(arrears(member, today))
    streak, month = [], previous_month(month_of(today))
    while month in owing:
        streak.insert(0, month)
        month = previous_month(month)
    return streak


def review_arrears(member: Member, today: date) -> list:
    """Raise one review when a streak of unpaid months reaches six; the same streak is reviewed once."""
    streak = unpaid_streak(member, today)
    if not member.active or len(streak) < REVIEW_STREAK or streak[0] in member.dues.reviews:
        return []
    return [DuesArrearsReviewRaised(member_id=member.member_id, branch_id=member.branch_id, months_unpaid=streak,
                                    raised_on=today)]
