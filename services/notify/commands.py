"""What callers ask the notify service to do, and the request schemas that check it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from services.notify.recipients import Directory
from services.notify.rules.model import Reminder

RECIPIENT_CHANNELS = ("inbox", "email")
STATUSES = ("pending", "sent", "failed")


class RecipientSchema(Schema):
    """The whole of how an audience is reached: a PUT replaces it, so every field is sent (``name`` may be null)."""
    name = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=100))
    emails = fields.List(fields.Email(), required=True, validate=validate.Length(max=20))
    channels = fields.List(fields.String(validate=validate.OneOf(RECIPIENT_CHANNELS)), required=True,
                           validate=validate.Length(min=1))


def without_credentials(url: str) -> None:
    """A receiver authenticates us by the HMAC signature (or a configured header), never by a password in its URL:
    a URL's userinfo would travel wherever the URL is shown."""
    if "@" in urlsplit(url).netloc:
        raise ValidationError("网址中不能含有用户名或密码；接收方请用签名验证请求")


class WebhookSchema(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=[validate.Length(max=2000), without_credentials])
    secret = fields.String(required=True, load_only=True, validate=validate.Length(min=16, max=200))
    rules = fields.List(fields.String(validate=validate.Regexp(r"^[a-z_]+(\.[a-z_0-9]+)?$")), load_default=list)


class NotificationQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    rule = fields.String(validate=validate.Length(max=100))
    branch_id = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class InboxQuerySchema(Schema):
    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


# --- what the handlers are asked to do -------------------------------------------------------------------------

@dataclass(frozen=True)
class ScheduleReminder:
    """Notify about a reminder that fell due (the scheduler asks), once per cause."""

    reminder: Reminder
    directory: Directory
    as_of: date


@dataclass(frozen=True)
class MarkRead:
    """The reader marks a notification of their inbox (one of ``audiences``) read."""

    notification_id: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class RetryFailed:
    notification_id: str


@dataclass(frozen=True)
class ConfigureRecipient:
    """How an audience (``bureau``, ``secretary:<branch>``, ``member:<member>``) is reached: the whole of it."""

    audience: str
    name: str | None
    emails: list[str]
    channels: list[str]


@dataclass(frozen=True)
class ConfigureWebhook:
    webhook_id: str
    url: str
    secret: str
    rules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RemoveWebhook:
    webhook_id: str


@dataclass(frozen=True)
class RecordDelivery:
    """The outcome of one delivery attempt (the delivery worker reports it): ``sent``, ``retry`` or ``failed``."""

    delivery: dict
    outcome: str
    at: datetime
    error: str = ""
    retry_at: datetime | None = None
