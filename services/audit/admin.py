"""The audit service's operator side: what ``branchwork status`` and ``/metrics`` look at, and its commands.

``branchwork rebuild audit`` replays the journal into fresh view tables and swaps them in, printing progress;
``branchwork verify audit [BUREAU]`` recomputes every bureau's Merkle tree from the stored envelopes and
reports differences; ``branchwork failures audit`` lists the entries the views could not apply and
``branchwork retry audit`` applies them again (the views worker also does on start).
"""

from __future__ import annotations

import argparse
import json
import sys

import psycopg

from shared.bootstrap import AdminCommand, Service
from shared.db import connect
from shared.metrics import GaugeQuery
from shared.operations import Check, Limits
from services.audit import views_feed
from services.audit.tree import verify_journal
from services.audit.views_feed import SCHEMA


def views_position(conn: psycopg.Connection, _service: Service) -> Check:
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



def rebuild(service: Service, _args: argparse.Namespace) -> int:
    def progress(done: int, total: int) -> None:
        print(f"rebuild: {done}/{total} journal entries applied", file=sys.stderr, flush=True)
    print(json.dumps(views_feed.rebuild(service.settings, progress)))
    return 0


def verify(service: Service, args: argparse.Namespace) -> int:
    problems = 0
    with connect(service.settings.owner_dsn) as conn:
        tenants = [args.bureau] if args.bureau else [
            row["tenant_id"] for row in conn.execute("SELECT tenant_id FROM journal_heads ORDER BY tenant_id")]
        for tenant in tenants:
            found = verify_journal(conn, tenant)
            problems += len(found)
            for problem in found:
                print(json.dumps({"tenant_id": tenant, **problem}, ensure_ascii=False))
    print(f"{len(tenants)} journal(s): {'intact' if not problems else f'{problems} problem(s)'}", file=sys.stderr)
    return 1 if problems else 0


def failures(service: Service, _args: argparse.Namespace) -> int:
    with connect(service.settings.owner_dsn) as conn:
        for row in conn.execute("SELECT tenant_id, seq, event_id, event_type, error, failed_at FROM failures"
                                " ORDER BY failed_at"):
            print(json.dumps({**row, "event_id": str(row["event_id"]), "failed_at": row["failed_at"].isoformat()},
                             ensure_ascii=False))
    return 0


def retry(service: Service, _args: argparse.Namespace) -> int:
    with connect(service.settings.owner_dsn, autocommit=True) as conn:
        result = views_feed.retry_failures(conn)
    print(json.dumps(result))
    return 1 if result["still_failing"] else 0


COMMANDS = (
    AdminCommand("rebuild", "rebuild the audit views from the journal and swap them in", rebuild),
    AdminCommand("verify", "check the journal's Merkle trees against the stored envelopes", verify,
                 lambda parser: parser.add_argument("bureau", nargs="?", help="one bureau (default: every bureau)")),
    AdminCommand("failures", "list journal entries the views could not apply", failures),
    AdminCommand("retry", "apply the failed entries again (the views worker also does on start)", retry),
)
