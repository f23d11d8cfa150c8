"""The ``branchwork`` command: set-up, workers, tokens for local use, and the operators' commands.

Each subcommand is one entry of ``COMMANDS`` (its arguments and what runs it); what a command needs
to know of a service it reads from the service's own table, ``services.<name>.operations.OPERATIONS``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from shared import auth, db, eventstore, jsonlog
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.kafka import ensure_topics
from shared.process import run_until_signalled

SERVICES = ("members", "activities", "notify", "audit")
PUBLISHING_SERVICES = ("members", "activities", "notify")
REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOGUE_DIR = REPO_ROOT / "docs" / "events"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return COMMANDS[args.command][1](args)


def parser() -> argparse.ArgumentParser:
    """Every command's arguments (the deployment checks parse the commands of compose and Kubernetes with it)."""
    top = argparse.ArgumentParser(prog="branchwork", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    for name, (arguments, _run, help_text) in COMMANDS.items():
        arguments(commands.add_parser(name, help=help_text, description=help_text))
    return top


def operations(service: str):
    """A service's entry in the operators' table."""
    return importlib.import_module(f"services.{service}.operations").OPERATIONS


def _service_workers(service: str) -> dict:
    """A service's workers: ``services.<name>.consumer.WORKERS``, name → factory(settings) → run(stop)."""
    try:
        return importlib.import_module(f"services.{service}.consumer").WORKERS
    except ModuleNotFoundError:
        return {}


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=_plain))


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


# --- set-up and processes ----------------------------------------------------------------------------------------

def _token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", help="the bureau id (not needed for platform_admin)")
    parser.add_argument("--role", action="append", required=True, choices=auth.ROLES, dest="roles")
    parser.add_argument("--branch", action="append", default=[], dest="branches")
    parser.add_argument("--sub", default="local-user")
    parser.add_argument("--ttl", type=int, default=12 * 3600, help="seconds")


def _token(args) -> int:
    settings = Settings.from_env("members")
    try:
        if not 0 < args.ttl <= settings.jwt_max_lifetime_seconds:
            raise ValueError(f"--ttl must be 1 to {settings.jwt_max_lifetime_seconds} seconds")
        print(auth.issue_token(settings.jwt_secret, subject=args.sub, roles=args.roles, tenant=args.tenant,
                               branches=args.branches, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                               ttl_seconds=args.ttl))
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
    ensure_topics(settings.kafka_bootstrap, [settings.topic(s) for s in PUBLISHING_SERVICES],
                  partitions=settings.topic_partitions, replication=settings.topic_replication)
    logging.getLogger(__name__).info("set up %s", ", ".join(args.services))
    return 0


def _relay(args) -> int:
    _serve_metrics(Settings.from_env(args.service))
    importlib.import_module(f"services.{args.service}.relay").main()
    return 0


def _serve(args) -> int:
    """Replace this process with gunicorn serving the service on all interfaces (a container's way)."""
    import os
    settings = Settings.from_env(args.service)
    os.execvp("gunicorn", ["gunicorn", "--bind", f"0.0.0.0:{settings.http_port}", "--worker-class", "gthread",
                           "--workers", str(args.workers or settings.http_workers),
                           "--threads", str(args.threads or settings.http_threads), "--graceful-timeout", "20",
                           "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-",
                           f"services.{args.service}.app:create_app()"])
    return 0  # not reached


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: BRANCHWORK_HTTP_WORKERS, 2)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: BRANCHWORK_HTTP_THREADS, 8)")


def _serve_metrics(settings: Settings, run=None) -> None:
    """A worker's own /metrics (its counters; a consumer's lag too), when BRANCHWORK_METRICS_PORT is set."""
    if not settings.metrics_port:
        return
    from prometheus_client import REGISTRY, start_http_server

    from shared.consumer_lag import ConsumerLag, ConsumerLagCollector
    runner = getattr(run, "__self__", None)
    if isinstance(runner, ConsumerRunner):
        REGISTRY.register(ConsumerLagCollector(runner.name, ConsumerLag(settings.kafka_bootstrap, runner.group_id,
                                                                        runner.topics)))
    start_http_server(settings.metrics_port)


def _worker(args) -> int:
    workers = _service_workers(args.service)
    if args.name not in workers:
        print(f"branchwork worker: {args.service} has no worker {args.name!r} (has: {sorted(workers)})",
              file=sys.stderr)
        return 2
    settings = Settings.from_env(args.service)
    run = workers[args.name](settings)
    _serve_metrics(settings, run)
    run_until_signalled(args.service, args.name, run)
    return 0


