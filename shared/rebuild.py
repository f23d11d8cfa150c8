"""Rebuild read models without stopping writers: fill a shadow copy, catch up, swap it in.

The shadow tables are empty copies of the live ones (columns, checks, keys and indexes under their own
names, foreign keys, row-level security policies, grants) in a schema of their own. Events are applied
into them while the service keeps writing the live tables; rounds of catching up shrink what is left,
and a last short transaction keeps writers out, applies the rest and swaps the shadow in. Readers see
the old rows until that commit and the new ones after it; nothing is half-built, nothing is lost.

Writers are kept out by table locks taken under a short statement timeout: a writer that already holds
one of the tables and waits for us would otherwise deadlock with us, and PostgreSQL would cancel one of
the two — perhaps the writer's command. We give up first (well before ``deadlock_timeout``), let it
finish, and try again.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

import orjson
import psycopg
from psycopg import sql
from psycopg.adapt import Loader
from psycopg.rows import tuple_row

from shared.contracts import EventRegistry
from shared.db import connect
from shared.envelope import Actor, Envelope
from shared.rowwriter import Fill, RowSet, copy_rows

log = logging.getLogger(__name__)

REBUILD_LOCK = 0x6272_7265_6275  # one rebuild at a time per database
NEXT_SUFFIX, OLD_SUFFIX = "_next", "_old"
LOCK_TIMEOUT_MS = 400  # well under PostgreSQL's default deadlock_timeout of 1 s
SWAP_ATTEMPTS = 20
LONGEST_LOCK_WAIT_MS = 3000  # writers queued behind the swap are never held up longer, whatever deadlock_timeout is

Progress = Callable[[int, int], None]
MOST_PROCESSES = 8  # a fill by bureau's processes, each with two connections to the database, at most


class RebuildBusy(Exception):
    """Another rebuild holds the database's rebuild lock, or writers kept the tables for every attempt."""


class StreamAcrossBureaus(Exception):
    """A stream holds events of more than one bureau: a fill by bureau would split it between processes."""


@dataclass(frozen=True)
class ReadModel:
    """What a rebuild replaces: some tables of ``schema``, or (``tables`` empty) the whole schema.

    ``indexes_after_fill``: the shadow tables get their keys and unique indexes at once but their other
    indexes and the foreign keys between them only once the first round has filled them (one sorted build,
    one check of all rows, instead of work for each row), before the catch-up rounds and the swap. Only for
    read models whose every statement finds its rows by a key or unique index (until then, a statement
    looking rows up by another index scans the table) and whose events never break a foreign key (a row that
    would have failed a write fails the rebuild when the key is added).

    ``keys_after_fill``: tables that get even their primary keys and unique constraints only after the first
    round (one sorted build instead of a random insert into the key for each row), or when the feed first needs
    them (``Feed.keys_later``). Only for tables whose rows are inserted without a conflict clause, and found
    by no statement but the feed's replacement of a key's rows, which builds the key first.
    """

    schema: str = "public"
    tables: tuple[str, ...] = ()
    indexes_after_fill: bool = False
    keys_after_fill: tuple[str, ...] = ()

    @property
    def shadow(self) -> str:
        return f"rebuild_{self.schema}{NEXT_SUFFIX}" if self.tables else f"{self.schema}{NEXT_SUFFIX}"


class Feed(Protocol):
    """Where the events come from and how one is applied, with the connection's search_path on the shadow."""

    def total(self, conn: psycopg.Connection) -> int:
        """How many entries there are to apply (for the estimate of the time left)."""

    def apply_next(self, conn: psycopg.Connection, limit: int) -> int:
        """Apply up to ``limit`` entries not applied yet; return how many."""

    def hold_writers(self, conn: psycopg.Connection) -> None:
        """Inside the swap transaction: keep whoever writes the live tables out until it commits."""

    def keys_later(self, keys: dict[str, list]) -> None:
        """The statements adding the keys of tables filled without them, by table: the feed runs (and removes) a
        table's before it looks rows of that table up; the rebuild runs what is left after the first round."""


_READ = ("SELECT position, event_id::text, event_type, schema_version, stream_id, stream_version, tenant_id, branch_id,"
         " occurred_at, recorded_at, actor->>'user', actor->>'role', correlation_id, causation_id, data, prev_hash,"
         " hash FROM events")
_DIGITS = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x30 for byte in range(256))  # a digit → "1", the rest → "0"
_NINETEEN_DIGITS = b"1" * 19  # the shortest integer beyond 64 bits; found in the text ten times as fast as a regex


def envelopes(rows: list[tuple], actors: dict[tuple[str, str], Actor]) -> list[tuple[int, Envelope]]:
    """Rows read by ``_READ`` as (position, Envelope), equal to those ``Envelope(...)`` makes, in two fifths of the
    time: a frozen dataclass's ``__init__`` sets each of its fields through ``object.__setattr__``, and a replay makes a
    million. Every field is given, so nothing of ``__init__`` is missed (no defaults, no ``__post_init__``).
    ``actors``: the Actor of each (user, role) made so far; a few people record most of the events."""
    made = []
    new = object.__new__
    for (position, event_id, event_type, schema_version, stream_id, stream_version, tenant_id, branch_id, occurred_at,
         recorded_at, user, role, correlation_id, causation_id, data, prev_hash, hash_) in rows:
        envelope = new(Envelope)
        envelope.__dict__.update(
            event_id=event_id, event_type=event_type, schema_version=schema_version, stream_id=stream_id,
            stream_version=stream_version, tenant_id=tenant_id, branch_id=branch_id, occurred_at=occurred_at,
            recorded_at=recorded_at,
            actor=actors.get((user, role)) or actors.setdefault((user, role), Actor(user, role)),
            correlation_id=correlation_id, causation_id=causation_id, data=data, prev_hash=prev_hash, hash=hash_)
        made.append((position, envelope))
    return made


