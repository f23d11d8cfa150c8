"""Prometheus metrics shared by every service, and the outbox lag read at scrape time."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

REQUESTS = Counter("branchwork_http_requests_total", "HTTP requests served",
                   ["service", "method", "endpoint", "status"])
LATENCY = Histogram("branchwork_http_request_seconds", "HTTP request latency", ["service", "endpoint"])
EVENTS_APPENDED = Counter("branchwork_events_appended_total", "Events appended to the store", ["service"])
RELAY_PUBLISHED = Counter("branchwork_relay_published_total", "Events the relay published", ["service"])
CONSUMER_APPLIED = Counter("branchwork_consumer_events_total", "Events a consumer handled",
                           ["consumer", "outcome"])


class OutboxLagCollector(Collector):
    """Unpublished outbox rows and the age of the oldest, queried when Prometheus scrapes.

    One collector per process, holding every service app built in it (one in production, several
    in tests): Prometheus refuses two collectors of the same metric names.
    """

    def __init__(self) -> None:
        self.pools: dict[str, object] = {}

    def watch(self, service: str, pool) -> None:
        self.pools[service] = pool

    def collect(self):
        count = GaugeMetricFamily("branchwork_outbox_unpublished", "Outbox rows not yet on Kafka", labels=["service"])
        age = GaugeMetricFamily("branchwork_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row",
                                labels=["service"])
        for service, pool in list(self.pools.items()):
            try:
                with pool.connection(timeout=2) as conn:
                    row = conn.execute("SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0)"
                                       " AS age FROM outbox WHERE published_at IS NULL").fetchone()
            except Exception:  # a scrape must not fail because a database is briefly away
                log.warning("outbox lag of %s unavailable", service, exc_info=True)
                continue
            count.add_metric([service], row["n"])
            age.add_metric([service], float(row["age"]))
        yield count
        yield age


OUTBOX_LAG = OutboxLagCollector()
