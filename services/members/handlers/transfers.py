"""Handlers for transfers: within a bureau in one transaction, across bureaus through the saga."""

from __future__ import annotations

import uuid

from contracts.members import TransferReturnSlipReturned
from shared.envelope import start_of_day
from shared.errors import NotFound
from shared.unit_of_work import UnitOfWork
from services.members import commands as c
from services.members.domain import refuse, transfer as transfers
from services.members.domain.branch import require_open
from services.members.handlers import (
    incoming_stream, load_branch, load_incoming, load_member, member_stream, rules_in_force, today)


def issue_letter(uow: UnitOfWork, command: c.IssueTransfer) -> dict:
    member, version = load_member(uow, command.member_id)
    own = uow.context.tenant_id
    to_tenant = command.to_bureau_id or own
    if to_tenant == own:
        target, _ = load_branch(uow, command.to_branch_id, field="to_branch_id")
        require_open(target, "to_branch_id")
    issued_on = command.issued_on or today(uow)
    transfer_id = str(uuid.uuid4())
    events = transfers.issue_letter(
        member, transfer_id, own_tenant=own, to_tenant=to_tenant, to_branch=command.to_branch_id,
        issued_on=issued_on, valid_days=rules_in_force(uow, issued_on)["transfer_letter_valid_days"],
        today=today(uow))
    uow.record(member_stream(member.member_id), version, events, branch_id=member.branch_id,
               occurred_at=start_of_day(issued_on))
    return {"id": transfer_id, "valid_until": events[0].valid_until.isoformat(), "version": version + 1}


def receive(uow: UnitOfWork, transfer_id: str, command: c.DatedAction) -> dict:
    """The receiving branch takes the member in (within the bureau, or from another bureau)."""
    row = _transfer(uow, transfer_id)
    received_on = command.on or today(uow)
    if row["direction"] == "in":
        return _receive_from_other_bureau(uow, transfer_id, received_on)
    member, version = load_member(uow, row["member_id"])
    target, _ = load_branch(uow, row["to_branch_id"], field="to_branch_id")
    events = transfers.receive_within_bureau(member, transfer_id, target, received_on, today(uow))
    uow.record(member_stream(member.member_id), version, events, branch_id=target.branch_id,
               occurred_at=start_of_day(received_on))
    return {"id": transfer_id, "member_id": member.member_id, "status": "received"}


def _receive_from_other_bureau(uow: UnitOfWork, transfer_id: str, received_on) -> dict:
    incoming, version = load_incoming(uow, transfer_id)
    target, _ = load_branch(uow, incoming.to_branch_id, field="to_branch_id")
    returning_id = uow.queries.returning_member(uow.context.tenant_id, incoming.member.get("origins", []))
    returning, member_version = load_member(uow, returning_id) if returning_id else (None, 0)
    letter, member_events = transfers.receive_from_other_bureau(
        incoming, target, received_on, today(uow), str(uuid.uuid4()), returning)
    member_id = letter[0].member_id
    uow.record(member_stream(member_id), member_version, member_events, branch_id=target.branch_id,
               occurred_at=start_of_day(received_on))
    uow.record(incoming_stream(transfer_id), version, letter, branch_id=target.branch_id,
               occurred_at=start_of_day(received_on))
    return {"id": transfer_id, "member_id": member_id, "status": "received"}


def return_slip(uow: UnitOfWork, transfer_id: str, command: c.DatedAction) -> dict:
    """The return slip: recorded on the sending side's letter, or on the receiving bureau's copy."""
    row = _transfer(uow, transfer_id)
    returned_on = command.on or today(uow)
    if row["direction"] == "in":
        incoming, version = load_incoming(uow, transfer_id)
        if incoming.status != "received":
            raise refuse("党员被接收以后才能寄回回执", "not_received")
        uow.record(incoming_stream(transfer_id), version, [TransferReturnSlipReturned(transfer_id, returned_on)],
                   branch_id=incoming.to_branch_id)
        return {"id": transfer_id, "status": "closed"}
    return _on_member(uow, row, lambda m: transfers.return_slip(m, transfer_id, returned_on, today(uow)), "closed")


def cancel(uow: UnitOfWork, transfer_id: str, command: c.DatedAction) -> dict:
    row = _sending_side(uow, transfer_id)
    on = command.on or today(uow)
    return _on_member(uow, row, lambda m: transfers.cancel(m, transfer_id, on, command.reason or "", today(uow)),
                      "cancelled")


def expire(uow: UnitOfWork, transfer_id: str) -> dict:
    row = _sending_side(uow, transfer_id)
    return _on_member(uow, row, lambda m: transfers.expire(m, transfer_id, today(uow)), "expired")


def _on_member(uow: UnitOfWork, row: dict, decide, status: str) -> dict:
    member, version = load_member(uow, row["member_id"])
    uow.record(member_stream(member.member_id), version, decide(member), branch_id=member.branch_id)
    return {"id": row["transfer_id"], "status": status}


def _transfer(uow: UnitOfWork, transfer_id: str) -> dict:
    row = uow.queries.transfer(transfer_id, uow.context.tenant_id)
    if row is None:
        raise NotFound("本局没有这份介绍信", fields={"transfer_id": ["不存在"]})
    return row


def _sending_side(uow: UnitOfWork, transfer_id: str) -> dict:
    row = _transfer(uow, transfer_id)
    if row["direction"] == "in":
        raise refuse("只有开出介绍信的支部可以取消或作废它", "not_the_sender")
    return row
