"""The outbox relay against real PostgreSQL and Kafka: nothing lost, per-stream order kept, one leader."""

from __future__ import annotations

import json
import random
import threading

import pytest

from shared import db, eventstore
from shared.errors import ConcurrencyError
from shared.relay import OutboxRelay, RelayKafkaError
from tests.support import assert_stream_order, envelopes_of, new_id, read_topic, sample_envelopes, wait_for

WRITERS, EVENTS_PER_WRITER, STREAMS = 20, 200, 60


def _write_concurrently(settings, tenant, streams, appended_ids, lock):
    """One writer: 200 single-event appends to random shared streams, retrying on conflicts."""
    rng = random.Random()
    with db.connect(settings.owner_dsn) as conn:
        written = 0
        while written < EVENTS_PER_WRITER:
            stream = rng.choice(streams)
            try:
                with conn.transaction():
                    version = eventstore.stream_version(conn, stream)
                    sealed = eventstore.append(conn, stream, version, sample_envelopes(stream, version + 1, 1, tenant),
                                               settings.topic())
            except ConcurrencyError:
                continue
            with lock:
                appended_ids.update(e.event_id for e in sealed)
            written += 1


def test_every_event_of_twenty_concurrent_writers_reaches_kafka_in_stream_order(members_settings):
    tenant = new_id()
    streams = [f"sample-{new_id()}" for _ in range(STREAMS)]
    appended: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    relay = OutboxRelay(members_settings.with_overrides(relay_batch_size=200))
    relay_thread = threading.Thread(target=relay.run, args=(stop,))
    relay_thread.start()
    try:
        writers = [threading.Thread(target=_write_concurrently,
                                    args=(members_settings, tenant, streams, appended, lock))
                   for _ in range(WRITERS)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert len(appended) == WRITERS * EVENTS_PER_WRITER
        with db.connect(members_settings.owner_dsn) as conn:
            wait_for(lambda: conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
                     .fetchone()["n"] == 0, timeout=60, message="outbox drained")
    finally:
        stop.set()
        relay_thread.join(timeout=30)
    records = read_topic(members_settings.kafka_bootstrap, members_settings.topic(),
                         lambda got: appended <= {e.event_id for e in envelopes_of(got)})
    delivered = envelopes_of(records)
    assert appended - {e.event_id for e in delivered} == set(), "events missing on Kafka"
    assert_stream_order([e for e in delivered if e.tenant_id == tenant])
    assert all(r.key.decode() == e.stream_id for r, e in zip(records, delivered))
    assert {dict(r.headers)["event_type"] for r in records} >= {b"members.SampleRecorded"}


def test_only_one_relay_is_active_and_a_standby_takes_over(members_settings):
    first_stop, second_stop = threading.Event(), threading.Event()
    first, second = OutboxRelay(members_settings), OutboxRelay(members_settings)
    with db.connect(members_settings.admin_dsn, autocommit=True) as admin:
        def holders():
            return admin.execute("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted"
                                 " AND database = (SELECT oid FROM pg_database WHERE datname = %s)",
                                 (members_settings.database,)).fetchone()["n"]

        threads = [threading.Thread(target=first.run, args=(first_stop,)),
                   threading.Thread(target=second.run, args=(second_stop,))]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: holders() == 1, message="one relay holds the lock")
            first_stop.set()
            threads[0].join(timeout=30)
            wait_for(lambda: holders() == 1, message="the standby took the lock")
            stream, tenant = f"sample-{new_id()}", new_id()
            with db.connect(members_settings.owner_dsn) as conn, conn.transaction():
                sealed = eventstore.append(conn, stream, 0, sample_envelopes(stream, 1, 3, tenant),
                                           members_settings.topic())
            ids = {e.event_id for e in sealed}
            records = read_topic(members_settings.kafka_bootstrap, members_settings.topic(),
                                 lambda got: ids <= {e.event_id for e in envelopes_of(got)}, timeout=30)
            assert ids <= {e.event_id for e in envelopes_of(records)}
        finally:
            first_stop.set()
            second_stop.set()
            for thread in threads:
                thread.join(timeout=30)