class EventJsonLoader(Loader):
    """An event's data decoded by orjson, several times faster than the standard parser — unless it holds a
    number of 19 digits or more, which orjson would read as a float (beyond 64 bits): that one the standard
    parser reads, as everywhere else. A rebuild only projects events; their hashes are checked elsewhere."""

    def load(self, data) -> object:
        text = bytes(data)
        if _NINETEEN_DIGITS in text.translate(_DIGITS):
            return json.loads(text)
        return orjson.loads(text)


class ReadAhead:
    """The store's next batches, read and decoded on a connection of its own while the last one is applied: the
    database answers one connection while Python works for the other, and a rebuild uses two cores, not one.

    Ends after the first batch shorter than ``limit`` (the end of the store as it was); ``next`` then answers
    None, and whatever was written since is read when applied, as the catch-up rounds and the swap require.
    """

    def __init__(self, conn: psycopg.Connection, read: Callable[[psycopg.Connection, int], list], after: Any,
                 limit: int, snapshot: str | None = None) -> None:
        self.batches: queue.Queue = queue.Queue(maxsize=2)  # at most two batches in memory ahead of the one applied
        self.stopping = threading.Event()
        self.snapshot = snapshot  # read in one transaction that sees what this exported snapshot saw, if given
        self.thread = threading.Thread(target=self._run, args=(conn.info.dsn, conn.info.password, read, after, limit),
                                       name="rebuild-read-ahead", daemon=True)
        self.thread.start()

    def next(self) -> list | None:
        batch = self.batches.get()
        if isinstance(batch, BaseException):
            raise batch
        return batch

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()

    def _run(self, dsn: str, password: str | None, read: Callable, after: int, limit: int) -> None:
        try:
            with psycopg.connect(dsn, password=password, autocommit=self.snapshot is None) as reader:
                if self.snapshot is not None:
                    reader.isolation_level, reader.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
                    reader.execute("SET TRANSACTION SNAPSHOT " + sql.quote(self.snapshot))
                while not self.stopping.is_set():
                    batch = read(reader, after)
                    self._put(batch)
                    if len(batch) < limit:
                        break
                    after = batch[-1][0]
        except Exception as error:  # raised where the batch was wanted
            self._put(error)
        self._put(None)

    def _put(self, item: Any) -> None:
        while not self.stopping.is_set():
            try:
                self.batches.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


class Statements:
    """Where a projection's statements go instead of the connection while a rebuild writes behind it: kept, in their
    order, to be run later. A batch projection only writes (through a ``RowWriter``), so it needs nothing back."""

    def __init__(self) -> None:
        self.kept: list[tuple[Any, Any]] = []  # (query, params), or (row set, rows) to copy

    def execute(self, query: Any, params: Any = None) -> None:
        self.kept.append((query, params))

    def copy_rows(self, rows: RowSet, new: list[tuple]) -> None:
        self.kept.append((rows, new))


