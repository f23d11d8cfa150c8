"""The append-only event store: streams with optimistic concurrency, a hash chain, and verification.

``append`` runs inside the caller's transaction, so the events, their outbox rows and any
projection rows the caller writes commit or vanish together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb

from shared import db
from shared.chain import Head, Problem, check_heads_without_events, check_stored_stream, seal_after
from shared.envelope import GENESIS_HASH, Actor, Envelope
from shared.errors import ConcurrencyError

EVENT_COLUMNS = ("event_id, event_type, schema_version, stream_id, stream_version, tenant_id, branch_id,"
                 " occurred_at, recorded_at, actor, correlation_id, causation_id, data, prev_hash, hash")


def append(conn: psycopg.Connection, stream_id: str, expected_version: int,
           envelopes: Sequence[Envelope], topic: str) -> list[Envelope]:
    """Append ``envelopes`` after ``expected_version`` and queue them in the outbox for ``topic``.

    Raises ConcurrencyError when another writer got there first; the caller's transaction
    must then be rolled back.
    """
    if not envelopes:
        return []
    new = expected_version == 0
    prev_hash = GENESIS_HASH if new else _lock_stream(conn, stream_id, expected_version)
    sealed = seal_after(stream_id, expected_version, envelopes, prev_hash)
    statement, params = _append_statement(stream_id, sealed, topic, new)
    try:
        # One statement for all of it — the stream's head, the events, their outbox rows and, if the relay is
        # asleep, its wake-up (see OutboxRelay): each statement costs a round of the client's and the server's
        # work per command.
        created = conn.execute(statement, params).fetchone()["created"]
    except psycopg.errors.UniqueViolation as error:
        raise ConcurrencyError(stream_id, expected_version) from error
    if new and not created:
        raise ConcurrencyError(stream_id, expected_version)
    return sealed


def _append_statement(stream_id: str, sealed: Sequence[Envelope], topic: str, new: bool) -> tuple[str, list]:
    """The statement that stores ``sealed`` and moves (or, for a new stream, creates) the stream's head.

    A new stream's head is inserted at its final version; a concurrent creator's uncommitted insert makes
    this one wait, then do nothing, and ``created`` says so (its events then collide on the stream's
    version 1 as well). An existing stream's head is locked by ``_lock_stream`` already.
    """
    last = sealed[-1]
    if new:
        head = ("head AS (INSERT INTO streams (stream_id, tenant_id, version, head_hash) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (stream_id) DO NOTHING RETURNING 1)")
        head_params = [stream_id, sealed[0].tenant_id, last.stream_version, last.hash]
    else:
        head = "head AS (UPDATE streams SET version = %s, head_hash = %s WHERE stream_id = %s RETURNING 1)"
        head_params = [last.stream_version, last.hash, stream_id]
    rows = ", ".join([_EVENT_ROW] * len(sealed))
    statement = (f"WITH {head}, stored AS (INSERT INTO events ({EVENT_COLUMNS}) VALUES {rows} RETURNING position),"
                 " queued AS (INSERT INTO outbox (event_position, topic) SELECT position, %s FROM stored"
                 " ORDER BY position)"
                 " SELECT (SELECT count(*) FROM head) AS created,"
                 " (SELECT pg_notify('branchwork_outbox', '') FROM relay_wakeup WHERE listening) AS woken")
    params = head_params + [value for envelope in sealed for value in _event_values(envelope)] + [topic]
    return statement, params


_EVENT_ROW = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS.split(","))) + ")"


def _lock_stream(conn: psycopg.Connection, stream_id: str, expected_version: int) -> str:
    """Lock the stream's head row at ``expected_version`` and return its head hash."""
    # FOR UPDATE waits for a concurrent writer of this stream and then sees its new version.
    head = conn.execute("SELECT version, head_hash FROM streams WHERE stream_id = %s FOR UPDATE",
                        (stream_id,)).fetchone()
    if head is None or head["version"] != expected_version:
        raise ConcurrencyError(stream_id, expected_version, None if head is None else head["version"])
    return head["head_hash"]


