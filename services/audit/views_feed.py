"""The views worker and the rebuild: the audit views are fed from the journal, never from Kafka directly.

Reading the journal rather than the topics means the live views and a rebuild see every tenant's
events in exactly the same order, and a rebuild can catch up to the live position and swap its
fresh schema in without losing or repeating an event. One worker is active at a time (a session
advisory lock elects it); it wakes on ``NOTIFY audit_journal`` and otherwise polls each second. On taking
the lead it applies again the entries that failed before (a restart is how a fix or a newer contract arrives).
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import os
import threading
from dataclasses import fields
from datetime import datetime, UTC
from concurrent.futures import Future, ProcessPoolExecutor, wait
from collections.abc import Callable
from itertools import groupby

import orjson
import psycopg
from psycopg.rows import tuple_row

from shared import metrics, rebuild as shared_rebuild
from shared.config import Settings
from shared.db import connect
from shared.envelope import Actor, Envelope, parse_timestamp
from shared.rebuild import ReadAhead, ReadModel, keys_once
from shared.worker import WorkerLoop
from services.audit import journal
from services.audit.projections import facts_of
from services.audit.store import KEYED_BY_EVENT, SqlStore

log = logging.getLogger(__name__)

LEADER_LOCK = 0x6175_6469_7476  # one active views worker per database
APPLY_LOCK = 0x6175_6469_7477   # held while views are written; a rebuild's swap takes it too
SCHEMA = "views"
# Every statement a rebuild runs finds its rows by a table's key: the other indexes are built once the bulk is in.
# The tables whose rows are keyed by their event are copied straight in by the first round (``_write_fresh``), which
# never looks their rows up: their keys too are built after it, one sorted build instead of an insert into the key
# for each of millions of rows (the members' timelines: 2.4 M rows from a million entries).
READ_MODEL = ReadModel(schema=SCHEMA, indexes_after_fill=True, keys_after_fill=tuple(sorted(KEYED_BY_EVENT)))


def apply_entry(conn: psycopg.Connection, tenant_id: str, seq: int, envelope_text: str) -> bool:
    """Apply one journal entry to the views in a savepoint; a failure is recorded and skipped."""
    return apply_entries(conn, tenant_id, [{"seq": seq, "envelope": envelope_text}]) == 1


def apply_entries(conn: psycopg.Connection, tenant_id: str, rows: list[dict]) -> int:
    """Apply journal entries in one savepoint, their rows written in pipeline mode; return how many applied.

    An entry whose facts cannot be worked out is recorded as a failure at once; when the database refuses
    the batch, it is split in halves until the entry at fault is alone, recorded and skipped.
    """
    pending = []
    for row in rows:
        envelope = Envelope.from_dict(json.loads(row["envelope"]))
        try:
            pending.append((tenant_id, row["seq"], envelope, facts_of(envelope)))
        except Exception as error:  # noqa: BLE001 — recorded in failures, retried after a fix
            _record_failure(conn, tenant_id, row["seq"], envelope, error)
    return _write_split(conn, pending)


def ask_to_follow(conn: psycopg.Connection, tenants: list[str]) -> psycopg.Cursor:
    """Try the views' apply lock and read ``tenants``' positions, for ``follow_journal``: queued before the
    journal's own reads in the consumer's pipeline, it comes back in their round trip instead of one of its own.

    The lock and the positions are one statement: positions read before the lock was granted can only be older,
    and older positions only make the views look behind — left to the worker, never applied twice."""
    return conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS got, (SELECT coalesce(jsonb_object_agg(tenant_id,"
                        " seq), '{}') FROM positions WHERE tenant_id = ANY(%s)) AS positions", (APPLY_LOCK, tenants))


def follow_journal(conn: psycopg.Connection, journalled: journal.Journalled,
                   asked: psycopg.Cursor | None = None) -> bool:
    """Apply the entries just journalled to the views in the journal's own transaction; True if every
    tenant's views are now level with its journal, False if the views worker has some left to apply.

    This is the quick way to the views: an auditor sees an event the moment it is journalled, and the
    entries are not read back and decoded again. It applies only where the views stood exactly at the
    journal's previous entry, and only when no views worker or rebuild swap is writing (a try-lock, so the
    journal never waits on them). The views' writes go out with whatever the caller sends next, its COMMIT
    included: no savepoint, no round trip of their own. Anything going wrong here fails the caller's
    transaction; the journal's consumer then journals the batch again without the views (its fallback), and
    the views worker catches up, as ever, from the journal, finding and recording an entry the database
    refuses. ``asked``: what ``ask_to_follow`` sent for at least the journalled tenants (None: asked here).
    """
    if not journalled:
        return True
    return _follow(conn, journalled, asked or ask_to_follow(conn, list(journalled)))


def _follow(conn: psycopg.Connection, journalled: journal.Journalled, asked: psycopg.Cursor) -> bool:
    row = asked.fetchone()
    if not row["got"]:
        return False
    positions = row["positions"]
    # Only where the views stand exactly before the batch: behind (or just swapped by a rebuild), the worker
    # applies in order.
    level = {tenant_id: (first, envelopes) for tenant_id, (first, envelopes) in journalled.items()
             if positions.get(tenant_id, 0) == first - 1}
    facts = []
    for tenant_id, (first, envelopes) in level.items():
        for seq, envelope in enumerate(envelopes, start=first):
            try:
                facts += facts_of(envelope)
            except Exception as error:  # noqa: BLE001 — recorded in failures, retried after a fix
                _record_failure(conn, tenant_id, seq, envelope, error)
    SqlStore(conn).put_many(facts)
    conn.cursor().executemany("INSERT INTO positions (tenant_id, seq) VALUES (%s, %s) ON CONFLICT (tenant_id)"
                              " DO UPDATE SET seq = EXCLUDED.seq",
                              [(tenant_id, first + len(entries) - 1) for tenant_id, (first, entries) in level.items()])
    metrics.CONSUMER_APPLIED.labels("audit-views", "applied").inc(sum(len(e) for _, e in level.values()))
    return len(level) == len(journalled)


COPIED_FROM = 200  # entries: a batch this large is copied in (a few statements), a smaller one sent row by row


def _write_split(conn: psycopg.Connection, pending: list[tuple]) -> int:
    if not pending:
        return 0
    try:
        facts = (fact for *_entry, facts in pending for fact in facts)
        if len(pending) >= COPIED_FROM:
            with conn.transaction():
                SqlStore(conn).put_copied(facts)
        else:
            with conn.transaction(), conn.pipeline():
                SqlStore(conn).put_many(facts)
    except (psycopg.OperationalError, psycopg.errors.QueryCanceled):
        raise
    except Exception as error:
        if len(pending) == 1:
            _record_failure(conn, *pending[0][:3], error)
            return 0
        half = len(pending) // 2
        return _write_split(conn, pending[:half]) + _write_split(conn, pending[half:])
    metrics.CONSUMER_APPLIED.labels("audit-views", "applied").inc(len(pending))
    return len(pending)


def _record_failure(conn: psycopg.Connection, tenant_id: str, seq: int, envelope: Envelope, error: Exception) -> None:
    log.error("audit-views: cannot apply %s (%s #%s): %s", envelope.event_id, tenant_id, seq, error)
    conn.execute("INSERT INTO failures (tenant_id, seq, event_id, event_type, error) VALUES (%s, %s, %s, %s, %s)"
                 " ON CONFLICT DO NOTHING",
                 (tenant_id, seq, envelope.event_id, envelope.event_type, f"{type(error).__name__}: {error}"))
    metrics.CONSUMER_APPLIED.labels("audit-views", "failed").inc()


def catch_up(conn: psycopg.Connection, batch_size: int = 500, *, lock: bool = True) -> int:
    """Apply journal entries past the views' positions, at most ``batch_size`` per tenant; return how many."""
    applied = 0
    with conn.transaction():
        if lock:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK,))
        behind = conn.execute(
            "SELECT h.tenant_id, coalesce(p.seq, 0) AS seq FROM public.journal_heads h"
            " LEFT JOIN positions p ON p.tenant_id = h.tenant_id WHERE h.size > coalesce(p.seq, 0)").fetchall()
        for tenant in behind:
            rows = conn.execute("SELECT seq, envelope FROM public.journal WHERE tenant_id = %s AND seq > %s"
                                " ORDER BY seq LIMIT %s", (tenant["tenant_id"], tenant["seq"], batch_size)).fetchall()
            apply_entries(conn, tenant["tenant_id"], rows)
            if rows:
                conn.execute("INSERT INTO positions (tenant_id, seq) VALUES (%s, %s) ON CONFLICT (tenant_id)"
                             " DO UPDATE SET seq = EXCLUDED.seq", (tenant["tenant_id"], rows[-1]["seq"]))
                applied += len(rows)
    return applied


