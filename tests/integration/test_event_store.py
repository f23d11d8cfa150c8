"""The event store contract against real PostgreSQL: concurrency, hash chain, verification, isolation."""

from __future__ import annotations

import threading

import psycopg
import pytest

from shared import db, eventstore
from shared.errors import ConcurrencyError
from tests.support import new_id, sample_envelopes


def append(settings, stream_id, expected, envelopes):
    with db.connect(settings.owner_dsn) as conn, conn.transaction():
        return eventstore.append(conn, stream_id, expected, envelopes, settings.topic())


def test_appended_events_read_back_in_order_with_an_intact_chain(members_settings, owner_conn):
    stream, tenant = f"sample-{new_id()}", new_id()
    append(members_settings, stream, 0, sample_envelopes(stream, 1, 3, tenant))
    append(members_settings, stream, 3, sample_envelopes(stream, 4, 2, tenant))
    stored = eventstore.read_stream(owner_conn, stream)
    assert [e.stream_version for e in stored] == [1, 2, 3, 4, 5]
    assert stored[0].data["text"] == "学习 · ünïcode"
    assert all(e.hash == e.compute_hash() for e in stored)
    assert [e.prev_hash for e in stored[1:]] == [e.hash for e in stored[:-1]]
    assert eventstore.stream_version(owner_conn, stream) == 5
    assert eventstore.verify(owner_conn, stream) == []


def test_an_append_at_a_stale_version_is_refused(members_settings):
    stream, tenant = f"sample-{new_id()}", new_id()
    append(members_settings, stream, 0, sample_envelopes(stream, 1, 1, tenant))
    with pytest.raises(ConcurrencyError):
        append(members_settings, stream, 0, sample_envelopes(stream, 1, 1, tenant))


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


def test_each_event_gets_one_outbox_row_in_the_same_transaction(members_settings, owner_conn):
    stream, tenant = f"sample-{new_id()}", new_id()
    with db.connect(members_settings.owner_dsn) as conn:
        with pytest.raises(RuntimeError), conn.transaction():
            eventstore.append(conn, stream, 0, sample_envelopes(stream, 1, 2, tenant), members_settings.topic())
            raise RuntimeError("the command failed after appending")
    assert eventstore.read_stream(owner_conn, stream) == []
    append(members_settings, stream, 0, sample_envelopes(stream, 1, 2, tenant))
    rows = owner_conn.execute("SELECT o.topic FROM outbox o JOIN events e ON e.position = o.event_position"
                              " WHERE e.stream_id = %s", (stream,)).fetchall()
    assert [row["topic"] for row in rows] == [members_settings.topic()] * 2


def _tamper(admin_conn, statement, params):
    """Change stored events as a superuser would, bypassing the append-only trigger."""
    with admin_conn.transaction():
        admin_conn.execute("SET LOCAL session_replication_role = replica")
        admin_conn.execute(statement, params)


def _stream_of(settings, length=4):
    stream, tenant = f"sample-{new_id()}", new_id()
    append(settings, stream, 0, sample_envelopes(stream, 1, length, tenant))
    return stream


def codes(problems):
    return {problem.code for problem in problems}


def test_verify_reports_an_altered_event(members_settings, owner_conn, admin_conn):
    stream = _stream_of(members_settings)
    _tamper(admin_conn, "UPDATE events SET data = jsonb_set(data, '{n}', '99') WHERE stream_id = %s"
            " AND stream_version = 2", (stream,))
    problems = eventstore.verify(owner_conn, stream)
    assert ("hash_mismatch", 2) in {(p.code, p.stream_version) for p in problems}


def test_verify_reports_an_altered_event_whose_hash_was_recomputed(members_settings, owner_conn, admin_conn):
    stream = _stream_of(members_settings)
    forged = eventstore.read_stream(owner_conn, stream)[1]
    forged = type(forged)(**{**forged.__dict__, "data": {"n": 99}})
    _tamper(admin_conn, "UPDATE events SET data = '{\"n\": 99}', hash = %s WHERE stream_id = %s AND stream_version = 2",
            (forged.sealed(forged.prev_hash).hash, stream))
    assert ("chain_broken", 3) in {(p.code, p.stream_version) for p in eventstore.verify(owner_conn, stream)}


def test_verify_reports_a_deleted_event_in_the_middle_and_at_the_end(members_settings, owner_conn, admin_conn):
    middle, tail = _stream_of(members_settings), _stream_of(members_settings)
    for stream, version in ((middle, 2), (tail, 4)):
        _tamper(admin_conn, "DELETE FROM outbox WHERE event_position IN (SELECT position FROM events"
                " WHERE stream_id = %s AND stream_version = %s)", (stream, version))
        _tamper(admin_conn, "DELETE FROM events WHERE stream_id = %s AND stream_version = %s", (stream, version))
    assert {"version_gap", "chain_broken"} <= codes(eventstore.verify(owner_conn, middle))
    assert "head_mismatch" in codes(eventstore.verify(owner_conn, tail))


def test_verify_reports_reordered_events(members_settings, owner_conn, admin_conn):
    stream = _stream_of(members_settings)
    _tamper(admin_conn, "UPDATE events SET stream_version = stream_version + 1000 WHERE stream_id = %s"
            " AND stream_version IN (2, 3)", (stream,))
    _tamper(admin_conn, "UPDATE events SET stream_version = CASE stream_version WHEN 1002 THEN 3 ELSE 2 END"
            " WHERE stream_id = %s AND stream_version > 1000", (stream,))
    found = codes(eventstore.verify(owner_conn, stream))
    assert {"reordered", "chain_broken", "hash_mismatch"} <= found


def test_verify_reports_an_inserted_event(members_settings, owner_conn, admin_conn):
    stream = _stream_of(members_settings)
    last = eventstore.read_stream(owner_conn, stream)[-1]
    forged = sample_envelopes(stream, 5, 1, last.tenant_id)[0].sealed(last.hash)
    with admin_conn.transaction():
        eventstore._insert_event(admin_conn.cursor(), forged, members_settings.topic())
    assert codes(eventstore.verify(owner_conn, stream)) == {"head_mismatch"}


def test_an_untouched_history_verifies_clean(members_settings, owner_conn):
    stream = _stream_of(members_settings, length=6)
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


def test_row_level_security_hides_another_bureaus_events(members_settings):
    mine, theirs = new_id(), new_id()
    stream_mine, stream_theirs = f"sample-{new_id()}", f"sample-{new_id()}"
    append(members_settings, stream_mine, 0, sample_envelopes(stream_mine, 1, 1, mine))
    append(members_settings, stream_theirs, 0, sample_envelopes(stream_theirs, 1, 1, theirs))
    with db.connect(members_settings.app_dsn) as conn, conn.transaction():
        db.set_tenant(conn, mine)
        assert len(eventstore.read_stream(conn, stream_mine)) == 1
        assert eventstore.read_stream(conn, stream_theirs) == []
        with pytest.raises(ConcurrencyError), conn.transaction():
            eventstore.append(conn, stream_theirs, 1, sample_envelopes(stream_theirs, 2, 1, theirs), "t")
        fresh = f"sample-{new_id()}"
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            eventstore.append(conn, fresh, 0, sample_envelopes(fresh, 1, 1, theirs), "t")


def test_the_api_role_reads_dead_letter_metadata_but_never_their_payloads(members_settings):
    with db.connect(members_settings.app_dsn) as conn:
        conn.execute("SELECT id, consumer, error, tenant_id FROM dead_letters").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT payload FROM dead_letters")