def _event_values(envelope: Envelope) -> tuple:
    return (envelope.event_id, envelope.event_type, envelope.schema_version, envelope.stream_id,
            envelope.stream_version, envelope.tenant_id, envelope.branch_id, envelope.occurred_at,
            envelope.recorded_at, Jsonb({"user": envelope.actor.user, "role": envelope.actor.role}),
            envelope.correlation_id, envelope.causation_id, Jsonb(dict(envelope.data)),
            envelope.prev_hash, envelope.hash)


def row_to_envelope(row: dict) -> Envelope:
    return Envelope(
        event_id=str(row["event_id"]), event_type=row["event_type"], schema_version=row["schema_version"],
        stream_id=row["stream_id"], stream_version=row["stream_version"], tenant_id=row["tenant_id"],
        branch_id=row["branch_id"], occurred_at=row["occurred_at"], recorded_at=row["recorded_at"],
        actor=Actor(**row["actor"]), correlation_id=row["correlation_id"], causation_id=row["causation_id"],
        data=row["data"], prev_hash=row["prev_hash"], hash=row["hash"])


def read_stream(conn: psycopg.Connection, stream_id: str) -> list[Envelope]:
    rows = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = %s ORDER BY stream_version",
                        (stream_id,)).fetchall()
    return [row_to_envelope(row) for row in rows]


def stream_version(conn: psycopg.Connection, stream_id: str) -> int:
    head = conn.execute("SELECT version FROM streams WHERE stream_id = %s", (stream_id,)).fetchone()
    return 0 if head is None else head["version"]


def stream_versions(conn: psycopg.Connection, stream_ids: Sequence[str]) -> dict[str, int]:
    """The versions of the streams that exist among ``stream_ids``, found by key.

    Reads pass the ids rather than join the streams on an id made in SQL (``'member-' || member_id``): under
    row-level security PostgreSQL may not use the streams' key for such a join (``||`` is not leakproof),
    and reads every bureau's streams instead."""
    return {row["stream_id"]: row["version"] for row in conn.execute(
        "SELECT stream_id, version FROM streams WHERE stream_id = ANY(%s)", (list(stream_ids),))}


def read_all(conn: psycopg.Connection, after_position: int = 0, limit: int = 1000) -> list[tuple[int, Envelope]]:
    """Events in the order they were stored, from ``after_position`` on (for rebuilds)."""
    rows = conn.execute(f"SELECT position, {EVENT_COLUMNS} FROM events WHERE position > %s"
                        " ORDER BY position LIMIT %s", (after_position, limit)).fetchall()
    return [(row["position"], row_to_envelope(row)) for row in rows]


def verify(conn: psycopg.Connection, stream_id: str | None = None) -> list[Problem]:
    """Recompute every hash and walk every chain; return what was changed, deleted, inserted or reordered.

    The heads and the events are read in one snapshot: on a live store, a writer committing between the two
    reads would otherwise look like a head that does not match its stream."""
    problems: list[Problem] = []
    with db.snapshot(conn):
        heads = {row["stream_id"]: Head(row["version"], row["head_hash"]) for row in conn.execute(
            "SELECT stream_id, version, head_hash FROM streams WHERE %s::text IS NULL OR stream_id = %s",
            (stream_id, stream_id))}
        seen: set[str] = set()
        for stream, rows in _rows_by_stream(conn, stream_id):
            seen.add(stream)
            stored = [(row["position"], row_to_envelope(row)) for row in rows]
            problems.extend(check_stored_stream(stream, stored, heads.get(stream)))
    return problems + check_heads_without_events(heads, seen)