def retry_failures(conn: psycopg.Connection) -> dict:
    """Apply again the entries the views could not apply, once a fix or a newer contract is in: facts converge
    whatever the order they arrive in, so a late entry lands as if it had come in its turn."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK,))
        failed = conn.execute("SELECT f.tenant_id, f.seq, j.envelope FROM failures f JOIN public.journal j"
                              " ON j.tenant_id = f.tenant_id AND j.seq = f.seq ORDER BY f.tenant_id, f.seq").fetchall()
        applied = 0
        for row in failed:
            conn.execute("DELETE FROM failures WHERE tenant_id = %s AND seq = %s", (row["tenant_id"], row["seq"]))
            applied += apply_entry(conn, row["tenant_id"], row["seq"], row["envelope"])
    return {"retried": len(failed), "applied": applied, "still_failing": len(failed) - applied}


class ViewsWorker:
    def __init__(self, settings: Settings, batch_size: int = 500) -> None:
        self.settings = settings
        self.batch_size = batch_size

    def run(self, stop: threading.Event) -> None:
        """Follow the journal until ``stop``; stand by while another worker holds the leader lock."""
        WorkerLoop("audit-views", self.settings.owner_dsn, self._step, channels=(journal.CHANNEL,),
                   leader_lock=LEADER_LOCK, on_lead=self._retry, standby_seconds=2.0).run(stop)

    def _retry(self, conn: psycopg.Connection) -> None:
        retried = retry_failures(conn)
        if retried["retried"]:
            log.info("audit-views: retried failed entries: %s", retried)

    def _step(self, conn: psycopg.Connection, _woken: set[str]) -> float:
        """One batch of entries per bureau; no sleep while any was behind."""
        return 0 if catch_up(conn, self.batch_size) else 1.0


class JournalFeed:
    """The journal as a rebuild reads it: per bureau, past the shadow views' own positions.

    The first round fills the empty shadow from the whole journal in key order (bureau, number), the bureaus split
    into as many ranges as there are cores, each range filled by a process of its own (a ``Fill``): bureaus share
    no row, and one Python process could use one core only. The later rounds and the swap catch up per bureau, as
    the views worker does."""

    def __init__(self, processes: int | None = None) -> None:
        self.processes = processes or os.cpu_count() or 1
        self.fill: Fill | None = None
        self.filling: list[Future] | None = None
        self.pool: ProcessPoolExecutor | None = None
        self.reported = 0
        self.bulk = True
        self.keys: list[str] = []  # the keys left for later, added by a fill before a batch written the slow way

    def keys_later(self, keys: dict[str, list]) -> None:
        self.keys = [keys_once(table, statements).as_string(None) for table, statements in keys.items()]

    def total(self, conn: psycopg.Connection) -> int:
        return conn.execute("SELECT coalesce(sum(size), 0)::bigint AS n FROM public.journal_heads").fetchone()["n"]

    def apply_next(self, conn: psycopg.Connection, limit: int) -> int:
        if self.bulk:
            try:
                applied = self._fill(conn, limit)
            except BaseException:
                self._stop_filling()
                raise
            if applied:
                return applied
            self._stop_filling()
        return catch_up(conn, limit, lock=False)

    def hold_writers(self, conn: psycopg.Connection) -> None:
        """The views worker writes only under this lock: taken, the live views stand still until the swap."""
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK,))

    def _fill(self, conn: psycopg.Connection, limit: int) -> int:
        """What the fill has applied since the last call (waiting for some): the rebuild's progress."""
        if self.fill is None and self.filling is None:
            ranges = _ranges(conn, self.processes)
            if len(ranges) == 1:  # one bureau, or one core: filled here
                self.fill = Fill(conn, *ranges[0], limit, self.keys)
        if self.fill is not None:
            return self.fill.run()
        if self.filling is None:
            search_path = conn.execute("SHOW search_path").fetchone()["search_path"]
            self.pool = ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("fork"))
            self.filling = [self.pool.submit(_fill_range, conn.info.dsn, conn.info.password, search_path, *bounds,
                                             limit, self.keys) for bounds in ranges]
        while True:
            done, running = wait(self.filling, timeout=0.5)
            for future in done:
                future.result()  # a fill that failed fails the rebuild
            applied = conn.execute("SELECT coalesce(sum(seq), 0)::bigint AS n FROM positions").fetchone()["n"]
            if applied > self.reported or not running:
                applied, self.reported = applied - self.reported, applied
                return applied

    def _stop_filling(self) -> None:
        self.bulk = False
        if self.fill is not None:
            self.fill.close()
            self.fill = None
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


