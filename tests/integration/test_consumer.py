"""The consumer runner against real PostgreSQL and Kafka: exactly-once effect, dead letters, clean stop."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import replace
import sys
import threading

import psycopg
import pytest
from kafka import KafkaProducer

from services.audit import journal
from shared import consumer as consumer_module
from shared import db
from shared.consumer import ConsumerRunner, Delivery
from shared.consumer_lag import ConsumerLag
from tests.support import REPO_ROOT, new_id, read_topic, sample_envelopes, wait_for


def deliveries(envelopes, topic="t", start_offset=0):
    return [Delivery(topic, 0, start_offset + i, e.sealed("0" * 64).to_json().encode())
            for i, e in enumerate(envelopes)]


def journal_rows(conn, tenant):
    return conn.execute("SELECT seq, event_id, envelope FROM journal WHERE tenant_id = %s ORDER BY seq",
                        (tenant,)).fetchall()


def test_a_batch_delivered_twice_leaves_the_projection_unchanged(audit_settings):
    tenant = new_id()
    stream = f"sample-{new_id()}"
    batch = deliveries(sample_envelopes(stream, 1, 5, tenant))
    runner = ConsumerRunner(audit_settings, f"journal-{new_id()}", ["t"], journal.append)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, batch)
        first = journal_rows(conn, tenant)
        runner.process(conn, batch)
        runner.process(conn, batch[2:] + batch[:2])
        assert journal_rows(conn, tenant) == first
        assert [row["seq"] for row in first] == [1, 2, 3, 4, 5]


def test_a_poison_event_goes_to_the_dead_letters_and_the_rest_are_applied(audit_settings):
    tenant = new_id()
    stream = f"sample-{new_id()}"
    envelopes = sample_envelopes(stream, 1, 4, tenant)
    poison_id = envelopes[1].event_id
    attempts = []

    def apply(conn, envelope):
        if envelope.event_id == poison_id:
            attempts.append(1)
            raise ValueError("cannot project this")
        journal.append(conn, envelope)

    name = f"journal-{new_id()}"
    topic = audit_settings.topic("members")
    batch = deliveries(envelopes, topic=topic) + [Delivery(topic, 0, 99, b"not json at all")]
    runner = ConsumerRunner(audit_settings, name, [topic], apply, max_attempts=3)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, batch)
        applied = [row["event_id"] for row in journal_rows(conn, tenant)]
        parked = conn.execute("SELECT event_id, error, attempts, \"offset\" FROM dead_letters WHERE consumer = %s"
                              " ORDER BY \"offset\"", (name,)).fetchall()
    assert [str(i) for i in applied] == [e.event_id for e in envelopes if e.event_id != poison_id]
    assert len(attempts) == 3
    assert [(str(row["event_id"]) if row["event_id"] else None) for row in parked] == [poison_id, None]
    assert "cannot project this" in parked[0]["error"]
    dlq = read_topic(audit_settings.kafka_bootstrap, f"{topic}.dlq",
                     lambda got: sum(dict(r.headers).get("consumer") == name.encode() for r in got) == 2, timeout=30)
    mine = [r for r in dlq if dict(r.headers).get("consumer") == name.encode()]
    assert {r.value for r in mine} == {batch[1].value, b"not json at all"}


def test_a_parked_event_can_be_replayed_after_the_fix(audit_settings):
    tenant, stream = new_id(), f"sample-{new_id()}"
    envelopes = sample_envelopes(stream, 1, 2, tenant)
    broken = {"on": True}

    def apply(conn, envelope):
        if broken["on"]:
            raise ValueError("bug")
        journal.append(conn, envelope)

    runner = ConsumerRunner(audit_settings, f"journal-{new_id()}", ["t"], apply, max_attempts=1)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, deliveries(envelopes, topic=audit_settings.topic("members")))
        assert journal_rows(conn, tenant) == []
        broken["on"] = False
        assert runner.replay_dead_letters(conn) == 2
        assert len(journal_rows(conn, tenant)) == 2
        assert runner.replay_dead_letters(conn) == 0


def test_the_runner_applies_what_arrives_on_kafka_and_commits_offsets(audit_settings):
    tenant, stream = new_id(), f"sample-{new_id()}"
    topic = audit_settings.topic("activities")
    envelopes = [e.sealed("0" * 64) for e in sample_envelopes(stream, 1, 30, tenant)]
    producer = KafkaProducer(bootstrap_servers=audit_settings.kafka_bootstrap)
    for envelope in envelopes:
        producer.send(topic, key=stream.encode(), value=envelope.to_json().encode())
    producer.flush()
    producer.close()
    name = f"journal-{new_id()}"
    stop = threading.Event()
    runner = ConsumerRunner(audit_settings, name, [topic], journal.append)
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        with db.connect(audit_settings.owner_dsn, autocommit=True) as conn:
            wait_for(lambda: len(journal_rows(conn, tenant)) == 30, timeout=60, message="30 events journalled")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    # A second run of the same group starts after the committed offsets: nothing is applied twice.
    stop2 = threading.Event()
    again = ConsumerRunner(audit_settings, name, [topic], journal.append)
    thread2 = threading.Thread(target=again.run, args=(stop2,))
    thread2.start()
    stop2.wait(3)
    stop2.set()
    thread2.join(timeout=30)
    with db.connect(audit_settings.owner_dsn) as conn:
        assert len(journal_rows(conn, tenant)) == 30
        duplicates = conn.execute("SELECT count(*) AS n FROM processed_events WHERE consumer = %s", (name,)).fetchone()
        assert duplicates["n"] == 30


def test_sigterm_lets_the_consumer_process_finish_and_exit_cleanly(audit_service, stack_env, tmp_path):
    env = {**audit_service.environment(stack_env), "PYTHONPATH": str(REPO_ROOT)}
    log_path = tmp_path / "consumer.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "shared.cli", "worker", "audit", "audit-journal"],
                                   env=env, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "audit-journal started" in log_path.read_text(), timeout=30, message="consumer started")
        threading.Event().wait(2)  # let it join its group and poll
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log_path.read_text()
    assert "finishing the work in hand" in output and "audit-journal stopped" in output


def test_ops_list_dead_letters_without_payloads_and_replay_them_from_the_command_line(audit_service, stack_env):
    from services.audit.app import create_app
    from services.audit.bootstrap import bootstrap
    from tests.fixtures import serving
    from tests.support import bearer, token

    settings = audit_service.settings
    name = "audit-journal"
    tenant, stream = new_id(), f"sample-{new_id()}"
    with db.connect(settings.owner_dsn) as conn:
        ConsumerRunner(settings, name, ["t"], lambda c, e: 1 / 0, max_attempts=1).process(
            conn, deliveries(sample_envelopes(stream, 1, 1, tenant), topic=settings.topic("members")))
    with serving(create_app(bootstrap(settings))) as app:
        client = app.test_client()
        listed = client.get(f"/api/v1/ops/dead-letters?consumer={name}", headers=bearer(token(settings, "ops")))
        assert listed.status_code == 200
        [parked] = [d for d in listed.json["dead_letters"] if d["tenant_id"] == tenant]
        assert "ZeroDivisionError" in parked["error"] and "payload" not in parked
        auditor = bearer(token(settings, "auditor", tenant=tenant))
        assert client.get("/api/v1/ops/dead-letters", headers=auditor).status_code == 403
    env = {**audit_service.environment(stack_env), "PYTHONPATH": str(REPO_ROOT)}
    replayed = subprocess.run([sys.executable, "-m", "shared.cli", "replay-dead-letters", "audit", name,
                               "--id", str(parked["id"])], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert replayed.returncode == 0, replayed.stderr
    assert "1 dead letter(s) applied again" in replayed.stdout
    with db.connect(settings.owner_dsn) as conn:
        assert len(journal_rows(conn, tenant)) == 1


# --- batches: exactly-once effect with many events per transaction -----------------------------------

@pytest.fixture
def counting(audit_settings):
    """An apply that is not idempotent by itself (it counts each call): only the runner can make it once."""
    with db.connect(audit_settings.owner_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS applied_counts (event_id uuid PRIMARY KEY, n integer NOT NULL)")

    def apply(conn, envelope):
        conn.execute("INSERT INTO applied_counts (event_id, n) VALUES (%s, 1)"
                     " ON CONFLICT (event_id) DO UPDATE SET n = applied_counts.n + 1", (envelope.event_id,))

    def counts(envelopes) -> list[int]:
        with db.connect(audit_settings.owner_dsn) as conn:
            found = {str(row["event_id"]): row["n"] for row in conn.execute(
                "SELECT event_id, n FROM applied_counts WHERE event_id = ANY(%s::uuid[])",
                ([e.event_id for e in envelopes],))}
        return [found.get(e.event_id, 0) for e in envelopes]

    return apply, counts


def test_an_event_twice_in_one_batch_and_again_in_the_next_is_applied_once(audit_settings, counting):
    apply, counts = counting
    envelopes = sample_envelopes(f"sample-{new_id()}", 1, 4, new_id())
    batch = deliveries(envelopes)
    runner = ConsumerRunner(audit_settings, f"count-{new_id()}", ["t"], apply)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, [batch[0], batch[1], batch[1], batch[2], batch[0], batch[3], batch[1]])
        runner.process(conn, [batch[3], batch[2], batch[1]])
    assert counts(envelopes) == [1, 1, 1, 1]


def _refusing(apply, event_id: str):
    """``apply``, but the database refuses the event ``event_id``: an error it reports only when the pipeline
    syncs (at the batch's COMMIT, when nothing else is awaited after it)."""
    def refused_by_the_database(conn, envelope):
        apply(conn, envelope)
        if envelope.event_id == event_id:
            conn.execute("INSERT INTO applied_counts (event_id, n) VALUES (%s, NULL)", (new_id(),))
    return refused_by_the_database


def test_an_event_the_database_refuses_is_isolated_by_splitting_and_the_rest_of_the_batch_is_applied_once(
        audit_settings, counting):
    apply, counts = counting
    envelopes = sample_envelopes(f"sample-{new_id()}", 1, 9, new_id())
    poison = envelopes[6].event_id
    name = f"count-{new_id()}"
    topic = audit_settings.topic("activities")
    runner = ConsumerRunner(audit_settings, name, [topic], _refusing(apply, poison), max_attempts=2)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, deliveries(envelopes, topic=topic))
        parked = conn.execute("SELECT event_id::text AS event_id, error, attempts FROM dead_letters"
                              " WHERE consumer = %s", (name,)).fetchall()
        processed = conn.execute("SELECT count(*) AS n FROM processed_events WHERE consumer = %s",
                                 (name,)).fetchone()["n"]
    assert counts(envelopes) == [1, 1, 1, 1, 1, 1, 0, 1, 1]
    # Tried in the batches that were split to find it, then alone: at least max_attempts times in all.
    assert [row["event_id"] for row in parked] == [poison] and parked[0]["attempts"] >= 2
    assert "NotNullViolation" in parked[0]["error"]
    assert processed == 9  # the parked one too: a redelivery does not park it again


