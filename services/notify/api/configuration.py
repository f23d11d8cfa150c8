"""Who is reached how: the bureau's, a secretary's and a member's contacts, and signed webhook receivers."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import flask
from flask.views import MethodView

from shared.auth import Principal
from shared.errors import NotFound
from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction, runtime
from services.notify import domain, handlers, queries
from services.notify.api.schemas import RecipientViewSchema, VersionSchema, WebhookViewSchema
from services.notify.commands import (
    ConfigureRecipient, ConfigureWebhook, RecipientSchema, RemoveWebhook, WebhookSchema)
from services.notify.egress import AddressRefused

recipients = ApiBlueprint("recipients", __name__, description="Who is reached how")
webhooks = ApiBlueprint("webhooks", __name__, description="Signed webhook receivers of a bureau")


@recipients.route("/recipients")
class RecipientCollection(MethodView):
    @recipients.response(200, RecipientViewSchema(many=True))
    def get(self):
        principal = current_principal()
        principal.require_role("bureau_admin", "ops", "auditor")
        with read_transaction(principal.tenant) as conn:
            return queries.recipients(conn)


def _configure(audience: str, body: dict):
    principal = current_principal()
    command = ConfigureRecipient(audience, body.get("name"), body["emails"], body["channels"])
    return execute_command(principal.tenant, lambda uow: handlers.configure_recipient(uow, command))


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
        principal = current_principal()
        principal.require_branch_writer(str(branch_id))
        _require_known(principal, queries.known_branch, str(branch_id), "branch")
        return {**body, **_configure(f"secretary:{branch_id}", body)}


@recipients.route("/recipients/members/<uuid:member_id>")
class MemberRecipient(MethodView):
    @recipients.arguments(RecipientSchema)
    @recipients.response(200, RecipientViewSchema)
    def put(self, body, member_id):
        """A member's own e-mail; without one, the member is reached through their secretary."""
        principal = current_principal()
        member = _require_known(principal, queries.known_member, str(member_id), "member")
        principal.require_branch_writer(member["branch_id"])
        return {**body, **_configure(f"member:{member_id}", body)}


@webhooks.route("/webhooks")
class WebhookCollection(MethodView):
    @webhooks.response(200, WebhookViewSchema(many=True))
    def get(self):
        principal = current_principal()
        principal.require_role("bureau_admin", "ops")
        with read_transaction(principal.tenant) as conn:
            rows = queries.webhooks(conn)
        return [{**row, "secret_fingerprint": _fingerprint(row.pop("secret") or "")} for row in rows]

    @webhooks.arguments(WebhookSchema)
    @webhooks.response(201, WebhookViewSchema)
    def post(self, body):
        """Add a receiver: notifications (of ``rules``, or all) are POSTed to it, signed with ``secret``."""
        principal = current_principal()
        principal.require_role("bureau_admin")
        _require_allowed_url(body["url"])
        webhook_id = str(uuid.uuid4())
        command = ConfigureWebhook(webhook_id, body["url"], body["secret"], body["rules"])
        created = execute_command(principal.tenant, lambda uow: handlers.configure_webhook(uow, command))
        return {**body, "webhook_id": webhook_id, **created, "secret_fingerprint": _fingerprint(body["secret"])}


@webhooks.route("/webhooks/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @webhooks.arguments(WebhookSchema)
    @webhooks.response(200, WebhookViewSchema)
    def put(self, body, webhook_id):
        """Change a receiver's address, secret or rules."""
        principal = current_principal()
        principal.require_role("bureau_admin")
        _require_webhook(principal, str(webhook_id))
        _require_allowed_url(body["url"])
        command = ConfigureWebhook(str(webhook_id), body["url"], body["secret"], body["rules"])
        changed = execute_command(principal.tenant, lambda uow: handlers.configure_webhook(uow, command))
        return {**body, "webhook_id": str(webhook_id), **changed, "secret_fingerprint": _fingerprint(body["secret"])}

    @webhooks.response(200, VersionSchema)
    def delete(self, webhook_id):
        principal = current_principal()
        principal.require_role("bureau_admin")
        _require_webhook(principal, str(webhook_id))
        command = RemoveWebhook(str(webhook_id))
        return execute_command(principal.tenant, lambda uow: handlers.remove_webhook(uow, command))


KINDS = {"branch": "支部", "member": "党员", "webhook": "推送接口"}


def _require_known(principal: Principal, query: Callable[..., dict | None], record_id: str, kind: str) -> dict:
    """The record of the caller's bureau (as notify has heard of it), else 404 — another bureau's is as absent."""
    with read_transaction(principal.tenant) as conn:
        row = query(conn, record_id)
    if row is None:
        raise NotFound(f"本局没有这个{KINDS.get(kind, kind)}")
    return row


def _fingerprint(secret: str) -> str:
    return domain.secret_fingerprint(runtime().settings.derived_key("webhook-secret-fingerprint"), secret)


def _require_allowed_url(url: str) -> None:
    """Refuse a receiver the delivery worker may not reach (link-local, cloud metadata, loopback if so set)."""
    try:
        flask.current_app.extensions["notify"]["settings"].egress().check_configured(url)
    except AddressRefused as error:
        raise domain.refuse(str(error), "webhook_address_refused", "url") from None


def _require_webhook(principal: Principal, webhook_id: str) -> None:
    with read_transaction(principal.tenant) as conn:
        row = queries.webhook(conn, webhook_id)
        if row is None:
            raise NotFound("本局没有这个推送接口")
