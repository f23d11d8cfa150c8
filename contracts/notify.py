"""Events published by the notify service on ``branchwork.notify.events``.

What the platform told whom, when, why and how it went: each notification names the rule that
fired, the record that caused it (``subject``) and the period it is for; ``dedupe_key`` =
``<rule>:<subject>:<period>`` is unique per bureau, so a cause is notified once.

Streams: ``notification-<id>`` (scheduled → sent / attempt failed / failed → read), ``recipient-<bureau
id>-<audience>`` (who is reached how), ``webhook-<id>``.

Audiences: ``bureau`` (the bureau's committee and admins), ``secretary:<branch id>`` (the branch's
secretary), ``member:<member id>`` (one member). Channels: ``email``, ``webhook``, ``inbox``.
Webhook secrets never leave the service, nor does the whole of a webhook's URL: from schema version 2
on, events carry only its scheme, host and path (``public_url``) — never credentials or a query string.
Events recorded at version 1 stay as recorded; their upcasters strip the same parts on every read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit, urlunsplit

from shared.contracts import EventRegistry

registry = EventRegistry()
event = registry.event

CHANNELS = ("email", "webhook", "inbox")


def public_url(url: str) -> str:
    """What may be shown of a webhook's URL: its scheme, host, port and path (no userinfo, query or fragment)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def _public_target(delivery: dict) -> dict:
    if delivery.get("channel") != "webhook" or not delivery.get("target"):
        return dict(delivery)
    return {**delivery, "target": public_url(delivery["target"])}


def _without_secret_fingerprint(data: dict) -> dict:
    """Version 1 → 2: the URL cut to scheme, host and path; the unsalted fingerprint of the secret dropped."""
    return {key: value for key, value in data.items() if key != "secret_fingerprint"} | {"url": public_url(data["url"])}


def _public_deliveries(data: dict) -> dict:
    """Version 1 → 2: webhook targets cut to scheme, host and path."""
    return {**data, "deliveries": [_public_target(d) for d in data.get("deliveries", [])]}


# --- notifications --------------------------------------------------------------------------------

@event("notify.NotificationScheduled", version=2, upcasters={1: _public_deliveries})
@dataclass(frozen=True)
class NotificationScheduled:
    """A rule fired for a cause; ``deliveries`` are {delivery_id, channel, audience, recipient, target,
    on_behalf_of?} — ``target`` is the e-mail address, the webhook URL or the inbox audience.

    ``cause`` is {"records": [{"type", "id"}], "as_of": date}: the records that made the rule fire.
    """
    notification_id: str
    rule: str
    dedupe_key: str
    subject: str
    period: str
    branch_id: str | None
    title: str
    body: str
    cause: dict
    details: dict
    deliveries: list[dict]
    due_on: date


@event("notify.NotificationSent", version=2, upcasters={1: _public_target})
@dataclass(frozen=True)
class NotificationSent:
    """One delivery reached its target (the SMTP server or webhook accepted it, or it is in the inbox)."""
    notification_id: str
    delivery_id: str
    channel: str
    target: str
    attempt: int
    sent_at: datetime


@event("notify.DeliveryAttemptFailed", version=2, upcasters={1: _public_target})
@dataclass(frozen=True)
class DeliveryAttemptFailed:
    """A transient failure; the delivery is tried again at ``retry_at`` (exponential backoff, capped)."""
    notification_id: str
    delivery_id: str
    channel: str
    target: str
    attempt: int
    error: str
    retry_at: datetime


@event("notify.DeliveryFailed", version=2, upcasters={1: _public_target})
@dataclass(frozen=True)
class DeliveryFailed:
    """The delivery gave up (a permanent refusal or too many attempts); it stays visible as failed."""
    notification_id: str
    delivery_id: str
    channel: str
    target: str
    attempts: int
    error: str
    failed_at: datetime


@event("notify.DeliveryRetried")
@dataclass(frozen=True)
class DeliveryRetried:
    """Someone asked for failed deliveries to be tried again (after fixing an address or a receiver)."""
    notification_id: str
    delivery_ids: list[str]
    requested_by: str


@event("notify.NotificationRead")
@dataclass(frozen=True)
class NotificationRead:
    """The notification was marked read in the in-app inbox."""
    notification_id: str
    read_by: str
    read_at: datetime


# --- who is reached how ---------------------------------------------------------------------------

@event("notify.RecipientConfigured")
@dataclass(frozen=True)
class RecipientConfigured:
    """How an audience is reached: its e-mail addresses and channels (replacing what was configured)."""
    audience: str
    name: str | None
    emails: list[str]
    channels: list[str]


@event("notify.WebhookConfigured", version=2, upcasters={1: _without_secret_fingerprint})
@dataclass(frozen=True)
class WebhookConfigured:
    """A receiver of the bureau's notifications; ``rules`` empty means every rule. ``url`` is ``public_url``
    of the address (the whole of it, and the secret, are kept by notify alone)."""
    webhook_id: str
    url: str
    rules: list[str]


@event("notify.WebhookRemoved")
@dataclass(frozen=True)
class WebhookRemoved:
    webhook_id: str
