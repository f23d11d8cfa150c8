"""What operators need of the audit service: the journal consumer, the views' position and their rebuild."""

from __future__ import annotations

import psycopg

from shared.config import Settings
from shared.metrics import GaugeQuery
from shared.operations import Check, Limits, ServiceOperations
from shared.rebuild import ReadModel
from services.audit.consumer import SOURCES
from services.audit.views_feed import SCHEMA, JournalFeed


def views_position(conn: psycopg.Connection, _settings: Settings) -> Check:
    """How far the views are behind the journal, per bureau, and the entries they could not apply."""
    rows = conn.execute(f"SELECT h.tenant_id, h.size, coalesce(p.seq, 0) AS applied FROM public.journal_heads h"
                        f" LEFT JOIN {SCHEMA}.positions p ON p.tenant_id = h.tenant_id ORDER BY h.tenant_id").fetchall()
    failures = conn.execute(f"SELECT count(*) AS n FROM {SCHEMA}.failures").fetchone()["n"]
    behind = sum(row["size"] - row["applied"] for row in rows)
    return Check("views", failures == 0 and behind <= Limits().consumer_lag, {
        "journal_entries": sum(row["size"] for row in rows), "behind": behind, "failed_entries": failures,
        "bureaus": {row["tenant_id"]: {"journal": row["size"], "views": row["applied"]} for row in rows}})


_FIGURES = "FROM ops_journal_figures()"
GAUGES = (
    GaugeQuery("branchwork_audit_journal_entries", "Events in the journal, every bureau", (),
               f"SELECT entries AS value {_FIGURES}"),
    GaugeQuery("branchwork_audit_unsigned_entries", "Journal entries past each bureau's latest signed tree head", (),
               f"SELECT unsigned AS value {_FIGURES}"),
    GaugeQuery("branchwork_audit_last_signed_head_timestamp_seconds", "When the newest tree head was signed (0: never)",
               (), f"SELECT coalesce(extract(epoch FROM last_signed_at), 0) AS value {_FIGURES}"),
    GaugeQuery("branchwork_audit_views_behind", "Journal entries the views have not applied yet", (),
               f"SELECT views_behind AS value {_FIGURES}"),
    GaugeQuery("branchwork_audit_views_failed_entries", "Journal entries the views could not apply", (),
               f"SELECT views_failures AS value {_FIGURES}"),
)

OPERATIONS = ServiceOperations(
    publishes=False,
    consumers={"audit-journal": SOURCES},
    read_model=ReadModel(schema=SCHEMA),
    feed=JournalFeed,
    probes=(views_position,),
)
