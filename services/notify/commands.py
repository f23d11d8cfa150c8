"""What callers ask the notify service to do, and the request schemas that check it."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

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
