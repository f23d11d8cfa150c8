"""What operators need of the notify service: its consumers, its read models and the scheduler's last run.

The ``src_*`` projections are fed by the members and activities topics: their position is the
``notify-sources`` group's offsets, and a rebuild leaves them as they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import psycopg

from shared.config import Settings
from shared.metrics import GaugeQuery
from shared.operations import Check, ServiceOperations
from shared.rebuild import ReadModel, StoreFeed
from services.notify import projections
from services.notify.consumer import SOURCES
from services.notify.events import registry
from services.notify.settings import NotifySettings


def scheduler_last_run(conn: psycopg.Connection, _settings: Settings) -> Check:
    """The scheduler keeps each bureau's first run of a day: none for a day and more means it is not running."""
    row = conn.execute("SELECT max(ran_at) AS ran_at, max(as_of) AS as_of, count(DISTINCT tenant_id) AS bureaus"
                       " FROM scheduler_runs").fetchone()
    bureaus = conn.execute("SELECT count(*) AS n FROM src_bureaus").fetchone()["n"]
    interval = timedelta(seconds=NotifySettings.from_env().scheduler_interval_seconds)
    stale = row["ran_at"] is None or datetime.now(UTC) - row["ran_at"] > timedelta(days=1) + interval
    return Check("scheduler", not (bureaus and stale), {
        "last_run": row["ran_at"] and row["ran_at"].isoformat(), "as_of": row["as_of"] and row["as_of"].isoformat(),
        "bureaus_run": row["bureaus"], "bureaus_known": bureaus})


GAUGES = (GaugeQuery("branchwork_notify_deliveries", "Deliveries by channel and status (pending, sent, failed)",
                     ("channel", "status"), "SELECT channel, status, value FROM ops_delivery_counts()"),)

OPERATIONS = ServiceOperations(
    publishes=True,
    consumers={"notify-sources": SOURCES},
    read_model=ReadModel(tables=projections.TABLES),
    feed=lambda: StoreFeed(registry, projections.project),
    probes=(scheduler_last_run,),
)
