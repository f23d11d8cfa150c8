"""The ``branchwork`` command: tokens for local use, database set-up, workers, verification."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from shared import auth, db, eventstore, jsonlog
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.kafka import ensure_topics
from shared.process import run_until_signalled
from shared.rebuild import rebuild

SERVICES = ("members", "activities", "notify", "audit")
PUBLISHING_SERVICES = ("members", "activities", "notify")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="branchwork", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _token_parser(commands)
    setup = commands.add_parser("setup", help="create databases, roles and topics; apply migrations")
    setup.add_argument("services", nargs="*", default=list(SERVICES))
    relay = commands.add_parser("relay", help="run a service's outbox relay")
    relay.add_argument("service", choices=PUBLISHING_SERVICES)
    worker = commands.add_parser("worker", help="run one of a service's workers (a consumer, a scheduler)")
    worker.add_argument("service", choices=SERVICES)
    worker.add_argument("name")
    commands.add_parser("workers", help="list every service's workers as service:name")
    replay = commands.add_parser("replay-dead-letters", help="apply a consumer's parked events again (after a fix)")
    replay.add_argument("service", choices=SERVICES)
    replay.add_argument("name", help="the consumer worker's name")
    replay.add_argument("--id", type=int, action="append", dest="ids", help="only these dead letters")
    rebuild = commands.add_parser("rebuild", help="rebuild a service's own read models from its event store")
    rebuild.add_argument("service", choices=PUBLISHING_SERVICES)
    verify = commands.add_parser("verify", help="check a service's event store hash chains, or an audit bundle"
                                 " offline: branchwork verify BUNDLE --key KEYS [--witness KEY …]")
    verify.add_argument("target", help=f"a service ({', '.join(PUBLISHING_SERVICES)}) or an audit bundle file")
    verify.add_argument("--key", help="with a bundle: the bureau's key list (GET /api/v1/keys), a file")
    verify.add_argument("--witness", action="append", default=[],
                        help="with a bundle: a witness's vkey (or a file holding it) that must have cosigned")
    args = parser.parse_args(argv)
    return {"token": _token, "setup": _setup, "relay": _relay, "worker": _worker, "workers": _workers,
            "rebuild": _rebuild, "replay-dead-letters": _replay, "verify": _verify}[args.command](args)


def _token_parser(commands) -> None:
    token = commands.add_parser("token", help="print a signed bearer token for local use")
    token.add_argument("--tenant", help="the bureau id (not needed for platform_admin)")
    token.add_argument("--role", action="append", required=True, choices=auth.ROLES, dest="roles")
    token.add_argument("--branch", action="append", default=[], dest="branches")
    token.add_argument("--sub", default="local-user")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds")


def _token(args) -> int:
    settings = Settings.from_env("members")
    try:
        print(auth.issue_token(settings.jwt_secret, subject=args.sub, roles=args.roles, tenant=args.tenant,
                               branches=args.branches, issuer=settings.jwt_issuer, ttl_seconds=args.ttl))
    except ValueError as error:
        print(f"branchwork token: {error}", file=sys.stderr)
        return 2
    return 0


def _setup(args) -> int:
    logging.basicConfig(level=logging.INFO, format="setup: %(message)s")  # a person reads this, not a collector
    for service in args.services:
        app_module = importlib.import_module(f"services.{service}.app")
        db.provision(Settings.from_env(service), [app_module.MIGRATIONS])
    settings = Settings.from_env("members")
    ensure_topics(settings.kafka_bootstrap, [settings.topic(s) for s in PUBLISHING_SERVICES])
    logging.getLogger(__name__).info("set up %s", ", ".join(args.services))
    return 0


def _relay(args) -> int:
    importlib.import_module(f"services.{args.service}.relay").main()
    return 0


def _service_workers(service: str) -> dict:
    """A service's workers: ``services.<name>.consumer.WORKERS``, name → factory(settings) → run(stop)."""
    try:
        return importlib.import_module(f"services.{service}.consumer").WORKERS
    except ModuleNotFoundError:
        return {}


def _worker(args) -> int:
    workers = _service_workers(args.service)
    if args.name not in workers:
        print(f"branchwork worker: {args.service} has no worker {args.name!r} (has: {sorted(workers)})",
              file=sys.stderr)
        return 2
    run = workers[args.name](Settings.from_env(args.service))
    run_until_signalled(args.service, args.name, run)
    return 0


def _workers(_args) -> int:
    for service in SERVICES:
        for name in _service_workers(service):
            print(f"{service}:{name}")
    return 0


def _replay(args) -> int:
    """Find the worker's ConsumerRunner (its run method's owner) and replay its dead letters."""
    workers = _service_workers(args.service)
    run = workers[args.name](Settings.from_env(args.service)) if args.name in workers else None
    runner = getattr(run, "__self__", None)
    if not isinstance(runner, ConsumerRunner):
        print(f"branchwork: {args.service} has no consumer {args.name!r}", file=sys.stderr)
        return 2
    with db.connect(runner.dsn) as conn:
        count = runner.replay_dead_letters(conn, args.ids)
    print(f"{args.name}: {count} dead letter(s) applied again")
    return 0


def _rebuild(args) -> int:
    """Replay the store into the projections of ``services.<name>.projections`` (TABLES and project)."""
    jsonlog.configure(args.service)
    settings = Settings.from_env(args.service)
    projections = importlib.import_module(f"services.{args.service}.projections")
    registry = importlib.import_module(f"services.{args.service}.events").registry
    with db.connect(settings.owner_dsn) as conn:
        count = rebuild(conn, projections.TABLES, registry, projections.project,
                        progress=lambda n: print(f"  {n} events replayed", file=sys.stderr))
    print(f"{settings.database}: rebuilt from {count} events")
    return 0


def _verify(args) -> int:
    """A service name checks that service's store; anything else is an audit bundle, checked offline."""
    if args.target not in PUBLISHING_SERVICES:
        if not args.key:
            print("branchwork verify: a bundle needs --key (the bureau's key list)", file=sys.stderr)
            return 2
        witnesses = [part for witness in args.witness for part in ("--witness", witness)]
        return importlib.import_module("services.audit.verifier").main([args.target, "--key", args.key, *witnesses])
    if args.key or args.witness:
        print("branchwork verify: --key and --witness go with a bundle, not a service", file=sys.stderr)
        return 2
    settings = Settings.from_env(args.target)
    with db.connect(settings.owner_dsn) as conn:
        problems = eventstore.verify(conn)
    for problem in problems:
        print(json.dumps(problem.to_dict()))
    print(f"{settings.database}: {'intact' if not problems else f'{len(problems)} problem(s)'}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
