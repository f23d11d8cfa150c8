"""Value objects folded into a member: their transfer letter (the dues ledger is the rulebook's ``DuesLedger``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

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
