"""The event store against real PostgreSQL: the shared contract, then what only a database adds —
concurrent writers, the roles' privileges and row-level security."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from shared import db, eventstore
from shared.envelope import Envelope
from shared.errors import ConcurrencyError
from shared.eventstore import PostgresEventStore
from tests.eventstore_contract import EventStoreContract, new_stream
from tests.support import new_id, sample_envelopes


class TenantEventStore(PostgresEventStore):
    """The store as the API's role sees it for one bureau: each transaction scoped to that bureau."""

    def __init__(self, conn: psycopg.Connection, tenant_id: str) -> None:
        super().__init__(conn)
        self.tenant_id = tenant_id

    @contextmanager
    def transaction(self):
        with self.conn.transaction():
            db.set_tenant(self.conn, self.tenant_id)
            yield


class SuperuserTampering:
    """Changes stored events as a superuser would, bypassing the append-only trigger."""

    def __init__(self, admin_conn: psycopg.Connection, topic: str) -> None:
        self.conn = admin_conn
        self.topic = topic

    def _run(self, statement: str, params: tuple) -> None:
        with self.conn.transaction():
            self.conn.execute("SET LOCAL session_replication_role = replica")
            self.conn.execute(statement, params)

    def replace(self, stream_id: str, stream_version: int, forged: Envelope) -> None:
        self._run("UPDATE events SET data = %s, hash = %s WHERE stream_id = %s AND stream_version = %s",
                  (Jsonb(dict(forged.data)), forged.hash, stream_id, stream_version))

    def delete(self, stream_id: str, stream_version: int) -> None:
        self._run("DELETE FROM outbox WHERE event_position IN (SELECT position FROM events"
                  " WHERE stream_id = %s AND stream_version = %s)", (stream_id, stream_version))
        self._run("DELETE FROM events WHERE stream_id = %s AND stream_version = %s", (stream_id, stream_version))

    def swap_versions(self, stream_id: str, first: int, second: int) -> None:
        self._run("UPDATE events SET stream_version = stream_version + 1000 WHERE stream_id = %s"
                  " AND stream_version IN (%s, %s)", (stream_id, first, second))
        self._run("UPDATE events SET stream_version = CASE stream_version WHEN %s THEN %s ELSE %s END"
                  " WHERE stream_id = %s AND stream_version > 1000", (first + 1000, second, first, stream_id))

    def insert(self, forged: Envelope) -> None:
        with self.conn.transaction():
            # Around the store's API: an event row (and its outbox row) with no head moved.
            self.conn.execute(f"WITH stored AS (INSERT INTO events ({eventstore.EVENT_COLUMNS}) VALUES"
                              f" {eventstore._EVENT_ROW} RETURNING position)"
                              " INSERT INTO outbox (event_position, topic) SELECT position, %s FROM stored",
                              (*eventstore._event_values(forged), self.topic))


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, members_settings):
        with db.connect(members_settings.owner_dsn, autocommit=True) as conn:
            yield PostgresEventStore(conn)

    @pytest.fixture
    def scoped(self, members_settings):
        with db.connect(members_settings.app_dsn, autocommit=True) as conn:
            yield lambda tenant_id: TenantEventStore(conn, tenant_id)

    @pytest.fixture
    def tamper(self, members_settings):
        with db.connect(make_conninfo(members_settings.admin_dsn, dbname=members_settings.database),
                        autocommit=True) as conn:
            yield SuperuserTampering(conn, members_settings.topic())


def append(settings, stream_id, expected, envelopes):
    with db.connect(settings.owner_dsn) as conn, conn.transaction():
        return eventstore.append(conn, stream_id, expected, envelopes, settings.topic())


def _stream_of(settings) -> str:
    with db.connect(settings.owner_dsn, autocommit=True) as conn:
        return new_stream(PostgresEventStore(conn))


@pytest.mark.parametrize("existing_events", [0, 2])
def test_two_concurrent_appends_to_one_stream_exactly_one_wins(members_settings, owner_conn, existing_events):
    stream, tenant = f"sample-{new_id()}", new_id()
    if existing_events:
        append(members_settings, stream, 0, sample_envelopes(stream, 1, existing_events, tenant))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer():
        with db.connect(members_settings.owner_dsn) as conn:
            try:
                with conn.transaction():
                    envelopes = sample_envelopes(stream, existing_events + 1, 2, tenant)
                    barrier.wait()
                    eventstore.append(conn, stream, existing_events, envelopes, members_settings.topic())
                outcomes.append("won")
            except ConcurrencyError:
                outcomes.append("conflict")

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "won"]
    versions = [e.stream_version for e in eventstore.read_stream(owner_conn, stream)]
    assert versions == list(range(1, existing_events + 3))


