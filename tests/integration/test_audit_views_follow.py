"""The journal consumer brings the views level with each batch in its own transaction; whatever it cannot
apply there — views behind, a worker or a rebuild writing, an error — it leaves to the views worker, and the
journal's batch is never the worse for it (a batch the views' trouble fails is journalled again without them)."""

from __future__ import annotations

import psycopg
import pytest

from services.audit import journal, views_feed
from services.audit.consumer import journal_and_views, journal_consumer
from shared.consumer import Delivery
from shared import db
from tests.audit_month import month_of_work
from tests.support import new_id

VIEWS = ("members", "activities", "member_events")


def _rows(conn, tenant: str) -> dict[str, list[str]]:
    """Each views table's rows of a tenant, without the ids that differ between two tenants' copies."""
    found = {}
    for table in VIEWS:
        rows = conn.execute(f"SELECT to_jsonb(t) - 'tenant_id' - 'event_id' AS row FROM views.{table} t"
                            " WHERE tenant_id = %s", (tenant,)).fetchall()
        found[table] = sorted(str(sorted(row["row"].items())) for row in rows)
    return found


def _position(conn, tenant: str) -> int:
    row = conn.execute("SELECT seq FROM views.positions WHERE tenant_id = %s", (tenant,)).fetchone()
    return row["seq"] if row else 0


def _journal_size(conn, tenant: str) -> int:
    return conn.execute("SELECT size FROM journal_heads WHERE tenant_id = %s", (tenant,)).fetchone()["size"]


def test_a_batch_reaches_the_views_in_the_journals_transaction_as_the_worker_would_apply_it(audit_settings):
    followed, worked = new_id(), new_id()
    with db.connect(audit_settings.owner_dsn) as conn:
        envelopes = month_of_work(followed).envelopes
        with conn.transaction(), conn.pipeline():
            journal_and_views(conn, envelopes[:20])
        with conn.transaction(), conn.pipeline():
            journal_and_views(conn, envelopes[20:] + envelopes[:5])  # with a redelivered stretch
        assert _position(conn, followed) == _journal_size(conn, followed) == len(envelopes)
        views = _rows(conn, followed)
        with conn.transaction():
            journal.append_batch(conn, month_of_work(worked).envelopes)
        while views_feed.catch_up(conn, batch_size=7):
            pass
        assert views == _rows(conn, worked)
        assert all(views.values())


def test_nothing_of_the_views_shows_before_the_journals_commit_and_nothing_is_left_after_a_rollback(audit_settings):
    tenant = new_id()
    with db.connect(audit_settings.owner_dsn) as conn, db.connect(audit_settings.owner_dsn, autocommit=True) as other:
        with pytest.raises(RuntimeError), conn.transaction():
            journal_and_views(conn, month_of_work(tenant).envelopes)
            assert _rows(other, tenant) == {table: [] for table in VIEWS}
            raise RuntimeError("the batch fails after the views were written")
        assert _rows(other, tenant) == {table: [] for table in VIEWS}
        assert _position(other, tenant) == 0


def test_views_behind_the_journal_are_left_to_the_worker_which_applies_in_order(audit_settings):
    tenant, level = new_id(), new_id()
    envelopes, others = month_of_work(tenant).envelopes, month_of_work(level).envelopes
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            journal.append_batch(conn, envelopes[:10])  # journalled while no one fed the views
        assert len(envelopes) - 10 == 42
        with conn.transaction():
            journal_and_views(conn, [e for pair in zip(envelopes[10:], others) for e in pair] + others[42:])
        assert _position(conn, tenant) == 0  # not applied out of order
        assert _position(conn, level) == len(others)  # the other bureau of the batch was level: applied
        conn.execute("LISTEN audit_journal")
        conn.commit()
        with conn.transaction():
            journal_and_views(conn, envelopes[:3])  # redelivered: nothing new, nothing to wake anyone for
        assert not list(conn.notifies(timeout=0.3, stop_after=1))
        assert views_feed.catch_up(conn, batch_size=500) == len(envelopes)
        assert _position(conn, tenant) == len(envelopes)


