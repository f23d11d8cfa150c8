"""The notify service's rules, pure: which events a command records. No I/O and no clock (``now`` comes in).

What is due is decided by the reminder rules (``rules/``); here: a notification's id and events once a
reminder is due, marking it read, retrying what failed, a delivery's outcome, how audiences and
receivers are configured.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date, datetime

from shared.errors import DomainError
from services.notify.events import (
    DeliveryAttemptFailed, DeliveryFailed, DeliveryRetried, NotificationRead, NotificationScheduled, NotificationSent,
    RecipientConfigured, WebhookConfigured, WebhookRemoved, public_url)
from services.notify.recipients import Directory, plan_deliveries
from services.notify.rules.model import Reminder

NOTIFICATION_NAMESPACE = uuid.UUID("8d8c3f57-4f0e-4d6b-bb1c-6a3c1d2e9f40")
ERROR_LENGTH = 1000  # a receiver's error kept on the record, cut to this many characters


class NotifyRuleBroken(DomainError):
    """A rule of the notify service forbids this."""


def refuse(message: str, code: str, field: str | None = None) -> NotifyRuleBroken:
    return NotifyRuleBroken(message, code=code, field=field)


def notification_id_for(tenant_id: str, dedupe_key: str) -> str:
    """The same cause always gets the same id, so its stream can be created only once."""
    return str(uuid.uuid5(NOTIFICATION_NAMESPACE, f"{tenant_id}|{dedupe_key}"))


def schedule(reminder: Reminder, directory: Directory, as_of: date, now: datetime) -> list:
    """The notification of a due reminder, and its in-app deliveries, sent as it is recorded."""
    notification_id = notification_id_for(directory.tenant_id, reminder.dedupe_key)
    deliveries = [d.to_dict(notification_id) for d in plan_deliveries(reminder, directory)]
    scheduled = NotificationScheduled(
        notification_id=notification_id, rule=reminder.rule, dedupe_key=reminder.dedupe_key, subject=reminder.subject,
        period=reminder.period, branch_id=reminder.branch_id, title=reminder.title, body=reminder.body,
        cause={"records": [{"type": kind, "id": record_id} for kind, record_id in reminder.records],
               "as_of": as_of.isoformat()},
        details=reminder.details, deliveries=deliveries, due_on=reminder.due_on)
    in_app = [NotificationSent(notification_id, d["delivery_id"], "inbox", d["target"], 1, now)
              for d in deliveries if d["channel"] == "inbox"]
    return [scheduled, *in_app]


def mark_read(notification: dict, reader: str, now: datetime) -> list:
    """Read once: reading it again records nothing."""
    if notification["read_at"] is not None:
        return []
    return [NotificationRead(notification["notification_id"], reader, now)]


def retry(notification_id: str, failed_ids: list[str], who: str) -> list:
    if not failed_ids:
        raise refuse("这条提醒没有发送失败的投递", "nothing_failed")
    return [DeliveryRetried(notification_id, failed_ids, who)]


def sent(delivery: dict, at: datetime):
    return NotificationSent(delivery["notification_id"], delivery["delivery_id"], delivery["channel"],
                            delivery["target"], delivery["attempts"] + 1, at)


def attempt_failed(delivery: dict, error: str, retry_at: datetime):
    return DeliveryAttemptFailed(delivery["notification_id"], delivery["delivery_id"], delivery["channel"],
                                 delivery["target"], delivery["attempts"] + 1, error[:ERROR_LENGTH], retry_at)


def failed(delivery: dict, error: str, at: datetime):
    return DeliveryFailed(delivery["notification_id"], delivery["delivery_id"], delivery["channel"],
                          delivery["target"], delivery["attempts"] + 1, error[:ERROR_LENGTH], at)


def audience_branch(audience: str) -> str | None:
    """The branch a secretary's audience belongs to (``secretary:<branch>``), else None."""
    return audience.split(":", 1)[1] if audience.startswith("secretary:") else None


def configure_recipient(audience: str, name: str | None, emails: list[str], channels: list[str]) -> list:
    return [RecipientConfigured(audience, name, emails, channels)]


def configure_webhook(webhook_id: str, url: str, rules: list[str]) -> list:
    """The receiver as the record keeps it: the public part of its URL only (no query, no credentials)."""
    return [WebhookConfigured(webhook_id, public_url(url), rules)]


def remove_webhook(webhook_id: str) -> list:
    return [WebhookRemoved(webhook_id)]


def secret_fingerprint(key: bytes, secret: str) -> str:
    """Which secret is configured, shown to admins: an HMAC under the platform's key, useless for guessing it."""
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
