"""A member's place in the register: registration, profile, health, groups, death, leaving the Party.

The member aggregate also carries the member's transfer and dues ledger (see transfer.py, dues.py),
so that every change to a member is serialised on one stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from contracts.members import (
    DuesArrearsReviewRaised, DuesAssessed, DuesCarried, DuesPaid, DuesReduced, MemberAssignedToGroup, MemberDied,
    MemberHealthChanged, MemberLeftParty, MemberMoved, MemberProfileUpdated, MemberRegistered, MemberRejoined,
    MemberTransferredOut, TransferCancelled, TransferExpired, TransferLetterIssued, TransferReceived,
    TransferReturnSlipReturned)
from contracts import words
from shared import chinese
from services.members.domain import MembersConflict, refuse, require_not_future
from services.members.domain.branch import Branch, require_open
from contracts.rulebook.dues import DuesLedger, Stay, branch_answering
from services.members.domain.ledger import Transfer

PROFILE_FIELDS = ("name", "gender", "birth_date", "party_join_date", "pension_base", "phone", "address",
                  "retirement_kind")


@dataclass(frozen=True)
class Member:
    member_id: str
    branch_id: str
    joined_on: date
    profile: dict
    party_member: bool
    health: str
    mobility: str
    status: str = "active"
    left_on: date | None = None
    group_id: str | None = None
    transfer: Transfer | None = None
    dues: DuesLedger = field(default_factory=DuesLedger)
    since: date | None = None       # the day the member came to their current branch
    stays: tuple[Stay, ...] = ()    # every branch of this bureau the member was in, and how each stay ended

    @property
    def active(self) -> bool:
        return self.status == "active"

    def on_register_in(self, month: str) -> bool:
        """Whether a branch of this bureau answers for the member's dues in ``month`` (YYYY-MM)."""
        return branch_answering(self.stays, month) is not None

    def ended(self, on: date, how: str) -> tuple[Stay, ...]:
        """The stays with the current one closed on ``on``."""
        last = self.stays[-1]
        return self.stays[:-1] + (replace(last, ends_on=on, ended_by=how),)


def register_member(member_id: str, branch: Branch, details: dict, today: date,
                    same_person: dict | None = None) -> list:
    """A new member of an open branch, with dates that can have happened, who is not on the register yet.

    ``same_person`` is what the register already holds of someone with this name and birth date.
    """
    require_open(branch)
    if same_person and "transfer_id" in same_person:
        raise refuse(f"这个人转入本局的组织关系（{same_person['transfer_id']}）正在办理："
                     "请办理接收，不要重复登记", "transfer_in_pending")
    if same_person:
        raise MembersConflict(f"这个人已经在册（党员编号 {same_person['member_id']}）",
                              code="member_already_registered", fields={"name": ["已经在册"]})
    joined_on = details.get("joined_on") or today
    require_not_future(details["birth_date"], "birth_date", today)
    require_not_future(joined_on, "joined_on", today)
    if joined_on < branch.established_on:
        raise refuse("入册日期不能早于支部成立的日期", "joined_before_branch", "joined_on")
    check_party_dates(details, today)
    return [MemberRegistered(member_id=member_id, branch_id=branch.branch_id, name=details["name"],
                             gender=details["gender"], birth_date=details["birth_date"],
                             party_member=details["party_member"], party_join_date=details.get("party_join_date"),
                             retirement_kind=details["retirement_kind"], pension_base=details.get("pension_base"),
                             health=details["health"], mobility=details["mobility"], phone=details.get("phone"),
                             address=details.get("address"), joined_on=joined_on)]


def check_party_dates(details: dict, today: date) -> None:
    if details.get("party_member") and details.get("party_join_date") is None:
        raise refuse("中共党员须填写入党日期", "party_join_date_required",
                     "party_join_date")
    if details.get("party_join_date") is not None:
        require_not_future(details["party_join_date"], "party_join_date", today)
        if details["party_join_date"] <= details["birth_date"]:
            raise refuse("入党日期须在出生日期之后", "party_join_before_birth",
                         "party_join_date")


def update_profile(member: Member, changes: dict, today: date) -> list:
    require_active(member)
    changed = {k: v for k, v in changes.items() if member.profile.get(k) != v}
    if not changed:
        return []
    merged = {**member.profile, **changed, "party_member": member.party_member}
    require_not_future(merged["birth_date"], "birth_date", today)
    check_party_dates(merged, today)
    return [MemberProfileUpdated(member_id=member.member_id, changes=changed)]


def change_health(member: Member, health: str, mobility: str, changed_on: date, today: date) -> list:
    require_active(member)
    require_not_future(changed_on, "changed_on", today)
    if (health, mobility) == (member.health, member.mobility):
        return []
    return [MemberHealthChanged(member_id=member.member_id, health=health, mobility=mobility, changed_on=changed_on)]


def assign_group(member: Member, branch: Branch, group_id: str | None, assigned_on: date, today: date) -> list:
    require_active(member)
    require_not_future(assigned_on, "assigned_on", today)
    require_after_joining(member, assigned_on, "assigned_on")
    if group_id is not None and group_id not in branch.groups:
        raise refuse("这名党员所在的支部没有这个党小组", "unknown_group", "group_id")
    if group_id == member.group_id:
        return []
    return [MemberAssignedToGroup(member_id=member.member_id, branch_id=member.branch_id, group_id=group_id,
                                  assigned_on=assigned_on)]


