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

MAX_POLL_SECONDS = 0.04  # the longest an awake relay leaves the outbox unread

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
        self._asleep = True
        self._poll, self._quiet = self._first_poll(), 0.0

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set; survive PostgreSQL and Kafka outages with capped backoff.

        Awake, the relay polls the outbox: a few milliseconds after a batch, then less often while nothing
        comes. After ``relay_quiet_ms`` without an event it falls asleep (``relay_wakeup.listening``, migration
        005) and waits for a NOTIFY, which writers send only while it sleeps: a NOTIFY serialises the
        flushing of the commits that send it, so a busy database's commits are not made to pay for one each.
        The idle wait covers a wake-up missed at the moment of falling asleep.
        """
        loop = WorkerLoop(f"{self.settings.service}-relay", self.settings.owner_dsn, self._step,
                          channels=("branchwork_outbox",), leader_lock=self.lock_key, on_lead=self._on_lead,
                          on_error=self._close_producer, settle_seconds=self.settings.relay_linger_ms / 1000,
                          backoff=Backoff(cap=self.max_backoff), errors=(psycopg.OperationalError, RelayKafkaError))
        try:
            loop.run(stop)
        finally:
            self._close_producer()

    def _on_lead(self, conn: psycopg.Connection) -> None:
        # What the relay writes — rows marked published, the wake-up flag — may be lost in a crash without
        # harm: a row sent again is a duplicate every consumer drops by its event id, and a leader sets the
        # flag afresh. So its commits do not wait for the WAL to reach the disk, and the next batch goes
        # out that much sooner, with one flush fewer for every other commit to queue behind.
        conn.execute("SET synchronous_commit = off")
        self._asleep = True  # so that _wake writes the flag: a relay that led before may have left it set
        self._wake(conn)
        self._poll, self._quiet = self._first_poll(), 0.0

    def _first_poll(self) -> float:
        return max(self.settings.relay_linger_ms / 1000, 0.001)

    def _step(self, conn: psycopg.Connection, _woken: set[str]) -> float:
        """One batch; the seconds until the next look (none while a backlog remains)."""
        published = self.publish_batch(conn)
        if published:
            self._wake(conn)
            self._poll, self._quiet = self._first_poll(), 0.0
            return 0 if published >= self.settings.relay_batch_size else self._poll
        if self._asleep:
            return self.idle_wait
        self._quiet += self._poll
        if self._quiet < self.settings.relay_quiet_ms / 1000:
            self._poll = min(self._poll * 2, MAX_POLL_SECONDS)
            return self._poll
        return self._fall_asleep(conn)

    def _fall_asleep(self, conn: psycopg.Connection) -> float:
        """Ask writers to notify from now on, then look once more: a commit that came before the flag did
        not notify, and would otherwise wait for the idle wait."""
        conn.execute("UPDATE relay_wakeup SET listening = true")
        self._asleep = True
        return self._step(conn, set())

    def _wake(self, conn: psycopg.Connection) -> None:
        if self._asleep:
            conn.execute("UPDATE relay_wakeup SET listening = false")
            self._asleep = False

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
