"""Faults: the broker goes away while the relay works — nothing recorded meanwhile is dropped.

A broker of its own (same pinned jars, its own run folder and ports) is stopped and started
again under a running relay, so the platform's broker is never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading

import pytest

from shared import db, eventstore
from shared.kafka import ensure_topics
from shared.relay import OutboxRelay
from tests.support import REPO_ROOT, envelopes_of, new_id, read_topic, sample_envelopes, wait_for

KAFKA_SH = REPO_ROOT / "deploy" / "local" / "kafka.sh"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """A single-node KRaft broker run by deploy/local/kafka.sh in a run folder of the test's."""

    def __init__(self, run_dir) -> None:
        self.port = _free_port()
        self.env = {**os.environ, "BRANCHWORK_RUN_DIR": str(run_dir), "BRANCHWORK_KAFKA_PORT": str(self.port),
                    "BRANCHWORK_KAFKA_CONTROLLER_PORT": str(_free_port())}
        shared_libs = REPO_ROOT / ".run" / "kafka" / "libs"
        if shared_libs.exists():  # reuse the fetched jars instead of asking Maven again
            shutil.copytree(shared_libs, run_dir / "kafka" / "libs")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self, command: str) -> None:
        subprocess.run(["bash", str(KAFKA_SH), command], env=self.env, check=True, capture_output=True, timeout=180)


@pytest.fixture
def broker(tmp_path):
    own = Broker(tmp_path)
    own.run("start")
    yield own
    own.run("stop")


def _append(settings, tenant, streams):
    ids = set()
    with db.connect(settings.owner_dsn) as conn:
        for _ in range(streams):
            stream = f"sample-{new_id()}"
            with conn.transaction():
                ids.update(e.event_id for e in eventstore.append(
                    conn, stream, 0, sample_envelopes(stream, 1, 5, tenant), settings.topic()))
    return ids


def test_events_recorded_while_the_broker_is_down_are_published_when_it_returns(members_settings, broker):
    settings = members_settings.with_overrides(kafka_bootstrap=broker.bootstrap)
    ensure_topics(settings.kafka_bootstrap, [settings.topic()])
    tenant = new_id()
    stop = threading.Event()
    relay_thread = threading.Thread(target=OutboxRelay(settings, max_backoff=2.0).run, args=(stop,))
    relay_thread.start()
    try:
        before = _append(settings, tenant, 10)
        with db.connect(settings.owner_dsn, autocommit=True) as conn:
            def unpublished():
                return conn.execute("SELECT count(*) AS n FROM outbox o JOIN events e ON e.position = o.event_position"
                                    " WHERE o.published_at IS NULL AND e.tenant_id = %s", (tenant,)).fetchone()["n"]
            wait_for(lambda: unpublished() == 0, timeout=60, message="published while the broker is up")
            broker.run("stop")
            during = _append(settings, tenant, 10)
            stop.wait(5)
            assert unpublished() == len(during), "nothing can be marked published while the broker is down"
            broker.run("start")
            wait_for(lambda: unpublished() == 0, timeout=120, message="published after the broker came back")
    finally:
        stop.set()
        relay_thread.join(timeout=60)
    wanted = before | during
    records = read_topic(settings.kafka_bootstrap, settings.topic(),
                         lambda got: wanted <= {e.event_id for e in envelopes_of(got)}, timeout=60)
    assert wanted <= {e.event_id for e in envelopes_of(records)}
