"""The read side at scale: the audit journal's ingest against plain INSERTs, and the scorecards auditors
open, over the million journalled events of the fixture.

  journal ingest     5,000 events of the fixture's shape through the journal consumer (polls of 500)
                     against one plain INSERT per event of the same rows, one transaction per batch
  branch, one year   a branch's yearly scorecard over HTTP (in process), p50/p95 over many branches
  bureau, a quarter  the roll-up of a bureau's 100 branches for a quarter, p50/p95

Nothing is timed before the fixture's databases are vacuumed and analysed (``settle``).
"""

from __future__ import annotations

import itertools
import time
import uuid

from bench import fixtures
from bench.rebuild import ensure_views, fixture, settle as settle_database
from bench.stack import Stack
from bench.throughput import percentile
from services.audit.app import create_app
from services.audit.consumer import journal_consumer
from services.audit.settings import AuditSettings
from shared import db
from shared.consumer import Delivery
from tests.support import IsolatedService, bearer, token
from services.audit.app import MIGRATIONS

INGESTED, BATCH = 5000, 500


def journal_ingest(stack: Stack) -> dict:
    history = fixtures.History()
    events = list(itertools.islice(history.bureau(0), INGESTED))
    topic = stack.settings["audit"].topic("members")
    records = [Delivery(topic, 0, offset, event.text.encode(), (("event_type", event.envelope["event_type"].encode()),))
               for offset, event in enumerate(events)]
    audit = IsolatedService("audit", [MIGRATIONS], stack.env)
    settings = audit.create(topic_services=())
    try:
        runner = journal_consumer(settings)  # the journal consumer as it runs, with its batches
        with db.connect(settings.owner_dsn) as conn:
            conn.execute("CREATE TABLE raw_rows (event_id uuid PRIMARY KEY, body text NOT NULL)")
            conn.commit()
            started = time.perf_counter()
            for start in range(0, len(records), BATCH):
                with conn.transaction():
                    for record, event in zip(records[start:start + BATCH], events[start:start + BATCH]):
                        conn.execute("INSERT INTO raw_rows (event_id, body) VALUES (%s, %s)",
                                     (event.envelope["event_id"], record.value.decode()))
            raw = time.perf_counter() - started
            started = time.perf_counter()
            for start in range(0, len(records), BATCH):
                runner.process(conn, records[start:start + BATCH])
            ingest = time.perf_counter() - started
    finally:
        audit.drop()
    return {"events": INGESTED, "batch": BATCH, "insert_per_s": round(INGESTED / raw),
            "journal_per_s": round(INGESTED / ingest), "ratio_to_insert": round(raw / ingest, 4)}


def _sampled(request, targets: list, budget_seconds: float, at_least: int) -> dict:
    """Latencies of ``request(target)`` over the targets in turn, until the budget is spent (and at least some)."""
    timings = []
    started = time.perf_counter()
    for target in itertools.cycle(targets):
        began = time.perf_counter()
        request(target)
        timings.append(time.perf_counter() - began)
        if len(timings) >= at_least and time.perf_counter() - started > budget_seconds:
            break
        if len(timings) >= 200:
            break
    return {"samples": len(timings), "p50_ms": round(percentile(timings, 0.5) * 1000, 1),
            "p95_ms": round(percentile(timings, 0.95) * 1000, 1)}


def scorecards(stack: Stack) -> dict:
    settings = fixture(stack)["audit"]
    ensure_views(settings)
    with db.connect(settings.owner_dsn) as conn:
        tenant = conn.execute("SELECT tenant_id FROM journal_heads ORDER BY tenant_id LIMIT 1").fetchone()["tenant_id"]
        branches = [row["branch_id"] for row in conn.execute(
            "SELECT branch_id FROM views.branches WHERE tenant_id = %s ORDER BY branch_id", (tenant,))]
        events = conn.execute("SELECT coalesce(sum(size), 0)::bigint AS n FROM journal_heads").fetchone()["n"]
    from services.audit.bootstrap import bootstrap  # the audit service as its processes build it
    app = create_app(bootstrap(settings, AuditSettings.from_env()))
    client = app.test_client()
    headers = bearer(token(settings, "auditor", tenant=tenant, subject=f"bench-{uuid.uuid4().hex[:6]}"))
    year = fixtures.FIRST_YEAR + 1

    def get(path: str) -> None:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path} -> {response.status_code}: {response.get_data(as_text=True)[:300]}")

    try:
        branch_year = _sampled(lambda b: get(f"/api/v1/branches/{b}/scorecard?period={year}"), branches, 20, 20)
        bureau_quarter = _sampled(lambda _t: get(f"/api/v1/bureaus/{tenant}/scorecard?period={year}-Q2"),
                                  [tenant], 40, 5)
    finally:
        app.extensions["branchwork"].pool.close()
    return {"journalled_events": events, "branches_in_bureau": len(branches), "branch_year": branch_year,
            "bureau_quarter": bureau_quarter}


def settle(settings: dict) -> None:
    """Routine maintenance before anything is timed (``bench.rebuild.settle``): tables a rebuild has just swapped in
    are otherwise vacuumed and analysed by autovacuum while the reads are timed, on the same two cores — a moment
    after a rebuild, not the read side as it stands."""
    for service in ("members", "activities", "audit"):
        settle_database(settings[service])


def readside_section(stack: Stack) -> dict:
    settings = fixture(stack)
    ensure_views(settings["audit"])
    settle(settings)
    return {"journal_ingest": journal_ingest(stack), **scorecards(stack)}
