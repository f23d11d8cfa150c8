"""Reads (and the few writes that are not events) of the notify service's own tables, one named function each.

Every query runs under the caller's bureau (row-level security), or as the owner for workers.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg

from shared import eventstore
from shared.bootstrap import Service
from shared.metrics import GaugeQuery
from shared.operations import Check


def scheduler_last_run(conn: psycopg.Connection, service: Service) -> Check:
    """The scheduler keeps each bureau's first run of a day: none for a day and more means it is not running."""
    row = conn.execute("SELECT max(ran_at) AS ran_at, max(as_of) AS as_of, count(DISTINCT tenant_id) AS bureaus"
                       " FROM scheduler_runs").fetchone()
    bureaus = conn.execute("SELECT count(*) AS n FROM src_bureaus").fetchone()["n"]
    interval = timedelta(seconds=service.own_settings.scheduler_interval_seconds)
    stale = row["ran_at"] is None or service.clock() - row["ran_at"] > timedelta(days=1) + interval
    return Check("scheduler", not (bureaus and stale), {
        "last_run": row["ran_at"] and row["ran_at"].isoformat(), "as_of": row["as_of"] and row["as_of"].isoformat(),
        "bureaus_run": row["bureaus"], "bureaus_known": bureaus})


GAUGES = (GaugeQuery("branchwork_notify_deliveries", "Deliveries by channel and status (pending, sent, failed)",
                     ("channel", "status"), "SELECT channel, status, value FROM ops_delivery_counts()"),)


def scheduler_runs(conn: psycopg.Connection, limit: int = 60) -> list[dict]:
    """The bureau's latest rule evaluations: the first of each day and those that scheduled something."""
    return conn.execute("SELECT as_of, ran_at, scheduled FROM scheduler_runs ORDER BY ran_at DESC, id DESC LIMIT %s",
                        (limit,)).fetchall()


# --- notifications and the inbox ------------------------------------------------------------------------------

INBOX = ("FROM notifications n WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.notification_id"
         " AND d.channel = 'inbox' AND d.audience = ANY(%(audiences)s))")


def notifications(conn: psycopg.Connection, *, status: str | None = None, rule: str | None = None,
                  branch_id: str | None = None, branches: list[str] | None = None, limit: int = 100) -> list[dict]:
    """Newest first; ``rule`` matches a rule and its variants (``meetings`` matches ``meetings.branch``)."""
    return conn.execute(
        "SELECT * FROM notifications WHERE (%(status)s::text IS NULL OR status = %(status)s)"
        " AND (%(rule)s::text IS NULL OR rule = %(rule)s OR rule LIKE %(rule)s || '.%%')"
        " AND (%(branch)s::text IS NULL OR branch_id = %(branch)s)"
        " AND (%(branches)s::text[] IS NULL OR branch_id = ANY(%(branches)s))"
        " ORDER BY scheduled_at DESC, notification_id LIMIT %(limit)s",
        {"status": status, "rule": rule, "branch": branch_id, "branches": branches, "limit": limit}).fetchall()


def notification(conn: psycopg.Connection, notification_id: str) -> dict | None:
    return conn.execute("SELECT * FROM notifications WHERE notification_id = %s", (notification_id,)).fetchone()


def deliveries_of(conn: psycopg.Connection, notification_ids: list[str]) -> list[dict]:
    return conn.execute("SELECT * FROM deliveries WHERE notification_id = ANY(%s) ORDER BY channel, target",
                        (notification_ids,)).fetchall()


def failed_deliveries(conn: psycopg.Connection, notification_id: str) -> list[str]:
    return [row["delivery_id"] for row in conn.execute(
        "SELECT delivery_id FROM deliveries WHERE notification_id = %s AND status = 'failed'", (notification_id,))]


