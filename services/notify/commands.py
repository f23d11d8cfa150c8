"""What callers ask the notify service to do, and the request schemas that check it."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

RECIPIENT_CHANNELS = ("inbox", "email")
STATUSES = ("pending", "sent", "failed")


class RecipientSchema(Schema):
    name = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    emails = fields.List(fields.Email(), load_default=list, validate=validate.Length(max=20))
    channels = fields.List(fields.String(validate=validate.OneOf(RECIPIENT_CHANNELS)),
                           load_default=lambda: list(RECIPIENT_CHANNELS), validate=validate.Length(min=1))


class WebhookSchema(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
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
