"""Rebuilding a service's read models while its writers go on: shadow copy, catch-up rounds, swap."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest

from contracts.members import registry
from services.members import projections
from shared import db
from shared.rebuild import ReadModel, RebuildBusy, StoreFeed, rebuild
from tests.integration.members_fixtures import MEMBER, add_branch, app, new_bureau  # noqa: F401

MODEL = ReadModel(tables=projections.TABLES)


def read_models(settings) -> dict:
    with db.connect(settings.owner_dsn) as conn:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in projections.TABLES}


def test_writers_go_on_during_a_rebuild_and_every_write_is_in_the_swapped_models(app, members_settings):
    bureau = new_bureau(app, members_settings)
    branch = add_branch(bureau)
    for index in range(40):  # enough history that the replay takes several batches
        bureau.created("/members", {**MEMBER, "branch_id": branch, "name": f"前{index}"})
    written, failures, stop = [], [], threading.Event()

    def write() -> None:
        writer = new_bureau(app, members_settings)
        own_branch = add_branch(writer)
        while not stop.is_set():
            status, reply = writer.post("/members", {**MEMBER, "branch_id": own_branch, "name": f"后{len(written)}"})
            (written if status == 201 else failures).append((status, reply))

    writers = [threading.Thread(target=write) for _ in range(2)]
    for thread in writers:
        thread.start()
    try:
        progress = []
        result = rebuild(members_settings.owner_dsn, MODEL, StoreFeed(registry, projections.project), batch=10,
                         progress=lambda done, total: progress.append((done, total)))
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    assert not failures, failures[:3]
    assert written, "the writers wrote nothing while the rebuild ran"
    assert result["applied"] == progress[-1][0] and all(done <= total for done, total in progress)
    live = read_models(members_settings)
    with db.connect(members_settings.owner_dsn) as conn:
        registered = conn.execute("SELECT count(*) AS n FROM events WHERE event_type = 'members.MemberRegistered'"
                                  ).fetchone()["n"]
    assert len(live["members"]) == registered
    rebuild(members_settings.owner_dsn, MODEL, StoreFeed(registry, projections.project))
    assert read_models(members_settings) == live  # what the writers left equals a replay made in quiet


def test_the_swapped_tables_keep_their_index_names_policies_grants_and_keys(members_settings):
    def shape() -> dict:
        with db.connect(members_settings.owner_dsn) as conn:
            return {
                "indexes": conn.execute("SELECT tablename, indexname, regexp_replace(indexdef, ' ON \\S+', '') AS d"
                                        " FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2").fetchall(),
                "policies": conn.execute("SELECT tablename, policyname, qual FROM pg_policies"
                                         " WHERE schemaname = 'public' ORDER BY 1, 2").fetchall(),
                "grants": conn.execute("SELECT table_name, grantee, privilege_type FROM information_schema"
                                       ".role_table_grants WHERE table_schema = 'public' ORDER BY 1, 2, 3").fetchall(),
                "keys": conn.execute("SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS d"
                                     " FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
                                     " ORDER BY 1, 2").fetchall(),
                "security": conn.execute("SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace ="
                                         " 'public'::regnamespace AND relkind = 'r' ORDER BY 1").fetchall(),
                "schemas": conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild%'").fetchall(),
                "options": table_options(conn, "public")}

    before = shape()
    rebuild(members_settings.owner_dsn, MODEL, StoreFeed(registry, projections.project))
    assert shape() == before


def table_options(conn, schema: str) -> list[dict]:
    """Each table's storage options and its TOAST table's (autovacuum's switches among them)."""
    return conn.execute("SELECT c.relname, c.reloptions, t.reloptions AS toast FROM pg_class c"
                        " LEFT JOIN pg_class t ON t.oid = c.reltoastrelid"
                        " WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' ORDER BY 1", (schema,)).fetchall()


def test_autovacuum_leaves_the_shadow_alone_while_it_fills_and_the_swapped_tables_are_vacuumed_as_any(
        app, members_settings):
    bureau = new_bureau(app, members_settings)
    branch = add_branch(bureau)
    for index in range(5):
        bureau.created("/members", {**MEMBER, "branch_id": branch, "name": f"静{index}"})
    during = []

    def look(_done: int, _total: int) -> None:
        if not during:
            with db.connect(members_settings.owner_dsn) as conn:
                during.extend(table_options(conn, MODEL.shadow))

    rebuild(members_settings.owner_dsn, MODEL, StoreFeed(registry, projections.project), batch=2, progress=look)
    assert {row["relname"] for row in during} == set(projections.TABLES)
    for row in during:
        assert row["reloptions"] == ["autovacuum_enabled=false"], row
        assert row["toast"] in (None, ["autovacuum_enabled=false"]), row
    with db.connect(members_settings.owner_dsn) as conn:
        live = [row for row in table_options(conn, "public") if row["relname"] in projections.TABLES]
    assert len(live) == len(projections.TABLES)
    assert all(row["reloptions"] is None and row["toast"] is None for row in live), live


def test_a_second_rebuild_at_once_is_refused_and_changes_nothing(members_settings):
    from shared.rebuild import REBUILD_LOCK
    with db.connect(members_settings.owner_dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (REBUILD_LOCK,))
        with pytest.raises(RebuildBusy):
            rebuild(members_settings.owner_dsn, MODEL, StoreFeed(registry, projections.project))


def test_a_reader_holding_the_tables_delays_the_swap_but_does_not_break_it(members_settings):
    """A long read keeps the tables: the swap gives up its locks in time (no deadlock) and tries again."""
    release = threading.Timer(1.5, lambda: reader.rollback())
    with db.connect(members_settings.owner_dsn) as reader:
        reader.execute("SELECT count(*) FROM members").fetchone()  # holds ACCESS SHARE until rollback
        release.start()
        result = rebuild(members_settings.owner_dsn, MODEL, StoreFeed(registry, projections.project))
        release.join()
    assert result["applied"] >= 0
    with db.connect(members_settings.owner_dsn) as conn:
        assert not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname LIKE 'rebuild%'").fetchone()


def test_an_autovacuum_of_the_live_tables_is_cancelled_by_the_swap_not_waited_out(members_settings):
    """Autovacuum takes the tables of a rebuild just before; PostgreSQL cancels it for a lock waited on longer than
    ``deadlock_timeout``, which the swap does when autovacuum is all that holds the tables. This one is slowed to
    a page every 0.1 s over hundreds of pages: waited out, it would outlast every attempt of the swap."""
    tag = uuid.uuid4().hex[:8]
    with db.connect(members_settings.owner_dsn, autocommit=True) as conn:
        conn.execute("SELECT set_config('branchwork.tenant_id', %s, false)", (f"bloat-{tag}",))
        conn.execute("ALTER TABLE bureaus SET (autovacuum_vacuum_insert_threshold = 1,"
                     " autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_cost_delay = 100,"
                     " autovacuum_vacuum_cost_limit = 1)")
        conn.execute("INSERT INTO bureaus SELECT %s, %s || g, repeat('x', 200), %s || g, 1"
                     " FROM generate_series(1, 20000) g", (f"bloat-{tag}", f"bloat-{tag}-", f"bloat-{tag}-"))
    with psycopg.connect(members_settings.admin_dsn, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM SET autovacuum_naptime = 1")
        admin.execute("SELECT pg_reload_conf()")
        try:
            vacuuming = _autovacuum_on(admin, members_settings.database, "bureaus", seconds=60)
            assert vacuuming, "no autovacuum of the bureaus table began"
            result = rebuild(members_settings.owner_dsn, MODEL, StoreFeed(registry, projections.project))
            assert result["applied"] >= 0
        finally:
            admin.execute("ALTER SYSTEM RESET autovacuum_naptime")
            admin.execute("SELECT pg_reload_conf()")
    with db.connect(members_settings.owner_dsn) as conn:
        assert not conn.execute("SELECT 1 FROM bureaus WHERE tenant_id = %s LIMIT 1", (f"bloat-{tag}",)).fetchone()


def _autovacuum_on(admin, database: str, table: str, seconds: float) -> int | None:
    """The pid of an autovacuum worker on ``table`` (waiting up to ``seconds`` for one to begin), or None."""
    deadline = time.monotonic() + seconds
    while True:
        row = admin.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                            " AND datname = %s AND query LIKE %s", (database, f"%.{table}%")).fetchone()
        if row or time.monotonic() >= deadline:
            return row[0] if row else None
        time.sleep(0.2)
