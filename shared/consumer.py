"""The consumer runner: Kafka batches applied to PostgreSQL projections with exactly-once effect.

A polled batch is applied in one database transaction that also records each event id as
processed for this consumer; Kafka offsets are committed only after that commit. A redelivered
event finds its id recorded and changes nothing, whether it comes again in a later batch (a crash
between the database commit and the offset commit) or twice in the same one.

The batch costs few round trips: the processed ids are claimed in one statement, and the
projection's statements go out in pipeline mode. Event types the consumer does not use are passed
over on the relay's ``event_type`` header, before anything is decoded. A batch that fails is split
— at the event that raised, or in halves when the database reports the error later — until the
event at fault is alone; it is tried again on its own, then parked in the ``.dlq`` topic and the
``dead_letters`` table, and the rest of the batch is applied without it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import psycopg
from kafka import ConsumerRebalanceListener, OffsetAndMetadata, TopicPartition

from shared import metrics
from shared.config import Settings
from shared.db import connect, pipelined_transaction
from shared.envelope import Envelope, envelope_from_wire
from shared.kafka import MAX_POLL_RECORDS, batch_consumer, idempotent_producer

log = logging.getLogger(__name__)

Apply = Callable[[psycopg.Connection, Envelope], None]
ApplyBatch = Callable[[psycopg.Connection, list[Envelope]], None]
Ask = Callable[[psycopg.Connection, list[Envelope]], Any]
ApplyAsked = Callable[[psycopg.Connection, list[Envelope], Any], None]


@dataclass(frozen=True)
class Delivery:
    """One Kafka record as the runner sees it (kept apart from kafka-python's types for testing)."""

    topic: str
    partition: int
    offset: int
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None


@dataclass
class _Item:
    """A decoded delivery on its way through the batch, with how often it has been applied."""

    record: Delivery
    envelope: Envelope
    tries: int = field(default=0)

    @property
    def event_id(self) -> str:
        """The id in PostgreSQL's spelling of a uuid, to match what ``processed_events`` returns."""
        return str(uuid.UUID(self.envelope.event_id))


class _Failed(Exception):
    """A batch did not commit; ``at`` is the item whose apply raised (None: the error came at the commit)."""

    def __init__(self, error: Exception, at: int | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.at = at


class ConsumerRunner:
    def __init__(self, settings: Settings, name: str, topics: list[str], apply: Apply, *,
                 dsn: str | None = None, max_attempts: int | None = None,
                 event_types: Collection[str] | None = None, apply_batch: ApplyBatch | ApplyAsked | None = None,
                 ask: Ask | None = None, fallback_batch: ApplyAsked | None = None,
                 linger_ms: int | None = None, linger_from_poll: bool = False) -> None:
        """``event_types``: the only types ``apply`` does anything with (None: every type).
        ``apply_batch``: applies a batch's new events at once, to the same effect as ``apply`` on each in turn.
        ``ask``: statements for the whole batch sent with BEGIN and the claim, in its round trip, before it is
        known which events are new; ``apply_batch`` then gets what ``ask`` returned as a third argument, and is
        called even when no event is new (what ``ask`` did in the transaction may have to be undone).
        ``fallback_batch``: for an ``apply_batch`` that does more than its events' own effect (the audit
        journal brings the views level with it): a batch that fails is tried once with ``fallback_batch``
        instead, which does only the events' own effect, before it is split; the parts use it too.
        ``linger_ms``: this consumer's linger (None: the settings' ``consumer_linger_ms``).
        ``linger_from_poll``: the time a batch took counts towards the linger after it (see ``_linger``)."""
        self.settings = settings
        self.name = name
        self.group_id = f"{settings.topic_prefix}.{name}"
        self.topics = topics
        self.apply = apply
        self.apply_batch = apply_batch
        if ask is not None and apply_batch is None:
            raise ValueError("ask: only with apply_batch, which is given what it asked")
        self.ask = ask
        self.fallback_batch = fallback_batch
        self.dsn = dsn or settings.owner_dsn
        self.max_attempts = max_attempts or settings.consumer_max_attempts
        self.event_types = None if event_types is None else frozenset(event_types)
        self.linger_ms = settings.consumer_linger_ms if linger_ms is None else linger_ms
        self.linger_from_poll = linger_from_poll
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
        applied = _Applied()
        consumer = batch_consumer(self.settings.kafka_bootstrap, self.group_id, self.topics,
                                  listener=_CommitOnRevoke(lambda: consumer, applied))
        try:
            with connect(self.dsn) as conn:
                while not stop.is_set():
                    # With offsets still to commit, a short poll: a quiet moment is when they go.
                    polled = consumer.poll(timeout_ms=_QUIET_MS if applied else poll_timeout_ms)
                    polled_at = time.monotonic()
                    records = [Delivery(r.topic, r.partition, r.offset, r.value, tuple(r.headers or ()))
                               for batch in polled.values() for r in batch]
                    if records:
                        self.process(conn, records)
                        applied.add(records)
                    if applied.due(quiet=not records, every=self.settings.consumer_commit_every_ms / 1000):
                        applied.commit(consumer)
                    if records:
                        self._linger(stop, len(records), polled_at)
                applied.commit(consumer)
        finally:
            consumer.close(autocommit=False)

    def _linger(self, stop: threading.Event, batch: int, polled_at: float) -> None:
        """After a batch of several events that did not fill a poll, let the next one gather for a few
        milliseconds.

        Each poll sends one fetch request and each batch commits once: waiting a little after a batch
        turns a stream of events into a fetch, a transaction and an offset commit for many, which is
        where a busy broker's and consumer's time goes. Only a consumer that is already getting events
        faster than one a batch waits: after a single event, the next is handled the moment it comes,
        so a quiet pipeline answers in milliseconds rather than a linger later; an idle consumer's poll
        waits on the broker, which answers as soon as an event arrives. A consumer someone waits on (the
        audit journal) counts the time the batch took towards the wait — events gathered meanwhile — so a
        slow batch is followed by no wait at all; the others wait the whole linger, which costs their events
        a little time and saves batches.
        """
        if 1 < batch < MAX_POLL_RECORDS and self.linger_ms:
            left = self.linger_ms / 1000 - (time.monotonic() - polled_at if self.linger_from_poll else 0.0)
            if left > 0:
                stop.wait(left)

    def _close_dlq_producer(self) -> None:
        if self._dlq_producer is not None:
            try:
                self._dlq_producer.close(timeout=5)
            except Exception:  # noqa: BLE001 — closing a producer to a lost broker may fail too
                log.warning("%s: dead-letter producer close failed", self.name, exc_info=True)
            self._dlq_producer = None

    # --- a batch --------------------------------------------------------------------------------------

    def process(self, conn: psycopg.Connection, records: list[Delivery]) -> None:
        """Apply a batch: one transaction when all goes well, split around an event that fails."""
        items = []
        for record in records:
            if not self._wanted(record.header("event_type")):
                metrics.CONSUMER_APPLIED.labels(self.name, "skipped").inc()
                continue
            try:
                envelope = envelope_from_wire(record.value)
            except Exception as error:
                self._dead_letter(conn, record, None, error, attempts=1)
                continue
            if self._wanted(envelope.event_type):
                items.append(_Item(record, envelope))
        self._apply_split(conn, items)

    def _wanted(self, event_type: str | None) -> bool:
        return self.event_types is None or event_type is None or event_type in self.event_types

    def _apply_split(self, conn: psycopg.Connection, items: list[_Item], fallen_back: bool = False) -> None:
        """Apply ``items`` together; on failure apply the part before the culprit, then the rest (once with the
        fallback first, when there is one: it may be what only ``apply_batch`` does that failed)."""
        if not items:
            return
        try:
            self._apply_together(conn, items, fallen_back)
        except _Failed as failed:
            if self.fallback_batch is not None and not fallen_back:
                log.warning("%s: a batch of %d failed (%s: %s); applying it with the fallback", self.name,
                            len(items), type(failed.error).__name__, failed.error)
                self._apply_split(conn, items, fallen_back=True)
                return
            if len(items) == 1:
                self._apply_alone(conn, items[0], failed.error, fallen_back)
                return
            # The culprit is at ``at`` or before it (the database may report an error later than its statement).
            cut = failed.at if failed.at else (1 if failed.at == 0 else len(items) // 2)
            self._apply_split(conn, items[:cut], fallen_back)
            self._apply_split(conn, items[cut:], fallen_back)

    def _apply_together(self, conn: psycopg.Connection, items: list[_Item], fallen_back: bool = False) -> None:
        at = None

        def first() -> tuple[psycopg.Cursor, Any]:
            claim = self._claim(conn, [item.event_id for item in items])
            return claim, (self.ask(conn, [item.envelope for item in items]) if self.ask is not None else None)

        try:
            # BEGIN goes out with the claim (and what ``ask`` sends), the projection's writes with the COMMIT.
            with pipelined_transaction(conn, first) as (claim, asked):
                fresh = {row["event_id"] for row in claim.fetchall()}
                new = []
                for index, item in enumerate(items):
                    if item.event_id not in fresh:
                        metrics.CONSUMER_APPLIED.labels(self.name, "duplicate").inc()
                        continue
                    fresh.discard(item.event_id)  # a second copy in this batch is a duplicate too
                    item.tries += 1
                    new.append(item.envelope)
                    if self.apply_batch is None:
                        at = index
                        self.apply(conn, item.envelope)
                at = None
                batch = self.fallback_batch if fallen_back else self.apply_batch
                if self.ask is not None:
                    batch(conn, new, asked)
                elif batch is not None and new:
                    batch(conn, new)
        except psycopg.OperationalError:
            raise
        except Exception as error:  # the transaction is rolled back: nothing of the batch is applied
            raise _Failed(error, at) from error
        metrics.CONSUMER_APPLIED.labels(self.name, "applied").inc(sum(1 for item in items if item.tries))

    def _apply_alone(self, conn: psycopg.Connection, item: _Item, error: Exception, fallen_back: bool = False) -> None:
        """Try the one failing event again on its own, up to ``max_attempts`` in all; then park it."""
        while item.tries < self.max_attempts:
            try:
                self._apply_together(conn, [item], fallen_back)
                return
            except _Failed as failed:
                error = failed.error
        self._dead_letter(conn, item.record, item.envelope, error, attempts=max(item.tries, 1))

    def _claim(self, conn: psycopg.Connection, event_ids: list[str]) -> psycopg.Cursor:
        """Record the batch's ids as processed by this consumer (rows: the ids not recorded before). Sent, not
        awaited: in pipeline mode its answer comes back with the next statement that is."""
        return conn.execute("INSERT INTO processed_events (consumer, event_id) SELECT %s, unnest(%b::uuid[])"
                            " ON CONFLICT DO NOTHING RETURNING event_id::text AS event_id", (self.name, event_ids))

    # --- dead letters ---------------------------------------------------------------------------------

    def _mark_processed(self, conn: psycopg.Connection, event_id: str) -> None:
        conn.execute("INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s)"
                     " ON CONFLICT DO NOTHING", (self.name, event_id))

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


_QUIET_MS = 20
_COMMIT_WAIT_MS = 1000
_COMMIT_RETRY_S = 2.0


class _Applied:
    """Offsets whose events are applied and committed in the database but not yet committed to Kafka.

    A batch counts once its database transaction commits; the Kafka offset only saves redelivering it,
    and a redelivered event finds its id processed and changes nothing. So offsets are committed when
    the consumer has a quiet moment (a short poll brings nothing), at the latest ``every`` seconds
    after the first uncommitted batch, when partitions are taken away and when the consumer stops —
    not after each batch, whose wait for the coordinator would hold up the next one and cost the
    broker a request. A commit still waits for the coordinator's answer: commits sent without waiting
    pile up on a broker failing over until the client refuses them.
    """

    def __init__(self) -> None:
        self.offsets: dict[TopicPartition, int] = {}
        self.since: float | None = None
        self.retry_at = 0.0

    def __bool__(self) -> bool:
        return bool(self.offsets)

    def add(self, records: list[Delivery]) -> None:
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            self.offsets[partition] = max(self.offsets.get(partition, -1), record.offset)
        if self.since is None:
            self.since = time.monotonic()

    def due(self, quiet: bool, every: float) -> bool:
        now = time.monotonic()
        return bool(self.offsets) and now >= self.retry_at and (quiet or now - self.since >= every)

    def commit(self, consumer, partitions: Collection[TopicPartition] | None = None) -> None:
        """Commit the offsets of ``partitions`` (all of them by default) that this consumer still owns.

        A commit the coordinator does not answer within ``_COMMIT_WAIT_MS`` (a broker failing over) is
        given up and kept for a try ``_COMMIT_RETRY_S`` later, so the consumer goes on applying events
        meanwhile; a partition that moved to another consumer is dropped: its new owner starts from the
        last committed offset and skips what was applied here.
        """
        owned = consumer.assignment()
        chosen = [tp for tp in self.offsets if partitions is None or tp in partitions]
        offsets = {tp: self.offsets[tp] for tp in chosen if tp in owned}
        if offsets and not _commit_offsets(consumer, offsets):
            self.retry_at = time.monotonic() + _COMMIT_RETRY_S
            return
        self._forget(chosen)

    def send_and_forget(self, consumer, partitions: Collection[TopicPartition]) -> None:
        chosen = [tp for tp in self.offsets if tp in partitions]
        if chosen:
            try:
                consumer.commit_async({tp: OffsetAndMetadata(self.offsets[tp] + 1, "", -1) for tp in chosen})
            except Exception as error:  # noqa: BLE001 — only a redelivery, deduplicated
                log.warning("offset commit before a rebalance failed (events will be redelivered): %s", error)
        self._forget(chosen)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            del self.offsets[tp]
        self.since = time.monotonic() if self.offsets else None


class _CommitOnRevoke(ConsumerRebalanceListener):
    """Send what was applied of the partitions a rebalance takes away, while they are still ours.

    The listener runs on kafka-python's network thread, which must not wait on itself: the commit is sent
    without waiting (it goes ahead of the consumer's request to rejoin, on the same connection), and the
    offsets are forgotten either way — if it is lost, the partitions' next owner applies those events
    again and finds them processed.
    """

    def __init__(self, consumer: Callable, applied: _Applied) -> None:
        self.consumer = consumer
        self.applied = applied

    def on_partitions_revoked(self, revoked) -> None:
        self.applied.send_and_forget(self.consumer(), set(revoked))

    def on_partitions_assigned(self, assigned) -> None:
        pass


def _commit_offsets(consumer, latest: dict[TopicPartition, int]) -> bool:
    """Commit the offset after each partition's last applied record; False if the commit failed."""
    try:
        consumer.commit({tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in latest.items()},
                        timeout_ms=_COMMIT_WAIT_MS)
    except Exception as error:
        log.warning("offset commit failed (events will be redelivered and deduplicated): %s", error)
        return False
    return True
