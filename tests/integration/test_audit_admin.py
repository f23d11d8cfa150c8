"""The audit service's operators' commands through ``branchwork``: verify the journal's Merkle trees, list and
apply again the entries the views could not apply, rebuild the views."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
from psycopg.conninfo import make_conninfo

from services.audit import journal
from shared import db
from tests.support import REPO_ROOT, chained_events, new_id


def branchwork(audit_service, stack_env, *args: str) -> subprocess.CompletedProcess:
    env = {**audit_service.environment(stack_env), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], env=env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)


def journalled(settings, count: int = 3) -> tuple[str, list]:
    tenant, branch = new_id(), new_id()
    envelopes = chained_events(tenant, [(f"s{n % 2}", branch) for n in range(count)])
    with db.connect(settings.owner_dsn) as conn, conn.transaction():
        for envelope in envelopes:
            journal.append(conn, envelope)
    return tenant, envelopes


def test_verify_audit_finds_a_bureaus_journal_intact_and_names_an_entry_changed_behind_its_back(
        audit_service, audit_settings, stack_env):
    tenant, _ = journalled(audit_settings)
    intact = branchwork(audit_service, stack_env, "verify", "audit", tenant)
    assert intact.returncode == 0 and "1 journal(s): intact" in intact.stderr, intact.stderr
    with psycopg.connect(make_conninfo(audit_settings.admin_dsn, dbname=audit_settings.database),
                         autocommit=True) as admin:
        admin.execute("SET session_replication_role = replica")  # only a superuser can skip the triggers
        admin.execute("UPDATE journal SET branch_prev_seq = 1 WHERE tenant_id = %s AND seq = 3", (tenant,))
    broken = branchwork(audit_service, stack_env, "verify", "audit", tenant)
    found = [json.loads(line) for line in broken.stdout.splitlines()]
    assert broken.returncode == 1 and "problem(s)" in broken.stderr
    assert {(p["tenant_id"], p["seq"], p["code"]) for p in found} >= {(tenant, 3, "leaf_mismatch")}


def test_failures_audit_lists_what_the_views_could_not_apply_and_retry_audit_applies_it_again(
        audit_service, audit_settings, stack_env):
    tenant, envelopes = journalled(audit_settings, count=1)
    with db.connect(audit_settings.owner_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO views.failures (tenant_id, seq, event_id, event_type, error)"
                     " VALUES (%s, 1, %s, %s, 'KeyError: a contract not yet deployed')",
                     (tenant, envelopes[0].event_id, envelopes[0].event_type))
    listed = branchwork(audit_service, stack_env, "failures", "audit")
    assert listed.returncode == 0, listed.stderr
    assert [(row["tenant_id"], row["seq"]) for row in map(json.loads, listed.stdout.splitlines())] == [(tenant, 1)]
    retried = branchwork(audit_service, stack_env, "retry", "audit")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {"retried": 1, "applied": 1, "still_failing": 0}
    assert branchwork(audit_service, stack_env, "failures", "audit").stdout == ""


def test_rebuild_audit_replays_the_journal_into_fresh_views_and_records_the_rebuild(
        audit_service, audit_settings, stack_env):
    journalled(audit_settings, count=2)
    rebuilt = branchwork(audit_service, stack_env, "rebuild", "audit")
    assert rebuilt.returncode == 0, rebuilt.stderr
    result = json.loads(rebuilt.stdout)
    with db.connect(audit_settings.owner_dsn) as conn:
        recorded = conn.execute("SELECT status, applied FROM public.view_rebuilds WHERE id = %s",
                                (result["rebuild"],)).fetchone()
    assert recorded == {"status": "swapped", "applied": result["applied"]} and result["applied"] >= 2


def test_a_command_the_service_does_not_have_is_refused_by_name(audit_service, stack_env):
    refused = branchwork(audit_service, stack_env, "retry", "members")
    assert refused.returncode == 2 and "members has no such command" in refused.stderr