def record_death(member: Member, died_on: date, today: date) -> list:
    require_active(member)
    require_not_future(died_on, "died_on", today)
    require_after_joining(member, died_on, "died_on")
    withdrawn = _withdraw_letter(member, died_on, "the member died")
    return withdrawn + [MemberDied(member_id=member.member_id, branch_id=member.branch_id, died_on=died_on)]


def remove_from_party(member: Member, left_on: date, decision: str, today: date) -> list:
    """Only by a recorded decision of the organisation: arrears or absence alone never remove anyone."""
    require_active(member)
    require_not_future(left_on, "left_on", today)
    require_after_joining(member, left_on, "left_on")
    withdrawn = _withdraw_letter(member, left_on, "the member left the Party")
    return withdrawn + [MemberLeftParty(member_id=member.member_id, branch_id=member.branch_id, left_on=left_on,
                                        decision=decision)]


def _withdraw_letter(member: Member, on: date, reason: str) -> list:
    """A letter still pending when the member leaves the register is cancelled, so no branch can receive them."""
    transfer = member.transfer
    if transfer is None or not transfer.pending:
        return []
    return [TransferCancelled(transfer_id=transfer.transfer_id, cancelled_on=max(on, transfer.issued_on),
                              reason=reason)]


def require_active(member: Member) -> None:
    if not member.active:
        raise refuse(f"这名党员已不在册（{words.word(words.MEMBER_STATUS, member.status)}）", "member_not_active",
                     "member_id")


def require_after_joining(member: Member, day: date, field_name: str) -> None:
    if day < member.joined_on:
        raise refuse("日期早于这名党员入册的日期", "before_joining", field_name)
    if member.since is not None and day < member.since:
        raise refuse(f"日期早于这名党员转入现在所在支部的日期（{chinese.day(member.since)}）",
                     "before_current_branch", field_name)


def evolve_member(state: Member | None, event) -> Member | None:
    """Fold one event into the member; dues and transfer events are folded by their own modules."""
    if isinstance(event, MemberRegistered):
        profile = {name: getattr(event, name) for name in PROFILE_FIELDS}
        return Member(event.member_id, event.branch_id, event.joined_on, profile, event.party_member,
                      event.health, event.mobility, since=event.joined_on,
                      stays=(Stay(event.branch_id, event.joined_on),))
    for kind, fold in _FOLDS:
        if isinstance(event, kind):
            return fold(state, event)
    return state


def _profile(state: Member, event: MemberProfileUpdated) -> Member:
    return replace(state, profile={**state.profile, **event.changes})


def _moved(state: Member, event: MemberMoved) -> Member:
    return replace(state, branch_id=event.to_branch_id, group_id=None, since=event.moved_on,
                   stays=state.ended(event.moved_on, "moved") + (Stay(event.to_branch_id, event.moved_on),))


def _rejoined(state: Member, event: MemberRejoined) -> Member:
    return replace(state, branch_id=event.branch_id, status="active", left_on=None, group_id=None,
                   since=event.rejoined_on, stays=state.stays + (Stay(event.branch_id, event.rejoined_on),))


def _left(status: str, how: str, day: str):
    def fold(state: Member, event) -> Member:
        on = getattr(event, day)
        return replace(state, status=status, left_on=on, stays=state.ended(on, how))
    return fold


_FOLDS = (
    (MemberProfileUpdated, _profile),
    (MemberHealthChanged, lambda s, e: replace(s, health=e.health, mobility=e.mobility)),
    (MemberAssignedToGroup, lambda s, e: replace(s, group_id=e.group_id)),
    (MemberMoved, _moved),
    (MemberRejoined, _rejoined),
    (MemberTransferredOut, _left("transferred_out", "transferred_out", "left_on")),
    (MemberDied, _left("deceased", "died", "died_on")),
    (MemberLeftParty, _left("left_party", "left_party", "left_on")),
    (TransferLetterIssued, lambda s, e: replace(s, transfer=Transfer.issued(e))),
    (TransferReceived, lambda s, e: replace(s, transfer=s.transfer.received(e.received_on))),
    (TransferReturnSlipReturned, lambda s, e: replace(s, transfer=s.transfer.with_status("closed"))),
    (TransferCancelled, lambda s, e: replace(s, transfer=s.transfer.with_status("cancelled"))),
    (TransferExpired, lambda s, e: replace(s, transfer=s.transfer.with_status("expired"))),
    (DuesAssessed, lambda s, e: replace(s, dues=s.dues.assessed_for(e.year, e.monthly_amount))),
    (DuesReduced, lambda s, e: replace(s, dues=s.dues.reduced_from(e.from_month, e.monthly_amount))),
    (DuesPaid, lambda s, e: replace(s, dues=s.dues.paid_for(e.breakdown))),
    (DuesCarried, lambda s, e: replace(s, dues=s.dues.carried_for(e.months, e.transfer_id))),
    (DuesArrearsReviewRaised, lambda s, e: replace(s, dues=s.dues.reviewed(e.months_unpaid[0]))),
)
