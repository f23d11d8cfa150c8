"""The consumer runner: Kafka batches applied to PostgreSQL projections with exactly-once effect.

A polled batch is applied in one database transaction that also records each event id as
processed for this consumer; Kafka offsets are committed only after that commit. A redelivered
event finds its id recorded and changes nothing. An event that keeps failing is parked in the
``.dlq`` topic and the ``dead_letters`` table, and the batch goes on without it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from collections.abc import Callable

import psycopg
from kafka import OffsetAndMetadata, TopicPartition

from shared import metrics
from shared.config import Settings
from shared.db import connect
from shared.envelope import Envelope, envelope_from_wire
from shared.kafka import batch_consumer, idempotent_producer

log = logging.getLogger(__name__)

Apply = Callable[[psycopg.Connection, Envelope], None]


@dataclass(frozen=True)
class Delivery:
    """One Kafka record as the runner sees it (kept apart from kafka-python's types for testing)."""

    topic: str
    partition: int
    offset: int
    value: bytes


class ConsumerRunner:
    def __init__(self, settings: Settings, name: str, topics: list[str], apply: Apply, *,
                 dsn: str | None = None, max_attempts: int | None = None) -> None:
        self.settings = settings
        self.name = name
        self.group_id = f"{settings.topic_prefix}.{name}"
        self.topics = topics
        self.apply = apply
        self.dsn = dsn or settings.owner_dsn
        self.max_attempts = max_attempts or settings.consumer_max_attempts
        self._dlq_producer = None

    def run(self, stop: threading.Event, poll_timeout_ms: int = 500) -> None:
        """Consume until ``stop`` is set; the batch in hand is finished and committed first.

        PostgreSQL or Kafka going away (no broker to join, a dead-letter send timing out) costs a
        pause, never the process: nothing of the failed batch was committed, so it is read again.
        """
        while not stop.is_set():
            try:
                self._consume(stop, poll_timeout_ms)
            except psycopg.OperationalError as error:
                log.warning("%s: database unavailable (%s); re-reading from committed offsets", self.name, error)
                stop.wait(2.0)
            except Exception as error:  # noqa: BLE001 — a worker nobody restarts must outlive a broker outage
                log.warning("%s: %s: %s; re-reading from committed offsets", self.name, type(error).__name__, error)
                self._close_dlq_producer()
                stop.wait(2.0)
        self._close_dlq_producer()

    def _consume(self, stop: threading.Event, poll_timeout_ms: int) -> None:
        consumer = batch_consumer(self.settings.kafka_bootstrap, self.group_id, self.topics)
        try:
            with connect(self.dsn) as conn:
                while not stop.is_set():
                    polled = consumer.poll(timeout_ms=poll_timeout_ms)
                    records = [Delivery(r.topic, r.partition, r.offset, r.value)
                               for batch in polled.values() for r in batch]
                    if records:
                        self.process(conn, records)
                        _commit_offsets(consumer, records)
        finally:
            consumer.close(autocommit=False)

    def _close_dlq_producer(self) -> None:
        if self._dlq_producer is not None:
            try:
                self._dlq_producer.close(timeout=5)
            except Exception:  # noqa: BLE001 — closing a producer to a lost broker may fail too
                log.warning("%s: dead-letter producer close failed", self.name, exc_info=True)
            self._dlq_producer = None

    def process(self, conn: psycopg.Connection, records: list[Delivery]) -> None:
        """Apply a batch in one transaction; each event in a savepoint so a poison one can be set aside."""
        with conn.transaction():
            for record in records:
                self._process_one(conn, record)

    def _process_one(self, conn: psycopg.Connection, record: Delivery) -> None:
        try:
            envelope = envelope_from_wire(record.value)
        except Exception as error:
            self._dead_letter(conn, record, None, error, attempts=1)
            return
        last_error: Exception | None = None
        for _attempt in range(self.max_attempts):
            try:
                with conn.transaction():
                    if not self._mark_processed(conn, envelope.event_id):
                        metrics.CONSUMER_APPLIED.labels(self.name, "duplicate").inc()
                        return
                    self.apply(conn, envelope)
                metrics.CONSUMER_APPLIED.labels(self.name, "applied").inc()
                return
            except psycopg.OperationalError:
                raise
            except Exception as error:  # the savepoint is rolled back; try again, then park it
                last_error = error
        self._dead_letter(conn, record, envelope, last_error, attempts=self.max_attempts)

    def _mark_processed(self, conn: psycopg.Connection, event_id: str) -> bool:
        return conn.execute("INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s)"
                            " ON CONFLICT DO NOTHING", (self.name, event_id)).rowcount == 1

    def _dead_letter(self, conn: psycopg.Connection, record: Delivery, envelope: Envelope | None,
                     error: Exception | None, attempts: int) -> None:
        """Park the event: on ``<topic>.dlq`` (sent before the transaction commits) and in ``dead_letters``."""
        message = f"{type(error).__name__}: {error}"
        log.error("%s: dead-lettering %s[%s]@%s: %s", self.name, record.topic, record.partition, record.offset, message)
        self._dlq().send(self.settings.dlq_topic(record.topic), value=record.value,
                         key=(envelope.stream_id.encode() if envelope else None),
                         headers=[("error", message.encode()[:1000]), ("consumer", self.name.encode())]).get(timeout=30)
        with conn.transaction():
            conn.execute(
                "INSERT INTO dead_letters (consumer, topic, partition, \"offset\", event_id, tenant_id, payload, error,"
                " attempts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (self.name, record.topic, record.partition, record.offset, envelope.event_id if envelope else None,
                 envelope.tenant_id if envelope else None, record.value.decode("utf-8", "replace"), message, attempts))
            if envelope is not None:
                self._mark_processed(conn, envelope.event_id)
        metrics.CONSUMER_APPLIED.labels(self.name, "dead_lettered").inc()

    def _dlq(self):
        if self._dlq_producer is None:
            self._dlq_producer = idempotent_producer(self.settings.kafka_bootstrap)
        return self._dlq_producer

    def replay_dead_letters(self, conn: psycopg.Connection, ids: list[int] | None = None) -> int:
        """Apply parked events again (after a fix); those that now succeed are marked replayed."""
        rows = conn.execute("SELECT id, topic, partition, \"offset\", event_id, payload FROM dead_letters"
                            " WHERE consumer = %s AND replayed_at IS NULL AND (%s::bigint[] IS NULL OR id = ANY(%s))"
                            " ORDER BY id", (self.name, ids, ids)).fetchall()
        replayed = 0
        for row in rows:
            with conn.transaction():
                envelope = envelope_from_wire(row["payload"].encode("utf-8"))
                conn.execute("DELETE FROM processed_events WHERE consumer = %s AND event_id = %s",
                             (self.name, envelope.event_id))
                self._mark_processed(conn, envelope.event_id)
                self.apply(conn, envelope)
                conn.execute("UPDATE dead_letters SET replayed_at = now() WHERE id = %s", (row["id"],))
                replayed += 1
        return replayed


def _commit_offsets(consumer, records: list[Delivery]) -> None:
    """Commit the offset after the last record of each partition; a failed commit only means redelivery."""
    latest: dict[TopicPartition, int] = {}
    for record in records:
        partition = TopicPartition(record.topic, record.partition)
        latest[partition] = max(latest.get(partition, -1), record.offset)
    try:
        consumer.commit({tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in latest.items()})
    except Exception as error:
        log.warning("offset commit failed (events will be redelivered and deduplicated): %s", error)