def test_a_crash_after_the_database_commit_and_before_the_offset_commit_applies_nothing_twice(
        audit_settings, counting, monkeypatch):
    apply, counts = counting
    topic = audit_settings.topic("notify")
    stream = f"sample-{new_id()}"
    envelopes = [e.sealed("0" * 64) for e in sample_envelopes(stream, 1, 20, new_id())]
    producer = KafkaProducer(bootstrap_servers=audit_settings.kafka_bootstrap)
    for envelope in envelopes:
        producer.send(topic, key=stream.encode(), value=envelope.to_json().encode(),
                      headers=[("event_type", envelope.event_type.encode())])
    producer.flush()
    producer.close()
    name = f"count-{new_id()}"

    class Crash(BaseException):
        """The process dies: nothing after the database commit runs."""

    def crash(consumer, records):
        raise Crash()

    monkeypatch.setattr(consumer_module, "_commit_offsets", crash)
    crashed = []
    first = threading.Thread(target=lambda: _run_until_crash(ConsumerRunner(audit_settings, name, [topic], apply),
                                                             crashed))
    first.start()
    first.join(timeout=60)
    assert crashed and sum(counts(envelopes)) > 0  # some events were committed to the database, no offset was
    monkeypatch.undo()
    stop = threading.Event()
    again = ConsumerRunner(audit_settings, name, [topic], apply)
    second = threading.Thread(target=again.run, args=(stop,))
    second.start()
    try:
        wait_for(lambda: counts(envelopes) == [1] * 20, timeout=60, message="every event applied once")
        wait_for(lambda: ConsumerLag(audit_settings.kafka_bootstrap, again.group_id, [topic]).behind() == 0,
                 timeout=30, message="offsets committed after the redelivery")
    finally:
        stop.set()
        second.join(timeout=30)
    assert counts(envelopes) == [1] * 20


