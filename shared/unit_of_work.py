"""One command, one transaction: load a stream, decide, append events, outbox and projections.

``UnitOfWork`` is the port a handler sees. ``PostgresUnitOfWork`` runs it in a PostgreSQL transaction;
``shared.memory.MemoryUnitOfWork`` runs the same code over an in-memory store, for unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg import pq

from shared.contracts import EventRegistry
from shared.envelope import Actor, Envelope, new_event_id
from shared.errors import Conflict
from shared.eventstore import EventStore, PostgresEventStore

State = TypeVar("State")
Projector = Callable[[psycopg.Connection, Envelope, Any], None]
BatchProjector = Callable[[psycopg.Connection, list[tuple[Envelope, Any]]], None]


class DuplicateRecord(Conflict):
    """A read model's unique rule refused what was recorded (a bureau code taken, a cause notified already):
    usually a concurrent request that got there first. Raised inside a savepoint, the unit of work goes on."""

    code = "duplicate_record"

    def __init__(self, constraint: str = "") -> None:
        super().__init__(f"the record clashes with one already kept ({constraint or 'a unique rule'})")
        self.constraint = constraint


class NamedQueries:
    """A service's named queries — functions of a connection and arguments — bound to one unit of work's connection:
    ``uow.queries.roster(branch_id, day)`` runs ``queries.roster(conn, branch_id, day)``. A unit test's fake
    answers the same names from memory."""

    def __init__(self, conn: psycopg.Connection, queries: Iterable[Callable[..., Any]]) -> None:
        for query in queries:
            setattr(self, query.__name__, partial(query, conn))


@dataclass(frozen=True)
class CommandContext:
    """Who asked, on whose behalf, within which request, and when the platform recorded it."""

    actor: Actor
    tenant_id: str | None
    correlation_id: str
    causation_id: str | None
    recorded_at: datetime


class UnitOfWork(Protocol):
    """What a handler may do: load streams, record events, ask the service's named queries.

    Everything it does commits or vanishes together; the service's projections of the events it
    records are written in the same transaction.
    """

    context: CommandContext
    recorded: list[Envelope]
    queries: Any  # the service's named queries, bound to this unit of work

    def load(self, stream_id: str, evolve: Callable[[State, Any], State], initial: State) -> tuple[State, int]: ...

    def record(self, stream_id: str, expected_version: int, events: Sequence[Any], *, branch_id: str | None = None,
               occurred_at: datetime | None = None, tenant_id: str | None = None) -> list[Envelope]: ...

    def _project_recorded(self, recorded: list[tuple[Envelope, Any]]) -> None:
        """Show the events one ``record`` appended to the service's projections, one after another."""
        if self._project is not None:
            for envelope, event in recorded:
                self._project(envelope, event)

    def lock(self, stream_ids: Sequence[str]) -> dict[str, int]: ...

    def savepoint(self) -> AbstractContextManager[Any]: ...


class StoreUnitOfWork:
    """The unit of work over any event store: PostgreSQL's, or the in-memory twin."""

    def __init__(self, store: EventStore, registry: EventRegistry, topic: str, context: CommandContext, *,
                 queries: Any = None, project: Callable[[Envelope, Any], None] | None = None) -> None:
        self.store = store
        self.registry = registry
        self.topic = topic
        self.context = context
        self.queries = queries
        self._project = project
        self.recorded: list[Envelope] = []

    def load(self, stream_id: str, evolve: Callable[[State, Any], State], initial: State) -> tuple[State, int]:
        """Fold a stream's events into state; return it with the stream's version."""
        state, version = initial, 0
        for envelope in self.store.read_stream(stream_id):
            event = self.registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data)
            state, version = evolve(state, event), envelope.stream_version
        return state, version

    def record(self, stream_id: str, expected_version: int, events: Sequence[Any], *,
               branch_id: str | None = None, occurred_at: datetime | None = None,
               tenant_id: str | None = None) -> list[Envelope]:
        """Append ``events`` after ``expected_version`` (ConcurrencyError if the stream moved) and project them."""
        envelopes = [self._envelope(stream_id, expected_version + index, event, branch_id, occurred_at, tenant_id)
                     for index, event in enumerate(events, start=1)]
        sealed = self.store.append(stream_id, expected_version, envelopes, self.topic)
        self._project_recorded(list(zip(sealed, events)))
        self.recorded.extend(sealed)
        return sealed

    def _project_recorded(self, recorded: list[tuple[Envelope, Any]]) -> None:
        """Show the events one ``record`` appended to the service's projections, one after another."""
        if self._project is not None:
            for envelope, event in recorded:
                self._project(envelope, event)

    def lock(self, stream_ids: Sequence[str]) -> dict[str, int]:
        """The streams' versions (0: not written yet), held until this unit of work ends so that an append after
        them waits for a concurrent writer instead of failing on a stale version."""
        return self.store.lock_streams(stream_ids)

    def savepoint(self) -> AbstractContextManager[Any]:
        """Writes inside are undone if it raises, and the unit of work can go on (a lost race, say)."""
        return self.store.transaction()

    def _envelope(self, stream_id: str, version: int, event: Any, branch_id: str | None,
                  occurred_at: datetime | None, tenant_id: str | None) -> Envelope:
        name, schema_version, data = self.registry.serialise(event)
        context = self.context
        return Envelope(
            event_id=new_event_id(), event_type=name, schema_version=schema_version, stream_id=stream_id,
            stream_version=version, tenant_id=tenant_id or context.tenant_id, branch_id=branch_id,
            occurred_at=occurred_at or context.recorded_at, recorded_at=context.recorded_at, actor=context.actor,
            correlation_id=context.correlation_id, causation_id=context.causation_id, data=data)


class PostgresUnitOfWork(StoreUnitOfWork):
    """Wraps the caller's open transaction; ``record`` writes events and the service's own read models.

    Given ``project_batch`` (the projections' batch form), the events of one ``record`` are projected together: a
    notification scheduled with its inbox deliveries sent is written once, as it stands after them all."""

    def __init__(self, conn: psycopg.Connection, registry: EventRegistry, topic: str,
                 context: CommandContext, project: Projector | None = None, *,
                 queries: Callable[[psycopg.Connection], Any] | None = None,
                 project_batch: BatchProjector | None = None) -> None:
        super().__init__(PostgresEventStore(conn), registry, topic, context,
                         queries=queries(conn) if queries else None,
                         project=partial(_projected, project, conn) if project else None)
        self.conn = conn
        self._project_batch = project_batch

    def _project_recorded(self, recorded: list[tuple[Envelope, Any]]) -> None:
        if self._project_batch is None or len(recorded) < 2:
            super()._project_recorded(recorded)
            return
        with _projecting(self.conn):
            self._project_batch(self.conn, recorded)


def _projected(project: Projector, conn: psycopg.Connection, envelope: Envelope, event: Any) -> None:
    """Apply a projection (see ``_projecting``)."""
    with _projecting(conn):
        project(conn, envelope, event)


@contextmanager
def _projecting(conn: psycopg.Connection) -> Iterator[None]:
    """A projection's writes, where a unique rule it breaks is the domain's DuplicateRecord, not the driver's error.

    Outside pipeline mode (a command), its writes go out together in one (a pipeline of their own, whose answers
    are awaited here, so that the rule's error still arrives while it can be told apart); inside one (a
    consumer's batch) they ride with the batch's next round trip."""
    try:
        with conn.pipeline() if conn.pgconn.pipeline_status == pq.PipelineStatus.OFF else nullcontext():
            yield
    except psycopg.errors.UniqueViolation as error:
        raise DuplicateRecord(error.diag.constraint_name or "") from error
