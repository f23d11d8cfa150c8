"""A rebuild whose projection keeps bureaus apart fills the shadow by bureau, a process per share of them
(``shared.rebuild.BureauFill``): the rows are those one process leaves, every event of the store is projected once —
an append that commits after the processes took their snapshot included — and a process that fails fails the rebuild
and leaves the live tables as they were."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import Counter
from datetime import datetime, UTC

import pytest

from services.notify import handlers
from services.notify.bootstrap import bootstrap
from services.notify.commands import ConfigureWebhook
from services.notify.delivery import DeliveryWorker
from services.notify.events import registry
from services.notify.projections import TABLES, project, project_batch
from services.notify.scheduler import Scheduler
from shared import db
from shared.envelope import Actor
from services.registry import SERVICES
from shared.rebuild import ReadModel, StoreFeed, WriteBehind, rebuild
from shared.unit_of_work import CommandContext
from tests.fixtures import activities_app  # noqa: F401 — fixtures are found by name
from tests.integration.activities_support import seed_bureau
from tests.integration.notify_support import (  # noqa: F401 — fixtures
    EventFactory, FixedClock, as_records, conn, delivery_settings, smtp_server)
from tests.integration.test_notify_followups import add_webhook
from tests.integration.test_notify_pipeline import BIRTHDAYS, give_email, runner
from tests.integration.test_rebuild_matches_live import activities_history, rows_of
from tests.support import new_id


def bureaus_history(conn, settings, smtp_server) -> list[str]:
    """Two bureaus with members, contacts, a webhook each, reminders scheduled and sent."""
    tenants = []
    for _ in range(2):
        factory = EventFactory()
        _branch, events, (zhao, _li, _wang) = factory.branch_with_members(BIRTHDAYS)
        runner(settings).process(conn, as_records(events))
        give_email(conn, settings, factory.tenant_id, f"member:{zhao}", "zhao@example.org")
        add_webhook(conn, settings, factory.tenant_id, "http://127.0.0.1:9/gone", "a-secret-for-rebuilding", [])
        tenants.append(factory.tenant_id)
    clock = FixedClock(datetime(2025, 9, 30, 1, tzinfo=UTC))
    Scheduler(bootstrap(settings, delivery_settings(0), clock=clock)).run_once(conn, tenants)
    DeliveryWorker(bootstrap(settings, delivery_settings(smtp_server.port, max_attempts=1), clock=clock)).deliver_due(
        conn)
    return tenants


def state(conn) -> dict[str, list]:
    return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in TABLES}


def recording(path, inner=project_batch, held=None):
    """notify's batch projection, noting each event it projects in a file (the fill's processes are forked); while
    the file ``held`` is missing, slowed down so that the test acts while the processes are still filling."""
    def projected(connection, events, fill=None):
        events = list(events)
        if held is not None and not held.exists():
            time.sleep(0.05)
        with open(path, "a", encoding="utf-8") as noted:
            noted.write("".join(f"{envelope.event_id}\n" for envelope, _event in events))
        inner(connection, events, fill)
    projected.by_bureau = True
    return projected


def projected_once_each(conn, path) -> None:
    noted = Counter(path.read_text(encoding="utf-8").split())
    stored = {row["event_id"] for row in conn.execute("SELECT event_id::text FROM events").fetchall()}
    assert set(noted) == stored
    assert {event_id for event_id, times in noted.items() if times != 1} == set()


def test_a_store_of_several_bureaus_filled_by_bureau_leaves_the_rows_one_process_leaves(
        conn, notify_settings, smtp_server, tmp_path, caplog):
    bureaus_history(conn, notify_settings, smtp_server)
    before = state(conn)
    assert before["notifications"] and before["deliveries"] and before["webhooks"]
    for processes in (2, 1):
        noted = tmp_path / f"projected-{processes}"
        with caplog.at_level(logging.INFO, logger="shared.rebuild"):
            caplog.clear()
            rebuild(notify_settings.owner_dsn, ReadModel(tables=TABLES),
                    StoreFeed(registry, project, recording(noted), processes=processes), batch=50)
        assert any("filling by bureau" in message for message in caplog.messages) == (processes > 1)
        assert state(conn) == before, processes
        projected_once_each(conn, noted)


def test_an_append_that_commits_after_the_snapshot_is_projected_once_by_a_later_round(
        conn, notify_settings, smtp_server, tmp_path):
    tenants = bureaus_history(conn, notify_settings, smtp_server)
    with db.connect(notify_settings.owner_dsn) as late:  # a transaction of its own, left open
        context = CommandContext(Actor("admin", "bureau_admin"), tenants[0], new_id(), None, datetime.now(UTC))
        uow = bootstrap(notify_settings, delivery_settings(0)).unit_of_work(late, context)
        handlers.configure_webhook(uow, ConfigureWebhook(new_id(), "http://127.0.0.1:9/late", "a-late-secret", []))
        position = late.execute("SELECT max(position) AS p FROM events").fetchone()["p"]
        add_webhook(conn, notify_settings, tenants[1], "http://127.0.0.1:9/after", "a-secret-after", [])
        assert conn.execute("SELECT max(position) AS p FROM events").fetchone()["p"] > position  # committed above it
        committed, stored = threading.Event(), conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"]
        noted, seen, released = tmp_path / "projected", [], tmp_path / "released"

        def commit_once(done: int, total: int) -> None:  # the processes have their snapshot by the first progress
            if not committed.is_set():
                late.commit()
                committed.set()
                seen.append(len(noted.read_text(encoding="utf-8").split()))
                released.touch()

        rebuild(notify_settings.owner_dsn, ReadModel(tables=TABLES),
                StoreFeed(registry, project, recording(noted, held=released), processes=2), batch=2,
                progress=commit_once)
        assert committed.is_set()
        assert seen[0] < stored / 2  # the commit came while the processes were filling
    rebuilt = state(conn)
    assert "http://127.0.0.1:9/late" in {row["url"] for row in rebuilt["webhooks"]}
    projected_once_each(conn, noted)
    # what the rebuild left is what the live projection holds after replaying nothing: rebuilt again, the same rows
    rebuild(notify_settings.owner_dsn, ReadModel(tables=TABLES), StoreFeed(registry, project, project_batch,
                                                                           processes=1))
    assert state(conn) == rebuilt


def test_a_bureaus_process_that_fails_fails_the_rebuild_and_the_live_tables_stay(
        conn, notify_settings, smtp_server, tmp_path):
    doomed = bureaus_history(conn, notify_settings, smtp_server)[1]
    before = state(conn)

    def broken(connection, events, fill=None):
        events = list(events)
        if any(envelope.tenant_id == doomed for envelope, _event in events):
            raise ValueError("a projection that breaks on one bureau")
        project_batch(connection, events, fill)
    broken.by_bureau = True

    with pytest.raises(RuntimeError, match="a projection that breaks on one bureau"):
        rebuild(notify_settings.owner_dsn, ReadModel(tables=TABLES), StoreFeed(registry, project, broken, processes=2))
    assert state(conn) == before
    schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'").fetchall()
    assert schemas == []  # the shadow dropped


def test_activities_filled_by_bureau_add_the_participants_key_once_when_corrections_first_need_it(
        activities_app, activities_settings, caplog, tmp_path):  # noqa: F811
    """Two bureaus' activities, recorded and corrected, replayed one event a batch by two processes: a correction
    replaces its activity's participants, which needs the key the fill leaves for later — whichever process needs
    it first adds it, the other finds it there; the rows are those the commands wrote."""
    from services.activities import projections
    bureaus = [seed_bureau(activities_settings) for _ in range(2)]
    for bureau in bureaus:
        activities_history(activities_app.test_client(), bureau)
    tenants = [bureau.tenant for bureau in bureaus]
    live = rows_of(activities_settings, projections.TABLES, tenants)
    service = SERVICES.service("activities", activities_settings)
    corrected = tmp_path / "corrected"

    def marking(connection, events, fill=None):  # notes that a process has projected a correction
        events = list(events)
        projections.project_batch(connection, events, fill)
        if any(type(event).__name__ == "ActivityCorrected" for _envelope, event in events):
            corrected.touch()
    marking.by_bureau, marking.writes_behind = True, True

    keyed = []
    with db.connect(activities_settings.owner_dsn, autocommit=True) as watcher, \
            caplog.at_level(logging.INFO, logger="shared.rebuild"):
        def key_in_shadow() -> bool:
            return watcher.execute(
                "SELECT count(*) AS n FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'p'",
                (f"{service.read_model.shadow}.activity_participants",)).fetchone()["n"] == 1

        def progress(done: int, total: int) -> None:
            """At the first report, the rebuild's own thread waits here: only a process of the fill can add the key
            meanwhile, once it has projected a correction."""
            if keyed:
                return
            waited = time.monotonic()
            while not (corrected.exists() and key_in_shadow()) and time.monotonic() - waited < 20:
                time.sleep(0.05)
            keyed.append(key_in_shadow())

        rebuild(activities_settings.owner_dsn, service.read_model, StoreFeed(
            registry=service.contracts, project=projections.project, project_batch=marking, processes=2), batch=1,
            progress=progress)
    assert any("filling by bureau" in message for message in caplog.messages)
    assert keyed == [True]  # added by a process of the fill, for the first correction it replayed
    assert rows_of(activities_settings, projections.TABLES, tenants) == live
    with db.connect(activities_settings.owner_dsn) as conn:
        keys = conn.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'activity_participants'::regclass"
                            " AND contype IN ('p', 'f') ORDER BY conname").fetchall()
    assert [key["conname"] for key in keys] == ["activity_participants_activity_id_fkey", "activity_participants_pkey"]


def test_a_batch_written_behind_that_postgresql_cancels_for_a_deadlock_is_written_again(notify_settings, caplog):
    """Two writers taking two tables in opposite orders: PostgreSQL cancels one of them, which writes its batch
    again once the other is done; both batches are written."""
    first, second = f"deadlock_{new_id()[:8]}_a", f"deadlock_{new_id()[:8]}_b"
    with db.connect(notify_settings.owner_dsn, autocommit=True) as one, \
            db.connect(notify_settings.owner_dsn, autocommit=True) as other:
        for table in (first, second):
            one.execute(f"CREATE TABLE {table} (writer text)")
        try:
            def batch(tables: tuple[str, str], writer: str) -> list:
                return [(f"LOCK TABLE {tables[0]} IN ACCESS EXCLUSIVE MODE", None), ("SELECT pg_sleep(0.3)", None),
                        (f"LOCK TABLE {tables[1]} IN ACCESS EXCLUSIVE MODE", None),
                        (f"INSERT INTO {first} VALUES (%s)", (writer,))]
            writers = [WriteBehind(one), WriteBehind(other)]
            with caplog.at_level(logging.INFO, logger="shared.rebuild"):
                writers[0].put(batch((first, second), "one"))
                writers[1].put(batch((second, first), "other"))
                for writer in writers:
                    writer.drain()
                    writer.close()
            assert any("deadlock" in message for message in caplog.messages)
            assert sorted(row["writer"] for row in one.execute(f"SELECT writer FROM {first}")) == ["one", "other"]
        finally:
            for table in (first, second):
                one.execute(f"DROP TABLE {table}")


def test_a_rebuild_stopped_from_outside_the_feed_leaves_no_process_nor_snapshot_behind(
        conn, notify_settings, smtp_server, tmp_path):
    """A rebuild can end while the processes of a fill by bureau still run (here its progress report fails): they
    are stopped, the exported snapshot's transaction ended, the shadow dropped."""
    bureaus_history(conn, notify_settings, smtp_server)
    before = state(conn)

    def stopping(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(notify_settings.owner_dsn, ReadModel(tables=TABLES), StoreFeed(
            registry, project, recording(tmp_path / "projected", held=tmp_path / "never"), processes=2), batch=2,
            progress=stopping)
    assert [process.name for process in multiprocessing.active_children()] == []
    assert conn.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state LIKE 'idle in transaction%'").fetchone()["n"] == 0
    assert conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'").fetchall() == []
    assert state(conn) == before