def test_a_consumer_sends_the_offsets_it_applied_of_the_partitions_a_rebalance_takes_away(
        audit_settings, counting, monkeypatch):
    apply, counts = counting
    topic = audit_settings.topic("notify")
    envelopes = []
    producer = KafkaProducer(bootstrap_servers=audit_settings.kafka_bootstrap)
    for _ in range(12):  # streams of their own: spread over the topic's partitions
        stream = f"sample-{new_id()}"
        [envelope] = [e.sealed("0" * 64) for e in sample_envelopes(stream, 1, 1, new_id())]
        envelopes.append(envelope)
        producer.send(topic, key=stream.encode(), value=envelope.to_json().encode(),
                      headers=[("event_type", envelope.event_type.encode())])
    producer.flush()
    producer.close()
    # Never a quiet moment nor time to commit: only the rebalance can bring the group's offsets forward.
    monkeypatch.setattr(consumer_module._Applied, "due", lambda self, quiet, every: False)
    name = f"count-{new_id()}"
    stops = [threading.Event(), threading.Event()]
    first = ConsumerRunner(audit_settings, name, [topic], apply)
    threads = [threading.Thread(target=first.run, args=(stops[0],))]
    threads[0].start()
    try:
        wait_for(lambda: counts(envelopes) == [1] * 12, timeout=60, message="every event applied by the first")
        lag = ConsumerLag(audit_settings.kafka_bootstrap, first.group_id, [topic])
        assert lag.behind() > 0  # applied, not committed
        second = ConsumerRunner(audit_settings, name, [topic], apply)  # joins: the partitions are dealt again
        threads.append(threading.Thread(target=second.run, args=(stops[1],)))
        threads[1].start()
        wait_for(lambda: lag.behind() == 0, timeout=60, message="the first's offsets sent as its partitions went")
    finally:
        for stop in stops:
            stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert counts(envelopes) == [1] * 12