class WriteBehind:
    """Batches of statements run on the rebuild's connection by a thread of its own, a transaction each, while the
    next batch is projected: the projecting thread no longer waits for the database to write what it sent (a third
    of a replay's time), and the database no longer waits for the next batch.

    At most one batch waits while another is written. A batch that fails is rolled back and fails the rebuild
    where the next batch is handed over, or where the rebuild waits for the writes (``drain``)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.batches: queue.Queue = queue.Queue(maxsize=1)
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="rebuild-write-behind", daemon=True)
        self.thread.start()

    def put(self, statements: list) -> None:
        self._raise_failed()
        self.batches.put(statements)

    def drain(self) -> None:
        """Wait until every batch handed over is written; raise what failed."""
        self.batches.join()
        self._raise_failed()

    def close(self) -> None:
        """Let what was handed over be written (or refused), then end the thread."""
        self.batches.put(None)
        self.thread.join()

    def _raise_failed(self) -> None:
        if self.failed is not None:
            raise self.failed

    def _write(self, statements: list, attempts: int = 5) -> None:
        """The batch in a transaction; written again if PostgreSQL cancelled it to break a deadlock (processes of a
        fill by bureau adding a table's keys, ``keys_once``): rolled back whole, it leaves nothing behind."""
        for attempt in range(1, attempts + 1):
            try:
                with self.conn.transaction():
                    for copying, run in groupby(statements, key=lambda kept: isinstance(kept[0], RowSet)):
                        if copying:  # a COPY cannot run in a pipeline
                            for rows, new in run:
                                copy_rows(self.conn, rows, new)
                            continue
                        with self.conn.pipeline():
                            for query, params in run:
                                self.conn.execute(query, params)
                return
            except psycopg.errors.DeadlockDetected:
                if attempt == attempts:
                    raise
                log.info("rebuild: a batch was cancelled to break a deadlock (attempt %d); writing it again", attempt)
                time.sleep(0.05 * attempt)

    def _run(self) -> None:
        while (statements := self.batches.get()) is not None:
            try:
                if self.failed is None:  # after a failure, the batches still handed over are dropped
                    self._write(statements)
            except BaseException as error:  # raised in the rebuild's thread
                self.failed = error
            finally:
                self.batches.task_done()
        self.batches.task_done()


class StoreFeed:
    """A service's own event store, replayed through its projections.

    Positions come from a sequence, so a transaction that commits late leaves a gap that fills later:
    gaps are remembered and read again each round (one left by a rolled-back append stays empty).

    A batch projection that asks for it (``project_batch.writes_behind``) is written behind (``WriteBehind``) while
    it fills the empty shadow (the first round, while the store is read ahead, with no gap to read again): its
    statements are kept and run by a thread of their own while the next batch is projected. Anything else waits
    for them first and is applied as before. It pays where the database's share of a batch is large (activities:
    1.6 M participants' rows); members, whose batches the database writes quickly, showed no gain from it.

    A batch projection whose bureaus share nothing (``project_batch.by_bureau``: each row it writes belongs to the
    bureau of the event that wrote it, and it reads no other bureau's rows) fills the empty shadow with a process per
    core (``processes``), each replaying its share of the bureaus (``BureauFill``): one Python process uses one core.
    """

    def __init__(self, registry: EventRegistry, project: Callable, project_batch: Callable | None = None,
                 processes: int | None = None) -> None:
        self.registry = registry
        self.project = project
        self.project_batch = project_batch or self._one_by_one
        self.fill = Fill() if project_batch else None  # the shadow tables start empty; only this feed writes them
        self.by_bureau = bool(getattr(project_batch, "by_bureau", False))
        self.processes = processes or min(len(os.sched_getaffinity(0)), MOST_PROCESSES)
        self.bureaus: BureauFill | None = None
        self.position = 0
        self.gaps: set[int] = set()
        self.actors: dict[tuple[str, str], Actor] = {}  # a few people record most of the events
        self.ahead: ReadAhead | None = None
        self.read_ahead = True  # through the first round only: past it, each batch is read when it is applied
        self.behind: WriteBehind | None = None
        self.writes_behind = bool(getattr(project_batch, "writes_behind", False))

    def total(self, conn: psycopg.Connection) -> int:
        return conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"]

    def apply_next(self, conn: psycopg.Connection, limit: int) -> int:
        if self.by_bureau and self.fill is not None and self.read_ahead and not self.gaps and self.processes > 1 \
                and (self.writes_behind or not self.fill.keys_later):  # a batch written behind can be run again
            if applied := self._apply_by_bureau(conn, limit):
                return applied
        try:
            if self.writes_behind and self.fill is not None and self.read_ahead and not self.gaps:
                if applied := self._apply_behind(conn, limit):
                    return applied
            self._stop_writing_behind()
            with conn.transaction():
                late = self._decoded(self._read(conn, "position = ANY(%s)", sorted(self.gaps))) if self.gaps else []
                self.gaps.difference_update(position for position, _, _ in late)
                rows = self._next_rows(conn, limit)
                events = [(envelope, event) for _, envelope, event in late + rows]
                with conn.pipeline():  # the projection's writes go out together, not one round trip each
                    self.project_batch(conn, events, self.fill)
        except BaseException:
            self._stop_reading_ahead()
            self._stop_writing_behind(wait=False)
            raise
        self._passed(rows)
        return len(late) + len(rows)

    def _apply_by_bureau(self, conn: psycopg.Connection, limit: int) -> int:
        """What the bureaus' processes have applied since the last call (waiting for some); 0 once they are done
        (or if the store holds one bureau only), the feed then past the store as they saw it, its gaps remembered.
        What they wrote is not counted in ``fill``: the rounds after theirs write as the commands do."""
        if self.bureaus is None:
            self.bureaus = BureauFill.start(self, conn, limit)
            if self.bureaus is None:
                self.by_bureau = False
                return 0
        try:
            applied = self.bureaus.progress()
        except StreamAcrossBureaus as crossing:
            self.bureaus.close()
            self.bureaus = None
            log.warning("rebuild: %s; filling again in one process", crossing)
            self._start_over(conn)
            return 0
        except BaseException:
            self.bureaus.close()
            self.bureaus = None
            raise
        if applied:
            return applied
        self.position, self.gaps = self.bureaus.upto, set(self.bureaus.gaps)
        self.bureaus.close()
        self.bureaus = None
        self._add_keys_left(conn)
        self.by_bureau, self.read_ahead, self.fill = False, False, None
        return 0

    def _add_keys_left(self, conn: psycopg.Connection) -> None:
        """The keys no process needed, added now: the rounds after a fill by bureau write without a ``Fill``, and
        their replacements of a key's rows would look them up without the key."""
        keys_later = self.fill.keys_later
        for table in list(keys_later):
            keys = keys_later.pop(table)
            if not _keyed(conn, table):
                for key in keys:
                    conn.execute(key)

    def close(self) -> None:
        """Stop whatever the feed runs besides the rebuild's thread (``rebuild`` calls it however it ends)."""
        if self.bureaus is not None:
            self.bureaus.close()
            self.bureaus = None
        self._stop_reading_ahead()
        self._stop_writing_behind(wait=False)

    def _start_over(self, conn: psycopg.Connection) -> None:
        """The shadow emptied and the feed back at the store's start, to fill it in one process; a key a process added
        stays (its table is empty) and is not added again."""
        tables = [row["tablename"] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]
        for attempt in range(1, 6):  # a stopped process's session may still be finishing a batch on these tables
            try:
                conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
                break
            except psycopg.errors.DeadlockDetected:
                if attempt == 5:
                    raise
                time.sleep(0.2 * attempt)
        keys_later = self.fill.keys_later
        for table in [table for table in keys_later if _keyed(conn, table)]:
            del keys_later[table]
        self.fill, self.fill.keys_later = Fill(), keys_later
        self.by_bureau, self.read_ahead, self.position, self.gaps = False, True, 0, set()

    def _apply_behind(self, conn: psycopg.Connection, limit: int) -> int:
        """Project the next batch read ahead and hand its statements to the writing thread; 0 at the end of the
        store as it was (the last batch is then read and applied as before)."""
        rows = self._ahead(conn, limit).next()
        if rows is None:
            self._stop_reading_ahead()
            return 0
        statements = Statements()
        self.project_batch(statements, [(envelope, event) for _, envelope, event in rows], self.fill)
        if self.behind is None:
            self.behind = WriteBehind(conn)
        self.behind.put(statements.kept)
        self._passed(rows)
        return len(rows)

    def _passed(self, rows: list[tuple[int, Envelope, Any]]) -> None:
        """Move past ``rows``, remembering the positions skipped as gaps."""
        expected = self.position + 1
        for position, _, _ in rows:
            self.gaps.update(range(expected, position))
            expected = position + 1
        if rows:
            self.position = rows[-1][0]

    def _stop_writing_behind(self, wait: bool = True) -> None:
        """Wait for what is written behind (raising what failed, with ``wait``), and end its thread."""
        behind, self.behind = self.behind, None
        if behind is not None:
            try:
                if wait:
                    behind.drain()
            finally:
                behind.close()

    def _ahead(self, conn: psycopg.Connection, limit: int) -> ReadAhead:
        if self.ahead is None:
            self.ahead = ReadAhead(conn, lambda reader, after: self._decoded(
                self._read(reader, "position > %s", after, limit)), self.position, limit)
        return self.ahead

    def _next_rows(self, conn: psycopg.Connection, limit: int) -> list[tuple[int, Envelope, Any]]:
        if self.read_ahead:
            self._ahead(conn, limit)
        if self.ahead is not None:
            rows = self.ahead.next()
            if rows is not None:
                return rows
            self._stop_reading_ahead()
        return self._decoded(self._read(conn, "position > %s", self.position, limit))

    def _stop_reading_ahead(self) -> None:
        self.read_ahead = False
        if self.ahead is not None:
            self.ahead.close()
            self.ahead = None

    def _decoded(self, rows: list[tuple[int, Envelope]]) -> list[tuple[int, Envelope, Any]]:
        deserialise = self.registry.deserialise
        return [(position, envelope, deserialise(envelope.event_type, envelope.schema_version, envelope.data))
                for position, envelope in rows]

    def _one_by_one(self, conn: psycopg.Connection, events: list, fill: None = None) -> None:
        for envelope, event in events:
            self.project(conn, envelope, event)

    def _read(self, conn: psycopg.Connection, where: str, *params) -> list[tuple[int, Envelope]]:
        """Events in position order: plain rows, the JSON decoded once (by orjson where it reads the same)."""
        limit = " LIMIT %s" if len(params) > 1 else ""
        with conn.cursor(row_factory=tuple_row) as cur:
            cur.adapters.register_loader("jsonb", EventJsonLoader)
            rows = cur.execute(f"{_READ} WHERE {where} ORDER BY position{limit}", params).fetchall()
        return envelopes(rows, self.actors)

    def hold_writers(self, conn: psycopg.Connection) -> None:
        """Nothing more: a writer projects into the tables the swap has locked, so it waits for the swap."""

    def keys_later(self, keys: dict[str, list]) -> None:
        if keys and self.fill is None:
            raise ValueError("only a feed that fills through a RowWriter can leave keys for later")
        if self.fill is not None:
            self.fill.keys_later = keys


class BureauFill:
    """The first round of a ``StoreFeed`` whose bureaus share nothing, a process per share of the bureaus.

    Every process reads in one snapshot of the store, exported here (``pg_export_snapshot``) and held until they are
    done: each sees the same events, up to the last position this snapshot saw (``upto``), and the positions below it
    that it did not see (``gaps``: appends that had not committed, or never will) are the feed's to read again later,
    as the feed's own rounds would have left them. Each process replays its bureaus' events in position order into the
    empty shadow tables, through a ``Fill`` of its own: a key one process writes, no other does."""

    def __init__(self, exporter: psycopg.Connection, upto: int, gaps: list[int], processes: list) -> None:
        self.exporter, self.upto, self.gaps, self.processes = exporter, upto, gaps, processes
        self.reported = 0

    @classmethod
    def start(cls, feed: StoreFeed, conn: psycopg.Connection, limit: int) -> BureauFill | None:
        exporter = connect(conn.info.dsn, password=conn.info.password)
        exporter.isolation_level, exporter.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
        processes: list = []
        try:
            snapshot = exporter.execute("SELECT pg_export_snapshot() AS id").fetchone()["id"]
            bureaus = exporter.execute("SELECT tenant_id, count(*) AS n, max(position) AS last FROM public.events"
                                       " GROUP BY tenant_id ORDER BY tenant_id NULLS FIRST").fetchall()
            shares = _shares([(row["tenant_id"], row["n"]) for row in bureaus], feed.processes)
            if len(shares) < 2:
                exporter.close()
                return None
            upto = max(row["last"] for row in bureaus)
            gaps = [] if sum(row["n"] for row in bureaus) == upto else [row["p"] for row in exporter.execute(
                "SELECT g AS p FROM (SELECT position, lag(position, 1, 0::bigint) OVER (ORDER BY position) AS before"
                " FROM public.events) e CROSS JOIN LATERAL generate_series(e.before + 1, e.position - 1) AS g")]
            search_path = conn.execute("SHOW search_path").fetchone()["search_path"]
            context = multiprocessing.get_context("fork")
            for tenants in shares:
                # each counter has one writer, its process: no lock, which a process killed holding it would keep
                applied, failed = context.Value("q", 0, lock=False), context.Queue()
                process = context.Process(target=_fill_share, name="rebuild-bureaus", daemon=True, args=(
                    feed, conn.info.dsn, conn.info.password, search_path, snapshot, upto, tenants, limit, applied,
                    failed))
                process.start()
                processes.append((process, applied, failed))
            log.info("rebuild: filling by bureau, %d processes for %d bureaus up to position %d", len(shares),
                     len(bureaus), upto)
        except BaseException:
            cls(exporter, 0, [], processes).close()
            raise
        return cls(exporter, upto, gaps, processes)

    def progress(self) -> int:
        """Events applied since the last call, waiting up to half a second for some; 0 once every process is done.
        A process that failed fails the rebuild with its error."""
        deadline = time.monotonic() + 0.5
        while True:
            running = False
            for process, _applied, failed in self.processes:
                if process.exitcode not in (None, 0):
                    failure = _failure(failed, process.exitcode)
                    if failure.startswith(StreamAcrossBureaus.__name__):
                        raise StreamAcrossBureaus(failure.split(": ", 1)[-1])
                    raise RuntimeError(f"a bureaus' fill failed: {failure}")
                running = running or process.exitcode is None
            applied = sum(value.value for _process, value, _failed in self.processes)
            if applied > self.reported and (not running or time.monotonic() >= deadline):
                applied, self.reported = applied - self.reported, applied
                return applied
            if not running:
                return 0
            time.sleep(0.02)

    def close(self) -> None:
        for process, _applied, _failed in self.processes:
            if process.exitcode is None:
                process.terminate()
            process.join()
        self.exporter.close()


def _shares(bureaus: list[tuple[str | None, int]], parts: int) -> list[list[str | None]]:
    """The bureaus (None for events of no bureau) cut into at most ``parts`` shares of about as many events, each
    bureau given to the share with the fewest so far, largest bureau first."""
    shares: list[tuple[int, list]] = [(0, []) for _ in range(min(parts, len(bureaus)))]
    for tenant, count in sorted(bureaus, key=lambda bureau: -bureau[1]):
        least = min(range(len(shares)), key=lambda i: shares[i][0])
        shares[least] = (shares[least][0] + count, shares[least][1] + [tenant])
    return [tenants for _count, tenants in shares if tenants]


def _failure(failed: Any, exitcode: int) -> str:
    try:
        return failed.get(timeout=1)
    except queue.Empty:
        return f"exit code {exitcode}"


def _fill_share(feed: StoreFeed, dsn: str, password: str | None, search_path: str, snapshot: str, upto: int,
                tenants: list[str | None], limit: int, applied: Any, failed: Any) -> None:
    """One share of the bureaus replayed in a process of its own (forked from the rebuild): read ahead in the
    exported snapshot, projected through a ``Fill`` of its own, each batch written in a transaction (or behind, as
    the feed writes)."""
    gc.disable()  # as in the rebuild: millions of short-lived objects, freed by their counts
    where = "position > %s AND position <= %s AND (tenant_id = ANY(%s) OR (%s AND tenant_id IS NULL))"
    named, nameless = [tenant for tenant in tenants if tenant is not None], None in tenants
    try:
        with connect(dsn, password=password, autocommit=True) as conn:
            conn.execute("SELECT set_config('search_path', %s, false)", (search_path,))
            ahead = ReadAhead(conn, lambda reader, after: feed._decoded(
                feed._read(reader, where, after, upto, named, nameless, limit)), 0, limit, snapshot)
            fill, behind, versions = Fill(), WriteBehind(conn) if feed.writes_behind else None, {}
            fill.keys_later = {table: [keys_once(table, keys)] for table, keys in feed.fill.keys_later.items()}
            try:
                while (rows := ahead.next()) is not None:
                    _whole_streams(rows, versions)
                    events = [(envelope, event) for _position, envelope, event in rows]
                    if behind is not None:
                        statements = Statements()
                        feed.project_batch(statements, events, fill)
                        behind.put(statements.kept)
                    else:
                        with conn.transaction(), conn.pipeline():
                            feed.project_batch(conn, events, fill)
                    applied.value += len(rows)
                if behind is not None:
                    behind.drain()
            finally:
                ahead.close()
                if behind is not None:
                    behind.close()
    except BaseException as error:
        failed.put(f"{type(error).__name__}: {error}"[:2000])  # the process exits once its queue's pipe has it
        raise


def _whole_streams(rows: list[tuple[int, Envelope, Any]], versions: dict[str, int]) -> None:
    """Each stream's events must come to one process from its first version on, one version after another (the
    store's versions of a stream have no gap): one that does not has events in another bureau's share."""
    for _position, envelope, _event in rows:
        if envelope.stream_version != versions.get(envelope.stream_id, 0) + 1:
            raise StreamAcrossBureaus(f"stream {envelope.stream_id} has events of more than one bureau")
        versions[envelope.stream_id] = envelope.stream_version


def keys_once(table: str, keys: list) -> sql.Composable:
    """A table's keys left for later, added by whichever process of a fill by bureau first needs them (to replace a
    key's rows) and by no other: under a lock of the table's own, unless the table has a unique index already. Two
    processes may then wait on each other (one holds the lock, its ALTER waits for the other's inserts; the other
    waits for the lock): PostgreSQL cancels one, whose batch is written again (``WriteBehind``)."""
    body = sql.SQL(" ").join(sql.SQL("EXECUTE {};").format(sql.Literal(_text(key))) for key in keys)
    return sql.SQL("DO $keys$ BEGIN PERFORM pg_advisory_xact_lock(hashtext({lock}));"
                   " IF NOT EXISTS (SELECT FROM pg_index WHERE indrelid = {table}::regclass"
                   " AND (indisunique OR indisexclusion))"
                   " THEN {body} END IF; END $keys$").format(lock=sql.Literal(f"rebuild keys of {table}"),
                                                  table=sql.Literal(_quoted(table)), body=body)


def _text(statement: str | sql.Composable) -> str:
    return statement if isinstance(statement, str) else statement.as_string(None)


def _keyed(conn: psycopg.Connection, table: str) -> bool:
    """Whether the shadow table (on the search path) has a unique or exclusion index: its keys were added."""
    return conn.execute("SELECT EXISTS (SELECT FROM pg_index WHERE indrelid = %s::regclass"
                        " AND (indisunique OR indisexclusion)) AS keyed", (_quoted(table),)).fetchone()["keyed"]


def rebuild(dsn: str, model: ReadModel, feed: Feed, *, batch: int = 2000, progress: Progress | None = None) -> dict:
    """Fill a shadow copy of ``model`` from ``feed``, catch up with the writers, swap it in; return counts."""
    progress = progress or (lambda done, total: None)
    with connect(dsn, autocommit=True) as conn:
        if not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (REBUILD_LOCK,)).fetchone()["ok"]:
            raise RebuildBusy("another rebuild of this database is running")
        try:
            with _collector_held_off():
                return _rebuild_locked(conn, model, feed, batch, progress)
        finally:
            if (close := getattr(feed, "close", None)) is not None:  # its processes and threads, however it ended
                close()
            conn.execute("RESET search_path")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(model.shadow)))
            conn.execute("SELECT pg_advisory_unlock(%s)", (REBUILD_LOCK,))


