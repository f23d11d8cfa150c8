"""Handlers: schedule a notification once per cause, record delivery outcomes, reads and configuration."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date, datetime

import psycopg

from shared.errors import ConcurrencyError, DomainError, NotFound
from shared.unit_of_work import UnitOfWork
from services.notify.events import public_url
from services.notify.events import (
    DeliveryAttemptFailed, DeliveryFailed, DeliveryRetried, NotificationRead, NotificationScheduled, NotificationSent,
    RecipientConfigured, WebhookConfigured, WebhookRemoved)
from services.notify.recipients import Directory, plan_deliveries
from services.notify.rules.model import Reminder

NOTIFICATION_NAMESPACE = uuid.UUID("8d8c3f57-4f0e-4d6b-bb1c-6a3c1d2e9f40")


class NotifyRuleBroken(DomainError):
    """A rule of the notify service forbids this."""


def notification_id_for(tenant_id: str, dedupe_key: str) -> str:
    """The same cause always gets the same id, so its stream can be created only once."""
    return str(uuid.uuid5(NOTIFICATION_NAMESPACE, f"{tenant_id}|{dedupe_key}"))


def notification_stream(notification_id: str) -> str:
    return f"notification-{notification_id}"


def locked_version(conn: psycopg.Connection, stream_id: str) -> int:
    """The stream's version, with its head row locked so that nobody appends between our read and write."""
    head = conn.execute("SELECT version FROM streams WHERE stream_id = %s FOR UPDATE", (stream_id,)).fetchone()
    if head is None:
        raise NotFound("本局没有这条提醒")
    return head["version"]


def schedule(uow: UnitOfWork, reminder: Reminder, directory: Directory, as_of: date) -> str | None:
    """Record the notification for a reminder unless its cause was notified before; return its id if new.

    Two guards make it once per cause: the notification's id (and so its stream) is derived from the
    dedupe key, and the projection's unique (tenant, dedupe key). A concurrent scheduler that loses
    either race writes nothing; the savepoint keeps the caller's transaction usable.
    """
    tenant_id = directory.tenant_id
    if uow.conn.execute("SELECT 1 FROM notifications WHERE tenant_id = %s AND dedupe_key = %s",
                        (tenant_id, reminder.dedupe_key)).fetchone():
        return None
    notification_id = notification_id_for(tenant_id, reminder.dedupe_key)
    deliveries = [d.to_dict(notification_id) for d in plan_deliveries(reminder, directory)]
    scheduled = NotificationScheduled(
        notification_id=notification_id, rule=reminder.rule, dedupe_key=reminder.dedupe_key, subject=reminder.subject,
        period=reminder.period, branch_id=reminder.branch_id, title=reminder.title, body=reminder.body,
        cause={"records": [{"type": kind, "id": record_id} for kind, record_id in reminder.records],
               "as_of": as_of.isoformat()},
        details=reminder.details, deliveries=deliveries, due_on=reminder.due_on)
    now = uow.context.recorded_at
    in_app = [NotificationSent(notification_id, d["delivery_id"], "inbox", d["target"], 1, now)
              for d in deliveries if d["channel"] == "inbox"]
    try:
        with uow.conn.transaction():
            uow.record(notification_stream(notification_id), 0, [scheduled, *in_app], branch_id=reminder.branch_id,
                       tenant_id=tenant_id)
    except (ConcurrencyError, psycopg.errors.UniqueViolation):
        return None
    return notification_id


def record_sent(uow: UnitOfWork, delivery: dict, version: int, sent_at: datetime) -> None:
    event = NotificationSent(delivery["notification_id"], delivery["delivery_id"], delivery["channel"],
                             delivery["target"], delivery["attempts"] + 1, sent_at)
    _record_delivery(uow, delivery, version, event)


def record_attempt_failed(uow: UnitOfWork, delivery: dict, version: int, error: str, retry_at: datetime) -> None:
    event = DeliveryAttemptFailed(delivery["notification_id"], delivery["delivery_id"], delivery["channel"],
                                  delivery["target"], delivery["attempts"] + 1, error[:1000], retry_at)
    _record_delivery(uow, delivery, version, event)


