"""HTTP API of the notify service: notifications and their deliveries, the in-app inbox, recipients,
webhooks, and an on-demand run of the rules."""

from __future__ import annotations

import uuid

import flask
from flask.views import MethodView
from marshmallow import Schema, fields

from shared.auth import Principal
from shared.db import tenant_transaction
from shared.errors import Forbidden, NotFound
from shared.web import ApiBlueprint, command_context, current_principal, execute_command, read_transaction, runtime
from services.notify import handlers
from services.notify.commands import InboxQuerySchema, NotificationQuerySchema, RecipientSchema, WebhookSchema

notifications = ApiBlueprint("notifications", __name__, description="What the platform told whom, and how it went")
inbox = ApiBlueprint("inbox", __name__, description="The in-app inbox of a secretary or a bureau")
recipients = ApiBlueprint("recipients", __name__, description="Who is reached how")
webhooks = ApiBlueprint("webhooks", __name__, description="Signed webhook receivers of a bureau")
scheduler = ApiBlueprint("scheduler", __name__, description="Evaluating the rules")

READERS = ("bureau_admin", "auditor", "ops")


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


# --- notifications ---------------------------------------------------------------------------------

@notifications.route("/notifications")
class NotificationCollection(MethodView):
    @notifications.arguments(NotificationQuerySchema, location="query")
    @notifications.response(200, NotificationSchema(many=True))
    def get(self, query):
        """List the bureau's notifications, newest first (``?status=failed`` for what could not be delivered)."""
        principal = current_principal()
        branches = _readable_branches(principal)
        with read_transaction(principal.tenant) as conn:
            rows = conn.execute(
                "SELECT * FROM notifications WHERE (%(status)s::text IS NULL OR status = %(status)s)"
                " AND (%(rule)s::text IS NULL OR rule = %(rule)s OR rule LIKE %(rule)s || '.%%')"
                " AND (%(branch)s::text IS NULL OR branch_id = %(branch)s)"
                " AND (%(branches)s::text[] IS NULL OR branch_id = ANY(%(branches)s))"
                " ORDER BY scheduled_at DESC, notification_id LIMIT %(limit)s",
                {"status": query.get("status"), "rule": query.get("rule"), "branch": query.get("branch_id"),
                 "branches": branches, "limit": query["limit"]}).fetchall()
            return _with_deliveries(conn, rows)


@notifications.route("/notifications/<uuid:notification_id>")
class NotificationItem(MethodView):
    @notifications.response(200, NotificationSchema)
    def get(self, notification_id):
        principal = current_principal()
        with read_transaction(principal.tenant) as conn:
            row = _notification(conn, str(notification_id), principal)
            return _with_deliveries(conn, [row])[0]


@notifications.route("/notifications/<uuid:notification_id>/actions/retry")
class NotificationRetry(MethodView):
    @notifications.response(200, VersionSchema)
    def post(self, notification_id):
        """Try the failed deliveries of a notification again (after fixing an address or a receiver)."""
        principal = current_principal()
        principal.require_role("bureau_admin", "ops")

        def retry(uow):
            row = _notification(uow.conn, str(notification_id), principal)
            failed = [r["delivery_id"] for r in uow.conn.execute(
                "SELECT delivery_id FROM deliveries WHERE notification_id = %s AND status = 'failed'",
                (row["notification_id"],))]
            return handlers.retry_failed(uow, row, failed)
        return execute_command(principal.tenant, retry)


def _readable_branches(principal: Principal) -> list[str] | None:
    """None: the whole bureau; else the branches a secretary may see."""
    if principal.has_role(*READERS):
        return None
    if principal.has_role("secretary"):
        return sorted(principal.branches)
    raise Forbidden("this needs one of the roles: bureau_admin, auditor, ops, secretary")


def _notification(conn, notification_id: str, principal: Principal) -> dict:
    row = conn.execute("SELECT * FROM notifications WHERE notification_id = %s", (notification_id,)).fetchone()
    branches = _readable_branches(principal)
    if row is None or (branches is not None and row["branch_id"] not in branches):
        raise NotFound("no such notification in your bureau")
    return row


