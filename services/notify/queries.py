"""Reads of the notify service's own tables that are not a view's: what operators look at."""

from __future__ import annotations

from datetime import timedelta

import psycopg

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