def _run_until_crash(runner: ConsumerRunner, crashed: list) -> None:
    try:
        runner.run(threading.Event())
    except BaseException as error:  # noqa: BLE001 — the simulated crash ends the thread, as it would the process
        crashed.append(error)


def test_event_types_the_consumer_does_not_use_are_passed_over_on_their_header_without_decoding(
        audit_settings, counting):
    apply, counts = counting
    used, unused = sample_envelopes(f"sample-{new_id()}", 1, 2, new_id(), event_type="members.SampleRecorded")
    unused = replace(unused, event_type="members.SampleIgnored")
    topic = audit_settings.topic("members")
    records = [Delivery(topic, 0, 1, used.sealed("0" * 64).to_json().encode(),
                        (("event_type", b"members.SampleRecorded"),)),
               Delivery(topic, 0, 2, unused.sealed("0" * 64).to_json().encode(),
                        (("event_type", b"members.SampleIgnored"),)),
               Delivery(topic, 0, 3, b"{not json, and never read", (("event_type", b"members.SampleIgnored"),))]
    name = f"count-{new_id()}"
    runner = ConsumerRunner(audit_settings, name, [topic], apply, event_types={"members.SampleRecorded"})
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, records)
        parked = conn.execute("SELECT count(*) AS n FROM dead_letters WHERE consumer = %s", (name,)).fetchone()["n"]
        seen = conn.execute("SELECT event_id::text AS event_id FROM processed_events WHERE consumer = %s",
                            (name,)).fetchall()
    assert counts([used, unused]) == [1, 0]
    assert parked == 0 and [row["event_id"] for row in seen] == [used.event_id]