def test_writers_notify_only_a_sleeping_relay_and_an_awake_one_finds_their_events_by_looking(members_settings):
    """A NOTIFY makes commits flush one at a time, so writers send one only while the relay sleeps."""
    stop = threading.Event()
    relay = OutboxRelay(members_settings.with_overrides(relay_quiet_ms=1000))
    tenant = new_id()

    def listening(conn) -> bool:
        return conn.execute("SELECT listening FROM relay_wakeup").fetchone()["listening"]

    def append(conn) -> set[str]:
        stream = f"sample-{new_id()}"
        with conn.transaction():
            return {e.event_id for e in eventstore.append(conn, stream, 0, sample_envelopes(stream, 1, 1, tenant),
                                                          members_settings.topic())}

    def published(conn, ids: set[str]) -> bool:
        return conn.execute("SELECT count(*) AS n FROM outbox o JOIN events e ON e.position = o.event_position"
                            " WHERE e.event_id = ANY(%s::uuid[]) AND o.published_at IS NOT NULL",
                            (sorted(ids),)).fetchone()["n"] == len(ids)

    with db.connect(members_settings.owner_dsn, autocommit=True) as listener, \
            db.connect(members_settings.owner_dsn) as writer:
        listener.execute("LISTEN branchwork_outbox")
        thread = threading.Thread(target=relay.run, args=(stop,))
        thread.start()
        try:
            wait_for(lambda: not listening(listener), timeout=30, message="the leading relay is awake")
            wait_for(lambda: listening(listener), timeout=30, message="the relay fell asleep after a quiet second")
            list(listener.notifies(timeout=0.05))  # whatever came before
            asleep = append(writer)
            assert len(list(listener.notifies(timeout=5, stop_after=1))) == 1  # the sleeping relay is woken
            wait_for(lambda: published(listener, asleep), timeout=10, message="published after the wake-up")
            assert not listening(listener)  # awake now, and for a quiet second after its last event
            awake = append(writer)
            assert list(listener.notifies(timeout=0.3)) == []  # nobody notified …
            wait_for(lambda: published(listener, awake), timeout=10, message="published by looking")  # … yet sent
            wait_for(lambda: listening(listener), timeout=30, message="asleep again after a quiet second")
        finally:
            stop.set()
            thread.join(timeout=30)
    records = read_topic(members_settings.kafka_bootstrap, members_settings.topic(),
                         lambda got: asleep | awake <= {e.event_id for e in envelopes_of(got)})
    assert asleep | awake <= {e.event_id for e in envelopes_of(records)}


class _Sent:
    """A send's future: acknowledged, or failed as the broker or the client reported it."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout=None):
        if self.error is not None:
            raise self.error


class _FlakyProducer:
    """Records every send in order; the sends whose running number is in ``failing`` fail."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.sent: list[tuple[bytes, dict]] = []

    def send(self, topic, key=None, value=None, headers=None):
        self.sent.append((key, json.loads(value)))
        return _Sent(RuntimeError("not acknowledged") if len(self.sent) in self.failing else None)

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


def test_a_send_failing_mid_batch_leaves_it_and_all_after_it_unpublished_and_resends_them_in_order(members_settings):
    tenant = new_id()
    streams = [f"sample-{new_id()}" for _ in range(2)]
    with db.connect(members_settings.owner_dsn, autocommit=True) as conn:
        for version in range(1, 4):
            for stream in streams:
                with conn.transaction():
                    eventstore.append(conn, stream, version - 1, sample_envelopes(stream, version, 1, tenant),
                                      members_settings.topic())
        flaky = _FlakyProducer(failing={3})
        relay = OutboxRelay(members_settings, producer_factory=lambda _bootstrap: flaky)
        with pytest.raises(RelayKafkaError):
            relay.publish_batch(conn)
        unpublished = conn.execute(
            "SELECT e.stream_id, e.stream_version FROM outbox o JOIN events e ON e.position = o.event_position"
            " WHERE o.published_at IS NULL AND e.tenant_id = %s ORDER BY o.id", (tenant,)).fetchall()
        assert [(r["stream_id"], r["stream_version"]) for r in unpublished] == [
            (streams[0], 2), (streams[1], 2), (streams[0], 3), (streams[1], 3)]
        healthy = _FlakyProducer(failing=set())
        relay._producer = healthy
        while relay.publish_batch(conn):
            pass
    wire = [body for _key, body in flaky.sent + healthy.sent if body["tenant_id"] == tenant]
    first_delivery: dict[str, list[int]] = {}
    seen = set()
    for body in wire:
        if body["event_id"] not in seen:
            seen.add(body["event_id"])
            first_delivery.setdefault(body["stream_id"], []).append(body["stream_version"])
    assert first_delivery == {streams[0]: [1, 2, 3], streams[1]: [1, 2, 3]}
    assert all(key.decode() == body["stream_id"] for key, body in flaky.sent + healthy.sent)


def test_the_relays_own_commits_do_not_wait_for_the_disk(members_settings):
    """Its marks are safe to lose (a row sent twice is dropped by every consumer); the writers' commits are not."""
    relay = OutboxRelay(members_settings)
    with db.connect(members_settings.owner_dsn, autocommit=True) as conn, \
            db.connect(members_settings.owner_dsn, autocommit=True) as writer:
        relay._on_lead(conn)
        assert conn.execute("SHOW synchronous_commit").fetchone()["synchronous_commit"] == "off"
        assert writer.execute("SHOW synchronous_commit").fetchone()["synchronous_commit"] == "on"
