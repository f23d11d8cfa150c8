"""Party dues (党费): rates, which branch answers for which month, the ledger, back-payment, review.

- Rates (national): retirees pay 0.5 % of the whole basic pension up to 5000 yuan and 1 % above;
  in-service members 0.5 / 1 / 1.5 / 2 % in the bands up to 3000, 5000, 10000 and above.
  Only Party members owe dues.
- Who answers for a month: the branch the member belongs to; after a move (within the bureau or to
  another bureau) the sending branch answers until the month before the move, the receiving one
  from the month of the move. A member who dies or leaves the Party still owes the month they left.
- A month is settled when it is paid, carried on an introduction letter ("dues paid up to", settled
  on the sending side and marked as carried, naming the letter, on the receiving side), or owes nothing.
- "Paid up to" is the end of the unbroken run of settled months from the member's first month owed;
  the months after it still owed are listed on the letter.
- Back-payment: a month more than six months before the payment's month is paid only with a recorded
  decision of the branch; it is counted per month, so splitting an old debt over payments changes nothing.
- ``dues_reminder_months`` unpaid in a row: a gentle reminder; ``dues_review_months`` (at most six):
  the branch reviews the case — never a removal by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from collections.abc import Callable, Iterable, Mapping

from contracts.rulebook.calendar import add_months, month_of, months_between, previous_month

RETIREE_BANDS = ((Decimal("5000"), Decimal("0.005")), (None, Decimal("0.01")))
IN_SERVICE_BANDS = ((Decimal("3000"), Decimal("0.005")), (Decimal("5000"), Decimal("0.01")),
                    (Decimal("10000"), Decimal("0.015")), (None, Decimal("0.02")))
MAX_BACK_PAYMENT_MONTHS = 6
CENT = Decimal("0.01")
MOVES = ("moved", "transferred_out")


def dues_rate(retirement_kind: str, base: Decimal) -> Decimal:
    """The rate applied to the whole base (not progressively), from the member's band."""
    bands = IN_SERVICE_BANDS if retirement_kind == "in_service" else RETIREE_BANDS
    return next(rate for ceiling, rate in bands if ceiling is None or base <= ceiling)


def monthly_dues(retirement_kind: str, base: Decimal) -> tuple[Decimal, Decimal]:
    rate = dues_rate(retirement_kind, base)
    return rate, (base * rate).quantize(CENT, rounding=ROUND_HALF_UP)


# --- who answers for which month ----------------------------------------------------------------------

@dataclass(frozen=True)
class Stay:
    """The member in ``branch_id`` from ``starts_on`` until ``ends_on`` (None: still there); ``ended_by``
    is how it ended: ``moved`` (within the bureau), ``transferred_out``, ``died`` or ``left_party``."""

    branch_id: str
    starts_on: date
    ends_on: date | None = None
    ended_by: str | None = None

    @cached_property
    def first_month(self) -> str:
        """Worked out once per stay: a card asks it for every month of every member."""
        return month_of(self.starts_on)

    @cached_property
    def last_month(self) -> str | None:
        if self.ends_on is None:
            return None
        left = month_of(self.ends_on)
        return previous_month(left) if self.ended_by in MOVES else left


def branch_answering(stays: Iterable[Stay], month: str) -> str | None:
    """The branch that answers for the member's dues in ``month`` (None: not on this bureau's register)."""
    owner = None  # the stay that began last of those covering the month (of two begun the same day, the later)
    for stay in stays:
        if stay.first_month <= month and (stay.last_month is None or month <= stay.last_month) \
                and (owner is None or stay.starts_on >= owner.starts_on):
            owner = stay
    return owner.branch_id if owner else None


def months_answered(stays: Iterable[Stay], months: Iterable[str], branch_id: str | None = None) -> list[str]:
    """Of ``months``, those the member owes in this bureau (in ``branch_id`` only, when given)."""
    stays = list(stays)
    if len(stays) == 1:  # as most members: a month is the one stay's branch's while the stay lasts
        stay = stays[0]
        if branch_id not in (None, stay.branch_id):
            return []
        first, last = stay.first_month, stay.last_month
        return [m for m in months if first <= m and (last is None or m <= last)]
    return [m for m in months if (owner := branch_answering(stays, m)) is not None and branch_id in (None, owner)]


