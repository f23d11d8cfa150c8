"""The consumer runner's loop: a broker that is away costs a pause, never the worker process."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError

from shared import consumer as consumer_module
from shared.config import Settings
from shared.consumer import ConsumerRunner


class _QuietConsumer:
    def __init__(self) -> None:
        self.closed = False

    def poll(self, timeout_ms=0):
        return {}

    def close(self, autocommit=True):
        self.closed = True


def test_a_runner_that_cannot_reach_the_broker_waits_and_joins_when_it_returns(monkeypatch):
    attempts: list[_QuietConsumer | None] = []
    joined = threading.Event()

    def batch_consumer(bootstrap, group_id, topics, listener=None):
        if not attempts:
            attempts.append(None)
            raise KafkaTimeoutError("Unable to bootstrap")
        attempts.append(_QuietConsumer())
        joined.set()
        return attempts[-1]

    @contextmanager
    def connect(dsn):
        yield object()

    monkeypatch.setattr(consumer_module, "batch_consumer", batch_consumer)
    monkeypatch.setattr(consumer_module, "connect", connect)
    runner = ConsumerRunner(Settings(service="audit", database="branchwork_audit"), "journal", ["t"],
                            apply=lambda conn, envelope: None)
    stop, failures = threading.Event(), []

    def run():
        try:
            runner.run(stop, poll_timeout_ms=10)
        except Exception as error:  # noqa: BLE001 — the assertion below names it
            failures.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    assert joined.wait(10) or failures, "the runner never tried again"
    stop.set()
    worker.join(10)
    assert failures == [] and not worker.is_alive()
    assert attempts[-1].closed


def test_record_batches_are_checksummed_in_c_not_in_python():
    # Every produced and every fetched record batch carries a CRC-32C; kafka-python falls back to a pure
    # Python one (about 0.1 ms a kilobyte, paid by the relay and again by each consumer) without crc32c.
    from kafka.record import util

    assert util.crc32c_c is not None
    assert util.calc_crc32c(b"123456789") == 0xE3069283


class _Clock(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return False


def test_a_consumer_lingers_only_after_a_batch_of_several_events_that_did_not_fill_a_poll():
    runner = ConsumerRunner(Settings(service="audit", consumer_linger_ms=50), "journal", ["t"],
                            apply=lambda conn, envelope: None)
    stop = _Clock()
    for batch in (1, 2, 499, consumer_module.MAX_POLL_RECORDS):
        runner._linger(stop, batch, time.monotonic())
    assert [round(wait, 2) for wait in stop.waits] == [0.05, 0.05]


def test_a_consumer_someone_waits_on_counts_the_time_a_batch_took_towards_its_linger(monkeypatch):
    monkeypatch.setattr(consumer_module.time, "monotonic", lambda: 100.0)
    journal = ConsumerRunner(Settings(service="audit", consumer_linger_ms=50), "journal", ["t"],
                             apply=lambda conn, envelope: None, linger_from_poll=True)
    stop = _Clock()
    journal._linger(stop, 10, 100.0 - 0.03)  # the batch took 30 ms: 20 ms are left to wait
    journal._linger(stop, 10, 100.0 - 0.08)  # it took longer than the linger: no wait
    assert [round(wait, 3) for wait in stop.waits] == [0.02]
    others = ConsumerRunner(Settings(service="audit", consumer_linger_ms=50), "roster", ["t"],
                            apply=lambda conn, envelope: None)
    stop = _Clock()
    others._linger(stop, 10, 100.0 - 0.08)  # the others wait the whole linger: fewer batches
    assert stop.waits == [0.05]


def test_a_consumer_may_have_a_linger_of_its_own():
    runner = ConsumerRunner(Settings(service="audit", consumer_linger_ms=50), "journal", ["t"],
                            apply=lambda conn, envelope: None, linger_ms=20)
    stop = _Clock()
    runner._linger(stop, 10, time.monotonic())
    assert [round(wait, 2) for wait in stop.waits] == [0.02]



class _Record:
    def __init__(self, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset, self.value, self.headers = "t", partition, offset, b"{}", []


class _ScriptedConsumer:
    """Polls answer from a script; each commit is recorded, and refused while ``refuse`` is set."""

    def __init__(self, script: list[dict], stop: threading.Event) -> None:
        self.script, self.stop = script, stop
        self.listener = None
        self.owned = {TopicPartition("t", 0), TopicPartition("t", 1)}
        self.commits: list[dict] = []
        self.sent: list[dict] = []  # without waiting: from the rebalance listener, on the network thread
        self.timeouts: list[int] = []
        self.refuse = False

    def poll(self, timeout_ms=0):
        self.timeouts.append(timeout_ms)
        if not self.script:
            self.stop.set()
            return {}
        step = self.script.pop(0)
        if callable(step):
            return step(self) or {}
        return {TopicPartition("t", p): [_Record(p, o) for o in offsets] for p, offsets in step.items()}

    def assignment(self):
        return set(self.owned)

    def commit_async(self, offsets):
        self.sent.append({(tp.partition): meta.offset for tp, meta in offsets.items()})

    def commit(self, offsets, timeout_ms=None):
        assert timeout_ms is not None, "a commit must not wait for ever on a coordinator that is away"
        if self.refuse:
            raise RuntimeError("the coordinator is away")
        self.commits.append({(tp.partition): meta.offset for tp, meta in offsets.items()})

    def close(self, autocommit=True):
        pass


def _run_script(monkeypatch, script: list, commit_every_ms: int = 500) -> _ScriptedConsumer:
    stop = threading.Event()
    consumer = _ScriptedConsumer(script, stop)

    def batch_consumer(bootstrap, group_id, topics, listener=None):
        consumer.listener = listener
        return consumer

    @contextmanager
    def connect(dsn):
        yield object()

    monkeypatch.setattr(consumer_module, "batch_consumer", batch_consumer)
    monkeypatch.setattr(consumer_module, "connect", connect)
    runner = ConsumerRunner(Settings(service="audit", consumer_linger_ms=0, consumer_commit_every_ms=commit_every_ms),
                            "journal", ["t"], apply=lambda conn, envelope: None)
    runner.process = lambda conn, records: None
    runner._consume(stop, poll_timeout_ms=500)
    return consumer


def test_applied_offsets_are_committed_at_the_first_quiet_poll_not_after_each_batch(monkeypatch):
    consumer = _run_script(monkeypatch, [{0: [1, 2]}, {0: [3], 1: [7]}, {}, {1: [8]}, {}])
    assert consumer.commits == [{0: 4, 1: 8}, {1: 9}]
    # Waiting for events, the poll is long; with offsets to commit it is short, so they go soon.
    assert consumer.timeouts[:3] == [500, consumer_module._QUIET_MS, consumer_module._QUIET_MS]
    assert consumer.timeouts[3] == 500


def test_a_consumer_that_is_never_quiet_commits_every_so_often(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(consumer_module.time, "monotonic", lambda: clock[0])

    def batch(offset):
        def step(consumer):
            clock[0] += 0.2
            return {TopicPartition("t", 0): [_Record(0, offset)]}
        return step

    consumer = _run_script(monkeypatch, [batch(n) for n in range(1, 7)], commit_every_ms=500)
    # The first batch comes at 0.2 s, so its offset is due from 0.7 s: the batch polled at 0.8 s (offset 4)
    # commits through it; the next two are not due by the time the consumer stops, and go then.
    assert consumer.commits == [{0: 5}, {0: 7}]


def test_a_refused_commit_is_tried_again_a_little_later_and_the_consumer_goes_on_meanwhile(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(consumer_module.time, "monotonic", lambda: clock[0])

    def at(seconds, step):
        def timed(consumer):
            clock[0] = seconds
            return step(consumer) if callable(step) else \
                {TopicPartition("t", p): [_Record(p, o) for o in offsets] for p, offsets in step.items()}
        return timed

    def refuse(consumer):
        consumer.refuse = True

    def accept(consumer):
        consumer.refuse = False

    consumer = _run_script(monkeypatch, [at(0.0, {0: [5]}), at(0.1, refuse), at(0.2, accept), at(0.3, {0: [6]}),
                                         at(1.0, {}), at(2.2, {})])
    # Refused at 0.1 s: not tried again at the quiet polls of 0.2 and 1.0 s, the batch at 0.3 s is applied
    # meanwhile, and the offsets of both go at the first quiet poll after 2.1 s.
    assert consumer.commits == [{0: 7}]
    assert consumer.timeouts[:4] == [500, consumer_module._QUIET_MS, consumer_module._QUIET_MS,
                                     consumer_module._QUIET_MS]


def test_the_partitions_a_rebalance_takes_away_are_sent_without_waiting_and_then_forgotten(monkeypatch):
    def rebalance(consumer):
        consumer.listener.on_partitions_revoked({TopicPartition("t", 1)})
        consumer.owned = {TopicPartition("t", 0)}
        return {TopicPartition("t", 0): [_Record(0, 2)]}

    def lose_partition_zero(consumer):
        consumer.owned = set()  # taken away without warning (the session expired): its offsets are dropped

    consumer = _run_script(monkeypatch, [{0: [1], 1: [2]}, rebalance, lose_partition_zero, {}, {}])
    assert consumer.sent == [{1: 3}] and consumer.commits == []
