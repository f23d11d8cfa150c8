"""The ``branchwork`` command: set-up, workers, tokens for local use, and the operators' commands.

Each subcommand is one entry of ``COMMANDS`` (its arguments and what runs it); what a command needs
to know of a service — its settings, migrations, workers, read model, probes and its own commands — it
takes from the service as its bootstrap built it, found through the one registry, ``services.registry``.
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
from shared.bootstrap import Service
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.kafka import ensure_topics
from shared.process import run_until_signalled
from services.registry import SERVICES

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


def publishing_services() -> list[str]:
    """The services that record events and so have a topic and a relay."""
    return SERVICES.publishing()


def _run_own_command(service: Service, name: str, arguments: list[str]) -> int:
    """Run the service's own command ``name`` with the arguments left on the command line."""
    command = service.command(name)
    own = argparse.ArgumentParser(prog=f"branchwork {name} {service.name}", description=command.help)
    command.arguments(own)
    jsonlog.configure(f"{service.name}-admin")
    return command.run(service, own.parse_args(arguments))


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
    for name in args.services:
        service = SERVICES.service(name)
        db.provision(service.settings, [service.migrations])
    settings = Settings.from_env("members")
    ensure_topics(settings.kafka_bootstrap, [settings.topic(s) for s in publishing_services()],
                  partitions=settings.topic_partitions, replication=settings.topic_replication)
    logging.getLogger(__name__).info("set up %s", ", ".join(args.services))
    return 0


def _relay(args) -> int:
    from shared.relay import OutboxRelay
    service = SERVICES.service(args.service)
    if not service.publishes:
        print(f"branchwork relay: {service.name} records no events (relays: {', '.join(publishing_services())})",
              file=sys.stderr)
        return 2
    _serve_metrics(service.settings)
    run_until_signalled(service.name, f"{service.name}-relay", OutboxRelay(service.settings).run)
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
    parser.add_argument("service", choices=SERVICES.names())
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: BRANCHWORK_HTTP_WORKERS, 2)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: BRANCHWORK_HTTP_THREADS, 8)")


def _serve_metrics(settings: Settings, worker=None) -> None:
    """A worker's own /metrics (its counters; a consumer's lag too), when BRANCHWORK_METRICS_PORT is set."""
    if not settings.metrics_port:
        return
    from prometheus_client import REGISTRY, start_http_server

    from shared.consumer_lag import ConsumerLag, ConsumerLagCollector
    if isinstance(worker, ConsumerRunner):
        REGISTRY.register(ConsumerLagCollector(worker.name, ConsumerLag(settings.kafka_bootstrap, worker.group_id,
                                                                        worker.topics)))
    start_http_server(settings.metrics_port)


def _worker(args) -> int:
    service = SERVICES.service(args.service)
    try:
        worker = service.worker(args.name)
    except LookupError as error:
        print(f"branchwork worker: {error}", file=sys.stderr)
        return 2
    _serve_metrics(service.settings, worker)
    run_until_signalled(service.name, args.name, worker.run)
    return 0


def _workers(_args) -> int:
    for name in SERVICES:
        for worker in SERVICES.service(name).worker_names():
            print(f"{name}:{worker}")
    return 0


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help=f"a service ({', '.join(SERVICES.names())}) or an audit bundle file")
    parser.add_argument("scope", nargs="*", help="with a service that verifies more than its store: what to check"
                        " (audit: one bureau)")
    parser.add_argument("--key", help="with a bundle: the bureau's key list (GET /api/v1/keys), a file")
    parser.add_argument("--witness", action="append", default=[],
                        help="with a bundle: a witness's vkey (or a file holding it) that must have cosigned")


def _verify(args) -> int:
    """A service name checks that service's history; anything else is an audit bundle, checked offline."""
    if args.target not in SERVICES:
        if not args.key:
            print("branchwork verify: a bundle needs --key (the bureau's key list)", file=sys.stderr)
            return 2
        witnesses = [part for witness in args.witness for part in ("--witness", witness)]
        return importlib.import_module("services.audit.verifier").main([args.target, "--key", args.key, *witnesses])
    if args.key or args.witness:
        print("branchwork verify: --key and --witness go with a bundle, not a service", file=sys.stderr)
        return 2
    service = SERVICES.service(args.target)
    if service.command("verify"):
        return _run_own_command(service, "verify", args.scope)
    with db.connect(service.settings.owner_dsn) as conn:
        problems = eventstore.verify(conn)
    for problem in problems:
        print(json.dumps(problem.to_dict()))
    print(f"{service.settings.database}: {'intact' if not problems else f'{len(problems)} problem(s)'}",
          file=sys.stderr)
    return 1 if problems else 0


# --- operators ---------------------------------------------------------------------------------------------------

def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE",
                        help=f"only these services (default: all of {', '.join(SERVICES.names())})")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of lines")


