"""The transfer saga: keeps the two bureaus' sides of a transfer across bureaus in step, through events.

It consumes the members topic and, as the service's owner role (the only one that may write in
two tenants), records in the other bureau what one bureau did: a letter announced to the receiving
bureau, a receipt confirmed to the sending one (the member leaves its register that day), a
cancellation, expiry or return slip passed on. Each step is idempotent: a step already taken is
found in the target stream and skipped.
"""

from __future__ import annotations

import logging

import psycopg

from contracts.members import (
    TransferCancelled, TransferExpired, TransferLetterIssued, TransferReceived, TransferReturnSlipReturned, registry)
from shared.bootstrap import Service
from shared.envelope import Actor, Envelope
from shared.errors import ConcurrencyError
from shared.unit_of_work import CommandContext, UnitOfWork
from services.members.domain import transfer as transfers
from services.members.domain.member import evolve_member
from services.members.domain.transfer import evolve_incoming
from services.members.handlers import incoming_stream, member_stream

SAGA_ACTOR = Actor(user="members-transfer-saga", role="system")
log = logging.getLogger(__name__)
SAGA_EVENTS = frozenset(event.event_type for event in (TransferLetterIssued, TransferCancelled, TransferExpired,
                                                       TransferReceived, TransferReturnSlipReturned))
"""The only events the saga acts on: the consumer passes over the rest without decoding them."""


class TransferSaga:
    def __init__(self, service: Service) -> None:
        self.service = service

    def apply(self, conn: psycopg.Connection, envelope: Envelope) -> None:
        if envelope.event_type not in SAGA_EVENTS:
            return
        event = registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data)
        uow = self._unit_of_work(conn, envelope)
        on_member = envelope.stream_id.startswith("member-")
        if isinstance(event, TransferLetterIssued) and event.to_tenant_id != envelope.tenant_id:
            self._announce(uow, envelope, event)
        elif isinstance(event, (TransferCancelled, TransferExpired)) and on_member:
            self._pass_to_incoming(uow, event)
        elif isinstance(event, TransferReceived) and not on_member:
            self._confirm_to_sender(uow, event)
        elif isinstance(event, TransferReturnSlipReturned) and not on_member:
            self._pass_to_sender(uow, event)

    def _unit_of_work(self, conn: psycopg.Connection, cause: Envelope) -> UnitOfWork:
        context = CommandContext(actor=SAGA_ACTOR, tenant_id=None,
                                 correlation_id=cause.correlation_id or cause.event_id,
                                 causation_id=cause.event_id, recorded_at=self.service.clock())
        return self.service.unit_of_work(conn, context)

    def _announce(self, uow: UnitOfWork, envelope: Envelope, letter: TransferLetterIssued) -> None:
        if not uow.queries.open_branch(letter.to_tenant_id, letter.to_branch_id):
            # Said back to the sender, "no such branch" would let one bureau probe another's branches: the
            # letter stays pending, as if the receiving bureau had not acted yet, until it expires.
            log.info("transfer %s names no open branch of its receiving bureau; left to expire", letter.transfer_id)
            return
        snapshot = _snapshot(uow.queries.member_of(envelope.tenant_id, letter.member_id), envelope.tenant_id)
        events = transfers.announce_incoming(letter, envelope.tenant_id, snapshot)
        _record_once(uow, incoming_stream(letter.transfer_id), 0, events, letter.to_tenant_id, letter.to_branch_id)

    def _pass_to_incoming(self, uow: UnitOfWork, event) -> None:
        incoming, version = uow.load(incoming_stream(event.transfer_id), evolve_incoming, None)
        if incoming is not None and incoming.status == "issued":
            tenant = uow.queries.receiving_bureau(event.transfer_id)
            _record_once(uow, incoming_stream(event.transfer_id), version, [event], tenant, incoming.to_branch_id)

    def _confirm_to_sender(self, uow: UnitOfWork, receipt: TransferReceived) -> None:
        sender = uow.queries.sender(receipt.transfer_id)
        if sender is None:
            return
        member, version = uow.load(member_stream(sender["member_id"]), evolve_member, None)
        events = transfers.confirm_received_elsewhere(member, receipt.transfer_id, receipt.received_on,
                                                      receipt.member_id)
        _record_once(uow, member_stream(member.member_id), version, events, sender["tenant_id"], member.branch_id)

    def _pass_to_sender(self, uow: UnitOfWork, slip: TransferReturnSlipReturned) -> None:
        sender = uow.queries.sender(slip.transfer_id)
        if sender is None:
            return
        member, version = uow.load(member_stream(sender["member_id"]), evolve_member, None)
        if member.transfer and member.transfer.transfer_id == slip.transfer_id and member.transfer.status == "received":
            _record_once(uow, member_stream(member.member_id), version, [slip], sender["tenant_id"], member.branch_id)


def _record_once(uow: UnitOfWork, stream: str, version: int, events: list, tenant: str, branch_id: str | None) -> None:
    """Record unless someone (an earlier delivery of the same cause) already moved the stream on."""
    if not events:
        return
    try:
        with uow.savepoint():
            uow.record(stream, version, events, tenant_id=tenant, branch_id=branch_id)
    except ConcurrencyError:
        pass


def _snapshot(row: dict, tenant: str) -> dict:
    """What the receiving bureau needs to register the member, and the ids they had on the way."""
    keys = ("name", "gender", "party_member", "retirement_kind", "health", "mobility", "phone", "address")
    snapshot = {key: row[key] for key in keys}
    snapshot.update(birth_date=row["birth_date"].isoformat(),
                    party_join_date=row["party_join_date"].isoformat() if row["party_join_date"] else None,
                    pension_base=str(row["pension_base"]) if row["pension_base"] is not None else None,
                    origins=list(row["origins"]) + [{"tenant_id": tenant, "member_id": row["member_id"]}])
    return snapshot