def _with_deliveries(conn, rows: list[dict]) -> list[dict]:
    ids = [row["notification_id"] for row in rows]
    deliveries: dict[str, list] = {i: [] for i in ids}
    for delivery in conn.execute("SELECT * FROM deliveries WHERE notification_id = ANY(%s) ORDER BY channel, target",
                                 (ids,)):
        deliveries[delivery["notification_id"]].append(delivery)
    return [{**row, "deliveries": deliveries[row["notification_id"]]} for row in rows]


# --- the in-app inbox --------------------------------------------------------------------------------

def _audiences(principal: Principal) -> list[str]:
    """Whose inbox the caller reads: the bureau's (admins) and their branches' secretaries'."""
    audiences = ["bureau"] if principal.has_role("bureau_admin") else []
    if principal.has_role("secretary"):
        audiences += [f"secretary:{branch}" for branch in sorted(principal.branches)]
    if not audiences:
        raise Forbidden("the inbox belongs to a bureau admin or a branch secretary")
    return audiences


@inbox.route("/inbox")
class Inbox(MethodView):
    @inbox.arguments(InboxQuerySchema, location="query")
    @inbox.response(200, InboxItemSchema(many=True))
    def get(self, query):
        """Your in-app notifications, newest first (``?unread=true`` for the unread ones)."""
        principal = current_principal()
        with read_transaction(principal.tenant) as conn:
            return conn.execute(
                "SELECT n.* FROM notifications n WHERE EXISTS (SELECT 1 FROM deliveries d WHERE"
                " d.notification_id = n.notification_id AND d.channel = 'inbox' AND d.audience = ANY(%s))"
                " AND (NOT %s OR n.read_at IS NULL) ORDER BY n.scheduled_at DESC, n.notification_id LIMIT %s",
                (_audiences(principal), query["unread"], query["limit"])).fetchall()


@inbox.route("/inbox/<uuid:notification_id>/actions/read")
class InboxRead(MethodView):
    @inbox.response(200, VersionSchema)
    def post(self, notification_id):
        """Mark a notification of your inbox read (again: no change)."""
        principal = current_principal()
        audiences = _audiences(principal)

        def read(uow):
            row = uow.conn.execute(
                "SELECT n.* FROM notifications n JOIN deliveries d USING (notification_id) WHERE n.notification_id = %s"
                " AND d.channel = 'inbox' AND d.audience = ANY(%s) LIMIT 1", (str(notification_id), audiences)).fetchone()
            if row is None:
                raise NotFound("no such notification in your inbox")
            return handlers.mark_read(uow, row, principal.subject)
        return execute_command(principal.tenant, read)


# --- recipients and webhooks --------------------------------------------------------------------------

@recipients.route("/recipients")
class RecipientCollection(MethodView):
    @recipients.response(200, RecipientViewSchema(many=True))
    def get(self):
        principal = current_principal()
        principal.require_role("bureau_admin", "ops", "auditor")
        with read_transaction(principal.tenant) as conn:
            return conn.execute("SELECT r.*, s.version FROM recipients r LEFT JOIN streams s ON s.stream_id ="
                                " 'recipient-' || r.tenant_id || '-' || r.audience ORDER BY audience").fetchall()


def _configure(audience: str, body: dict):
    principal = current_principal()
    return execute_command(principal.tenant, lambda uow: handlers.configure_recipient(
        uow, audience, body.get("name"), body["emails"], body["channels"]))


@recipients.route("/recipients/bureau")
class BureauRecipient(MethodView):
    @recipients.arguments(RecipientSchema)
    @recipients.response(200, RecipientViewSchema)
    def put(self, body):
        """How the bureau (its committee and admins) is reached: e-mail addresses and channels."""
        current_principal().require_role("bureau_admin")
        return {**body, **_configure("bureau", body)}


@recipients.route("/recipients/branches/<uuid:branch_id>/secretary")
class SecretaryRecipient(MethodView):
    @recipients.arguments(RecipientSchema)
    @recipients.response(200, RecipientViewSchema)
    def put(self, body, branch_id):
        """How a branch's secretary is reached (instead of the post holder's own contact)."""
        current_principal().require_branch_writer(str(branch_id))
        return {**body, **_configure(f"secretary:{branch_id}", body)}


