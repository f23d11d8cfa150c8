"""The journal's per-branch and per-stream chains against real PostgreSQL: every entry names the previous entry
of its branch and of its stream inside its leaf, a journal written before the chains keeps verifying after
the migration, and a back-link changed behind the service's back is caught."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import datetime, UTC

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from contracts.rulebook.calendar import local_date
from services.audit import bundles, formats, heads, journal
from services.audit.app import MIGRATIONS
from services.audit.settings import DEV_KEY, AuditSettings
from services.audit.signing import Keyring, verify_tree_head
from services.audit.verifier import Fault, verify_bundle
from services.audit.tree import JournalTree, verify_journal
from shared import db, merkle
from shared.envelope import Envelope
from tests.support import IsolatedService, chained_events, new_id

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_each_entry_names_the_previous_entry_of_its_branch_and_of_its_stream(audit_settings):
    tenant, a, b = new_id(), new_id(), new_id()
    plan = [("s1", a), ("s2", b), ("s1", a), ("bureau", None), ("s3", a), ("s2", b), ("s1", a)]
    with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
        for envelope in chained_events(tenant, plan):
            journal.append(conn, envelope)
        rows = conn.execute("SELECT seq, entry_format, branch_prev_seq, stream_prev_seq FROM journal"
                            " WHERE tenant_id = %s ORDER BY seq", (tenant,)).fetchall()
        keys = conn.execute("SELECT kind, key, last_seq FROM journal_keys WHERE tenant_id = %s ORDER BY kind, key",
                            (tenant,)).fetchall()
        assert verify_journal(conn, tenant) == []
    assert [(r["branch_prev_seq"], r["stream_prev_seq"]) for r in rows] == [
        (0, 0), (0, 0), (1, 1), (0, 0), (3, 0), (2, 2), (5, 3)]
    assert {r["entry_format"] for r in rows} == {2}
    assert {(k["kind"], k["key"]): k["last_seq"] for k in keys} == {
        ("branch", ""): 4, ("branch", a): 7, ("branch", b): 6,
        ("stream", "bureau"): 4, ("stream", "s1"): 7, ("stream", "s2"): 6, ("stream", "s3"): 5}


def test_a_back_link_changed_behind_the_services_back_no_longer_matches_its_leaf(audit_settings):
    tenant, a = new_id(), new_id()
    with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
        for envelope in chained_events(tenant, [("s1", a), ("s2", a), ("s1", a)]):
            journal.append(conn, envelope)
    admin_dsn = make_conninfo(audit_settings.admin_dsn, dbname=audit_settings.database)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute("SET session_replication_role = replica")  # only a superuser can skip the triggers
        admin.execute("UPDATE journal SET branch_prev_seq = 1 WHERE tenant_id = %s AND seq = 3", (tenant,))
    with db.connect(audit_settings.owner_dsn) as conn:
        problems = verify_journal(conn, tenant)
    assert [(p["seq"], p["code"]) for p in problems] == [(3, "leaf_mismatch"), (3, "chain_mismatch")]


@pytest.fixture
def legacy_audit(stack_env, tmp_path):
    """An audit database migrated only as far as the journal was before the chains (001–005)."""
    older = tmp_path / "audit" / "migrations"
    older.mkdir(parents=True)
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "006":
            shutil.copy(path, older / path.name)
    isolated = IsolatedService("audit", [older], stack_env)
    isolated.create()
    yield isolated.settings
    isolated.drop()


def _append_as_before(conn: psycopg.Connection, envelope: Envelope) -> None:
    """What the journal did before the chains: the entry, and a leaf over its envelope alone."""
    head = conn.execute("INSERT INTO journal_heads (tenant_id, size) VALUES (%s, 1) ON CONFLICT (tenant_id)"
                        " DO UPDATE SET size = journal_heads.size + 1 RETURNING size", (envelope.tenant_id,)).fetchone()
    conn.execute("INSERT INTO journal (tenant_id, seq, event_id, event_type, stream_id, stream_version, branch_id,"
                 " actor_user, occurred_at, recorded_at, hash, envelope) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                 " %s, %s, %s)", (envelope.tenant_id, head["size"], envelope.event_id, envelope.event_type,
                                  envelope.stream_id, envelope.stream_version, envelope.branch_id, envelope.actor.user,
                                  envelope.occurred_at, envelope.recorded_at, envelope.hash, envelope.to_json()))
    JournalTree(conn, envelope.tenant_id).add_leaf(head["size"], envelope.to_json().encode("utf-8"))


def test_a_journal_written_before_the_chains_keeps_verifying_after_the_migration(legacy_audit):
    tenant, a, b = new_id(), new_id(), new_id()
    made = chained_events(tenant, [("s1", a), ("s2", b), ("s1", a), ("s3", a), ("s1", a), ("s2", b)])
    signer = Keyring((DEV_KEY,)).signing_key(NOW)
    with db.connect(legacy_audit.owner_dsn) as conn, conn.transaction():
        for envelope in made[:4]:
            _append_as_before(conn, envelope)
        old_root = JournalTree(conn, tenant).root(4)
        old_head = signer.sign_head(tenant, "o", 4, old_root, (0, merkle.EMPTY_ROOT), NOW)
    db.migrate(legacy_audit, [db.SHARED_MIGRATIONS, MIGRATIONS])
    with db.connect(legacy_audit.owner_dsn) as conn:
        with pytest.raises(psycopg.errors.NotNullViolation), conn.transaction():
            _append_as_before(conn, made[4])  # the release before cannot journal past the cut-over
    with db.connect(legacy_audit.owner_dsn) as conn, conn.transaction():
        for envelope in made[4:]:
            journal.append(conn, envelope)
        rows = conn.execute("SELECT seq, entry_format, branch_prev_seq, stream_prev_seq FROM journal"
                            " WHERE tenant_id = %s ORDER BY seq", (tenant,)).fetchall()
        tree = JournalTree(conn, tenant)
        consistent = merkle.verify_consistency(4, 6, old_root, tree.root(6), tree.consistency_proof(4, 6))
        legacy_leaf = merkle.leaf_hash(formats.legacy_leaf_data(json.loads(made[0].to_json())))
        included = merkle.verify_inclusion(legacy_leaf, 0, 6, tree.inclusion_proof(0, 6), tree.root(6))
        assert verify_journal(conn, tenant) == []
        index_now = heads.index_rows(conn, tenant, 6)
        assert index_now == heads.index_rows_from_journal(conn, tenant, 6)
    assert [r["entry_format"] for r in rows] == [1, 1, 1, 1, 2, 2]
    assert [(r["branch_prev_seq"], r["stream_prev_seq"]) for r in rows[4:]] == [(4, 3), (2, 2)]
    assert verify_tree_head(old_head, base64.b64decode(old_head["public_key"]))
    assert consistent and included
    assert ("branch", a, 5) in index_now and ("stream", "s3", 4) in index_now


def test_a_bundle_reaching_back_before_the_chains_holds_every_older_entry_and_verifies(legacy_audit):
    """Below the cut-over there are no back-links: the bundle carries the whole run of older entries, and a
    missing one is named."""
    tenant, a, b = new_id(), new_id(), new_id()
    made = chained_events(tenant, [("s1", a), ("s2", b), ("s1", a), ("s3", a), ("s1", a), ("s2", b)])
    with db.connect(legacy_audit.owner_dsn) as conn, conn.transaction():
        for envelope in made[:4]:
            _append_as_before(conn, envelope)
    db.migrate(legacy_audit, [db.SHARED_MIGRATIONS, MIGRATIONS])
    settings, keyring = AuditSettings(), Keyring((DEV_KEY,))
    today = local_date(datetime.now(UTC))
    with db.connect(legacy_audit.owner_dsn) as conn:
        with conn.transaction():
            for envelope in made[4:]:
                journal.append(conn, envelope)
        with db.tenant_snapshot(conn, tenant):
            bundle = bundles.build(conn, tenant, bundles.Scope("branch", a), bundles.Period(today, today), settings,
                                   keyring, datetime.now(UTC))
    keys = keyring.listing(formats.origin(settings.log_origin, tenant))
    assert [(e["seq"], e["format"]) for e in bundle["entries"]] == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2)]
    assert verify_bundle(formats.render_bundle(bundle), keys)["events"] == 5
    bundle["entries"].pop(1)  # another branch's older entry: the run below the cut-over is no longer whole
    with pytest.raises(Fault) as fault:
        verify_bundle(formats.render_bundle(bundle), keys)
    assert fault.value.check == "completeness" and "entry seq 2 is missing" in fault.value.message
