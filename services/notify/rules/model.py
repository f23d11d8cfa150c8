"""What the rules see (a bureau's snapshot, built from notify's own projections) and what they produce.

Pure data: no I/O, no clock. ``today`` is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from contracts import words
from contracts.rulebook.dues import DuesLedger, Stay, branch_answering
from contracts.rulebook.people import is_full_member
from contracts.rulebook.rules import RuleBook, RuleVersion


@dataclass(frozen=True)
class RuleSetVersion:
    version: int
    effective_from: date
    rules: dict


@dataclass(frozen=True)
class Branch:
    branch_id: str
    name: str
    open: bool = True


@dataclass(frozen=True)
class Member:
    member_id: str
    branch_id: str
    name: str
    birth_date: date
    health: str = "good"
    mobility: str = "mobile"
    phone: str | None = None
    party_member: bool = True
    active: bool = True
    joined_on: date | None = None
    group_id: str | None = None
    retirement_kind: str = "retired"
    party_join_date: date | None = None
    stays: tuple[Stay, ...] = ()

    def on_register_in(self, month: str) -> bool:
        """Whether a branch of this bureau answers for the member's dues in ``month`` (the rulebook's stays)."""
        stays = self.stays or (Stay(self.branch_id, self.joined_on or date.min),)  # projected before stays were kept
        return branch_answering(stays, month) is not None


@dataclass(frozen=True)
class Term:
    term_id: str
    branch_id: str
    starts_on: date
    ends_on: date
    committee: bool = True


@dataclass(frozen=True)
class PostHolding:
    term_id: str
    branch_id: str
    post: str
    member_id: str
    person_name: str
    filled_on: date
    vacated_on: date | None = None


@dataclass(frozen=True)
class Activity:
    """``status``: planned, held or cancelled; ``occurred_on`` is set once held."""
    activity_id: str
    branch_id: str
    kind: str
    title: str
    status: str
    planned_on: date | None = None
    occurred_on: date | None = None
    place: str | None = None
    group_id: str | None = None
    attendees: tuple[str, ...] = ()
    cancelled_on: date | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True)
class Reminded:
    """A meeting reminder already recorded for an activity: whom it was for (invitees, else the branch's
    secretary) and which webhooks received it — the people a cancellation must reach."""
    activity_id: str
    notification_id: str
    invitees: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outreach:
    member_id: str
    branch_id: str
    channel: str
    occurred_on: date


@dataclass(frozen=True)
class Care:
    member_id: str
    branch_id: str
    kind: str
    occurred_on: date
    holiday: str | None = None
    holiday_date: date | None = None


@dataclass(frozen=True)
class Dues:
    """A member's dues: monthly amount per assessed year, reductions from a month on, months paid."""
    member_id: str
    assessed: dict[int, str] = field(default_factory=dict)
    reductions: tuple[tuple[str, str], ...] = ()
    paid: frozenset[str] = frozenset()
    reviews: tuple[tuple[str, date], ...] = ()
    carried: frozenset[str] = frozenset()

    def ledger(self) -> DuesLedger:
        """The member's dues as the rulebook reads them (amounts paid do not matter to the reminders)."""
        return DuesLedger(assessed={year: amount for year, amount in self.assessed.items()},
                          reductions=dict(self.reductions), paid=dict.fromkeys(self.paid, 0),
                          carried=dict.fromkeys(self.carried, "letter"))


@dataclass(frozen=True)
class Transfer:
    """One bureau's view of a transfer: ``side`` is out (we issued the letter) or in (we receive)."""
    transfer_id: str
    side: str
    member_name: str
    from_branch_id: str | None
    to_branch_id: str | None
    to_tenant_id: str | None
    issued_on: date
    valid_until: date
    member_id: str | None = None
    received_on: date | None = None
    slip_returned_on: date | None = None
    closed_on: date | None = None


@dataclass(frozen=True)
class BureauSnapshot:
    tenant_id: str
    rule_sets: tuple[RuleSetVersion, ...] = ()
    branches: tuple[Branch, ...] = ()
    members: tuple[Member, ...] = ()
    terms: tuple[Term, ...] = ()
    posts: tuple[PostHolding, ...] = ()
    activities: tuple[Activity, ...] = ()
    outreach: tuple[Outreach, ...] = ()
    care: tuple[Care, ...] = ()
    dues: tuple[Dues, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    reminded: tuple[Reminded, ...] = ()

    def rules_on(self, today: date) -> dict:
        """The rule set in force on ``today``, as every service reads it (the rulebook's ``RuleBook``)."""
        return RuleBook(RuleVersion(r.version, r.effective_from, r.rules) for r in self.rule_sets).on(today)

    def open_branches(self) -> list[Branch]:
        return [b for b in self.branches if b.open]

    def active_members(self, branch_id: str | None = None) -> list[Member]:
        return [m for m in self.members if m.active and (branch_id is None or m.branch_id == branch_id)]

    def full_members(self, branch_id: str, today: date) -> int:
        return sum(1 for m in self.active_members(branch_id)
                   if is_full_member(m.party_member, m.party_join_date, today))

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.member_id == member_id), None)

    def current_term(self, branch_id: str, today: date) -> Term | None:
        """The branch's latest term that has started."""
        started = [t for t in self.terms if t.branch_id == branch_id and t.starts_on <= today]
        return max(started, key=lambda t: t.starts_on) if started else None

    def holders(self, term_id: str) -> list[PostHolding]:
        return [p for p in self.posts if p.term_id == term_id and p.vacated_on is None]


@dataclass(frozen=True)
class Reminder:
    """A rule fired: for ``subject`` in ``period``, tell ``audiences`` this, because of ``records``."""
    rule: str
    subject: str
    period: str
    branch_id: str | None
    audiences: tuple[str, ...]
    title: str
    body: str
    records: tuple[tuple[str, str], ...]
    due_on: date
    details: dict = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        return f"{self.rule}:{self.subject}:{self.period}"


def secretary_of(branch_id: str) -> str:
    return f"secretary:{branch_id}"


BUREAU = "bureau"


def member_audience(member_id: str) -> str:
    return f"member:{member_id}"


def webhook_audience(webhook_id: str) -> str:
    """One webhook by id (a receiver that was told of something is told of its follow-up too)."""
    return f"webhook:{webhook_id}"


def within(today: date, start: date, end: date) -> bool:
    return start <= today <= end


MOBILITY_LABELS = {"mobile": "行动自如", "limited": "行动不便", "homebound": "居家难出门"}
HEALTH_LABELS = {"good": "健康", "fair": "一般", "poor": "较差"}
CHANNEL_LABELS = {"visit": "走访谈心", "phone": "电话沟通", "home_study": "送学上门"}
POST_LABELS = {"secretary": "书记", "deputy_secretary": "副书记", "member": "委员"}
RULE_LABELS = words.NOTIFY_RULES
RECORD_LABELS = {"activity": "活动", "member": "成员", "branch": "支部", "committee_term": "支委会任期",
                 "transfer": "组织关系转接", "notification": "通知"}