def _workers(_args) -> int:
    for service in SERVICES:
        for name in _service_workers(service):
            print(f"{service}:{name}")
    return 0


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help=f"a service ({', '.join(PUBLISHING_SERVICES)}) or an audit bundle file")
    parser.add_argument("--key", help="with a bundle: the bureau's key list (GET /api/v1/keys), a file")
    parser.add_argument("--witness", action="append", default=[],
                        help="with a bundle: a witness's vkey (or a file holding it) that must have cosigned")


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


# --- operators ---------------------------------------------------------------------------------------------------

def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE",
                        help=f"only these services (default: all of {', '.join(SERVICES)})")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of lines")


def _status(args) -> int:
    """Every service's checks; exit 1 when any is unhealthy."""
    from shared.operations import service_status
    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        print(f"branchwork status: no service {', '.join(unknown)} (services: {', '.join(SERVICES)})", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)  # Kafka's client logs every refused connection: the report says it once
    report = {service: service_status(service, Settings.from_env(service), operations(service))
              for service in args.services or SERVICES}
    healthy = all(check.healthy for checks in report.values() for check in checks)
    if args.json:
        _print_json({"healthy": healthy, "services": {
            service: {check.name: {"healthy": check.healthy, **_as_mapping(check.detail)} for check in checks}
            for service, checks in report.items()}})
    else:
        for service, checks in report.items():
            print(service)
            for check in checks:
                print(f"  {'ok  ' if check.healthy else 'FAIL'} {check.name:<28} {_summary(check.detail)}")
        print("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1


def _as_mapping(detail) -> dict:
    return detail if isinstance(detail, dict) else {"detail": detail}


def _summary(detail) -> str:
    if not isinstance(detail, dict):
        return str(detail)
    if "partitions" in detail:
        behind = [f"{p['topic']}[{p['partition']}]={p['lag']}" for p in detail["partitions"] if p["lag"]]
        return f"lag {detail['lag']}" + (f" ({', '.join(behind)})" if behind else "")
    shown = {key: value for key, value in detail.items() if not isinstance(value, (dict, list)) or key == "checks"}
    return " ".join(f"{key}={value}" for key, value in shown.items()) or json.dumps(detail, ensure_ascii=False)


def _dlq_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="parked events, newest first (without payloads)")
    listing.add_argument("service", choices=SERVICES)
    listing.add_argument("--consumer")
    listing.add_argument("--all", action="store_true", help="also those already replayed")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one parked event with its payload and error")
    show.add_argument("service", choices=SERVICES)
    show.add_argument("id", type=int)
    replay = actions.add_parser("replay", help="apply parked events again (after a fix)")
    replay.add_argument("service", choices=SERVICES)
    replay.add_argument("--consumer", help="only this consumer's (default: every consumer of the service)")
    replay.add_argument("--id", type=int, action="append", dest="ids", help="only these dead letters")


def _dlq(args) -> int:
    from shared import operations as ops
    settings = Settings.from_env(args.service)
    if args.action == "list":
        rows = ops.dead_letters(settings, consumer=args.consumer, include_replayed=args.all, limit=args.limit)
        if args.json:
            _print_json(rows)
        for row in [] if args.json else rows:
            print(f"{row['id']:>6} {row['recorded_at']:%Y-%m-%d %H:%M:%S} {row['consumer']} "
                  f"{row['topic']}[{row['partition']}]@{row['offset']} {row['event_id']} "
                  f"{'replayed' if row['replayed_at'] else 'parked'}: {row['error']}")
        return 0
    if args.action == "show":
        row = ops.dead_letter(settings, args.id)
        if row is None:
            print(f"branchwork dlq: {args.service} has no dead letter {args.id}", file=sys.stderr)
            return 1
        payload = row.pop("payload")
        try:
            row["payload"] = json.loads(payload)
        except ValueError:
            row["payload"] = payload
        _print_json(row)
        return 0
    consumers = [args.consumer] if args.consumer else list(operations(args.service).consumers)
    return max([_replay_consumer(args.service, consumer, args.ids) for consumer in consumers] or [0])


