"""Events published by the members service on ``branchwork.members.events``.

Dates are ISO dates, months are ``YYYY-MM``, money is a decimal string in yuan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from shared.contracts import EventRegistry

registry = EventRegistry()
event = registry.event


# --- bureaus and their local rules --------------------------------------------------------------

@event("members.BureauRegistered")
@dataclass(frozen=True)
class BureauRegistered:
    bureau_id: str
    name: str
    code: str


@event("members.BureauRulesPublished")
@dataclass(frozen=True)
class BureauRulesPublished:
    """A new version of the bureau's local rule set, in force from ``effective_from``."""
    bureau_id: str
    rules_version: int
    effective_from: date
    rules: dict


# --- branches and party groups -------------------------------------------------------------------

@event("members.BranchEstablished")
@dataclass(frozen=True)
class BranchEstablished:
    branch_id: str
    name: str
    established_on: date


@event("members.PartyGroupFormed")
@dataclass(frozen=True)
class PartyGroupFormed:
    branch_id: str
    group_id: str
    name: str


@event("members.BranchClosed")
@dataclass(frozen=True)
class BranchClosed:
    branch_id: str
    closed_on: date
    reason: str
    merged_into: str | None = None


# --- members --------------------------------------------------------------------------------------

@event("members.MemberRegistered")
@dataclass(frozen=True)
class MemberRegistered:
    """A member enters this bureau's register, in ``branch_id`` from ``joined_on``.

    ``transfer_id`` is set when the member arrived by a transfer from another bureau; ``origins``
    then lists the member's ids in the bureaus they came through ({"tenant_id", "member_id"}).
    """
    member_id: str
    branch_id: str
    name: str
    gender: str
    birth_date: date
    party_member: bool
    party_join_date: date | None
    retirement_kind: str
    pension_base: Decimal | None
    health: str
    mobility: str
    phone: str | None
    address: str | None
    joined_on: date
    transfer_id: str | None = None
    origins: list[dict] = field(default_factory=list)


@event("members.MemberProfileUpdated")
@dataclass(frozen=True)
class MemberProfileUpdated:
    """Changed profile fields only (name, gender, birth_date, phone, address, pension_base, party_join_date)."""
    member_id: str
    changes: dict


@event("members.MemberHealthChanged")
@dataclass(frozen=True)
class MemberHealthChanged:
    member_id: str
    health: str
    mobility: str
    changed_on: date


@event("members.MemberAssignedToGroup")
@dataclass(frozen=True)
class MemberAssignedToGroup:
    member_id: str
    branch_id: str
    group_id: str | None
    assigned_on: date | None = None     # when the member joined the group (added later: absent in older events)


@event("members.MemberMoved")
@dataclass(frozen=True)
class MemberMoved:
    """The member belongs to ``to_branch_id`` from ``moved_on`` (a transfer within the bureau or a merger)."""
    member_id: str
    from_branch_id: str
    to_branch_id: str
    moved_on: date
    reason: str
    transfer_id: str | None = None


@event("members.MemberTransferredOut")
@dataclass(frozen=True)
class MemberTransferredOut:
    """The member left this bureau for another on ``left_on``, when the receiving branch took them in."""
    member_id: str
    branch_id: str
    transfer_id: str
    to_tenant_id: str
    left_on: date


@event("members.MemberRejoined")
@dataclass(frozen=True)
class MemberRejoined:
    """A member who had left this bureau by transfer came back: the same member, in ``branch_id`` again."""
    member_id: str
    branch_id: str
    rejoined_on: date
    transfer_id: str


@event("members.MemberDied")
@dataclass(frozen=True)
class MemberDied:
    member_id: str
    branch_id: str
    died_on: date


@event("members.MemberLeftParty")
@dataclass(frozen=True)
class MemberLeftParty:
    """Removal from the Party by a recorded decision — never automatic."""
    member_id: str
    branch_id: str
    left_on: date
    decision: str


# --- committee ------------------------------------------------------------------------------------

@event("members.ElectionHeld")
@dataclass(frozen=True)
class ElectionHeld:
    """``eligible_voters``: the branch's full Party members on the day (from the roster), less ``excused``
    ({member_id, reason}) — the base of the 4/5 quorum. ``vacant_seats``: seats no candidate won (flagged until
    filled). Both added later: absent in older events (read as no one excused, no seat vacant)."""
    branch_id: str
    election_id: str
    held_on: date
    eligible_voters: int
    attendees: int
    seats: int
    candidates: list[dict]
    elected: list[str]
    excused: list[dict] = field(default_factory=list)
    vacant_seats: int = 0


