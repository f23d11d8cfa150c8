"""Notify's own read models (notifications, deliveries, recipients, webhooks), written with its events."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from shared.envelope import Envelope
from services.notify.events import (
    DeliveryAttemptFailed, DeliveryFailed, DeliveryRetried, NotificationRead, NotificationScheduled, NotificationSent,
    RecipientConfigured, WebhookConfigured, WebhookRemoved)

DELIVERIES_CHANNEL = "branchwork_notify_deliveries"
# What ``branchwork rebuild notify`` replays from notify's own store. The ``src_*`` projections are rebuilt
# from Kafka (the sources consumer), webhook secrets and the scheduler's run log are not facts.
TABLES = ("deliveries", "notifications", "recipients", "webhooks")


def project(conn: psycopg.Connection, envelope: Envelope, event) -> None:
    """Apply one of notify's own events to its read models, in the transaction that recorded it."""
    handler = HANDLERS.get(type(event))
    if handler is not None:
        handler(conn, envelope, event)


def _scheduled(conn, envelope: Envelope, e: NotificationScheduled) -> None:
    # The unique (tenant_id, dedupe_key) makes a second decision for the same cause fail here.
    conn.execute(
        "INSERT INTO notifications (tenant_id, notification_id, rule, dedupe_key, subject, period, branch_id, title,"
        " body, cause, details, due_on, scheduled_at, version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s)",
        (envelope.tenant_id, e.notification_id, e.rule, e.dedupe_key, e.subject, e.period, e.branch_id, e.title,
         e.body, Jsonb(e.cause), Jsonb(e.details), e.due_on, envelope.recorded_at, envelope.stream_version))
    for delivery in e.deliveries:
        conn.execute(
            "INSERT INTO deliveries (tenant_id, delivery_id, notification_id, channel, audience, recipient, target,"
            " note, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (envelope.tenant_id, delivery["delivery_id"], e.notification_id, delivery["channel"], delivery["audience"],
             delivery.get("recipient"), delivery["target"], delivery.get("note"), envelope.recorded_at))
    _refresh(conn, envelope, e.notification_id)
    conn.execute("SELECT pg_notify(%s, %s)", (DELIVERIES_CHANNEL, e.notification_id))


def _sent(conn, envelope: Envelope, e: NotificationSent) -> None:
    conn.execute("UPDATE deliveries SET status = 'sent', attempts = %s, sent_at = %s, last_error = NULL"
                 " WHERE delivery_id = %s", (e.attempt, e.sent_at, e.delivery_id))
    _refresh(conn, envelope, e.notification_id)


def _attempt_failed(conn, envelope: Envelope, e: DeliveryAttemptFailed) -> None:
    conn.execute("UPDATE deliveries SET attempts = %s, last_error = %s, next_attempt_at = %s WHERE delivery_id = %s",
                 (e.attempt, e.error, e.retry_at, e.delivery_id))
    _refresh(conn, envelope, e.notification_id)


def _failed(conn, envelope: Envelope, e: DeliveryFailed) -> None:
    conn.execute("UPDATE deliveries SET status = 'failed', attempts = %s, last_error = %s, failed_at = %s"
                 " WHERE delivery_id = %s", (e.attempts, e.error, e.failed_at, e.delivery_id))
    _refresh(conn, envelope, e.notification_id)


def _retried(conn, envelope: Envelope, e: DeliveryRetried) -> None:
    conn.execute("UPDATE deliveries SET status = 'pending', attempts = 0, failed_at = NULL, next_attempt_at = %s"
                 " WHERE delivery_id = ANY(%s) AND status = 'failed'", (envelope.recorded_at, list(e.delivery_ids)))
    _refresh(conn, envelope, e.notification_id)
    conn.execute("SELECT pg_notify(%s, %s)", (DELIVERIES_CHANNEL, e.notification_id))


def _read(conn, envelope: Envelope, e: NotificationRead) -> None:
    conn.execute("UPDATE notifications SET read_at = %s, read_by = %s, version = %s WHERE notification_id = %s",
                 (e.read_at, e.read_by, envelope.stream_version, e.notification_id))


def _refresh(conn, envelope: Envelope, notification_id: str) -> None:
    """A notification is pending while a delivery is, failed if one failed, else sent."""
    conn.execute(
        "UPDATE notifications n SET version = %s, status = CASE"
        " WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.notification_id AND d.status = 'pending')"
        " THEN 'pending'"
        " WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.notification_id AND d.status = 'failed')"
        " THEN 'failed' ELSE 'sent' END WHERE n.notification_id = %s", (envelope.stream_version, notification_id))


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


HANDLERS = {
    NotificationScheduled: _scheduled, NotificationSent: _sent, DeliveryAttemptFailed: _attempt_failed,
    DeliveryFailed: _failed, DeliveryRetried: _retried, NotificationRead: _read, RecipientConfigured: _recipient,
    WebhookConfigured: _webhook, WebhookRemoved: _webhook_removed,
}