def _replay_consumer(service: str, name: str, ids: list[int] | None) -> int:
    """Find the worker's ConsumerRunner (its run method's owner) and replay its dead letters."""
    workers = _service_workers(service)
    run = workers[name](Settings.from_env(service)) if name in workers else None
    runner = getattr(run, "__self__", None)
    if not isinstance(runner, ConsumerRunner):
        print(f"branchwork: {service} has no consumer {name!r}", file=sys.stderr)
        return 2
    with db.connect(runner.dsn) as conn:
        count = runner.replay_dead_letters(conn, ids)
    print(f"{name}: {count} dead letter(s) applied again")
    return 0


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("name", help="the consumer worker's name")
    parser.add_argument("--id", type=int, action="append", dest="ids", help="only these dead letters")


def _rebuild(args) -> int:
    """Rebuild into a shadow copy while writers go on, catch up, swap; a progress bar on a terminal."""
    from shared.progress import ProgressBar
    from shared.rebuild import RebuildBusy, rebuild
    jsonlog.configure(args.service)
    settings, entry = Settings.from_env(args.service), operations(args.service)
    bar = ProgressBar(f"rebuild {args.service}", sys.stderr)
    try:
        result = rebuild(settings.owner_dsn, entry.read_model, entry.feed(), progress=bar.update)
    except RebuildBusy as error:
        bar.finish()
        print(f"branchwork rebuild: {error}", file=sys.stderr)
        return 1
    bar.finish()
    print(f"{settings.database}: rebuilt from {result['applied']} entries in {result['rounds']} round(s), swapped in")
    return 0


def _catalogue_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    parser.add_argument("--out", type=Path, default=CATALOGUE_DIR)


def _catalogue(args) -> int:
    from shared import catalogue
    files = catalogue.render(catalogue_topics(), _version())
    if args.check:
        stale = catalogue.stale(args.out, files)
        for name in stale:
            print(f"stale: {args.out / name}", file=sys.stderr)
        if stale:
            print("run: branchwork catalogue", file=sys.stderr)
        return 1 if stale else 0
    for name in catalogue.write(args.out, files):
        print(f"wrote {args.out / name}" if name in files else f"removed {args.out / name}")
    return 0


def catalogue_topics() -> list:
    """Each publishing service's topic with its contracts and the consumer groups that read it."""
    from shared.catalogue import Topic
    defaults = Settings.from_env("members", {})
    return [Topic(service, defaults.topic(service), importlib.import_module(f"contracts.{service}").registry,
                  [consumer for reader in SERVICES for consumer, sources in operations(reader).consumers.items()
                   if service in sources])
            for service in PUBLISHING_SERVICES]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("branchwork")
    except PackageNotFoundError:
        return "0"


def _service_argument(choices: tuple[str, ...]) -> Callable[[argparse.ArgumentParser], None]:
    return lambda parser: parser.add_argument("service", choices=choices)


COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int], str]] = {
    "token": (_token_arguments, _token, "print a signed bearer token for local use"),
    "setup": (lambda p: p.add_argument("services", nargs="*", default=list(SERVICES)), _setup,
              "create databases, roles and topics; apply migrations"),
    "serve": (_serve_arguments, _serve, "serve a service's HTTP API under gunicorn on all interfaces"),
    "relay": (_service_argument(PUBLISHING_SERVICES), _relay, "run a service's outbox relay"),
    "worker": (lambda p: (p.add_argument("service", choices=SERVICES), p.add_argument("name")), _worker,
               "run one of a service's workers (a consumer, a scheduler)"),
    "workers": (lambda p: None, _workers, "list every service's workers as service:name"),
    "verify": (_verify_arguments, _verify, "check a service's event store hash chains, or an audit bundle offline:"
               " branchwork verify BUNDLE --key KEYS [--witness KEY …]"),
    "status": (_status_arguments, _status,
               "readiness, outbox lag, consumer lag per partition, dead letters, projections, scheduler"),
    "dlq": (_dlq_arguments, _dlq, "list, show or replay a service's dead letters"),
    "replay-dead-letters": (_replay_arguments, lambda a: _replay_consumer(a.service, a.name, a.ids),
                            "apply one consumer's parked events again (also: dlq replay)"),
    "rebuild": (_service_argument(SERVICES), _rebuild,
                "rebuild a service's read models without stopping writers (shadow copy, catch up, swap)"),
    "catalogue": (_catalogue_arguments, _catalogue, "write docs/events/ (JSON Schemas, AsyncAPI) from contracts/"),
}


if __name__ == "__main__":
    sys.exit(main())
