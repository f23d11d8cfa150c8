"""Transfers of membership (组织关系转接): the letter, its receipt, the return slip, cancel and expiry.

A member is in exactly one branch at every moment: the sending branch keeps the member until the
receiving branch takes them in, and then one event moves them on that day. Across bureaus the
receiving bureau's side is its own stream (``IncomingTransfer``), kept in step by the saga.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from contracts.members import (
    IncomingTransferAnnounced, MemberMoved, MemberRegistered, MemberRejoined, MemberTransferredOut,
    TransferCancelled, TransferExpired, TransferLetterIssued, TransferReceived, TransferReturnSlipReturned)
from services.members.domain import refuse, require_not_future
from shared import chinese
from services.members.domain.branch import Branch, require_open
from services.members.domain.dues import carry, letter_dues
from services.members.domain.member import Member, evolve_member, require_active, require_after_joining

TRANSFER_STATUS = {"issued": "正在办理", "received": "已被接收", "closed": "已办结（回执已寄回）",
                   "cancelled": "已取消", "expired": "已过期"}


def issue_letter(member: Member, transfer_id: str, *, own_tenant: str, to_tenant: str, to_branch: str,
                 issued_on: date, valid_days: int, today: date) -> list:
    """The letter states "dues paid up to" — the end of the unbroken run of settled months — and the months
    still owed (the rulebook's ``paid_up_to`` and ``months_owed``)."""
    require_active(member)
    require_not_future(issued_on, "issued_on", today)
    if member.transfer is not None and member.transfer.pending:
        raise refuse(f"这名党员的组织关系转接（{member.transfer.transfer_id}）正在办理", "transfer_pending",
                     "member_id")
    if to_tenant == own_tenant and to_branch == member.branch_id:
        raise refuse("这名党员已经在那个支部", "same_branch", "to_branch_id")
    require_after_joining(member, issued_on, "issued_on")
    paid_until, owed = letter_dues(member, issued_on)
    return [TransferLetterIssued(
        transfer_id=transfer_id, member_id=member.member_id, member_name=member.profile["name"],
        from_branch_id=member.branch_id, to_tenant_id=to_tenant, to_branch_id=to_branch,
        dues_paid_until=paid_until, issued_on=issued_on, valid_until=issued_on + timedelta(days=valid_days),
        dues_months_owed=owed)]


def receive_within_bureau(member: Member, transfer_id: str, target: Branch, received_on: date, today: date) -> list:
    """The receiving branch takes the member in: the letter is received and the member moves that day.

    A member already there (their branch was merged into the receiving one meanwhile) does not move again.
    """
    transfer = _pending(member, transfer_id)
    require_active(member)
    require_open(target, "to_branch_id")
    _check_receipt_day(transfer.issued_on, transfer.valid_until, received_on, today)
    require_after_joining(member, received_on, "received_on")
    received = [TransferReceived(transfer_id=transfer_id, to_branch_id=target.branch_id, member_id=member.member_id,
                                 received_on=received_on)]
    if member.branch_id == target.branch_id:
        return received
    return received + [MemberMoved(member_id=member.member_id, from_branch_id=member.branch_id,
                                   to_branch_id=target.branch_id, moved_on=received_on, reason="transfer",
                                   transfer_id=transfer_id)]


def confirm_received_elsewhere(member: Member, transfer_id: str, received_on: date, new_member_id: str) -> list:
    """The other bureau took the member in: they leave this register on that day.

    A receipt that crossed a cancellation still wins — the member is where they were received — unless the
    member has left the register meanwhile (died, left the Party): their record here is not rewritten.
    A receipt dated before the member came to their current branch (a merger since) counts from that day.
    """
    transfer = member.transfer
    if transfer is None or transfer.transfer_id != transfer_id or transfer.status not in ("issued", "cancelled") \
            or not member.active:
        return []
    return [TransferReceived(transfer_id=transfer_id, to_branch_id=transfer.to_branch_id, member_id=new_member_id,
                             received_on=received_on),
            MemberTransferredOut(member_id=member.member_id, branch_id=member.branch_id, transfer_id=transfer_id,
                                 to_tenant_id=transfer.to_tenant_id,
                                 left_on=max(received_on, member.since or received_on))]


def return_slip(member: Member, transfer_id: str, returned_on: date, today: date) -> list:
    transfer = _current(member, transfer_id)
    if transfer.status != "received":
        raise refuse("党员被接收以后才能寄回回执", "not_received")
    require_not_future(returned_on, "returned_on", today)
    if transfer.received_on and returned_on < transfer.received_on:
        raise refuse("回执日期不能早于接收日期", "slip_before_receipt", "on")
    return [TransferReturnSlipReturned(transfer_id=transfer_id, returned_on=returned_on)]


def cancel(member: Member, transfer_id: str, cancelled_on: date, reason: str, today: date) -> list:
    _pending(member, transfer_id)
    require_not_future(cancelled_on, "cancelled_on", today)
    return [TransferCancelled(transfer_id=transfer_id, cancelled_on=cancelled_on, reason=reason)]


def expire(member: Member, transfer_id: str, today: date) -> list:
    transfer = _pending(member, transfer_id)
    if today <= transfer.valid_until:
        raise refuse(f"介绍信有效期至{chinese.day(transfer.valid_until)}，还未过期", "letter_still_valid")
    return [TransferExpired(transfer_id=transfer_id, expired_on=today)]


def _current(member: Member, transfer_id: str):
    if member.transfer is None or member.transfer.transfer_id != transfer_id:
        raise refuse("这名党员没有这份介绍信", "unknown_transfer", "transfer_id")
    return member.transfer


def _pending(member: Member, transfer_id: str):
    transfer = _current(member, transfer_id)
    if not transfer.pending:
        raise refuse(f"这份介绍信{TRANSFER_STATUS.get(transfer.status, transfer.status)}",
                     f"transfer_{transfer.status}")
    return transfer


def _check_receipt_day(issued_on: date, valid_until: date, received_on: date, today: date) -> None:
    require_not_future(received_on, "received_on", today)
    if received_on < issued_on:
        raise refuse("接收日期不能早于开具介绍信的日期", "received_before_issue", "received_on")
    if received_on > valid_until:
        raise refuse(f"介绍信已于{chinese.day(valid_until)}过期", "letter_expired", "received_on")


@dataclass(frozen=True)
class IncomingTransfer:
    """The receiving bureau's copy of a letter from another bureau."""

    transfer_id: str
    from_tenant_id: str
    to_branch_id: str
    member: dict
    issued_on: date
    valid_until: date
    status: str = "issued"
    dues_paid_until: str | None = None


def announce_incoming(letter: TransferLetterIssued, from_tenant: str, member_snapshot: dict) -> list:
    return [IncomingTransferAnnounced(
        transfer_id=letter.transfer_id, from_tenant_id=from_tenant, from_branch_id=letter.from_branch_id,
        to_branch_id=letter.to_branch_id, member=member_snapshot, dues_paid_until=letter.dues_paid_until,
        issued_on=letter.issued_on, valid_until=letter.valid_until, dues_months_owed=list(letter.dues_months_owed))]


def receive_from_other_bureau(incoming: IncomingTransfer, target: Branch, received_on: date, today: date,
                              new_member_id: str, returning: Member | None) -> tuple[list, list]:
    """Take in a member from another bureau: (events of the incoming letter, events of the member).

    Someone who once left this bureau comes back as the same member; anyone else is registered anew. The
    months the letter's "dues paid up to" covers from the month of the move are settled here, carried.
    """
    if incoming.status != "issued":
        raise refuse(f"这份介绍信{TRANSFER_STATUS.get(incoming.status, incoming.status)}",
                     f"transfer_{incoming.status}")
    require_open(target, "to_branch_id")
    _check_receipt_day(incoming.issued_on, incoming.valid_until, received_on, today)
    member_id = returning.member_id if returning else new_member_id
    letter = [TransferReceived(transfer_id=incoming.transfer_id, to_branch_id=target.branch_id, member_id=member_id,
                               received_on=received_on)]
    if returning is not None:
        rejoined = MemberRejoined(member_id=member_id, branch_id=target.branch_id, rejoined_on=received_on,
                                  transfer_id=incoming.transfer_id)
        return letter, [rejoined] + _carried(evolve_member(returning, rejoined), incoming, received_on)
    snapshot = incoming.member
    registered = MemberRegistered(
        member_id=member_id, branch_id=target.branch_id, name=snapshot["name"], gender=snapshot["gender"],
        birth_date=date.fromisoformat(snapshot["birth_date"]), party_member=snapshot["party_member"],
        party_join_date=_optional_date(snapshot.get("party_join_date")), retirement_kind=snapshot["retirement_kind"],
        pension_base=snapshot.get("pension_base"), health=snapshot["health"], mobility=snapshot["mobility"],
        phone=snapshot.get("phone"), address=snapshot.get("address"), joined_on=received_on,
        transfer_id=incoming.transfer_id, origins=snapshot.get("origins", []))
    return letter, [registered] + _carried(evolve_member(None, registered), incoming, received_on)


def _carried(member: Member, incoming: IncomingTransfer, received_on: date) -> list:
    return carry(member, incoming.transfer_id, incoming.dues_paid_until, received_on)


def _optional_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def evolve_incoming(state: IncomingTransfer | None, event) -> IncomingTransfer | None:
    if isinstance(event, IncomingTransferAnnounced):
        return IncomingTransfer(event.transfer_id, event.from_tenant_id, event.to_branch_id, dict(event.member),
                                event.issued_on, event.valid_until, dues_paid_until=event.dues_paid_until)
    statuses = {TransferReceived: "received", TransferReturnSlipReturned: "closed", TransferCancelled: "cancelled",
                TransferExpired: "expired"}
    for kind, status in statuses.items():
        if isinstance(event, kind) and state is not None:
            return replace(state, status=status)
    return state
