"""Notify's own read models (notifications, deliveries, recipients, webhooks), written with its events.

A notification's rows are folded in memory from the events of a run and written once each, through a
``RowWriter``: a command writes one event's rows, a rebuild a whole batch's, with the same statements and the same
rule for a notification's status (``status_of``). An event about a notification recorded before the run reads its
rows first (one query for the run), so the fold always starts from the whole notification.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from shared.envelope import Envelope
from shared.rowwriter import Fill, RowSet, RowWriter
from services.notify.events import (
    DeliveryAttemptFailed, DeliveryFailed, DeliveryRetried, NotificationRead, NotificationScheduled, NotificationSent,
    RecipientConfigured, WebhookConfigured, WebhookRemoved)

DELIVERIES_CHANNEL = "branchwork_notify_deliveries"
# What ``branchwork rebuild notify`` replays from notify's own store. The ``src_*`` projections are rebuilt
# from Kafka (the sources consumer), webhook secrets and the scheduler's run log are not facts.
TABLES = ("deliveries", "notifications", "recipients", "webhooks")

NOTIFICATIONS = RowSet(
    "notifications", ("tenant_id", "notification_id", "rule", "dedupe_key", "subject", "period", "branch_id", "title",
                      "body", "cause", "details", "due_on", "scheduled_at", "status", "read_at", "read_by", "version"),
    # Only (notification_id) is an arbiter: a second decision for the same cause under another id still fails on
    # the unique (tenant_id, dedupe_key), the guard that makes a notification once per cause.
    "(notification_id) DO UPDATE SET status = EXCLUDED.status, read_at = EXCLUDED.read_at,"
    " read_by = EXCLUDED.read_by, version = EXCLUDED.version WHERE notifications.version < EXCLUDED.version",
    key="notification_id", positional=True, json=("cause", "details"),
    types={"due_on": "date", "scheduled_at": "timestamptz", "read_at": "timestamptz", "version": "integer"})
DELIVERIES = RowSet(
    "deliveries", ("tenant_id", "delivery_id", "notification_id", "channel", "audience", "recipient", "target", "note",
                   "status", "attempts", "next_attempt_at", "last_error", "sent_at", "failed_at"),
    "(delivery_id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,"
    " next_attempt_at = EXCLUDED.next_attempt_at, last_error = EXCLUDED.last_error, sent_at = EXCLUDED.sent_at,"
    " failed_at = EXCLUDED.failed_at",
    key="delivery_id", positional=True,
    types={"attempts": "integer", "next_attempt_at": "timestamptz", "sent_at": "timestamptz",
           "failed_at": "timestamptz"})
ROW_SETS = (NOTIFICATIONS, DELIVERIES)
"""A notification before its deliveries (their foreign key)."""


def status_of(deliveries: Iterable[dict]) -> str:
    """A notification is pending while a delivery is, failed if one failed, else sent."""
    statuses = {delivery["status"] for delivery in deliveries}
    return "pending" if "pending" in statuses else "failed" if "failed" in statuses else "sent"


class Notification:
    """One notification's rows as a run of events leaves them, and which of them changed."""

    def __init__(self, row: dict, deliveries: dict[str, dict]) -> None:
        self.row = row
        self.deliveries = deliveries  # by delivery id, in the order they were scheduled
        self.changed: dict[str, None] = {}  # the delivery ids to write

    def delivery(self, delivery_id: str) -> dict | None:
        """The delivery to change (marked to be written), or None for one this notification does not have, which an
        event then leaves as it is."""
        delivery = self.deliveries.get(delivery_id)
        if delivery is not None:
            self.changed[delivery_id] = None
        return delivery

    def rows(self) -> tuple[dict, list[dict]]:
        self.row["status"] = status_of(self.deliveries.values())
        return self.row, [self.deliveries[delivery_id] for delivery_id in self.changed]