@recipients.route("/recipients/members/<uuid:member_id>")
class MemberRecipient(MethodView):
    @recipients.arguments(RecipientSchema)
    @recipients.response(200, RecipientViewSchema)
    def put(self, body, member_id):
        """A member's own e-mail; without one, the member is reached through their secretary."""
        principal = current_principal()
        if not principal.has_role("bureau_admin"):
            with read_transaction(principal.tenant) as conn:
                member = conn.execute("SELECT branch_id FROM src_members WHERE member_id = %s",
                                      (str(member_id),)).fetchone()
            if member is None:
                raise NotFound("no such member in your bureau")
            principal.require_branch_writer(member["branch_id"])
        return {**body, **_configure(f"member:{member_id}", body)}


@webhooks.route("/webhooks")
class WebhookCollection(MethodView):
    @webhooks.response(200, WebhookViewSchema(many=True))
    def get(self):
        principal = current_principal()
        principal.require_role("bureau_admin", "ops")
        with read_transaction(principal.tenant) as conn:
            return conn.execute("SELECT w.*, s.version FROM webhooks w JOIN streams s ON s.stream_id = 'webhook-' ||"
                                " w.webhook_id WHERE NOT removed ORDER BY webhook_id").fetchall()

    @webhooks.arguments(WebhookSchema)
    @webhooks.response(201, WebhookViewSchema)
    def post(self, body):
        """Add a receiver: notifications (of ``rules``, or all) are POSTed to it, signed with ``secret``."""
        principal = current_principal()
        principal.require_role("bureau_admin")
        webhook_id = str(uuid.uuid4())
        created = execute_command(principal.tenant, lambda uow: handlers.configure_webhook(
            uow, webhook_id, body["url"], body["secret"], body["rules"]))
        return {**body, "webhook_id": webhook_id, **created}


@webhooks.route("/webhooks/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @webhooks.arguments(WebhookSchema)
    @webhooks.response(200, WebhookViewSchema)
    def put(self, body, webhook_id):
        """Change a receiver's address, secret or rules."""
        principal = current_principal()
        principal.require_role("bureau_admin")
        _require_webhook(principal, str(webhook_id))
        changed = execute_command(principal.tenant, lambda uow: handlers.configure_webhook(
            uow, str(webhook_id), body["url"], body["secret"], body["rules"]))
        return {**body, "webhook_id": str(webhook_id), **changed}

    @webhooks.response(200, VersionSchema)
    def delete(self, webhook_id):
        principal = current_principal()
        principal.require_role("bureau_admin")
        _require_webhook(principal, str(webhook_id))
        return execute_command(principal.tenant, lambda uow: handlers.remove_webhook(uow, str(webhook_id)))


def _require_webhook(principal: Principal, webhook_id: str) -> None:
    with read_transaction(principal.tenant) as conn:
        if conn.execute("SELECT 1 FROM webhooks WHERE webhook_id = %s AND NOT removed", (webhook_id,)).fetchone() is None:
            raise NotFound("no such webhook in your bureau")


# --- the rules, on demand ---------------------------------------------------------------------------------

@scheduler.route("/scheduler/runs")
class SchedulerRuns(MethodView):
    @scheduler.response(201, RunSchema)
    def post(self):
        """Evaluate the rules for your bureau now (the scheduler does this by itself; this is for impatience)."""
        principal = current_principal()
        principal.require_role("bureau_admin", "ops")
        rules = flask.current_app.extensions["notify"]["scheduler"]
        actor = command_context(principal, principal.tenant).actor
        with tenant_transaction(runtime().pool, principal.tenant) as conn:
            scheduled = rules.run_tenant(conn, principal.tenant, actor)
        return {"as_of": rules.today(), "scheduled": scheduled}

    @scheduler.response(200, RunLogSchema(many=True))
    def get(self):
        """The latest evaluations for your bureau: the first of each day and those that scheduled something."""
        principal = current_principal()
        principal.require_role("bureau_admin", "ops", "auditor")
        with read_transaction(principal.tenant) as conn:
            return conn.execute("SELECT as_of, ran_at, scheduled FROM scheduler_runs ORDER BY ran_at DESC, id DESC"
                                " LIMIT 60").fetchall()
