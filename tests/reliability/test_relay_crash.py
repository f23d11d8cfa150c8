"""Faults: the relay killed mid-publication loses nothing, and the duplicates it leaves change no projection."""

from __future__ import annotations

import signal
import subprocess
import sys

from services.audit import journal
from shared import db, eventstore
from shared.consumer import ConsumerRunner, Delivery
from tests.support import REPO_ROOT, envelopes_of, new_id, read_topic, sample_envelopes, wait_for

STREAMS, EVENTS_PER_STREAM = 100, 30


def _published(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL").fetchone()["n"]


def _start_relay(isolated, stack_env, log_file):
    env = {**isolated.environment(stack_env), "PYTHONPATH": str(REPO_ROOT), "BRANCHWORK_RELAY_BATCH_SIZE": "50"}
    return subprocess.Popen([sys.executable, "-m", "shared.cli", "relay", "members"], env=env, cwd=REPO_ROOT,
                            stdout=log_file, stderr=subprocess.STDOUT)


def test_a_relay_killed_mid_batch_loses_nothing_and_duplicates_change_no_projection(
        members_service, audit_settings, stack_env, tmp_path):
    settings = members_service.settings
    tenant = new_id()
    appended: set[str] = set()
    with db.connect(settings.owner_dsn) as conn:
        already = _published(conn)
        for _ in range(STREAMS):
            stream = f"sample-{new_id()}"
            with conn.transaction():
                sealed = eventstore.append(conn, stream, 0, sample_envelopes(stream, 1, EVENTS_PER_STREAM, tenant),
                                           settings.topic())
            appended.update(e.event_id for e in sealed)
    total = already + len(appended)
    with open(tmp_path / "relay.log", "w") as log_file, db.connect(settings.owner_dsn, autocommit=True) as conn:
        relay = _start_relay(members_service, stack_env, log_file)
        wait_for(lambda: 0 < _published(conn) - already, timeout=60, interval=0.01, message="relay started publishing")
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
        assert _published(conn) < total, "the relay finished before it could be killed; make the backlog larger"
        relay = _start_relay(members_service, stack_env, log_file)
        try:
            wait_for(lambda: _published(conn) == total, timeout=120, message="outbox drained after restart")
        finally:
            relay.terminate()
            assert relay.wait(timeout=30) == 0
    records = read_topic(settings.kafka_bootstrap, settings.topic(),
                         lambda got: appended <= {e.event_id for e in envelopes_of(got)}, timeout=60)
    mine = [(r, e) for r, e in zip(records, envelopes_of(records)) if e.tenant_id == tenant]
    assert {e.event_id for _, e in mine} == appended

    runner = ConsumerRunner(audit_settings, f"journal-{new_id()}", [settings.topic()], journal.append)
    with db.connect(audit_settings.owner_dsn) as conn:
        runner.process(conn, [Delivery(r.topic, r.partition, r.offset, r.value) for r, _ in mine])
        runner.process(conn, [Delivery(r.topic, r.partition, r.offset, r.value) for r, _ in mine])
        rows = conn.execute("SELECT seq, event_id FROM journal WHERE tenant_id = %s ORDER BY seq", (tenant,)).fetchall()
    assert [row["seq"] for row in rows] == list(range(1, len(appended) + 1))
    assert {str(row["event_id"]) for row in rows} == appended
