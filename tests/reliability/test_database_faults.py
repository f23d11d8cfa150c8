"""Faults: PostgreSQL sessions of the relay and of a consumer killed mid-work — nothing lost, nothing doubled."""

from __future__ import annotations

import threading

from psycopg.conninfo import make_conninfo

from services.audit import journal
from shared import db, eventstore
from shared.consumer import ConsumerRunner
from shared.relay import OutboxRelay
from tests.support import envelopes_of, new_id, read_topic, sample_envelopes, wait_for


def _terminate_sessions(admin_dsn: str, database: str, role: str) -> int:
    with db.connect(admin_dsn, autocommit=True) as admin:
        return admin.execute("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
                             " WHERE datname = %s AND usename = %s AND pid <> pg_backend_pid()",
                             (database, role)).fetchone()["n"]


def _append_streams(settings, tenant, streams, per_stream):
    ids = set()
    with db.connect(settings.owner_dsn) as conn:
        for _ in range(streams):
            stream = f"sample-{new_id()}"
            with conn.transaction():
                ids.update(e.event_id for e in eventstore.append(
                    conn, stream, 0, sample_envelopes(stream, 1, per_stream, tenant), settings.topic()))
    return ids


def test_the_relay_survives_losing_its_database_session_and_publishes_everything(members_settings):
    tenant = new_id()
    settings = members_settings.with_overrides(relay_batch_size=20)
    stop = threading.Event()
    relay = OutboxRelay(settings, max_backoff=1.0)
    thread = threading.Thread(target=relay.run, args=(stop,))
    thread.start()
    try:
        ids = _append_streams(settings, tenant, 20, 10)
        killed = _terminate_sessions(settings.admin_dsn, settings.database, settings.owner_role)
        ids |= _append_streams(settings, tenant, 20, 10)
        with db.connect(make_conninfo(settings.admin_dsn, dbname=settings.database), autocommit=True) as conn:
            wait_for(lambda: conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
                     .fetchone()["n"] == 0, timeout=60, message="the relay came back and drained the outbox")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert killed >= 1
    records = read_topic(settings.kafka_bootstrap, settings.topic(),
                         lambda got: ids <= {e.event_id for e in envelopes_of(got)})
    assert ids <= {e.event_id for e in envelopes_of(records)}


def test_a_consumer_that_loses_its_database_session_reapplies_nothing_twice(members_settings, audit_settings):
    tenant = new_id()
    topic_settings = members_settings.with_overrides(relay_batch_size=50)
    ids = _append_streams(topic_settings, tenant, 30, 10)
    relay_stop, consumer_stop = threading.Event(), threading.Event()
    relay = threading.Thread(target=OutboxRelay(topic_settings).run, args=(relay_stop,))
    name = f"journal-{new_id()}"
    runner = ConsumerRunner(audit_settings, name, [members_settings.topic()], journal.append)
    consumer = threading.Thread(target=runner.run, args=(consumer_stop,))
    relay.start()
    consumer.start()
    try:
        observer = make_conninfo(audit_settings.admin_dsn, dbname=audit_settings.database)
        with db.connect(observer, autocommit=True) as conn:
            def journalled():
                return conn.execute("SELECT count(*) AS n FROM journal WHERE tenant_id = %s",
                                    (tenant,)).fetchone()["n"]
            wait_for(lambda: journalled() > 0, timeout=60, message="the consumer started applying")
            _terminate_sessions(audit_settings.admin_dsn, audit_settings.database, audit_settings.owner_role)
            wait_for(lambda: journalled() == len(ids), timeout=90, message="every event journalled after the fault")
            seqs = [row["seq"] for row in conn.execute("SELECT seq FROM journal WHERE tenant_id = %s ORDER BY seq",
                                                       (tenant,))]
    finally:
        relay_stop.set()
        consumer_stop.set()
        relay.join(timeout=30)
        consumer.join(timeout=30)
    assert seqs == list(range(1, len(ids) + 1))