def test_many_racing_writers_leave_versions_without_gap_or_duplicate(members_settings, owner_conn):
    stream, tenant = f"sample-{new_id()}", new_id()
    append(members_settings, stream, 0, sample_envelopes(stream, 1, 1, tenant))
    conflicts = []

    def writer():
        with db.connect(members_settings.owner_dsn) as conn:
            for _ in range(10):
                while True:
                    try:
                        with conn.transaction():
                            version = eventstore.stream_version(conn, stream)
                            eventstore.append(conn, stream, version, sample_envelopes(stream, version + 1, 1, tenant),
                                              members_settings.topic())
                        break
                    except ConcurrencyError:
                        conflicts.append(1)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = [e.stream_version for e in eventstore.read_stream(owner_conn, stream)]
    assert versions == list(range(1, 62))
    assert eventstore.verify(owner_conn, stream) == []


def test_the_api_role_cannot_change_or_delete_events(members_settings):
    stream = _stream_of(members_settings)
    with db.connect(members_settings.app_dsn) as conn:
        for statement in ("UPDATE events SET data = '{}' WHERE stream_id = %s",
                          "DELETE FROM events WHERE stream_id = %s"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement, (stream,))


def test_the_owner_cannot_change_events_either(members_settings, owner_conn):
    stream = _stream_of(members_settings)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        owner_conn.execute("DELETE FROM events WHERE stream_id = %s", (stream,))


def test_row_level_security_refuses_a_stream_started_in_another_bureaus_name(members_settings):
    fresh = f"sample-{new_id()}"
    with db.connect(members_settings.app_dsn) as conn, conn.transaction():
        db.set_tenant(conn, new_id())
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            eventstore.append(conn, fresh, 0, sample_envelopes(fresh, 1, 1, new_id()), "t")


def test_the_api_role_reads_dead_letter_metadata_but_never_their_payloads(members_settings):
    with db.connect(members_settings.app_dsn) as conn:
        conn.execute("SELECT id, consumer, error, tenant_id FROM dead_letters").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT payload FROM dead_letters")


def test_verify_reads_one_snapshot_while_a_writer_goes_on(members_settings, owner_conn, monkeypatch):
    """A writer committing between verify's read of the heads and its read of the events is no fault."""
    stream, tenant = f"sample-{new_id()}", new_id()
    append(members_settings, stream, 0, sample_envelopes(stream, 1, 2, tenant))
    read_events = eventstore._rows_by_stream

    def a_writer_commits_first(conn, stream_id):
        append(members_settings, stream, 2, sample_envelopes(stream, 3, 1, tenant))
        return read_events(conn, stream_id)

    monkeypatch.setattr(eventstore, "_rows_by_stream", a_writer_commits_first)
    assert eventstore.verify(owner_conn, stream) == []
    monkeypatch.setattr(eventstore, "_rows_by_stream", read_events)
    assert [e.stream_version for e in eventstore.read_stream(owner_conn, stream)] == [1, 2, 3]
    assert eventstore.verify(owner_conn, stream) == []


def test_a_services_database_compares_text_byte_by_byte_which_is_code_point_order(audit_settings):
    """Keys and names are compared as bytes (the "C" collation: memcmp, abbreviated sort keys), which for UTF-8 is
    the code points' order — the order Chinese names were listed in before, under C.UTF-8."""
    names = ["张三", "李四", "王五", "赵六", "欧阳修", "Zhao", "zhao", "ábc", "abc", "ABC", "1号", "😀", ""]
    with db.connect(audit_settings.owner_dsn) as conn:
        collation = conn.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()").fetchone()
        ordered = [row["n"] for row in conn.execute("SELECT n FROM unnest(%s::text[]) AS n ORDER BY n", (names,))]
    assert collation["datcollate"] == db.COLLATION == "C"
    assert ordered == sorted(names)  # Python orders str by code point