def _ranges(conn: psycopg.Connection, parts: int) -> list[tuple[str, str | None]]:
    """The bureaus in key order, cut into at most ``parts`` ranges of about as many entries: (from, before)."""
    heads = conn.execute("SELECT tenant_id, size FROM public.journal_heads ORDER BY tenant_id").fetchall()
    share = sum(head["size"] for head in heads) / max(parts, 1)
    starts, filled = [""], 0
    for head in heads:
        if filled >= share * len(starts) and len(starts) < parts:
            starts.append(head["tenant_id"])
        filled += head["size"]
    return list(zip(starts, [*starts[1:], None]))


def _fill_range(dsn: str, password: str | None, search_path: str, first: str, before: str | None, limit: int,
                keys: list[str]) -> int:
    """One range of bureaus filled in a process of its own (forked from the rebuild), on a connection of its own."""
    gc.disable()  # as in the rebuild: millions of short-lived objects, freed by their counts
    with connect(dsn, password=password, autocommit=True) as conn:
        conn.execute("SELECT set_config('search_path', %s, false)", (search_path,))
        with Fill(conn, first, before, limit, keys) as fill:
            applied = 0
            while step := fill.run():
                applied += step
            return applied


class Fill:
    """Entries of bureaus ``first`` ≤ … < ``before`` in key order, read a batch ahead on a second connection (decoded
    and their facts worked out there while the last batch is written) and written into the empty shadow: the facts
    keyed by their event copied straight in, the others upserted, with the bureaus' positions. ``keys``: the
    statements adding the keys left for later (each skipped where another fill added them first), run before a
    batch the database refused is written again the slow way, which upserts into every table."""

    def __init__(self, conn: psycopg.Connection, first: str, before: str | None, limit: int,
                 keys: list[str] = ()) -> None:
        self.conn = conn
        self.keys = list(keys)
        self.ahead = ReadAhead(conn, lambda reader, after: _read_ahead(reader, after, limit, before), (first, 0),
                               limit)

    def __enter__(self) -> Fill:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self.ahead.close()

    def _add_keys(self) -> None:
        while self.keys:
            self.conn.execute(self.keys.pop(0))

    def run(self) -> int:
        """Write the next batch; return how many entries it held (0: the range is done)."""
        conn, batch = self.conn, self.ahead.next()
        if batch is None:
            return 0
        with conn.transaction():
            # Nothing of a rebuild is worth waiting for the disk for until the swap: a crash drops the shadow.
            conn.execute("SET LOCAL synchronous_commit = off")
            pending = []
            for _key, tenant_id, seq, envelope, facts in batch:
                if isinstance(facts, Exception):
                    _record_failure(conn, tenant_id, seq, envelope, facts)
                else:
                    pending.append((tenant_id, seq, envelope, facts))
            _write_fresh(conn, pending, self._add_keys)
            conn.cursor().executemany("INSERT INTO positions (tenant_id, seq) VALUES (%s, %s) ON CONFLICT (tenant_id)"
                                      " DO UPDATE SET seq = EXCLUDED.seq",
                                      [(tenant_id, max(seq for _, seq in entries)) for tenant_id, entries
                                       in groupby(((row[1], row[2]) for row in batch), key=lambda e: e[0])])
        return len(batch)


