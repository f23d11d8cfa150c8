"""The event store and the unit of work in memory: the same contract as PostgreSQL, for unit tests.

Streams keep versions without gaps and refuse a stale expected version; every event is hash-chained
to its stream's previous one and queued once in the outbox; a transaction keeps all of its writes or,
when it raises, none — nested, it is a savepoint. A store scoped to one bureau sees only that
bureau's streams, as row-level security shows them to the API. One thread at a time: concurrent
writers are PostgreSQL's part of the contract, proven against it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from shared.chain import Head, Problem, check_heads_without_events, check_stored_stream, seal_after
from shared.contracts import EventRegistry
from shared.envelope import GENESIS_HASH, Envelope
from shared.errors import ConcurrencyError
from shared.unit_of_work import CommandContext, StoreUnitOfWork


@dataclass
class _Tables:
    """What PostgreSQL keeps in ``events``, ``streams`` and ``outbox``; positions come from a sequence."""

    events: list[tuple[int, Envelope]] = field(default_factory=list)
    heads: dict[str, tuple[str | None, Head]] = field(default_factory=dict)
    outbox: list[tuple[str, int]] = field(default_factory=list)
    published: set[int] = field(default_factory=set)
    positions: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class MemoryEventStore:
    """The event store in dicts and lists."""

    def __init__(self, tenant_id: str | None = None, *, _tables: _Tables | None = None) -> None:
        self.tenant_id = tenant_id
        self._tables = _tables or _Tables()

    def for_tenant(self, tenant_id: str | None) -> MemoryEventStore:
        """The same store as one bureau's API sees it (``None``: as a worker sees every bureau)."""
        return MemoryEventStore(tenant_id, _tables=self._tables)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        tables = self._tables
        saved = (len(tables.events), dict(tables.heads), len(tables.outbox), set(tables.published))
        try:
            yield
        except BaseException:
            del tables.events[saved[0]:]
            tables.heads = saved[1]
            del tables.outbox[saved[2]:]
            tables.published = saved[3]
            raise

    def append(self, stream_id: str, expected_version: int, envelopes: Sequence[Envelope],
               topic: str) -> list[Envelope]:
        if not envelopes:
            return []
        head = self._claim_stream(stream_id, expected_version)
        if not self._visible(envelopes[0].tenant_id):
            raise PermissionError(f"{stream_id}: another bureau's stream")  # as row-level security refuses it
        sealed = seal_after(stream_id, expected_version, envelopes, head.hash)
        tables = self._tables
        for envelope in sealed:
            position = next(tables.positions)
            tables.events.append((position, envelope))
            tables.outbox.append((topic, position))
        tables.heads[stream_id] = (envelopes[0].tenant_id, Head(sealed[-1].stream_version, sealed[-1].hash))
        return sealed

    def _claim_stream(self, stream_id: str, expected_version: int) -> Head:
        head = self._visible_head(stream_id)
        if expected_version == 0 and stream_id not in self._tables.heads:
            return Head(0, GENESIS_HASH)
        if head is None or expected_version == 0 or head.version != expected_version:
            raise ConcurrencyError(stream_id, expected_version, None if head is None else head.version)
        return head

    def _visible_head(self, stream_id: str) -> Head | None:
        tenant_id, head = self._tables.heads.get(stream_id, (None, None))
        return head if head is not None and self._visible(tenant_id) else None

    def _visible(self, tenant_id: str | None) -> bool:
        return self.tenant_id is None or tenant_id == self.tenant_id

    def read_stream(self, stream_id: str) -> list[Envelope]:
        stored = [envelope for _, envelope in self._tables.events
                  if envelope.stream_id == stream_id and self._visible(envelope.tenant_id)]
        return sorted(stored, key=lambda envelope: envelope.stream_version)

    def stream_version(self, stream_id: str) -> int:
        head = self._visible_head(stream_id)
        return 0 if head is None else head.version

    def lock_streams(self, stream_ids: Sequence[str]) -> dict[str, int]:
        """The streams' versions; one thread at a time, so nothing to wait for."""
        return {stream_id: self.stream_version(stream_id) for stream_id in stream_ids}

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[tuple[int, Envelope]]:
        return [(position, envelope) for position, envelope in self._tables.events
                if position > after_position and self._visible(envelope.tenant_id)][:limit]

    def unpublished(self, limit: int = 1000) -> list[tuple[str, Envelope]]:
        by_position = dict(self._tables.events)
        return [(topic, by_position[position]) for topic, position in self._tables.outbox
                if position not in self._tables.published][:limit]

    def mark_published(self, envelopes: Sequence[Envelope]) -> None:
        """What the relay does once the broker acknowledged: those rows leave the outbox."""
        ids = {envelope.event_id for envelope in envelopes}
        self._tables.published.update(position for position, envelope in self._tables.events
                                      if envelope.event_id in ids)

    def verify(self, stream_id: str | None = None) -> list[Problem]:
        heads = {stream: head for stream, (_, head) in self._tables.heads.items()
                 if stream_id is None or stream == stream_id}
        by_stream: dict[str, list[tuple[int, Envelope]]] = {}
        for position, envelope in self._tables.events:
            if stream_id is None or envelope.stream_id == stream_id:
                by_stream.setdefault(envelope.stream_id, []).append((position, envelope))
        problems = []
        for stream, stored in sorted(by_stream.items()):
            stored.sort(key=lambda item: item[1].stream_version)
            problems.extend(check_stored_stream(stream, stored, heads.get(stream)))
        return problems + check_heads_without_events(heads, set(by_stream))

    # --- what only a superuser could do to a database: for tests that prove verify() notices it ----------------

    def tamper(self, stream_id: str, stream_version: int, change: Callable[[Envelope], Envelope | None]) -> None:
        """Replace a stored event by ``change(event)``, or delete it when that returns None."""
        events = self._tables.events
        for index, (position, envelope) in enumerate(events):
            if envelope.stream_id == stream_id and envelope.stream_version == stream_version:
                changed = change(envelope)
                if changed is None:
                    del events[index]
                else:
                    events[index] = (position, changed)
                return
        raise LookupError(f"{stream_id} has no version {stream_version}")

    def insert_unchecked(self, envelope: Envelope) -> None:
        """Store an event without claiming its stream's head (as a forged INSERT would)."""
        self._tables.events.append((next(self._tables.positions), envelope))


class MemoryUnitOfWork(StoreUnitOfWork):
    """A unit of work over a ``MemoryEventStore``: the twin handlers are unit-tested with.

    ``queries`` is a fake of the service's named queries; ``project(envelope, event)``, if given,
    sees each recorded event as the service's projections would.
    """

    def __init__(self, registry: EventRegistry, context: CommandContext, *, store: MemoryEventStore | None = None,
                 topic: str = "memory.events", queries: Any = None,
                 project: Callable[[Envelope, Any], None] | None = None) -> None:
        store = (store or MemoryEventStore()).for_tenant(context.tenant_id)
        super().__init__(store, registry, topic, context, queries=queries, project=project)

    def as_of(self, **changes: Any) -> MemoryUnitOfWork:
        """Another unit of work on the same store and fakes, its context changed (a later day, another caller)."""
        return MemoryUnitOfWork(self.registry, replace(self.context, **changes), store=self.store, topic=self.topic,
                                queries=self.queries, project=self._project)
