"""What the notify API answers with."""

from __future__ import annotations

from marshmallow import Schema, fields


class DeliverySchema(Schema):
    id = fields.String(attribute="delivery_id")
    channel = fields.String()
    audience = fields.String()
    recipient = fields.String(allow_none=True)
    target = fields.String()
    note = fields.String(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)


class NotificationSchema(Schema):
    id = fields.String(attribute="notification_id")
    rule = fields.String()
    dedupe_key = fields.String()
    subject = fields.String()
    period = fields.String()
    branch_id = fields.String(allow_none=True)
    title = fields.String()
    body = fields.String()
    cause = fields.Dict()
    details = fields.Dict()
    due_on = fields.Date()
    scheduled_at = fields.DateTime()
    status = fields.String()
    read_at = fields.DateTime(allow_none=True)
    read_by = fields.String(allow_none=True)
    version = fields.Integer()
    deliveries = fields.List(fields.Nested(DeliverySchema))


class InboxItemSchema(NotificationSchema):
    note = fields.String(allow_none=True)

    class Meta:
        exclude = ("deliveries", "dedupe_key")


class VersionSchema(Schema):
    id = fields.String()
    version = fields.Integer()


class RecipientViewSchema(Schema):
    audience = fields.String()
    name = fields.String(allow_none=True)
    emails = fields.List(fields.String())
    channels = fields.List(fields.String())
    version = fields.Integer()


class WebhookViewSchema(Schema):
    id = fields.String(attribute="webhook_id")
    url = fields.String()
    rules = fields.List(fields.String())
    secret_fingerprint = fields.String()
    version = fields.Integer()


class RunSchema(Schema):
    as_of = fields.Date()
    scheduled = fields.List(fields.String())


class RunLogSchema(Schema):
    as_of = fields.Date()
    ran_at = fields.DateTime()
    scheduled = fields.Integer()