_DIGITS = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x30 for byte in range(256))  # a digit → "1", the rest → "0"
_NINETEEN_DIGITS = b"1" * 19  # the shortest integer orjson might read as a float (beyond 64 bits)
_IN_TEXT = frozenset(b'"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')


def _envelope_json(text: bytes) -> dict:
    """A journal entry's JSON by orjson, several times faster than the standard parser — unless it holds an integer
    of 19 digits or more, which the standard parser reads, as everywhere else. Runs of digits inside text (a hash,
    the first event's chain of zeros) do not count: a number never follows a quote or a letter."""
    digits = text.translate(_DIGITS)
    at = digits.find(_NINETEEN_DIGITS)
    while at != -1:
        if at == 0 or text[at - 1] not in _IN_TEXT:
            return json.loads(text)
        end = digits.find(b"0", at)
        at = -1 if end == -1 else digits.find(_NINETEEN_DIGITS, end)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses (an exponent too large), the standard parser may read
        return json.loads(text)


_ENVELOPE_FIELDS = frozenset(field.name for field in fields(Envelope))
_ACTOR_FIELDS = frozenset(field.name for field in fields(Actor))


def _envelope(body: dict, actors: dict[tuple[str, str], Actor]) -> Envelope:
    """The Envelope ``Envelope.from_dict`` makes of a journal entry's JSON, in a third of the time: a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__``, and a rebuild makes a million. Only for a body of
    exactly the envelope's fields (nothing of ``__init__`` is missed: no default, no ``__post_init__``); any other
    goes through ``from_dict``, which fills or refuses it. ``actors``: the Actor of each (user, role) made so far."""
    actor = body.get("actor")
    if body.keys() != _ENVELOPE_FIELDS or type(actor) is not dict or actor.keys() != _ACTOR_FIELDS:
        return Envelope.from_dict(body)
    who = (actor["user"], actor["role"])
    envelope = object.__new__(Envelope)
    envelope.__dict__.update(
        event_id=body["event_id"], event_type=body["event_type"], schema_version=body["schema_version"],
        stream_id=body["stream_id"], stream_version=body["stream_version"], tenant_id=body["tenant_id"],
        branch_id=body["branch_id"], occurred_at=_timestamp(body["occurred_at"]),
        recorded_at=_timestamp(body["recorded_at"]), actor=actors.get(who) or actors.setdefault(who, Actor(*who)),
        correlation_id=body["correlation_id"], causation_id=body["causation_id"], data=body["data"],
        prev_hash=body["prev_hash"], hash=body["hash"])
    return envelope


