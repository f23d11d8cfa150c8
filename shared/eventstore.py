"""The append-only event store: streams with optimistic concurrency, a hash chain, and verification.

``append`` runs inside the caller's transaction, so the events, their outbox rows and any
projection rows the caller writes commit or vanish together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import psycopg
from psycopg.types.json import Jsonb

from shared.chain import Problem, check_chain
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
    tenant_id = envelopes[0].tenant_id
    prev_hash = _claim_stream(conn, stream_id, expected_version, tenant_id)
    sealed = []
    for offset, envelope in enumerate(envelopes, start=1):
        if envelope.stream_id != stream_id or envelope.stream_version != expected_version + offset:
            raise ValueError("envelope stream or version does not follow the stream")
        envelope = envelope.sealed(prev_hash)
        prev_hash = envelope.hash
        sealed.append(envelope)
    try:
        with conn.cursor() as cur:
            for envelope in sealed:
                position = _insert_event(cur, envelope)
                cur.execute("INSERT INTO outbox (event_position, topic) VALUES (%s, %s)", (position, topic))
            cur.execute("UPDATE streams SET version = %s, head_hash = %s WHERE stream_id = %s",
                        (sealed[-1].stream_version, sealed[-1].hash, stream_id))
    except psycopg.errors.UniqueViolation as error:
        raise ConcurrencyError(stream_id, expected_version) from error
    conn.execute("NOTIFY branchwork_outbox")
    return sealed


def _claim_stream(conn: psycopg.Connection, stream_id: str, expected_version: int, tenant_id: str | None) -> str:
    """Lock the stream's head row at ``expected_version`` and return its head hash."""
    if expected_version == 0:
        # A concurrent creator's uncommitted insert makes this one wait, then do nothing. RETURNING rather
        # than rowcount: a consumer's pipeline knows the row count only once it is fetched.
        created = conn.execute(
            "INSERT INTO streams (stream_id, tenant_id, version, head_hash) VALUES (%s, %s, 0, %s)"
            " ON CONFLICT (stream_id) DO NOTHING RETURNING 1 AS created",
            (stream_id, tenant_id, GENESIS_HASH)).fetchone()
        if created is None:
            raise ConcurrencyError(stream_id, expected_version)
        return GENESIS_HASH
    # FOR UPDATE waits for a concurrent writer of this stream and then sees its new version.
    head = conn.execute("SELECT version, head_hash FROM streams WHERE stream_id = %s FOR UPDATE",
                        (stream_id,)).fetchone()
    if head is None or head["version"] != expected_version:
        raise ConcurrencyError(stream_id, expected_version, None if head is None else head["version"])
    return head["head_hash"]


def _insert_event(cur: psycopg.Cursor, envelope: Envelope) -> int:
    cur.execute(
        f"INSERT INTO events ({EVENT_COLUMNS}) VALUES"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING position",
        (envelope.event_id, envelope.event_type, envelope.schema_version, envelope.stream_id,
         envelope.stream_version, envelope.tenant_id, envelope.branch_id, envelope.occurred_at,
         envelope.recorded_at, Jsonb({"user": envelope.actor.user, "role": envelope.actor.role}),
         envelope.correlation_id, envelope.causation_id, Jsonb(dict(envelope.data)),
         envelope.prev_hash, envelope.hash))
    return cur.fetchone()["position"]


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


def read_all(conn: psycopg.Connection, after_position: int = 0, limit: int = 1000) -> list[tuple[int, Envelope]]:
    """Events in the order they were stored, from ``after_position`` on (for rebuilds)."""
    rows = conn.execute(f"SELECT position, {EVENT_COLUMNS} FROM events WHERE position > %s"
                        " ORDER BY position LIMIT %s", (after_position, limit)).fetchall()
    return [(row["position"], row_to_envelope(row)) for row in rows]


def verify(conn: psycopg.Connection, stream_id: str | None = None) -> list[Problem]:
    """Recompute every hash and walk every chain; return what was changed, deleted, inserted or reordered."""
    problems: list[Problem] = []
    heads = {row["stream_id"]: row for row in conn.execute(
        "SELECT stream_id, version, head_hash FROM streams WHERE %s::text IS NULL OR stream_id = %s",
        (stream_id, stream_id))}
    seen: set[str] = set()
    for stream, rows in _rows_by_stream(conn, stream_id):
        seen.add(stream)
        problems.extend(_verify_stream(stream, rows, heads.get(stream)))
    for missing in sorted(set(heads) - seen):
        if heads[missing]["version"] > 0:
            problems.append(Problem(missing, None, "stream_missing", "the stream head names events that are gone"))
    return problems


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


def _verify_stream(stream: str, rows: list[dict], head: dict | None) -> list[Problem]:
    problems = check_chain(stream, [row_to_envelope(row) for row in rows])
    positions = [row["position"] for row in rows]
    if positions != sorted(positions):
        problems.append(Problem(stream, None, "reordered", "events are stored out of their stream's order"))
    if head is None:
        problems.append(Problem(stream, None, "head_missing", "events exist for a stream with no head"))
    elif head["version"] != rows[-1]["stream_version"] or head["head_hash"] != rows[-1]["hash"]:
        problems.append(Problem(stream, head["version"], "head_mismatch",
                                "the last stored event is not the stream's recorded head"))
    return problems