def record_failed(uow: UnitOfWork, delivery: dict, version: int, error: str, failed_at: datetime) -> None:
    event = DeliveryFailed(delivery["notification_id"], delivery["delivery_id"], delivery["channel"],
                           delivery["target"], delivery["attempts"] + 1, error[:1000], failed_at)
    _record_delivery(uow, delivery, version, event)


def _record_delivery(uow: UnitOfWork, delivery: dict, version: int, event) -> None:
    uow.record(notification_stream(delivery["notification_id"]), version, [event], branch_id=delivery["branch_id"],
               tenant_id=delivery["tenant_id"])


def mark_read(uow: UnitOfWork, notification: dict, reader: str) -> dict:
    """Mark a notification read once; reading it again changes nothing."""
    stream = notification_stream(notification["notification_id"])
    version = locked_version(uow.conn, stream)
    if notification["read_at"] is None:
        recorded = uow.record(stream, version, [NotificationRead(notification["notification_id"], reader,
                                                                 uow.context.recorded_at)],
                              branch_id=notification["branch_id"])
        version = recorded[-1].stream_version
    return {"id": notification["notification_id"], "version": version}


def retry_failed(uow: UnitOfWork, notification: dict, failed_ids: list[str]) -> dict:
    if not failed_ids:
        raise NotifyRuleBroken("这条提醒没有发送失败的投递", code="nothing_failed")
    stream = notification_stream(notification["notification_id"])
    version = locked_version(uow.conn, stream)
    recorded = uow.record(stream, version, [DeliveryRetried(notification["notification_id"], failed_ids,
                                                            uow.context.actor.user)],
                          branch_id=notification["branch_id"])
    return {"id": notification["notification_id"], "version": recorded[-1].stream_version}


def configure_recipient(uow: UnitOfWork, audience: str, name: str | None, emails: list[str],
                        channels: list[str]) -> dict:
    stream = f"recipient-{uow.context.tenant_id}-{audience}"
    version = _version(uow, stream)
    recorded = uow.record(stream, version, [RecipientConfigured(audience, name, emails, channels)],
                          branch_id=audience.split(":", 1)[1] if audience.startswith("secretary:") else None)
    return {"audience": audience, "version": recorded[-1].stream_version}


def configure_webhook(uow: UnitOfWork, webhook_id: str, url: str, secret: str, rules: list[str]) -> dict:
    """Record the receiver with the public part of its URL; the whole URL and the secret stay in notify's table."""
    stream = f"webhook-{webhook_id}"
    version = _version(uow, stream)
    recorded = uow.record(stream, version, [WebhookConfigured(webhook_id, public_url(url), rules)])
    uow.conn.execute("INSERT INTO webhook_secrets (tenant_id, webhook_id, secret, url) VALUES (%s, %s, %s, %s)"
                     " ON CONFLICT (webhook_id) DO UPDATE SET secret = EXCLUDED.secret, url = EXCLUDED.url",
                     (uow.context.tenant_id, webhook_id, secret, url))
    return {"id": webhook_id, "version": recorded[-1].stream_version, "url": public_url(url)}


def secret_fingerprint(key: bytes, secret: str) -> str:
    """Which secret is configured, shown to admins: an HMAC under the platform's key, useless for guessing it."""
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def remove_webhook(uow: UnitOfWork, webhook_id: str) -> dict:
    stream = f"webhook-{webhook_id}"
    version = _version(uow, stream)
    if version == 0:
        raise NotFound("本局没有这个推送接口")
    recorded = uow.record(stream, version, [WebhookRemoved(webhook_id)])
    uow.conn.execute("DELETE FROM webhook_secrets WHERE webhook_id = %s", (webhook_id,))
    return {"id": webhook_id, "version": recorded[-1].stream_version}


def _version(uow: UnitOfWork, stream: str) -> int:
    head = uow.conn.execute("SELECT version FROM streams WHERE stream_id = %s FOR UPDATE", (stream,)).fetchone()
    return 0 if head is None else head["version"]