# --- the ledger ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DuesLedger:
    """Monthly amounts fixed per year, reductions from a month on, months paid or carried, reviews raised."""

    assessed: Mapping[int, Decimal] = field(default_factory=dict)      # year → monthly amount
    reductions: Mapping[str, Decimal] = field(default_factory=dict)    # from month → monthly amount
    paid: Mapping[str, Decimal] = field(default_factory=dict)          # month → amount paid for it
    carried: Mapping[str, str] = field(default_factory=dict)           # month → transfer id of the letter
    reviews: tuple[str, ...] = ()                                      # first month of each run reviewed

    def assessed_for(self, year: int, amount) -> DuesLedger:
        return replace(self, assessed={**self.assessed, year: Decimal(amount)})

    def reduced_from(self, month: str, amount) -> DuesLedger:
        return replace(self, reductions={**self.reductions, month: Decimal(amount)})

    def paid_for(self, breakdown: Mapping[str, Any]) -> DuesLedger:
        return replace(self, paid={**self.paid, **{m: Decimal(a) for m, a in breakdown.items()}})

    def carried_for(self, months: Iterable[str], transfer_id: str) -> DuesLedger:
        return replace(self, carried={**self.carried, **dict.fromkeys(months, transfer_id)})

    def reviewed(self, since: str) -> DuesLedger:
        return replace(self, reviews=self.reviews + (since,))

    def due_for(self, month: str) -> Decimal | None:
        """The month's amount: the latest reduction in force that year, else the assessment; None if not fixed."""
        year = int(month[:4])
        if year not in self.assessed:
            return None
        if not self.reductions:
            return Decimal(self.assessed[year])
        reductions = [m for m in self.reductions if m[:4] == month[:4] and m <= month]
        return Decimal(self.reductions[max(reductions)]) if reductions else Decimal(self.assessed[year])

    def settled(self, month: str) -> bool:
        return month in self.paid or month in self.carried or self.due_for(month) == 0

    def owing(self, month: str) -> bool:
        """Fixed, owing something, and neither paid nor carried."""
        return self.due_for(month) is not None and not self.settled(month)


OnRegister = Callable[[str], bool]


def arrears(ledger: DuesLedger, on_register: OnRegister, through: str) -> list[str]:
    """Every month up to ``through`` the member owes in this bureau and has not settled."""
    if not ledger.assessed:
        return []
    first = f"{min(ledger.assessed)}-01"
    # a paid or carried month owes nothing: asked first, as most months are (the rest is asked only of the others)
    return [m for m in months_between(first, through)
            if m not in ledger.paid and m not in ledger.carried and on_register(m) and ledger.owing(m)]


def unpaid_run(ledger: DuesLedger, on_register: OnRegister, last: str) -> list[str]:
    """The consecutive months owed and unsettled that end with ``last`` (the last month already over)."""
    run, month = [], last
    while on_register(month) and ledger.owing(month):
        run.insert(0, month)
        month = previous_month(month)
    return run


def paid_up_to(ledger: DuesLedger, on_register: OnRegister) -> str | None:
    """The last month of the unbroken run of settled months from the member's first month owed."""
    months = {m for year in ledger.assessed for m in months_between(f"{year}-01", f"{year}-12") if on_register(m)}
    paid_to = None
    for month in sorted(months | set(ledger.paid) | set(ledger.carried)):
        if not ledger.settled(month):
            break
        paid_to = month
    return paid_to


def months_owed(ledger: DuesLedger, on_register: OnRegister, through: str) -> list[str]:
    """What a letter lists as still owed: every unsettled month up to ``through``."""
    return arrears(ledger, on_register, through)


def reminder_due(run: list[str], rules: Mapping[str, Any]) -> bool:
    return int(rules["dues_reminder_months"]) <= len(run) < int(rules["dues_review_months"])


def review_due(run: list[str], rules: Mapping[str, Any]) -> bool:
    return len(run) >= int(rules["dues_review_months"])


def needs_exception(month: str, paid_on: date) -> bool:
    """A month more than six months before the payment's month: paid only by a recorded branch decision."""
    return month < add_months(month_of(paid_on), -MAX_BACK_PAYMENT_MONTHS)


def carried_months(paid_until: str | None, received_on: date) -> list[str]:
    """The months a letter's "dues paid up to" settles at the receiving side: from the month of the move."""
    if not paid_until:
        return []
    return months_between(month_of(received_on), paid_until)
