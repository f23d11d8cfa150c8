"""Rebuilds from a million events: each service's read models from its event store (notify's from a fixture of its
own, ``bench.notify_fixture``), the audit views from the journal, against a raw COPY of the same rows (out of their
table and into a plain one, through Python).

The raw COPY is what moving the rows costs at the least; a rebuild also decodes each event (upcasting it
to its contract) and writes its projection's rows, with their keys and indexes. Each part's database is vacuumed
and analysed after its rebuild (``settle``, untimed), so that the next part is not timed alongside autovacuum.
"""

from __future__ import annotations

import time

from psycopg import sql

from bench import fixtures, notify_fixture
from services.activities.app import MIGRATIONS as ACTIVITIES_MIGRATIONS
from services.audit.app import MIGRATIONS as AUDIT_MIGRATIONS
from services.audit.views_feed import rebuild as rebuild_views
from services.members.app import MIGRATIONS as MEMBERS_MIGRATIONS
from services.notify.app import MIGRATIONS as NOTIFY_MIGRATIONS
from shared import db
from shared.config import Settings
from shared.rebuild import rebuild as rebuild_read_models
from services.registry import SERVICES
from bench.stack import Stack

MIGRATIONS = {"members": MEMBERS_MIGRATIONS, "activities": ACTIVITIES_MIGRATIONS, "audit": AUDIT_MIGRATIONS}


def fixture(stack: Stack) -> dict[str, Settings]:
    return fixtures.ensure(stack.settings["members"], MIGRATIONS, progress=lambda line: print(f"bench: {line}"))


def raw_copy(settings: Settings, table: str) -> tuple[int, float]:
    """Rows and seconds to stream ``table`` out with COPY and into a plain unindexed copy of it."""
    with db.connect(settings.owner_dsn) as source, db.connect(settings.owner_dsn) as target:
        target.execute(sql.SQL("CREATE TEMP TABLE raw_copy (LIKE {})").format(sql.Identifier(table)))
        rows = 0
        started = time.perf_counter()
        with source.cursor().copy(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))) as out, \
                target.cursor().copy("COPY raw_copy FROM STDIN") as into:
            for block in out:
                rows += bytes(block).count(b"\n")
                into.write(block)
        target.commit()
        return rows, time.perf_counter() - started


def _service_rebuild(settings: Settings, service: str) -> tuple[int, float]:
    """What ``branchwork rebuild <service>`` does: a shadow copy filled from the store, then swapped in."""
    entry = SERVICES.service(service, settings)
    started = time.perf_counter()
    result = rebuild_read_models(settings.owner_dsn, entry.read_model, entry.feed())
    return result["applied"], time.perf_counter() - started


def _views_rebuild(settings: Settings) -> tuple[int, float]:
    started = time.perf_counter()
    result = rebuild_views(settings)
    return result["applied"], time.perf_counter() - started


def _figures(raw: tuple[int, float], rebuilt: tuple[int, float]) -> dict:
    raw_rate, rate = raw[0] / raw[1], rebuilt[0] / rebuilt[1]
    return {"events": rebuilt[0], "seconds": round(rebuilt[1], 1), "events_per_s": round(rate),
            "raw_copy_rows_per_s": round(raw_rate), "ratio_to_copy": round(rate / raw_rate, 4)}


PARTS = ("members", "activities", "notify", "audit_views")


def rebuild_section(stack: Stack, parts: tuple[str, ...] = PARTS) -> dict:
    settings = fixture(stack)
    results = {}
    for service in ("members", "activities"):
        if service in parts:
            results[service] = _figures(raw_copy(settings[service], "events"),
                                        _service_rebuild(settings[service], service))
            print(f"bench: {service} rebuilt: {results[service]}", flush=True)
            settle(settings[service])
    if "notify" in parts:
        notify = notify_fixture.ensure(stack.settings["notify"], NOTIFY_MIGRATIONS,
                                       progress=lambda line: print(f"bench: {line}"))
        results["notify"] = _figures(raw_copy(notify, "events"), _service_rebuild(notify, "notify"))
        print(f"bench: notify rebuilt: {results['notify']}", flush=True)
        settle(notify)
    if "audit_views" in parts:
        results["audit_views"] = _figures(raw_copy(settings["audit"], "journal"), _views_rebuild(settings["audit"]))
    return results


def settle(settings: Settings) -> None:
    """Vacuum and analyse a database whose tables a rebuild has just swapped in, untimed, as pgbench vacuums before
    a run: autovacuum would otherwise work through them — 1.6 M participants' rows after the activities' rebuild,
    for ten seconds and more — on the same two cores while the next part is timed."""
    started = time.perf_counter()
    with db.connect(settings.owner_dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    print(f"bench: {settings.database} vacuumed and analysed in {time.perf_counter() - started:.1f}s", flush=True)


def ensure_views(settings: Settings) -> None:
    """The read-side benchmark needs the views of the whole fixture; rebuild them if a run did not."""
    with db.connect(settings.owner_dsn) as conn:
        behind = conn.execute("SELECT coalesce(sum(h.size - coalesce(p.seq, 0)), 0)::bigint AS n FROM journal_heads h"
                              " LEFT JOIN views.positions p ON p.tenant_id = h.tenant_id").fetchone()["n"]
    if behind:
        rebuild_views(settings)


if __name__ == "__main__":  # one part or some, without the rest of the section: python -m bench.rebuild members
    import argparse
    import json
    parser = argparse.ArgumentParser(description="The rebuild section of the benchmark, or some of its parts.")
    parser.add_argument("parts", nargs="*", choices=PARTS, default=list(PARTS))
    print(json.dumps(rebuild_section(Stack.discover(), tuple(parser.parse_args().parts)),
                     indent=1))