def _status(args) -> int:
    """Every service's checks; exit 1 when any is unhealthy."""
    from shared.operations import service_status
    unknown = sorted(set(args.services) - set(SERVICES.names()))
    if unknown:
        print(f"branchwork status: no service {', '.join(unknown)} (services: {', '.join(SERVICES.names())})",
              file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)  # Kafka's client logs every refused connection: the report says it once
    report = {name: service_status(SERVICES.service(name)) for name in args.services or SERVICES.names()}
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
    listing.add_argument("service", choices=SERVICES.names())
    listing.add_argument("--consumer")
    listing.add_argument("--all", action="store_true", help="also those already replayed")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one parked event with its payload and error")
    show.add_argument("service", choices=SERVICES.names())
    show.add_argument("id", type=int)
    replay = actions.add_parser("replay", help="apply parked events again (after a fix)")
    replay.add_argument("service", choices=SERVICES.names())
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
    consumers = [args.consumer] if args.consumer else list(SERVICES.service(args.service).consumers())
    return max([_replay_consumer(args.service, consumer, args.ids) for consumer in consumers] or [0])


def _replay_consumer(name: str, consumer: str, ids: list[int] | None) -> int:
    """Build the service's consumer worker and replay its dead letters."""
    service = SERVICES.service(name)
    runner = service.worker(consumer) if consumer in service.consumers() else None
    if not isinstance(runner, ConsumerRunner):
        print(f"branchwork: {name} has no consumer {consumer!r}", file=sys.stderr)
        return 2
    with db.connect(runner.dsn) as conn:
        count = runner.replay_dead_letters(conn, ids)
    print(f"{consumer}: {count} dead letter(s) applied again")
    return 0


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", choices=SERVICES.names())
    parser.add_argument("name", help="the consumer worker's name")
    parser.add_argument("--id", type=int, action="append", dest="ids", help="only these dead letters")


def _rebuild(args) -> int:
    """Rebuild into a shadow copy while writers go on, catch up, swap; a progress bar on a terminal."""
    from shared.progress import ProgressBar
    from shared.rebuild import RebuildBusy, rebuild
    service = SERVICES.service(args.service)
    if service.command("rebuild"):
        return _run_own_command(service, "rebuild", args.rest)
    jsonlog.configure(service.name)
    bar = ProgressBar(f"rebuild {service.name}", sys.stderr)
    try:
        result = rebuild(service.settings.owner_dsn, service.read_model, service.feed(), progress=bar.update)
    except RebuildBusy as error:
        bar.finish()
        print(f"branchwork rebuild: {error}", file=sys.stderr)
        return 1
    bar.finish()
    print(f"{service.settings.database}: rebuilt from {result['applied']} entries in {result['rounds']} round(s),"
          " swapped in")
    return 0


def _own_command(name: str) -> Callable[[argparse.Namespace], int]:
    """A command only some services have: it runs the named service's own."""
    def run(args) -> int:
        service = SERVICES.service(args.service)
        if service.command(name) is None:
            print(f"branchwork {name}: {service.name} has no such command", file=sys.stderr)
            return 2
        return _run_own_command(service, name, args.rest)
    return run


def _service_and_rest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", choices=SERVICES.names())
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="the service's own arguments (see --help after it)")


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
    consumers = {reader: SERVICES.service(reader).consumers() for reader in SERVICES}
    return [Topic(service, defaults.topic(service), importlib.import_module(f"contracts.{service}").registry,
                  [consumer for reader in SERVICES for consumer, sources in consumers[reader].items()
                   if service in sources])
            for service in publishing_services()]


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
    "setup": (lambda p: p.add_argument("services", nargs="*", default=SERVICES.names()), _setup,
              "create databases, roles and topics; apply migrations"),
    "serve": (_serve_arguments, _serve, "serve a service's HTTP API under gunicorn on all interfaces"),
    "relay": (_service_argument(SERVICES.names()), _relay, "run a service's outbox relay"),
    "worker": (lambda p: (p.add_argument("service", choices=SERVICES.names()), p.add_argument("name")), _worker,
               "run one of a service's workers (a consumer, a scheduler)"),
    "workers": (lambda p: None, _workers, "list every service's workers as service:name"),
    "verify": (_verify_arguments, _verify, "check a service's history (event store hash chains; audit: the journal's"
               " Merkle trees), or an audit bundle offline: branchwork verify BUNDLE --key KEYS [--witness KEY …]"),
    "status": (_status_arguments, _status,
               "readiness, outbox lag, consumer lag per partition, dead letters, projections, scheduler"),
    "dlq": (_dlq_arguments, _dlq, "list, show or replay a service's dead letters"),
    "replay-dead-letters": (_replay_arguments, lambda a: _replay_consumer(a.service, a.name, a.ids),
                            "apply one consumer's parked events again (also: dlq replay)"),
    "rebuild": (_service_and_rest, _rebuild,
                "rebuild a service's read models without stopping writers (shadow copy, catch up, swap)"),
    "retry": (_service_and_rest, _own_command("retry"), "apply again what a service's read side could not apply"
              " (audit: journal entries the views failed on)"),
    "failures": (_service_and_rest, _own_command("failures"), "list what a service's read side could not apply"),
    "catalogue": (_catalogue_arguments, _catalogue, "write docs/events/ (JSON Schemas, AsyncAPI) from contracts/"),
}


if __name__ == "__main__":
    sys.exit(main())
