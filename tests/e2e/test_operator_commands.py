"""`branchwork status` and `branchwork dlq` against the running platform, as an operator runs them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from shared import db
from shared.consumer import ConsumerRunner, Delivery
from tests.fixtures import audit_service  # noqa: F401
from tests.support import REPO_ROOT, new_id, sample_envelopes


def branchwork(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def parked_delivery(envelope, topic: str) -> Delivery:
    return Delivery(topic, 0, 0, envelope.sealed("0" * 64).to_json().encode())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_status_answers_for_every_service_of_the_running_platform(platform, stack_env):
    result = branchwork(stack_env, "status", "--json")
    report = json.loads(result.stdout)
    assert set(report["services"]) == {"members", "activities", "notify", "audit"}
    for service, checks in report["services"].items():
        assert checks["http"]["healthy"] and checks["http"]["status"] == 200, (service, checks["http"])
        assert "dead letters" in checks
    assert {"outbox", "consumer members-transfer-saga"} <= set(report["services"]["members"])
    lag = report["services"]["audit"]["consumer audit-journal"]
    assert len(lag["partitions"]) == 18 and {p["topic"] for p in lag["partitions"]} == {
        "branchwork.members.events", "branchwork.activities.events", "branchwork.notify.events"}
    assert "scheduler" in report["services"]["notify"] and "views" in report["services"]["audit"]
    assert result.returncode == (0 if report["healthy"] else 1)


def test_status_exits_non_zero_and_says_why_when_a_service_is_unreachable(platform, stack_env):
    env = {**stack_env, "BRANCHWORK_NOTIFY_URL": f"http://127.0.0.1:{free_port()}"}
    result = branchwork(env, "status", "notify")
    assert result.returncode == 1
    assert "FAIL http" in result.stdout and "ConnectionError" in result.stdout and result.stdout.endswith("unhealthy\n")


def test_dlq_lists_shows_and_replays_a_parked_event(audit_service, stack_env):  # noqa: F811
    settings = audit_service.settings
    tenant = new_id()
    with db.connect(settings.owner_dsn) as conn:
        ConsumerRunner(settings, "audit-journal", ["t"], lambda c, e: 1 / 0, max_attempts=1).process(
            conn, [parked_delivery(sample_envelopes(f"sample-{new_id()}", 1, 1, tenant)[0], settings.topic("members"))])
    env = audit_service.environment(stack_env)
    listed = branchwork(env, "dlq", "list", "audit", "--json")
    [parked] = [row for row in json.loads(listed.stdout) if row["tenant_id"] == tenant]
    assert "ZeroDivisionError" in parked["error"] and "payload" not in parked
    shown = json.loads(branchwork(env, "dlq", "show", "audit", str(parked["id"])).stdout)
    assert shown["payload"]["tenant_id"] == tenant
    assert branchwork(env, "dlq", "show", "audit", "999999999").returncode == 1
    replayed = branchwork(env, "dlq", "replay", "audit", "--id", str(parked["id"]))
    assert replayed.returncode == 0 and "audit-journal: 1 dead letter(s) applied again" in replayed.stdout
    after = json.loads(branchwork(env, "dlq", "list", "audit", "--json").stdout)
    assert not [row for row in after if row["tenant_id"] == tenant]
    with_replayed = json.loads(branchwork(env, "dlq", "list", "audit", "--all", "--json").stdout)
    assert [row["replayed_at"] for row in with_replayed if row["tenant_id"] == tenant] != [None]
