"""Kafka clients configured the one way the platform uses them."""

from __future__ import annotations

import logging
import threading
import time

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


def idempotent_producer(bootstrap: str, **overrides) -> KafkaProducer:
    """acks=all and idempotence: a retried send is written once and a partition keeps its order.

    The clients' own metrics are off here and in ``batch_consumer``: nothing reads them (the platform's
    gauges and counters are its own), and keeping them costs a few sensor updates on every record."""
    options = dict(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                   max_in_flight_requests_per_connection=5, retries=2**31 - 1,
                   linger_ms=5, request_timeout_ms=15000, delivery_timeout_ms=60000, compression_type=None,
                   metrics_enabled=False)
    options.update(overrides)
    return KafkaProducer(**options)


MAX_POLL_RECORDS = 500


def batch_consumer(bootstrap: str, group_id: str, topics: list[str], listener=None, **overrides) -> KafkaConsumer:
    """Offsets are committed by the runner after its database commit, never automatically; ``listener``
    hears of partitions taken away and given."""
    options = dict(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                   auto_offset_reset="earliest", max_poll_records=MAX_POLL_RECORDS, session_timeout_ms=10000,
                   heartbeat_interval_ms=3000, max_poll_interval_ms=300000, metrics_enabled=False)
    options.update(overrides)
    consumer = KafkaConsumer(**options)
    consumer.subscribe(topics, listener=listener)
    return consumer


def ensure_topics(bootstrap: str, topics: list[str], partitions: int = -1, replication: int = -1) -> None:
    """Create missing topics (each with its ``.dlq`` sibling); existing ones are left as they are.

    -1 takes the broker's defaults: 6 partitions, and one replica on a single node, three in a cluster.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        existing = set(admin.list_topics())
        wanted = [name for topic in topics for name in (topic, f"{topic}.dlq") if name not in existing]
        if wanted:
            try:
                admin.create_topics([NewTopic(name, partitions, replication) for name in wanted])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


class KafkaProbe:
    """Answers 'is the broker reachable?' for /readyz, remembering the answer for a few seconds."""

    def __init__(self, bootstrap: str, ttl_seconds: float = 5.0) -> None:
        self.bootstrap = bootstrap
        self.ttl = ttl_seconds
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._ready = False

    def ready(self) -> bool:
        with self._lock:
            if time.monotonic() - self._checked_at > self.ttl:
                self._ready = self._check()
                self._checked_at = time.monotonic()
            return self._ready

    def _check(self) -> bool:
        try:
            consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, request_timeout_ms=3000,
                                     connections_max_idle_ms=5000)
            try:
                return consumer.topics() is not None
            finally:
                consumer.close()
        except Exception:
            log.warning("kafka not ready", exc_info=True)
            return False