@event("members.CommitteeTermOpened")
@dataclass(frozen=True)
class CommitteeTermOpened:
    """A term of office, usually three years; ``committee`` is False for a branch of under 7 members."""
    branch_id: str
    term_id: str
    election_id: str
    starts_on: date
    ends_on: date
    committee: bool


@event("members.PostFilled")
@dataclass(frozen=True)
class PostFilled:
    """``post`` is secretary, deputy_secretary or member; ``unit`` names the other unit of an in-service member."""
    branch_id: str
    term_id: str
    post: str
    member_id: str
    filled_on: date
    person_name: str
    unit: str | None = None


@event("members.PostVacated")
@dataclass(frozen=True)
class PostVacated:
    branch_id: str
    term_id: str
    post: str
    member_id: str
    vacated_on: date
    reason: str


@event("members.AllowancePaid")
@dataclass(frozen=True)
class AllowancePaid:
    branch_id: str
    term_id: str
    member_id: str
    post: str
    month: str
    amount: Decimal


# --- transfers (组织关系转接) ------------------------------------------------------------------------

@event("members.TransferLetterIssued")
@dataclass(frozen=True)
class TransferLetterIssued:
    """The sending branch issued an introduction letter; it stays responsible until the member is received."""
    transfer_id: str
    member_id: str
    member_name: str
    from_branch_id: str
    to_tenant_id: str
    to_branch_id: str
    dues_paid_until: str | None
    issued_on: date
    valid_until: date
    dues_months_owed: list[str] = field(default_factory=list)   # added later: the months still owed on the letter


@event("members.IncomingTransferAnnounced")
@dataclass(frozen=True)
class IncomingTransferAnnounced:
    """The receiving bureau's side of a letter from another bureau (written in the receiving tenant)."""
    transfer_id: str
    from_tenant_id: str
    from_branch_id: str
    to_branch_id: str
    member: dict
    dues_paid_until: str | None
    issued_on: date
    valid_until: date
    dues_months_owed: list[str] = field(default_factory=list)


@event("members.TransferReceived")
@dataclass(frozen=True)
class TransferReceived:
    """The receiving branch took the member in on ``received_on`` (``member_id`` is their id there)."""
    transfer_id: str
    to_branch_id: str
    member_id: str
    received_on: date


@event("members.TransferReturnSlipReturned")
@dataclass(frozen=True)
class TransferReturnSlipReturned:
    transfer_id: str
    returned_on: date


@event("members.TransferCancelled")
@dataclass(frozen=True)
class TransferCancelled:
    transfer_id: str
    cancelled_on: date
    reason: str


@event("members.TransferExpired")
@dataclass(frozen=True)
class TransferExpired:
    transfer_id: str
    expired_on: date


# --- Party dues -----------------------------------------------------------------------------------

@event("members.DuesAssessed")
@dataclass(frozen=True)
class DuesAssessed:
    """The monthly amount fixed for ``year`` at its start, with the base and rate it came from."""
    member_id: str
    branch_id: str
    year: int
    base: Decimal
    rate: Decimal
    monthly_amount: Decimal


@event("members.DuesReduced")
@dataclass(frozen=True)
class DuesReduced:
    """A hardship reduction or exemption decided by the branch (``resolution`` names the decision)."""
    member_id: str
    branch_id: str
    year: int
    from_month: str
    monthly_amount: Decimal
    resolution: str


@event("members.DuesPaid")
@dataclass(frozen=True)
class DuesPaid:
    """``payer`` is self, relative or member (another member paying on their behalf).

    ``breakdown`` gives the amount due for each month paid (month → decimal string); they sum to ``amount``.
    ``exception`` ({resolution, decided_on}) is the branch's recorded decision that let months more than six
    months back be paid (added later: absent in older events).
    """
    member_id: str
    branch_id: str
    months: list[str]
    amount: Decimal
    paid_on: date
    payer: str
    payer_name: str | None = None
    breakdown: dict = field(default_factory=dict)
    exception: dict | None = None


@event("members.DuesCarried")
@dataclass(frozen=True)
class DuesCarried:
    """Months settled on the receiving side by the "dues paid up to" of a letter from another bureau: not owed
    again here, marked as carried and naming the letter (``transfer_id``)."""
    member_id: str
    branch_id: str
    transfer_id: str
    months: list[str]
    paid_until: str


@event("members.DuesArrearsReviewRaised")
@dataclass(frozen=True)
class DuesArrearsReviewRaised:
    """Six months unpaid: the branch must review the case. Never a removal by itself."""
    member_id: str
    branch_id: str
    months_unpaid: list[str]
    raised_on: date


# --- the local rule set ---------------------------------------------------------------------------

from contracts.rulebook.rules import DEFAULT_RULES  # noqa: E402,F401 — the defaults every new bureau publishes