def test_a_consumer_that_applies_whole_batches_still_parks_only_the_event_at_fault(audit_settings):
    tenant = new_id()
    envelopes = sample_envelopes(f"sample-{new_id()}", 1, 10, tenant)
    poison = envelopes[3].event_id

    def append_batch(conn, batch):
        if any(envelope.event_id == poison for envelope in batch):
            raise ValueError("cannot journal this one")
        journal.append_batch(conn, batch)

    name = f"journal-{new_id()}"
    topic = audit_settings.topic("members")
    runner = ConsumerRunner(audit_settings, name, [topic], journal.append, apply_batch=append_batch)
    batch = deliveries(envelopes, topic=topic)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, batch + batch[:4])
        journalled = [str(row["event_id"]) for row in journal_rows(conn, tenant)]
        parked = conn.execute("SELECT event_id::text AS event_id FROM dead_letters WHERE consumer = %s",
                              (name,)).fetchall()
    assert journalled == [e.event_id for e in envelopes if e.event_id != poison]
    assert [row["event_id"] for row in parked] == [poison]


def test_what_a_consumer_asks_goes_with_the_claim_and_is_given_to_the_batch_even_when_nothing_is_new(
        audit_settings, round_trips):
    """``ask`` is sent for the whole batch in the claim's round trip; ``apply_batch`` gets its answer and the new
    events only, and is called for a batch of duplicates too, whose reserved numbers it gives back."""
    tenant = new_id()
    envelopes = sample_envelopes(f"sample-{new_id()}", 1, 6, tenant)
    given = []

    def append_batch(conn, batch, asked):
        given.append(([e.event_id for e in batch], sorted(e.event_id for es in asked.by_tenant.values() for e in es)))
        journal.append_batch(conn, batch, asked=asked)

    name = f"journal-{new_id()}"
    topic = audit_settings.topic("members")
    runner = ConsumerRunner(audit_settings, name, [topic], journal.append, ask=journal.ask, apply_batch=append_batch)
    batch = deliveries(envelopes, topic=topic)
    with db.connect(audit_settings.owner_dsn) as conn:
        round_trips.clear()
        runner.process(conn, batch[:4])
        assert len(round_trips) == 2  # BEGIN, claim and the journal's reads; the writes and COMMIT
        runner.process(conn, batch[2:4])  # nothing new
        runner.process(conn, batch)
        journalled = journal_rows(conn, tenant)
        size = conn.execute("SELECT size FROM journal_heads WHERE tenant_id = %s", (tenant,)).fetchone()["size"]
    ids = [e.event_id for e in envelopes]
    assert given == [(ids[:4], sorted(ids[:4])), ([], sorted(ids[2:4])), (ids[4:], sorted(ids))]
    assert [str(row["event_id"]) for row in journalled] == ids and size == len(ids)


def test_a_batch_that_fails_is_applied_with_the_fallback_before_it_is_split(audit_settings):
    """What only ``apply_batch`` does (here: refusing one event) does not keep events out: the batch is tried
    again with ``fallback_batch`` and nothing is parked; an event the fallback refuses too is parked alone."""
    tenant = new_id()
    envelopes = sample_envelopes(f"sample-{new_id()}", 1, 8, tenant)
    picky, poison = envelopes[2].event_id, envelopes[5].event_id
    calls = []

    def append_batch(conn, batch, asked):
        calls.append(("batch", len(batch)))
        if any(envelope.event_id in (picky, poison) for envelope in batch):
            raise ValueError("the batch's extras went wrong")
        journal.append_batch(conn, batch, asked=asked)

    def fallback(conn, batch, asked):
        calls.append(("fallback", len(batch)))
        if any(envelope.event_id == poison for envelope in batch):
            raise ValueError("cannot journal this one")
        journal.append_batch(conn, batch, asked=asked)

    name = f"journal-{new_id()}"
    topic = audit_settings.topic("members")
    runner = ConsumerRunner(audit_settings, name, [topic], journal.append, ask=journal.ask, apply_batch=append_batch,
                            fallback_batch=fallback)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, deliveries(envelopes[:5], topic=topic))
        assert calls == [("batch", 5), ("fallback", 5)]
        runner.process(conn, deliveries(envelopes[5:], topic=topic, start_offset=5))
        journalled = [str(row["event_id"]) for row in journal_rows(conn, tenant)]
        parked = conn.execute("SELECT event_id::text AS event_id FROM dead_letters WHERE consumer = %s",
                              (name,)).fetchall()
    assert journalled == [e.event_id for e in envelopes if e.event_id != poison]
    assert [row["event_id"] for row in parked] == [poison]
    assert all(kind == "fallback" for kind, _ in calls[3:])  # the parts of a batch that fell back fall back too


