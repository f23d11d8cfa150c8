"""Prometheus metrics shared by every service, and the outbox lag read at scrape time."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


@dataclass(frozen=True)
class GaugeQuery:
    """A gauge read from the service's database at scrape time: the query returns its label columns and ``value``."""

    name: str
    help: str
    labels: tuple[str, ...]
    sql: str


# Every service database has the event store's outbox and the consumers' dead letters.
OUTBOX_UNPUBLISHED = GaugeQuery("branchwork_outbox_unpublished", "Outbox rows not yet on Kafka", (),
                                "SELECT count(*) AS value FROM outbox WHERE published_at IS NULL")
OUTBOX_AGE = GaugeQuery("branchwork_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", (),
                        "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS value"
                        " FROM outbox WHERE published_at IS NULL")
DEAD_LETTERS = GaugeQuery("branchwork_dead_letters", "Events a consumer parked and nobody replayed yet", ("consumer",),
                          "SELECT consumer, count(*) AS value FROM dead_letters WHERE replayed_at IS NULL"
                          " GROUP BY consumer")
COMMON_GAUGES = (OUTBOX_UNPUBLISHED, OUTBOX_AGE, DEAD_LETTERS)


class ServiceGauges(Collector):
    """Gauges queried from each service's database when Prometheus scrapes (outbox lag, dead letters, and the
    service's own), every one labelled with the service.

    One collector per process, holding every service app built in it (one in production, several
    in tests): Prometheus refuses two collectors of the same metric names.
    """

    def __init__(self) -> None:
        self.pools: dict[str, object] = {}
        self.queries: dict[str, tuple[GaugeQuery, ...]] = {}

    def watch(self, service: str, pool, gauges: tuple[GaugeQuery, ...] = ()) -> None:
        self.pools[service] = pool
        self.queries[service] = COMMON_GAUGES + tuple(gauges)

    def describe(self):
        return list(self._families().values())

    def _families(self) -> dict[str, GaugeMetricFamily]:
        queries = {query.name: query for gauges in [COMMON_GAUGES, *self.queries.values()] for query in gauges}
        return {name: GaugeMetricFamily(name, query.help, labels=["service", *query.labels])
                for name, query in queries.items()}

    def collect(self):
        families = self._families()
        for service, pool in list(self.pools.items()):
            try:
                with pool.connection(timeout=2) as conn:
                    for query in self.queries[service]:
                        for row in conn.execute(query.sql).fetchall():
                            families[query.name].add_metric([service, *(str(row[label]) for label in query.labels)],
                                                            float(row["value"] or 0))
            except Exception:  # a scrape must not fail because a database is briefly away
                log.warning("database gauges of %s unavailable", service, exc_info=True)
        yield from families.values()


OUTBOX_LAG = ServiceGauges()