@contextmanager
def _collector_held_off() -> Iterator[None]:
    """Python's cycle collector off while events are replayed, run once at the end.

    A replay makes millions of short-lived objects, freed by their reference counts; the collector, set off
    by their number, walked them and every batch held in memory again and again: a third of the rebuild's
    CPU. Whatever cycles a batch leaves wait for the end (or for the young generations' sweep each round)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect()


def _rebuild_locked(conn: psycopg.Connection, model: ReadModel, feed: Feed, batch: int, progress: Progress) -> dict:
    total = feed.total(conn)
    started = time.monotonic()
    keys_later: dict[str, list] = {}
    deferred = create_shadow(conn, model, keys_later)
    if keys_later:
        feed.keys_later(keys_later)
    conn.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(model.shadow)))
    done, rounds = 0, 0
    while True:  # rounds: each catches up with what the writers added during the last one
        applied_this_round = 0
        while applied := feed.apply_next(conn, batch):
            applied_this_round += applied
            done += applied
            progress(done, max(total, done))
        rounds += 1
        total = max(total, done)
        gc.collect(1)
        if deferred or keys_later:  # the bulk is in: the keys and other indexes, then catch up with the rest
            building = time.monotonic()
            keyed = {table for table in keys_later if _keyed(conn, table)}  # by a process of a fill by bureau
            deferred = [key for table in list(keys_later) for key in keys_later.pop(table) if table not in keyed] \
                + deferred
            for definition in deferred:
                conn.execute(definition)
            log.info("rebuild: %d entries in %.1fs, then %d indexes and keys in %.1fs", done, building - started,
                     len(deferred), time.monotonic() - building)
            deferred = []
        elif applied_this_round < batch:
            break
    done += _swap_when_quiet(conn, model, feed, batch)
    progress(done, max(total, done))
    log.info("rebuilt %s in %.1fs from %d entries (%d rounds)", model.schema, time.monotonic() - started, done, rounds)
    return {"applied": done, "rounds": rounds, "schema": model.schema, "tables": list(model.tables) or "all"}


def _swap_when_quiet(conn: psycopg.Connection, model: ReadModel, feed: Feed, batch: int) -> int:
    """Lock, apply what is left, swap; if writers hold the tables, let them finish and try again."""
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = {_lock_wait_ms(conn, model)}")
                feed.hold_writers(conn)
                _lock_live_tables(conn, model)
                conn.execute("SET LOCAL statement_timeout = 0")
                applied = 0
                while step := feed.apply_next(conn, batch):
                    applied += step
                _swap(conn, model)
                return applied
        except psycopg.errors.QueryCanceled:
            log.info("rebuild: writers hold the tables (attempt %d); trying again", attempt)
            time.sleep(min(0.05 * attempt, 1.0))
    raise RebuildBusy(f"writers held the tables through {SWAP_ATTEMPTS} attempts; nothing was swapped")


def _lock_wait_ms(conn: psycopg.Connection, model: ReadModel) -> int:
    """How long the swap waits for the live tables: ``LOCK_TIMEOUT_MS``, so that writers queued behind it are held
    up no longer; but past PostgreSQL's ``deadlock_timeout`` when autovacuum is all that holds them (it vacuums the
    tables a rebuild swapped in just before, for minutes on large ones): only a lock waited on that long makes
    PostgreSQL cancel the autovacuum in its way, which a retry every 0.4 s would wait out instead."""
    if not model.tables:
        return LOCK_TIMEOUT_MS  # a schema renamed: autovacuum holds no lock on a schema
    # A service's own role is not shown other roles' backend types; an autovacuum worker is the one backend without
    # a role that vacuums or analyses (a VACUUM someone runs has theirs).
    row = conn.execute(
        "SELECT bool_and(a.usesysid IS NULL AND l.pid IN (SELECT pid FROM pg_stat_progress_vacuum"
        " UNION ALL SELECT pid FROM pg_stat_progress_analyze)) AS only_autovacuum,"
        " (SELECT setting::int FROM pg_settings WHERE name = 'deadlock_timeout') AS deadlock_ms"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'relation' AND l.granted"
        " AND l.pid <> pg_backend_pid() AND l.relation = ANY(%s::regclass[])",
        ([f"{_quoted(model.schema)}.{_quoted(table)}" for table in model.tables],)).fetchone()
    wait = row["deadlock_ms"] + LOCK_TIMEOUT_MS
    return wait if row["only_autovacuum"] and wait <= LONGEST_LOCK_WAIT_MS else LOCK_TIMEOUT_MS


def _lock_live_tables(conn: psycopg.Connection, model: ReadModel) -> None:
    if model.tables:
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.SQL(", ").join(sql.Identifier(model.schema, table) for table in model.tables)))


def _swap(conn: psycopg.Connection, model: ReadModel) -> None:
    old = sql.Identifier(f"rebuild_{model.schema}{OLD_SUFFIX}")
    _autovacuum_as_live(conn, model)
    if not model.tables:  # the schema is the read model: rename it; readers' next statements find the new one
        live, shadow = sql.Identifier(model.schema), sql.Identifier(model.shadow)
        conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(live, old))
        conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(shadow, live))
    else:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(old))
        for table in model.tables:
            conn.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(sql.Identifier(model.schema, table), old))
        for table in model.tables:
            conn.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(model.shadow, table), sql.Identifier(model.schema)))
    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(old))


def _autovacuum_as_live(conn: psycopg.Connection, model: ReadModel) -> None:
    """The swapped-in tables are vacuumed and analysed as any other from now on (see ``_NO_AUTOVACUUM``)."""
    tables = list(model.tables) or [row["tablename"] for row in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (model.shadow,))]
    for table in tables:
        conn.execute(sql.SQL("ALTER TABLE {} RESET ({})").format(sql.Identifier(model.shadow, table),
                                                                 sql.SQL(_AUTOVACUUM_OPTIONS)))


# --- the shadow copy -------------------------------------------------------------------------------------------

# A shadow table being filled is left alone by autovacuum: nobody reads it before the swap, and each fifth more
# rows inserted would otherwise start another VACUUM ANALYZE of the whole table, on the cores the fill needs.
_AUTOVACUUM_OPTIONS = "autovacuum_enabled, toast.autovacuum_enabled"
_NO_AUTOVACUUM = sql.SQL("autovacuum_enabled = false, toast.autovacuum_enabled = false")

def create_shadow(conn: psycopg.Connection, model: ReadModel,
                  keys_later: dict[str, list] | None = None) -> list[str | sql.Composable]:
    """Empty copies of the live tables in the shadow schema: what the migrations made, under the same names.

    Returns the indexes and foreign keys left to add after the fill (``model.indexes_after_fill``), as
    statements to run with the shadow schema first on the search path; the keys of ``model.keys_after_fill``
    go into ``keys_later`` by table."""
    shadow, keys_later = model.shadow, {} if keys_later is None else keys_later
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(shadow)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(shadow)))
    tables = list(model.tables) or [row["tablename"] for row in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (model.schema,))]
    deferred = []
    for table in tables:
        _refuse_owned_sequences(conn, model.schema, table)
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED"
                             " INCLUDING STORAGE INCLUDING COMMENTS) WITH ({})").format(
            sql.Identifier(shadow, table), sql.Identifier(model.schema, table), _NO_AUTOVACUUM))
        later = [] if table in model.keys_after_fill else None
        deferred += _copy_keys_and_indexes(conn, model.schema, shadow, table, model.indexes_after_fill, later)
        if later:
            keys_later[table] = later
        _copy_security(conn, model.schema, shadow, table)
    deferred += _copy_foreign_keys(conn, model.schema, shadow, tables, model.indexes_after_fill)
    if not model.tables:
        _copy_schema_grants(conn, model.schema, shadow)
    return deferred


def _refuse_owned_sequences(conn: psycopg.Connection, schema: str, table: str) -> None:
    """A serial column's sequence belongs to the live table and would be dropped with it: not supported."""
    owned = conn.execute("SELECT s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
                         " WHERE d.refobjid = %s::regclass AND d.deptype IN ('a', 'i')",
                         (f"{_quoted(schema)}.{_quoted(table)}",)).fetchall()
    if owned:
        raise ValueError(f"{schema}.{table} owns sequence(s) {[r['relname'] for r in owned]}: not rebuildable")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_keys_and_indexes(conn: psycopg.Connection, schema: str, shadow: str, table: str,
                           defer: bool = False, keys_later: list | None = None) -> list[str]:
    """Primary keys, unique and exclusion constraints, then the other indexes, keeping their names; with
    ``defer``, the indexes that are not unique are returned to be built later instead; given ``keys_later``,
    the constraints and unique indexes are put there instead of being added now."""
    relation = f"{_quoted(schema)}.{_quoted(table)}"
    for row in conn.execute("SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
                            " WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname",
                            (relation,)).fetchall():
        key = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
            sql.Identifier(shadow, table), sql.Identifier(row["conname"])) + sql.SQL(row["definition"])
        if keys_later is None:
            conn.execute(key)
        else:
            keys_later.append(key)
    deferred = []
    for row in conn.execute("SELECT pg_get_indexdef(i.indexrelid) AS definition, i.indisunique AS is_unique"
                            " FROM pg_index i"
                            " WHERE i.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                            " WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid) ORDER BY i.indexrelid",
                            (relation,)).fetchall():
        on_table = re.compile(r" ON (ONLY )?(" + re.escape(_quoted(schema)) + r"|" + re.escape(schema) + r")\."
                              + r"(" + re.escape(_quoted(table)) + "|" + re.escape(table) + r") ")
        definition, count = on_table.subn(f" ON {_quoted(shadow)}.{_quoted(table)} ", row["definition"], count=1)
        if count != 1:
            raise ValueError(f"cannot read the index definition {row['definition']!r}")
        if defer and not row["is_unique"]:
            deferred.append(definition)
        elif keys_later is not None:
            keys_later.append(definition)
        else:
            conn.execute(definition)
    return deferred