def project(conn: psycopg.Connection, envelope: Envelope, event) -> None:
    """Apply one of notify's own events to its read models, in the transaction that recorded it."""
    project_batch(conn, ((envelope, event),))


def project_batch(conn: psycopg.Connection, events: Iterable[tuple[Envelope, Any]], fill: Fill | None = None) -> None:
    """Write the rows a run of events changes, as if one event after another: what a rebuild replays (with
    ``fill``, into the empty tables of a rebuild). It reads the notifications the run changes first, so a rebuild
    never writes it behind (no ``writes_behind``)."""
    events = list(events)
    notes = _recorded_before(conn, events)
    wake = fold(events, notes)
    for envelope, event in events:
        if (apply := OTHERS.get(type(event))) is not None:  # tables of their own: the order between them is kept
            apply(conn, envelope, event)
    writer = RowWriter(conn, ROW_SETS, fill)
    for note in notes.values():
        row, deliveries = note.rows()
        writer.add(NOTIFICATIONS, row)
        for delivery in deliveries:
            writer.add(DELIVERIES, delivery)
    writer.flush()
    if wake is not None:  # delivery workers wait on a channel: one wake-up a run is enough
        conn.execute("SELECT pg_notify(%s, %s)", (DELIVERIES_CHANNEL, wake))


# Every row an event writes is its bureau's (notifications, deliveries, recipients and webhooks carry the bureau, keyed
# by ids made within it) and the projection reads nothing of another bureau's: a rebuild fills by bureau, a process
# per core (shared/rebuild.py).
project_batch.by_bureau = True


def fold(events: Iterable[tuple[Envelope, Any]], notes: dict[str, Notification]) -> str | None:
    """Apply a run's notification events to ``notes`` (by id: those recorded before the run), adding those it
    schedules; an event about a notification not there changes nothing. Returns the id of the last notification
    the run gave deliveries to make (scheduled or retried), if any."""
    wake = None
    for envelope, event in events:
        kind = type(event)
        if kind is NotificationScheduled:
            notes[event.notification_id] = _scheduled(envelope, event)
            wake = event.notification_id
        elif kind in FOLDS and (note := notes.get(event.notification_id)) is not None:
            FOLDS[kind](note, envelope, event)
            note.row["version"] = envelope.stream_version
            if kind is DeliveryRetried:
                wake = event.notification_id
    return wake


def _recorded_before(conn: psycopg.Connection, events: list[tuple[Envelope, Any]]) -> dict[str, Notification]:
    """The notifications the events change that were recorded before them, read once for the run."""
    scheduled = {event.notification_id for _, event in events if type(event) is NotificationScheduled}
    wanted = sorted({event.notification_id for _, event in events
                     if type(event) in FOLDS and event.notification_id not in scheduled})
    if not wanted:
        return {}
    notes: dict[str, Notification] = {}
    width = len(NOTIFICATIONS.columns)
    with conn.cursor(row_factory=tuple_row) as cur:  # one round trip: a row per delivery, its notification's first
        for row in cur.execute(_RECORDED_BEFORE, (wanted,)).fetchall():
            note = notes.get(row[1])
            if note is None:
                note = notes[row[1]] = Notification(dict(zip(NOTIFICATIONS.columns, row[:width])), {})
            if row[width + 1] is not None:  # a notification without deliveries has one row, of NULLs past its own
                note.deliveries[row[width + 1]] = dict(zip(DELIVERIES.columns, row[width:]))
    return notes


_RECORDED_BEFORE = (
    f"SELECT {', '.join('n.' + column for column in NOTIFICATIONS.columns)},"
    f" {', '.join('d.' + column for column in DELIVERIES.columns)}"
    " FROM notifications n LEFT JOIN deliveries d ON d.notification_id = n.notification_id"
    " WHERE n.notification_id = ANY(%s) ORDER BY n.notification_id, d.delivery_id")


