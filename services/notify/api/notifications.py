"""Notifications with their deliveries (what was told whom, how it went) and the in-app inbox."""

from __future__ import annotations

from collections.abc import Callable

from flask.views import MethodView

from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction
from services.notify import handlers, queries
from services.notify.api.schemas import InboxItemSchema, NotificationSchema, VersionSchema
from services.notify.commands import InboxQuerySchema, MarkRead, NotificationQuerySchema, RetryFailed

notifications = ApiBlueprint("notifications", __name__, description="What the platform told whom, and how it went")
inbox = ApiBlueprint("inbox", __name__, description="The in-app inbox of a secretary or a bureau")

READERS = ("bureau_admin", "auditor", "ops")


@notifications.route("/notifications")
class NotificationCollection(MethodView):
    @notifications.arguments(NotificationQuerySchema, location="query")
    @notifications.response(200, NotificationSchema(many=True))
    def get(self, query):
        """List the bureau's notifications, newest first (``?status=failed`` for what could not be delivered)."""
        principal = current_principal()
        branches = _readable_branches(principal)
        with read_transaction(principal.tenant) as conn:
            rows = queries.notifications(conn, status=query.get("status"), rule=query.get("rule"),
                                         branch_id=query.get("branch_id"), branches=branches, limit=query["limit"])
            return _with_deliveries(conn, rows)


@notifications.route("/notifications/<uuid:notification_id>")
class NotificationItem(MethodView):
    @notifications.response(200, NotificationSchema)
    def get(self, notification_id):
        principal = current_principal()
        with read_transaction(principal.tenant) as conn:
            row = queries.notification(conn, str(notification_id))
            _readable(principal)(row)
            return _with_deliveries(conn, [row])[0]


@notifications.route("/notifications/<uuid:notification_id>/actions/retry")
class NotificationRetry(MethodView):
    @notifications.response(200, VersionSchema)
    def post(self, notification_id):
        """Try the failed deliveries of a notification again (after fixing an address or a receiver)."""
        principal = current_principal()
        principal.require_role("bureau_admin", "ops")

        command = RetryFailed(str(notification_id))
        return execute_command(principal.tenant, lambda uow: handlers.retry_failed(uow, command, _readable(principal)))


def _readable_branches(principal: Principal) -> list[str] | None:
    """None: the whole bureau; else the branches a secretary may see."""
    if principal.has_role(*READERS):
        return None
    if principal.has_role("secretary"):
        return sorted(principal.branches)
    raise Forbidden("需要以下角色之一：局管理员、审计员、运维人员、支部书记")


def _readable(principal: Principal) -> Callable[[dict | None], None]:
    """Refuse a notification the caller may not see as if it did not exist (a secretary sees their branches')."""
    branches = _readable_branches(principal)

    def authorise(row: dict | None) -> None:
        if row is None or (branches is not None and row["branch_id"] not in branches):
            raise NotFound("本局没有这条提醒")
    return authorise


def _with_deliveries(conn, rows: list[dict]) -> list[dict]:
    ids = [row["notification_id"] for row in rows]
    deliveries: dict[str, list] = {i: [] for i in ids}
    for delivery in queries.deliveries_of(conn, ids):
        deliveries[delivery["notification_id"]].append(delivery)
    return [{**row, "deliveries": deliveries[row["notification_id"]]} for row in rows]


# --- the in-app inbox --------------------------------------------------------------------------------

def _audiences(principal: Principal) -> list[str]:
    """Whose inbox the caller reads: the bureau's (admins) and their branches' secretaries'."""
    audiences = ["bureau"] if principal.has_role("bureau_admin") else []
    if principal.has_role("secretary"):
        audiences += [f"secretary:{branch}" for branch in sorted(principal.branches)]
    if not audiences:
        raise Forbidden("站内信只属于局管理员或支部书记")
    return audiences


@inbox.route("/inbox")
class Inbox(MethodView):
    @inbox.arguments(InboxQuerySchema, location="query")
    @inbox.response(200, InboxItemSchema(many=True))
    def get(self, query):
        """Your in-app notifications, newest first (``?unread=true`` for the unread ones)."""
        principal = current_principal()
        with read_transaction(principal.tenant) as conn:
            # The note is what this reader is asked to do for others (tell members without e-mail).
            return queries.inbox(conn, _audiences(principal), query["unread"], query["limit"])


@inbox.route("/inbox/<uuid:notification_id>/actions/read")
class InboxRead(MethodView):
    @inbox.response(200, VersionSchema)
    def post(self, notification_id):
        """Mark a notification of your inbox read (again: no change)."""
        principal = current_principal()
        command = MarkRead(str(notification_id), tuple(_audiences(principal)))
        return execute_command(principal.tenant, lambda uow: handlers.mark_read(uow, command))