def _copy_security(conn: psycopg.Connection, schema: str, shadow: str, table: str) -> None:
    """Row-level security, its policies and the table's grants, as the live table has them."""
    target = sql.Identifier(shadow, table)
    flags = conn.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
                         (f"{_quoted(schema)}.{_quoted(table)}",)).fetchone()
    if flags["relrowsecurity"]:
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target))
    if flags["relforcerowsecurity"]:
        conn.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(target))
    for policy in conn.execute("SELECT policyname, permissive, roles, cmd, qual, with_check FROM pg_policies"
                               " WHERE schemaname = %s AND tablename = %s", (schema, table)).fetchall():
        statement = sql.SQL("CREATE POLICY {} ON {} AS {} FOR {} TO {}").format(
            sql.Identifier(policy["policyname"]), target, sql.SQL(policy["permissive"]), sql.SQL(policy["cmd"]),
            sql.SQL(", ").join(sql.SQL("PUBLIC") if role == "public" else sql.Identifier(role)
                               for role in policy["roles"]))
        if policy["qual"]:
            statement += sql.SQL(" USING ({})").format(sql.SQL(policy["qual"]))
        if policy["with_check"]:
            statement += sql.SQL(" WITH CHECK ({})").format(sql.SQL(policy["with_check"]))
        conn.execute(statement)
    for grant in conn.execute("SELECT grantee, privilege_type FROM information_schema.role_table_grants"
                              " WHERE table_schema = %s AND table_name = %s AND grantee <> current_user",
                              (schema, table)).fetchall():
        conn.execute(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(grant["privilege_type"]), target,
                                                            sql.Identifier(grant["grantee"])))


