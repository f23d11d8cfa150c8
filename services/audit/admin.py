"""Operator commands of the audit service: ``python -m services.audit.admin rebuild|verify|failures|retry``.

``rebuild`` replays the journal into fresh view tables and swaps them in, printing progress;
``verify`` recomputes every tenant's Merkle tree from the stored envelopes and reports differences;
``failures`` lists the entries the views could not apply and ``retry`` applies them again.
"""

from __future__ import annotations

import argparse
import json
import sys

from shared import jsonlog
from shared.config import Settings
from shared.db import connect
from services.audit import views_feed
from services.audit.tree import verify_journal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.audit.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rebuild", help="rebuild the audit views from the journal and swap them in")
    verify = commands.add_parser("verify", help="check the journal's Merkle trees against the stored envelopes")
    verify.add_argument("tenant", nargs="?", help="one bureau (default: every bureau)")
    commands.add_parser("failures", help="list journal entries the views could not apply")
    commands.add_parser("retry", help="apply the failed entries again (the views worker also does on start)")
    args = parser.parse_args(argv)
    jsonlog.configure("audit-admin")
    settings = Settings.from_env("audit")
    commands_by_name = {"rebuild": _rebuild, "verify": _verify, "failures": _failures, "retry": _retry}
    return commands_by_name[args.command](settings, args)


def _rebuild(settings: Settings, _args) -> int:
    def progress(done: int, total: int) -> None:
        print(f"rebuild: {done}/{total} journal entries applied", file=sys.stderr, flush=True)
    print(json.dumps(views_feed.rebuild(settings, progress)))
    return 0


def _verify(settings: Settings, args) -> int:
    problems = 0
    with connect(settings.owner_dsn) as conn:
        tenants = [args.tenant] if args.tenant else [
            row["tenant_id"] for row in conn.execute("SELECT tenant_id FROM journal_heads ORDER BY tenant_id")]
        for tenant in tenants:
            found = verify_journal(conn, tenant)
            problems += len(found)
            for problem in found:
                print(json.dumps({"tenant_id": tenant, **problem}, ensure_ascii=False))
    print(f"{len(tenants)} journal(s): {'intact' if not problems else f'{problems} problem(s)'}", file=sys.stderr)
    return 1 if problems else 0


def _failures(settings: Settings, _args) -> int:
    with connect(settings.owner_dsn) as conn:
        for row in conn.execute("SELECT tenant_id, seq, event_id, event_type, error, failed_at FROM failures"
                                " ORDER BY failed_at"):
            print(json.dumps({**row, "event_id": str(row["event_id"]), "failed_at": row["failed_at"].isoformat()},
                             ensure_ascii=False))
    return 0


def _retry(settings: Settings, _args) -> int:
    with connect(settings.owner_dsn, autocommit=True) as conn:
        result = views_feed.retry_failures(conn)
    print(json.dumps(result))
    return 1 if result["still_failing"] else 0


if __name__ == "__main__":
    sys.exit(main())