def test_a_test_runs_topics_are_deleted_with_its_database(stack_env):
    from kafka.admin import KafkaAdminClient

    from services.registry import SERVICES
    from tests.support import IsolatedService

    isolated = IsolatedService("members", [SERVICES.service("members").migrations], stack_env)
    settings = isolated.create(("members",))

    def topics() -> set[str]:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        try:
            return {topic for topic in admin.list_topics() if topic.startswith(f"{settings.topic_prefix}.")}
        finally:
            admin.close()

    assert topics() == {settings.topic("members"), f"{settings.topic('members')}.dlq"}
    isolated.drop()
    wait_for(lambda: not topics(), timeout=30, message="the run's topics deleted")


def test_a_batch_refused_at_its_commit_leaves_the_connection_as_it_found_it(audit_settings, counting):
    """BEGIN and COMMIT go out in the batch's pipeline: an error that comes back only at the commit's sync
    leaves a failed transaction on the server, which must be rolled back before the next batch."""
    apply, counts = counting
    envelopes = sample_envelopes(f"sample-{new_id()}", 1, 3, new_id())
    name = f"count-{new_id()}"
    topic = audit_settings.topic("activities")
    runner = ConsumerRunner(audit_settings, name, [topic], _refusing(apply, envelopes[2].event_id), max_attempts=1)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, deliveries(envelopes, topic=topic))
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and not conn.autocommit
        runner.process(conn, deliveries(envelopes, topic=topic))  # again: the parked one is not parked twice
        parked = conn.execute("SELECT count(*) AS n FROM dead_letters WHERE consumer = %s", (name,)).fetchone()["n"]
    assert counts(envelopes) == [1, 1, 0]
    assert parked == 1


def test_a_batch_waits_for_the_server_twice_from_begin_to_commit(audit_settings, counting, round_trips):
    """BEGIN goes out with the claim, the projection's writes with the COMMIT."""
    apply, counts = counting
    envelopes = sample_envelopes(f"sample-{new_id()}", 1, 6, new_id())
    runner = ConsumerRunner(audit_settings, f"count-{new_id()}", ["t"], apply)
    with db.connect(audit_settings.owner_dsn) as conn:
        round_trips.clear()
        runner.process(conn, deliveries(envelopes))
        assert len(round_trips) == 2
    assert counts(envelopes) == [1] * 6


def test_a_savepoint_inside_a_batch_is_a_savepoint_not_a_commit_of_its_own(audit_settings, counting):
    """psycopg learns that the batch's transaction is open only from a sync: an apply that takes a savepoint
    (as a unit of work does) must not commit the batch half-way, and a batch refused after it leaves nothing."""
    apply, counts = counting
    envelopes = sample_envelopes(f"sample-{new_id()}", 1, 3, new_id())

    def in_a_savepoint(conn, envelope):
        with conn.transaction():
            apply(conn, envelope)
        if envelope.event_id == envelopes[2].event_id:
            raise ValueError("refused after the savepoints")

    runner = ConsumerRunner(audit_settings, f"count-{new_id()}", ["t"], in_a_savepoint, max_attempts=1)
    with db.connect(audit_settings.owner_dsn) as conn:
        with pytest.raises(consumer_module._Failed):
            runner._apply_together(conn, [consumer_module._Item(d, e) for d, e in
                                          zip(deliveries(envelopes), envelopes)])
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert counts(envelopes) == [0, 0, 0]