def _copy_foreign_keys(conn: psycopg.Connection, schema: str, shadow: str, tables: Sequence[str],
                       defer: bool = False) -> list[sql.Composable]:
    """Foreign keys between rebuilt tables point at the shadow copies; others still at the live tables. With
    ``defer``, those between rebuilt tables are returned to be added after the fill: one check of every row
    then, instead of a lookup per row inserted."""
    # Read the definitions with only the live schema on the path, so that they name tables unqualified …
    conn.execute("SELECT set_config('search_path', %s, false)", (_quoted(schema),))
    keys = conn.execute("SELECT c.conrelid::regclass::text AS relation, c.conname,"
                        " pg_get_constraintdef(c.oid) AS definition, c.confrelid::regclass::text AS referenced"
                        " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
                        " JOIN pg_namespace n ON n.oid = t.relnamespace"
                        " WHERE c.contype = 'f' AND n.nspname = %s AND t.relname = ANY(%s) ORDER BY c.conname",
                        (schema, list(tables))).fetchall()
    # … and create them with the shadow first: a rebuilt table is found there, any other in the live schema.
    conn.execute("SELECT set_config('search_path', %s, false)", (f"{_quoted(shadow)}, {_quoted(schema)}",))
    deferred = []
    for key in keys:
        table = key["relation"].split(".")[-1].strip('"')
        statement = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
            sql.Identifier(shadow, table), sql.Identifier(key["conname"])) + sql.SQL(key["definition"])
        if defer and key["referenced"].split(".")[-1].strip('"') in tables:
            deferred.append(statement)  # run with the shadow first on the search path, as the rebuild sets it
        else:
            conn.execute(statement)
    conn.execute("RESET search_path")
    return deferred


def _copy_schema_grants(conn: psycopg.Connection, schema: str, shadow: str) -> None:
    for grant in conn.execute("SELECT grantee::regrole::text AS grantee, privilege_type FROM pg_namespace,"
                              " aclexplode(nspacl) WHERE nspname = %s AND grantee <> 0"
                              " AND grantee <> nspowner", (schema,)).fetchall():
        conn.execute(sql.SQL("GRANT {} ON SCHEMA {} TO {}").format(
            sql.SQL(grant["privilege_type"]), sql.Identifier(shadow), sql.SQL(grant["grantee"])))