def _scheduled(envelope: Envelope, e: NotificationScheduled) -> Notification:
    row = {"tenant_id": envelope.tenant_id, "notification_id": e.notification_id, "rule": e.rule,
           "dedupe_key": e.dedupe_key, "subject": e.subject, "period": e.period, "branch_id": e.branch_id,
           "title": e.title, "body": e.body, "cause": e.cause, "details": e.details, "due_on": e.due_on,
           "scheduled_at": envelope.recorded_at, "status": "pending", "read_at": None, "read_by": None,
           "version": envelope.stream_version}
    deliveries = {d["delivery_id"]: {
        "tenant_id": envelope.tenant_id, "delivery_id": d["delivery_id"], "notification_id": e.notification_id,
        "channel": d["channel"], "audience": d["audience"], "recipient": d.get("recipient"), "target": d["target"],
        "note": d.get("note"), "status": "pending", "attempts": 0, "next_attempt_at": envelope.recorded_at,
        "last_error": None, "sent_at": None, "failed_at": None} for d in e.deliveries}
    note = Notification(row, deliveries)
    note.changed = dict.fromkeys(deliveries)
    return note


def _sent(note: Notification, envelope: Envelope, e: NotificationSent) -> None:
    if (delivery := note.delivery(e.delivery_id)) is not None:
        delivery.update(status="sent", attempts=e.attempt, sent_at=e.sent_at, last_error=None)


def _attempt_failed(note: Notification, envelope: Envelope, e: DeliveryAttemptFailed) -> None:
    if (delivery := note.delivery(e.delivery_id)) is not None:
        delivery.update(attempts=e.attempt, last_error=e.error, next_attempt_at=e.retry_at)


def _failed(note: Notification, envelope: Envelope, e: DeliveryFailed) -> None:
    if (delivery := note.delivery(e.delivery_id)) is not None:
        delivery.update(status="failed", attempts=e.attempts, last_error=e.error, failed_at=e.failed_at)


def _retried(note: Notification, envelope: Envelope, e: DeliveryRetried) -> None:
    for delivery_id in e.delivery_ids:
        delivery = note.deliveries.get(delivery_id)
        if delivery is not None and delivery["status"] == "failed":
            note.delivery(delivery_id).update(status="pending", attempts=0, failed_at=None,
                                              next_attempt_at=envelope.recorded_at)


def _read(note: Notification, envelope: Envelope, e: NotificationRead) -> None:
    note.row.update(read_at=e.read_at, read_by=e.read_by)


def _recipient(conn, envelope: Envelope, e: RecipientConfigured) -> None:
    conn.execute("INSERT INTO recipients (tenant_id, audience, name, emails, channels) VALUES (%s, %s, %s, %s, %s)"
                 " ON CONFLICT (tenant_id, audience) DO UPDATE SET name = EXCLUDED.name, emails = EXCLUDED.emails,"
                 " channels = EXCLUDED.channels",
                 (envelope.tenant_id, e.audience, e.name, list(e.emails), list(e.channels)))


def _webhook(conn, envelope: Envelope, e: WebhookConfigured) -> None:
    conn.execute("INSERT INTO webhooks (tenant_id, webhook_id, url, rules) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (webhook_id) DO UPDATE SET url = EXCLUDED.url, rules = EXCLUDED.rules, removed = false",
                 (envelope.tenant_id, e.webhook_id, e.url, list(e.rules)))


def _webhook_removed(conn, envelope: Envelope, e: WebhookRemoved) -> None:
    conn.execute("UPDATE webhooks SET removed = true WHERE webhook_id = %s", (e.webhook_id,))


FOLDS = {NotificationSent: _sent, DeliveryAttemptFailed: _attempt_failed, DeliveryFailed: _failed,
         DeliveryRetried: _retried, NotificationRead: _read}
OTHERS = {RecipientConfigured: _recipient, WebhookConfigured: _webhook, WebhookRemoved: _webhook_removed}
