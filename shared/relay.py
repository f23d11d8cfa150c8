"""The outbox relay: publishes a service's recorded events to Kafka, in order, never losing one.

One relay is active per service: it holds a PostgreSQL advisory lock on its own session, so a
second relay waits as a standby and takes over the moment the first one's session ends.
Rows are marked published only after the broker acknowledged them; a crash in between
republishes them, and consumers deduplicate by event id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

from shared import metrics
from shared.config import Settings
from shared.envelope import Envelope
from shared.eventstore import EVENT_COLUMNS, row_to_envelope
from shared.kafka import idempotent_producer
from shared.worker import Backoff, WorkerLoop

log = logging.getLogger(__name__)

_EVENT_FIELDS = ", ".join("e." + c.strip() for c in EVENT_COLUMNS.split(","))
BATCH_QUERY = (f"SELECT o.id AS outbox_id, o.topic, e.position, {_EVENT_FIELDS}"
               " FROM outbox o JOIN events e ON e.position = o.event_position"
               " WHERE o.published_at IS NULL ORDER BY o.id LIMIT %s")


class OutboxRelay:
    def __init__(self, settings: Settings, *, producer_factory: Callable = idempotent_producer,
                 idle_wait: float = 0.2, max_backoff: float = 10.0) -> None:
        self.settings = settings
        self.producer_factory = producer_factory
        self.idle_wait = idle_wait
        self.max_backoff = max_backoff
        self.lock_key = f"branchwork.relay.{settings.database}"
        self._producer = None

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set; survive PostgreSQL and Kafka outages with capped backoff.

        A commit that appends events sends NOTIFY, which wakes the relay; the idle wait covers a missed one.
        After a wake-up the relay lingers a few milliseconds, so that the commits of that moment go out as
        one query, one produce request and one UPDATE instead of one each.
        """
        loop = WorkerLoop(f"{self.settings.service}-relay", self.settings.owner_dsn, self._step,
                          channels=("branchwork_outbox",), leader_lock=self.lock_key, on_error=self._close_producer,
                          settle_seconds=self.settings.relay_linger_ms / 1000, backoff=Backoff(cap=self.max_backoff),
                          errors=(psycopg.OperationalError, RelayKafkaError))
        try:
            loop.run(stop)
        finally:
            self._close_producer()

    def _step(self, conn: psycopg.Connection, _woken: set[str]) -> float:
        """One batch; no sleep while a backlog remains."""
        return 0 if self.publish_batch(conn) >= self.settings.relay_batch_size else self.idle_wait

    def publish_batch(self, conn: psycopg.Connection) -> int:
        """Publish the oldest unpublished rows; return how many were published."""
        rows = conn.execute(BATCH_QUERY, (self.settings.relay_batch_size,)).fetchall()
        if not rows:
            return 0
        published = self._send(rows)
        if published:
            conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", (published,))
            metrics.RELAY_PUBLISHED.labels(self.settings.service).inc(len(published))
        if len(published) < len(rows):
            raise RelayKafkaError(f"{len(rows) - len(published)} event(s) not acknowledged")
        return len(published)

    def _send(self, rows: list[dict]) -> list[int]:
        """Send rows in order; return the outbox ids of the acknowledged prefix."""
        producer = self._producer_or_new()
        futures = []
        for row in rows:
            envelope = row_to_envelope(row)
            futures.append((row["outbox_id"], producer.send(
                row["topic"], key=envelope.stream_id.encode(), value=envelope.to_json().encode("utf-8"),
                headers=_headers(envelope))))
        try:
            producer.flush(timeout=60)
        except Exception as error:
            log.warning("flush failed: %s", error)
        acknowledged = []
        for outbox_id, future in futures:
            try:
                future.get(timeout=0)
            except Exception as error:  # stop at the first failure so a stream's order is kept
                log.warning("send failed: %s", error)
                break
            acknowledged.append(outbox_id)
        return acknowledged

    def _producer_or_new(self):
        if self._producer is None:
            try:
                self._producer = self.producer_factory(self.settings.kafka_bootstrap)
            except Exception as error:
                raise RelayKafkaError(f"cannot reach Kafka: {error}") from error
        return self._producer

    def _close_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:
                log.warning("producer close failed", exc_info=True)
            self._producer = None


class RelayKafkaError(Exception):
    """Kafka did not take the batch; the rows stay unpublished and are sent again."""


def _headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    return [("event_type", envelope.event_type.encode()), ("event_id", envelope.event_id.encode()),
            ("correlation_id", (envelope.correlation_id or "").encode()),
            ("tenant_id", (envelope.tenant_id or "").encode())]