def _rows_by_stream(conn: psycopg.Connection, stream_id: str | None) -> Iterator[tuple[str, list[dict]]]:
    """Yield each stream's rows in version order, read through a server-side cursor to bound memory."""
    current, rows = None, []
    with conn.transaction(), conn.cursor(name="verify_events") as cur:
        cur.itersize = 2000
        cur.execute(f"SELECT position, {EVENT_COLUMNS} FROM events WHERE %s::text IS NULL OR stream_id = %s"
                    " ORDER BY stream_id, stream_version", (stream_id, stream_id))
        for row in cur:
            if row["stream_id"] != current and rows:
                yield current, rows
                rows = []
            current = row["stream_id"]
            rows.append(row)
    if rows:
        yield current, rows


def lock_streams(conn: psycopg.Connection, stream_ids: Sequence[str]) -> dict[str, int]:
    """The streams' versions (0 for a stream not yet written), their heads locked until the transaction ends.

    A writer that reads a version and appends after it holds the head meanwhile, so a concurrent writer of
    the same stream waits instead of failing on a stale version; heads are locked in stream order, so two
    writers of overlapping streams cannot deadlock.
    """
    rows = conn.execute("SELECT stream_id, version FROM streams WHERE stream_id = ANY(%s) ORDER BY stream_id"
                        " FOR UPDATE", (sorted(set(stream_ids)),)).fetchall()
    versions = dict.fromkeys(stream_ids, 0)
    versions.update((row["stream_id"], row["version"]) for row in rows)
    return versions


def unpublished(conn: psycopg.Connection, limit: int = 1000) -> list[tuple[str, Envelope]]:
    """Events whose outbox rows are not published yet, oldest first, each with the topic it goes to."""
    rows = conn.execute(f"SELECT o.topic, {_PREFIXED_COLUMNS} FROM outbox o JOIN events e ON e.position"
                        " = o.event_position WHERE o.published_at IS NULL ORDER BY o.id LIMIT %s", (limit,)).fetchall()
    return [(row["topic"], row_to_envelope(row)) for row in rows]


_PREFIXED_COLUMNS = ", ".join("e." + column.strip() for column in EVENT_COLUMNS.split(","))


class EventStore(Protocol):
    """The recorder a unit of work writes through: PostgreSQL here, ``shared.memory`` in unit tests.

    Both keep the same contract (tests/eventstore_contract.py): versions without gaps, a stale expected
    version refused, every event hash-chained to its stream's previous one and queued once in the outbox,
    and all of a transaction's writes kept or undone together.
    """

    def transaction(self) -> AbstractContextManager[Any]: ...

    def append(self, stream_id: str, expected_version: int, envelopes: Sequence[Envelope],
               topic: str) -> list[Envelope]: ...

    def read_stream(self, stream_id: str) -> list[Envelope]: ...

    def stream_version(self, stream_id: str) -> int: ...

    def lock_streams(self, stream_ids: Sequence[str]) -> dict[str, int]: ...

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[tuple[int, Envelope]]: ...

    def unpublished(self, limit: int = 1000) -> list[tuple[str, Envelope]]: ...

    def verify(self, stream_id: str | None = None) -> list[Problem]: ...


class PostgresEventStore:
    """The event store in the service's database, inside the transactions of ``conn``."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def transaction(self) -> AbstractContextManager[Any]:
        """A transaction, or a savepoint inside the caller's."""
        return self.conn.transaction()

    def append(self, stream_id: str, expected_version: int, envelopes: Sequence[Envelope],
               topic: str) -> list[Envelope]:
        return append(self.conn, stream_id, expected_version, envelopes, topic)

    def read_stream(self, stream_id: str) -> list[Envelope]:
        return read_stream(self.conn, stream_id)

    def stream_version(self, stream_id: str) -> int:
        return stream_version(self.conn, stream_id)

    def lock_streams(self, stream_ids: Sequence[str]) -> dict[str, int]:
        return lock_streams(self.conn, stream_ids)

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[tuple[int, Envelope]]:
        return read_all(self.conn, after_position, limit)

    def unpublished(self, limit: int = 1000) -> list[tuple[str, Envelope]]:
        return unpublished(self.conn, limit)

    def verify(self, stream_id: str | None = None) -> list[Problem]:
        return verify(self.conn, stream_id)
