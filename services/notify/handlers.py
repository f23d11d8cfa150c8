"""Command handlers: schedule a notification once per cause, record delivery outcomes, read, retry, configure.

Each takes a unit of work and a command (``commands.py``), asks the named queries what it needs, lets the
domain (``domain.py``) decide and records the events; what stays out of events (a webhook's secret and
whole URL) is kept through a named query in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.errors import ConcurrencyError, NotFound
from shared.unit_of_work import DuplicateRecord, UnitOfWork
from services.notify import commands as c, domain

Authorise = Callable[[dict], None]


def notification_stream(notification_id: str) -> str:
    return f"notification-{notification_id}"


def schedule(uow: UnitOfWork, command: c.ScheduleReminder) -> str | None:
    """Record the notification for a reminder unless its cause was notified before; return its id if new.

    Two guards make it once per cause: the notification's id (and so its stream) is derived from the
    dedupe key, and the projection's unique (tenant, dedupe key). A concurrent scheduler that loses
    either race writes nothing; the savepoint keeps the caller's transaction usable.
    """
    reminder, tenant_id = command.reminder, command.directory.tenant_id
    if uow.queries.notified(tenant_id, reminder.dedupe_key):
        return None
    events = domain.schedule(reminder, command.directory, command.as_of, uow.context.recorded_at)
    notification_id = events[0].notification_id
    try:
        with uow.savepoint():
            uow.record(notification_stream(notification_id), 0, events, branch_id=reminder.branch_id,
                       tenant_id=tenant_id)
    except (ConcurrencyError, DuplicateRecord):
        return None
    return notification_id


def record_delivery(uow: UnitOfWork, command: c.RecordDelivery) -> None:
    """A delivery's outcome on its notification's stream (the caller holds the stream's head: see ``locked``)."""
    delivery = command.delivery
    stream = notification_stream(delivery["notification_id"])
    event = {"sent": lambda: domain.sent(delivery, command.at),
             "retry": lambda: domain.attempt_failed(delivery, command.error, command.retry_at),
             "failed": lambda: domain.failed(delivery, command.error, command.at)}[command.outcome]()
    uow.record(stream, locked(uow, stream), [event], branch_id=delivery["branch_id"], tenant_id=delivery["tenant_id"])


def locked(uow: UnitOfWork, stream: str) -> int:
    """The notification's version, its head held until the unit of work ends: its deliveries' outcomes (and a
    reader, and a retry) take turns instead of failing on each other's versions."""
    version = uow.lock([stream])[stream]
    if version == 0:
        raise NotFound("本局没有这条提醒")
    return version


def mark_read(uow: UnitOfWork, command: c.MarkRead) -> dict:
    """Mark a notification of the reader's inbox read once; reading it again changes nothing."""
    notification = uow.queries.inbox_notification(command.notification_id, list(command.audiences))
    if notification is None:
        raise NotFound("您的站内信里没有这条提醒")
    stream = notification_stream(command.notification_id)
    version = locked(uow, stream)
    events = domain.mark_read(notification, uow.context.actor.user, uow.context.recorded_at)
    if events:
        version = uow.record(stream, version, events, branch_id=notification["branch_id"])[-1].stream_version
    return {"id": command.notification_id, "version": version}


def retry_failed(uow: UnitOfWork, command: c.RetryFailed, authorise: Authorise) -> dict:
    """Send the failed deliveries of a notification again (``authorise`` refuses one the caller may not see)."""
    notification = uow.queries.notification(command.notification_id)
    if notification is None:
        raise NotFound("本局没有这条提醒")
    authorise(notification)
    stream = notification_stream(command.notification_id)
    events = domain.retry(command.notification_id, uow.queries.failed_deliveries(command.notification_id),
                          uow.context.actor.user)
    recorded = uow.record(stream, locked(uow, stream), events, branch_id=notification["branch_id"])
    return {"id": command.notification_id, "version": recorded[-1].stream_version}


def configure_recipient(uow: UnitOfWork, command: c.ConfigureRecipient) -> dict:
    stream = f"recipient-{uow.context.tenant_id}-{command.audience}"
    events = domain.configure_recipient(command.audience, command.name, command.emails, command.channels)
    branch_id = domain.audience_branch(command.audience)
    recorded = uow.record(stream, uow.lock([stream])[stream], events, branch_id=branch_id)
    return {"audience": command.audience, "version": recorded[-1].stream_version}


def configure_webhook(uow: UnitOfWork, command: c.ConfigureWebhook) -> dict:
    """Record the receiver with the public part of its URL; the whole URL and the secret stay in notify's table."""
    stream = f"webhook-{command.webhook_id}"
    events = domain.configure_webhook(command.webhook_id, command.url, command.rules)
    recorded = uow.record(stream, uow.lock([stream])[stream], events)
    uow.queries.keep_webhook_secret(uow.context.tenant_id, command.webhook_id, command.secret, command.url)
    return {"id": command.webhook_id, "version": recorded[-1].stream_version, "url": events[0].url}


def remove_webhook(uow: UnitOfWork, command: c.RemoveWebhook) -> dict:
    stream = f"webhook-{command.webhook_id}"
    version = uow.lock([stream])[stream]
    if version == 0:
        raise NotFound("本局没有这个推送接口")
    recorded = uow.record(stream, version, domain.remove_webhook(command.webhook_id))
    uow.queries.forget_webhook_secret(command.webhook_id)
    return {"id": command.webhook_id, "version": recorded[-1].stream_version}