def inbox(conn: psycopg.Connection, audiences: list[str], unread: bool, limit: int) -> list[dict]:
    """What the audiences were told in-app, newest first, with what each reader is asked to do for others."""
    return conn.execute(
        "SELECT n.*, (SELECT string_agg(DISTINCT d.note, '；') FROM deliveries d"
        " WHERE d.notification_id = n.notification_id AND d.channel = 'inbox' AND d.audience = ANY(%(audiences)s))"
        f" AS note {INBOX} AND (NOT %(unread)s OR n.read_at IS NULL) ORDER BY n.scheduled_at DESC,"
        " n.notification_id LIMIT %(limit)s", {"audiences": audiences, "unread": unread, "limit": limit}).fetchall()


def inbox_notification(conn: psycopg.Connection, notification_id: str, audiences: list[str]) -> dict | None:
    return conn.execute(f"SELECT n.* {INBOX} AND n.notification_id = %(id)s",
                        {"audiences": list(audiences), "id": notification_id}).fetchone()


def notified(conn: psycopg.Connection, tenant_id: str, dedupe_key: str) -> bool:
    """Whether this cause was notified before (the scheduler notifies each cause once)."""
    return conn.execute("SELECT 1 FROM notifications WHERE tenant_id = %s AND dedupe_key = %s",
                        (tenant_id, dedupe_key)).fetchone() is not None


# --- recipients and webhooks ------------------------------------------------------------------------------------

def recipients(conn: psycopg.Connection) -> list[dict]:
    """The bureau's recipient lists, each with its stream's version (None before its first change)."""
    rows = conn.execute("SELECT * FROM recipients ORDER BY audience").fetchall()
    versions = eventstore.stream_versions(conn, [_recipient_stream(row) for row in rows])
    return [{**row, "version": versions.get(_recipient_stream(row))} for row in rows]


def _recipient_stream(row: dict) -> str:
    return f"recipient-{row['tenant_id']}-{row['audience']}"


def known_branch(conn: psycopg.Connection, branch_id: str) -> dict | None:
    return conn.execute("SELECT branch_id FROM src_branches WHERE branch_id = %s", (branch_id,)).fetchone()


def known_member(conn: psycopg.Connection, member_id: str) -> dict | None:
    return conn.execute("SELECT branch_id FROM src_members WHERE member_id = %s", (member_id,)).fetchone()


def webhooks(conn: psycopg.Connection) -> list[dict]:
    """The bureau's receivers in use, each with its version and secret (for its fingerprint, never shown)."""
    rows = conn.execute("SELECT w.*, k.secret FROM webhooks w LEFT JOIN webhook_secrets k USING (webhook_id)"
                        " WHERE NOT removed ORDER BY webhook_id").fetchall()
    versions = eventstore.stream_versions(conn, [f"webhook-{row['webhook_id']}" for row in rows])
    return [{**row, "version": versions[f"webhook-{row['webhook_id']}"]}
            for row in rows if f"webhook-{row['webhook_id']}" in versions]


def webhook(conn: psycopg.Connection, webhook_id: str) -> dict | None:
    return conn.execute("SELECT webhook_id FROM webhooks WHERE webhook_id = %s AND NOT removed",
                        (webhook_id,)).fetchone()


def webhook_secret(conn: psycopg.Connection, webhook_id: str) -> dict | None:
    """A receiver's secret and whole URL (its query too): they live only here, never in an event."""
    return conn.execute("SELECT secret, url FROM webhook_secrets WHERE webhook_id = %s", (webhook_id,)).fetchone()


def keep_webhook_secret(conn: psycopg.Connection, tenant_id: str, webhook_id: str, secret: str, url: str) -> None:
    conn.execute("INSERT INTO webhook_secrets (tenant_id, webhook_id, secret, url) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (webhook_id) DO UPDATE SET secret = EXCLUDED.secret, url = EXCLUDED.url",
                 (tenant_id, webhook_id, secret, url))


def forget_webhook_secret(conn: psycopg.Connection, webhook_id: str) -> None:
    conn.execute("DELETE FROM webhook_secrets WHERE webhook_id = %s", (webhook_id,))


HANDLERS = (notification, failed_deliveries, inbox_notification, notified, keep_webhook_secret,
            forget_webhook_secret)
"""The named queries the handlers ask through their unit of work."""