def _timestamp(text: str) -> datetime:
    """``parse_timestamp``'s datetime in a tenth of the time where the text names UTC (as the journal's always does):
    ``fromisoformat`` gives it UTC's own tzinfo already, and checking and replacing that is most of the cost."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is UTC else parse_timestamp(text)


def _stamps(body: dict) -> tuple[str, str] | None:
    """An entry's two timestamps as the journal holds them, when both are in the canonical form
    (``2024-05-01T09:30:00.000000Z``): the timeline's rows are copied with this text, which PostgreSQL reads as
    the same instant, instead of datetimes psycopg takes five times as long to write."""
    occurred, recorded = body["occurred_at"], body["recorded_at"]
    return (occurred, recorded) if _canonical(occurred) and _canonical(recorded) else None


def _canonical(text: object) -> bool:
    return type(text) is str and len(text) == 27 and text[10] == "T" and text[19] == "." and text[26] == "Z"


def _read_ahead(conn: psycopg.Connection, after: tuple[str, int], limit: int, before: str | None) -> list[tuple]:
    """The next ``limit`` entries in key order (of bureaus before ``before``), each decoded with its facts (or what
    stopped them being worked out)."""
    bounded = "" if before is None else " AND tenant_id < %s"
    with conn.cursor(row_factory=tuple_row) as cursor:
        # Planned for each batch's own bounds, never prepared: the generic plan PostgreSQL turns to after five runs
        # sorts a parallel scan of the bureaus' range for each batch instead of reading the key's index in order.
        rows = cursor.execute("SELECT tenant_id, seq, envelope FROM public.journal WHERE (tenant_id, seq) > (%s, %s)"
                              f"{bounded} ORDER BY tenant_id, seq LIMIT %s",
                              (*after, *([before] if before else []), limit), prepare=False).fetchall()
    decoded, actors = [], {}
    for tenant_id, seq, text in rows:
        body = _envelope_json(text.encode())
        envelope = _envelope(body, actors)
        try:
            facts = facts_of(envelope, stamps=_stamps(body))
        except Exception as error:  # noqa: BLE001 — recorded in failures by the writer, retried after a fix
            facts = error
        decoded.append(((tenant_id, seq), tenant_id, seq, envelope, facts))
    return decoded


def _write_fresh(conn: psycopg.Connection, pending: list[tuple], add_keys: Callable[[], None]) -> None:
    """A batch of the first round: the facts keyed by their event copied straight in (the journal holds an event
    once, so nothing is there to meet), the others upserted. If the database refuses the batch, it is written
    again per bureau the way the views worker writes, finding the entry at fault — after ``add_keys`` has added
    the keys its upserts need."""
    try:
        with conn.transaction():
            SqlStore(conn).put_copied((fact for *_entry, facts in pending for fact in facts), fresh=True)
    except (psycopg.OperationalError, psycopg.errors.QueryCanceled):
        raise
    except Exception:  # noqa: BLE001 — found again, entry by entry, below
        log.info("rebuild: a batch was refused; writing it again per bureau", exc_info=True)
        add_keys()
        for _tenant_id, entries in groupby(pending, key=lambda entry: entry[0]):
            _write_split(conn, list(entries))
        return
    metrics.CONSUMER_APPLIED.labels("audit-views", "applied").inc(len(pending))


def rebuild(settings: Settings, progress: Callable[[int, int], None] = lambda done, total: None,
            batch_size: int = 10000) -> dict:
    """Replay the whole journal into a fresh schema, catch up with the live views, then swap it in."""
    with connect(settings.owner_dsn, autocommit=True) as conn:
        total = JournalFeed().total(conn)
        rebuild_id = conn.execute("INSERT INTO public.view_rebuilds (total, status) VALUES (%s, 'replaying')"
                                  " RETURNING id", (total,)).fetchone()["id"]
        try:
            result = shared_rebuild.rebuild(settings.owner_dsn, READ_MODEL, JournalFeed(),
                                            batch=batch_size, progress=progress)
        except Exception:
            conn.execute("UPDATE public.view_rebuilds SET status = 'failed', finished_at = now() WHERE id = %s",
                         (rebuild_id,))
            raise
        conn.execute("UPDATE public.view_rebuilds SET applied = %s, total = greatest(total, %s), status = 'swapped',"
                     " finished_at = now() WHERE id = %s", (result["applied"], result["applied"], rebuild_id))
        return {"rebuild": rebuild_id, "applied": result["applied"], "total": max(total, result["applied"])}
