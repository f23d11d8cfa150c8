"""What an operator asks of a running service: is it ready, how far behind is it, what did it park.

Each service declares its part once, in its bootstrap (``shared.bootstrap.Service``: its consumer workers,
its read model and how to rebuild it, its own probes); ``branchwork status|dlq|rebuild`` read it there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import requests

from shared.bootstrap import Service
from shared.config import Settings
from shared.consumer_lag import ConsumerLag
from shared.db import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One thing looked at: its name, what was found, and whether that is healthy."""

    name: str
    healthy: bool
    detail: Any


@dataclass(frozen=True)
class Limits:
    """Above these an operator should look: the alert rules in deploy/ use the same numbers."""

    outbox_age_seconds: float = 300.0
    consumer_lag: int = 1000
    http_timeout_seconds: float = 3.0


def service_status(service: Service, limits: Limits = Limits()) -> list[Check]:
    """Every check of one service; a check that cannot be made is an unhealthy one saying why."""
    settings = service.settings
    checks = [_guarded("http", lambda: _http(settings, limits))]
    database = _guarded("database", lambda: _database_checks(service, limits))
    checks.extend(database if isinstance(database, list) else [database])
    for consumer, sources in service.consumers().items():
        topics = [settings.topic(source) for source in sources]
        checks.append(_guarded(f"consumer {consumer}", lambda c=consumer, t=topics: _lag(settings, c, t, limits)))
    return checks


def _guarded(name: str, check: Callable[[], Any]) -> Any:
    try:
        return check()
    except Exception as error:  # noqa: BLE001 — an unreachable part is a finding, not a crash of the report
        return Check(name, False, f"{type(error).__name__}: {error}")


def _http(settings: Settings, limits: Limits) -> Check:
    response = requests.get(f"{settings.base_url}/readyz", timeout=limits.http_timeout_seconds)
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return Check("http", response.status_code == 200,
                 {"url": settings.base_url, "status": response.status_code, "checks": body.get("checks")})


def _database_checks(service: Service, limits: Limits) -> list[Check]:
    with connect(service.settings.owner_dsn, autocommit=True, connect_timeout=5) as conn:
        checks = [_outbox(conn, limits)] if service.publishes else []
        checks.append(_dead_letters(conn))
        checks.extend(probe(conn, service) for probe in service.probes)
    return checks


def _outbox(conn: psycopg.Connection, limits: Limits) -> Check:
    row = conn.execute("SELECT count(*) AS unpublished, coalesce(extract(epoch FROM now() - min(created_at)), 0)"
                       "::float AS oldest_age_seconds FROM outbox WHERE published_at IS NULL").fetchone()
    return Check("outbox", row["oldest_age_seconds"] <= limits.outbox_age_seconds, dict(row))


def _dead_letters(conn: psycopg.Connection) -> Check:
    rows = conn.execute("SELECT consumer, count(*) AS parked FROM dead_letters WHERE replayed_at IS NULL"
                        " GROUP BY consumer ORDER BY consumer").fetchall()
    return Check("dead letters", not rows, {row["consumer"]: row["parked"] for row in rows})


def _lag(settings: Settings, consumer: str, topics: list[str], limits: Limits) -> Check:
    lag = ConsumerLag(settings.kafka_bootstrap, f"{settings.topic_prefix}.{consumer}", topics)
    try:
        partitions = lag.partitions()
    finally:
        lag.close()
    total = sum(p.lag for p in partitions)
    return Check(f"consumer {consumer}", total <= limits.consumer_lag, {
        "group": f"{settings.topic_prefix}.{consumer}", "lag": total,
        "partitions": [{"topic": p.topic, "partition": p.partition, "committed": p.committed, "end": p.end,
                        "lag": p.lag} for p in partitions]})


def dead_letters(settings: Settings, *, consumer: str | None = None, include_replayed: bool = False,
                 limit: int = 100) -> list[dict]:
    """Parked events of a service's consumers, newest first, without their payloads."""
    with connect(settings.owner_dsn) as conn:
        return conn.execute(
            "SELECT id, consumer, topic, partition, \"offset\", event_id::text, tenant_id, error, attempts,"
            " recorded_at, replayed_at FROM dead_letters WHERE (%s::text IS NULL OR consumer = %s)"
            " AND (%s OR replayed_at IS NULL) ORDER BY id DESC LIMIT %s",
            (consumer, consumer, include_replayed, limit)).fetchall()


def dead_letter(settings: Settings, letter_id: int) -> dict | None:
    """One parked event with its payload (an operator's command runs as the owner role)."""
    with connect(settings.owner_dsn) as conn:
        return conn.execute("SELECT *, event_id::text AS event_id FROM dead_letters WHERE id = %s",
                            (letter_id,)).fetchone()
