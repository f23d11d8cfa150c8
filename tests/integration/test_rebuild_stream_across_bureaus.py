"""A rebuild filling by bureau meets a stream with events of two bureaus (its own module: the store keeps that stream,
and the other tests of a fill by bureau want bureaus that share nothing)."""

from __future__ import annotations

import logging
from datetime import datetime, UTC

from services.notify import handlers
from services.notify.bootstrap import bootstrap
from services.notify.commands import MarkRead
from services.notify.events import registry
from services.notify.projections import TABLES, project
from shared.envelope import Actor
from shared.rebuild import ReadModel, StoreFeed, rebuild
from shared.unit_of_work import CommandContext
from tests.integration.notify_support import conn, delivery_settings, smtp_server  # noqa: F401 — fixtures
from tests.integration.test_rebuild_by_bureau import bureaus_history, recording, state
from tests.support import new_id


def test_a_stream_with_events_of_two_bureaus_is_found_and_the_shadow_filled_again_in_one_process(
        conn, notify_settings, smtp_server, tmp_path, caplog):
    """Commands reach only their bureau's streams (row-level security); a worker on the owner's connection could
    append to another bureau's. Split between two processes, such a stream would be projected wrong: the process that
    meets it out of order says so, and the fill starts again in one process."""
    first, second = bureaus_history(conn, notify_settings, smtp_server)
    inbox = conn.execute("SELECT notification_id, audience FROM deliveries WHERE channel = 'inbox' AND tenant_id = %s"
                         " LIMIT 1", (first,)).fetchone()
    context = CommandContext(Actor("worker", "system"), second, new_id(), None, datetime.now(UTC))
    with conn.transaction():
        uow = bootstrap(notify_settings, delivery_settings(0)).unit_of_work(conn, context)
        handlers.mark_read(uow, MarkRead(inbox["notification_id"], (inbox["audience"],)))
    before = state(conn)
    noted = tmp_path / "projected"
    bureaus = conn.execute("SELECT count(DISTINCT tenant_id) AS n FROM events").fetchone()["n"]
    with caplog.at_level(logging.INFO, logger="shared.rebuild"):  # a process for each bureau: the two apart
        rebuild(notify_settings.owner_dsn, ReadModel(tables=TABLES),
                StoreFeed(registry, project, recording(noted), processes=bureaus), batch=2)
    assert any("has events of more than one bureau" in message for message in caplog.messages)
    assert state(conn) == before
