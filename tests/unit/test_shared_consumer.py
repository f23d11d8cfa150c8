"""The consumer runner's loop: a broker that is away costs a pause, never the worker process."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

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

    def batch_consumer(bootstrap, group_id, topics):
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