def test_the_journal_passes_by_while_the_views_are_being_written_and_wakes_the_worker(audit_settings):
    tenant = new_id()
    with db.connect(audit_settings.owner_dsn) as conn, db.connect(audit_settings.owner_dsn, autocommit=True) as worker:
        worker.execute("LISTEN audit_journal")
        worker.execute("SELECT pg_advisory_lock(%s)", (views_feed.APPLY_LOCK,))  # a views worker or a swap, writing
        try:
            with conn.transaction():
                journal_and_views(conn, month_of_work(tenant).envelopes)  # does not wait for the lock
        finally:
            worker.execute("SELECT pg_advisory_unlock(%s)", (views_feed.APPLY_LOCK,))
        assert _position(worker, tenant) == 0
        assert list(worker.notifies(timeout=2, stop_after=1)), "the views worker is woken for what was left"
        assert views_feed.catch_up(worker) == _journal_size(worker, tenant)


def test_a_view_the_database_refuses_is_left_to_the_worker_which_records_it_and_applies_the_rest(audit_settings,
                                                                                                monkeypatch):
    from services.audit.store import Fact
    tenant = new_id()
    envelopes = month_of_work(tenant).envelopes
    refused = next(e for e in envelopes if e.event_type == "activities.ActivityRecorded")
    facts_of = views_feed.facts_of

    def facts_with_a_bad_date(envelope):
        facts = facts_of(envelope)
        if envelope.event_id != refused.event_id:
            return facts
        return [Fact(f.table, {**f.row, "on_date": "not a date"}) if f.table == "activities" else f for f in facts]

    monkeypatch.setattr(views_feed, "facts_of", facts_with_a_bad_date)
    with db.connect(audit_settings.owner_dsn) as conn:
        journal_consumer(audit_settings).process(conn, _deliveries(audit_settings, envelopes))
        assert _journal_size(conn, tenant) == len(envelopes) and _position(conn, tenant) == 0
        assert not _dead_letters(conn, envelopes)
        while views_feed.catch_up(conn, batch_size=500):
            pass
        failed = conn.execute("SELECT event_id::text AS event_id FROM failures WHERE tenant_id = %s",
                              (tenant,)).fetchall()
        assert [row["event_id"] for row in failed] == [refused.event_id]
        assert _position(conn, tenant) == _journal_size(conn, tenant) == len(envelopes)
        assert conn.execute("SELECT count(*) AS n FROM views.activities WHERE tenant_id = %s",
                            (tenant,)).fetchone()["n"] > 0


def test_anything_going_wrong_in_the_views_leaves_the_journals_batch_whole(audit_settings, monkeypatch):
    tenant = new_id()
    envelopes = month_of_work(tenant).envelopes

    def broken(conn, journalled, asked):
        conn.execute("SELECT * FROM views.no_such_table")

    monkeypatch.setattr(views_feed, "_follow", broken)
    with db.connect(audit_settings.owner_dsn) as conn:
        journal_consumer(audit_settings).process(conn, _deliveries(audit_settings, envelopes))
        assert _journal_size(conn, tenant) == len(envelopes)
        assert _position(conn, tenant) == 0
        assert not _dead_letters(conn, envelopes)
        monkeypatch.undo()
        assert views_feed.catch_up(conn, batch_size=500) == len(envelopes)
        assert not conn.execute("SELECT 1 FROM failures WHERE tenant_id = %s", (tenant,)).fetchone()


def test_a_batch_journalled_and_in_the_views_waits_for_the_server_once_before_its_commit(audit_settings,
                                                                                         round_trips):
    """The views' lock and positions come back with the journal's reads; the journal's and the views' writes
    then go out together, their answers (errors included) coming back with the commit."""
    tenant = new_id()
    envelopes = month_of_work(tenant).envelopes
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction(), conn.pipeline():
            round_trips.clear()
            journal_and_views(conn, envelopes)
            assert len(round_trips) == 1
        assert _position(conn, tenant) == _journal_size(conn, tenant) == len(envelopes)


