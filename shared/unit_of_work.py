"""One command, one PostgreSQL transaction: load a stream, decide, append events, outbox and projections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from collections.abc import Callable, Sequence

import psycopg

from shared import eventstore
from shared.contracts import EventRegistry
from shared.envelope import Actor, Envelope, new_event_id

State = TypeVar("State")
Projector = Callable[[psycopg.Connection, Envelope, Any], None]


@dataclass(frozen=True)
class CommandContext:
    """Who asked, on whose behalf, within which request, and when the platform recorded it."""

    actor: Actor
    tenant_id: str | None
    correlation_id: str
    causation_id: str | None
    recorded_at: datetime


class UnitOfWork:
    """Wraps the caller's open transaction; ``record`` writes events and the service's own read models."""

    def __init__(self, conn: psycopg.Connection, registry: EventRegistry, topic: str,
                 context: CommandContext, project: Projector | None = None) -> None:
        self.conn = conn
        self.registry = registry
        self.topic = topic
        self.context = context
        self._project = project
        self.recorded: list[Envelope] = []

    def load(self, stream_id: str, evolve: Callable[[State, Any], State], initial: State) -> tuple[State, int]:
        """Fold a stream's events into state; return it with the stream's version."""
        state, version = initial, 0
        for envelope in eventstore.read_stream(self.conn, stream_id):
            event = self.registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data)
            state, version = evolve(state, event), envelope.stream_version
        return state, version

    def record(self, stream_id: str, expected_version: int, events: Sequence[Any], *,
               branch_id: str | None = None, occurred_at: datetime | None = None,
               tenant_id: str | None = None) -> list[Envelope]:
        envelopes = [self._envelope(stream_id, expected_version + index, event, branch_id, occurred_at, tenant_id)
                     for index, event in enumerate(events, start=1)]
        sealed = eventstore.append(self.conn, stream_id, expected_version, envelopes, self.topic)
        for envelope, event in zip(sealed, events):
            if self._project is not None:
                self._project(self.conn, envelope, event)
        self.recorded.extend(sealed)
        return sealed

    def _envelope(self, stream_id: str, version: int, event: Any, branch_id: str | None,
                  occurred_at: datetime | None, tenant_id: str | None) -> Envelope:
        name, schema_version, data = self.registry.serialise(event)
        context = self.context
        return Envelope(
            event_id=new_event_id(), event_type=name, schema_version=schema_version, stream_id=stream_id,
            stream_version=version, tenant_id=tenant_id or context.tenant_id, branch_id=branch_id,
            occurred_at=occurred_at or context.recorded_at, recorded_at=context.recorded_at, actor=context.actor,
            correlation_id=context.correlation_id, causation_id=context.causation_id, data=data)
