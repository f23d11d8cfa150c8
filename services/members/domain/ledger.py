"""Value objects folded into a member: their transfer letter and their Party dues ledger."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from contracts.members import TransferLetterIssued


@dataclass(frozen=True)
class Transfer:
    """The member's latest transfer letter; ``status``: issued, received, closed, cancelled or expired."""

    transfer_id: str
    to_tenant_id: str
    to_branch_id: str
    issued_on: date
    valid_until: date
    status: str = "issued"
    received_on: date | None = None

    @classmethod
    def issued(cls, event: TransferLetterIssued) -> Transfer:
        return cls(event.transfer_id, event.to_tenant_id, event.to_branch_id, event.issued_on, event.valid_until)

    def received(self, on: date) -> Transfer:
        return replace(self, status="received", received_on=on)

    def with_status(self, status: str) -> Transfer:
        return replace(self, status=status)

    @property
    def pending(self) -> bool:
        return self.status == "issued"


@dataclass(frozen=True)
class DuesLedger:
    """Monthly amounts fixed per year, reductions from a month on, months paid, reviews raised."""

    assessed: dict = field(default_factory=dict)     # year -> monthly amount
    reductions: dict = field(default_factory=dict)   # "YYYY-MM" -> monthly amount from that month
    paid: dict = field(default_factory=dict)         # "YYYY-MM" -> amount paid for it
    reviews: tuple = ()                              # first unpaid month of each streak reviewed

    def assessed_for(self, year: int, amount: Decimal) -> DuesLedger:
        return replace(self, assessed={**self.assessed, year: Decimal(amount)})

    def reduced_from(self, month: str, amount: Decimal) -> DuesLedger:
        return replace(self, reductions={**self.reductions, month: Decimal(amount)})

    def paid_for(self, breakdown: dict) -> DuesLedger:
        return replace(self, paid={**self.paid, **{m: Decimal(a) for m, a in breakdown.items()}})

    def reviewed(self, since: str) -> DuesLedger:
        return replace(self, reviews=self.reviews + (since,))

    def due_for(self, month: str) -> Decimal | None:
        """The amount due for a month: the latest reduction in force that year, else the assessment."""
        year = int(month[:4])
        if year not in self.assessed:
            return None
        reductions = [m for m in self.reductions if m[:4] == month[:4] and m <= month]
        return self.reductions[max(reductions)] if reductions else self.assessed[year]


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, as YYYY-MM."""
    year, month = int(first[:4]), int(first[5:])
    end = (int(last[:4]), int(last[5:]))
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def branch_owed(stays: list[tuple[str, date, date | None]], month: str) -> str | None:
    """The branch responsible for a member's dues in ``month``, from their stays (branch, from, until).

    The sending branch stays responsible until the member is received: a month of a move belongs to
    the receiving branch, the months before it to the sender. A member leaving the register (death,
    leaving the Party or the bureau) still owes the month they left. None: not on the register then.
    """
    starts = {start for _, start, _ in stays}
    owner = None
    for branch, start, until in sorted(stays, key=lambda stay: stay[1]):
        last = None if until is None else previous_month(month_of(until)) if until in starts else month_of(until)
        if month_of(start) <= month and (last is None or month <= last):
            owner = branch
    return owner