def test_a_journal_write_the_database_refuses_fails_the_whole_batch_not_only_the_views(audit_settings, monkeypatch):
    """The journal's writes go out with the views' and their error comes back at the views' round trip: it must
    fail the batch (for the consumer to split and retry), never pass for the views' own trouble."""
    import psycopg
    tenant = new_id()
    envelopes = month_of_work(tenant).envelopes
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            journal.append(conn, envelopes[0])
        size = _journal_size(conn, tenant)
        # The check for events journalled already misses one: the entry's insert breaks the unique event id.
        monkeypatch.setattr(journal, "_journalled_of", lambda conn, by_tenant: conn.execute("SELECT NULL AS event_id"
                                                                                            " WHERE false"))
        warned = []
        monkeypatch.setattr(views_feed.log, "warning", lambda *args, **kwargs: warned.append(args))
        with pytest.raises(psycopg.errors.UniqueViolation):
            with conn.transaction(), conn.pipeline():
                journal_and_views(conn, envelopes)
        assert _journal_size(conn, tenant) == size == 1 and _position(conn, tenant) == 0
        while views_feed.catch_up(conn):  # nothing left behind for the tests after this one
            pass
    assert warned == []


def test_answers_still_on_their_way_when_the_views_go_wrong_leave_the_journals_batch_whole(audit_settings,
                                                                                         monkeypatch):
    """Something may go wrong in the views before the database has answered all their statements (or before the
    error it answered one of them with has come back, and the statements that error aborted): the sync before the
    rollback to the savepoint takes those answers, errors included, and the journal's batch stands."""
    tenant = new_id()
    envelopes = month_of_work(tenant).envelopes

    def sent_then_gone_wrong(conn, *_):
        conn.execute("SELECT 1 / 0")  # in pipeline mode: sent, its error not yet read
        conn.execute("SELECT 1")
        raise RuntimeError("a view's code went wrong")

    monkeypatch.setattr(views_feed, "_follow", sent_then_gone_wrong)
    with db.connect(audit_settings.owner_dsn) as conn:
        journal_consumer(audit_settings).process(conn, _deliveries(audit_settings, envelopes))
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert _journal_size(conn, tenant) == len(envelopes)
        assert _position(conn, tenant) == 0
        monkeypatch.undo()
        assert views_feed.catch_up(conn, batch_size=500) == len(envelopes)


def _dead_letters(conn, envelopes) -> list:
    return conn.execute("SELECT event_id FROM dead_letters WHERE event_id = ANY(%s::uuid[])",
                        ([e.event_id for e in envelopes],)).fetchall()


def _deliveries(settings, envelopes) -> list[Delivery]:
    topic = settings.topic("members")
    return [Delivery(topic, 0, offset, e.to_json().encode(), (("event_type", e.event_type.encode()),))
            for offset, e in enumerate(envelopes)]


def test_the_journal_consumers_batch_waits_for_the_server_twice_from_begin_to_commit(audit_settings,
                                                                                    round_trips):
    """BEGIN goes out with the claim and the journal's and the views' reads, and every write with the COMMIT."""
    tenant = new_id()
    envelopes = month_of_work(tenant).envelopes
    runner = journal_consumer(audit_settings)
    with db.connect(audit_settings.owner_dsn) as conn:
        round_trips.clear()
        runner.process(conn, _deliveries(audit_settings, envelopes))
        assert len(round_trips) == 2
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert _position(conn, tenant) == _journal_size(conn, tenant) == len(envelopes)


def test_the_journal_consumer_leaves_alone_what_its_claim_says_was_processed_before(audit_settings):
    """An event the consumer recorded as processed without journalling it (one it parked) stays out of the
    journal when it comes again; a second copy in the batch and a batch delivered again change nothing."""
    tenant = new_id()
    envelopes = month_of_work(tenant).envelopes[:6]
    parked = envelopes[2]
    runner = journal_consumer(audit_settings)
    deliveries = _deliveries(audit_settings, envelopes)
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            conn.execute("INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s)",
                         (runner.name, parked.event_id))
        runner.process(conn, deliveries + deliveries[:2])
        first = conn.execute("SELECT seq, event_id::text AS event_id FROM journal WHERE tenant_id = %s ORDER BY seq",
                             (tenant,)).fetchall()
        runner.process(conn, deliveries[3:] + deliveries[:3])
        again = conn.execute("SELECT seq, event_id::text AS event_id FROM journal WHERE tenant_id = %s ORDER BY seq",
                             (tenant,)).fetchall()
        assert [row["event_id"] for row in first] == [e.event_id for e in envelopes if e is not parked]
        assert [row["seq"] for row in first] == [1, 2, 3, 4, 5]
        assert again == first
        assert _journal_size(conn, tenant) == _position(conn, tenant) == 5
