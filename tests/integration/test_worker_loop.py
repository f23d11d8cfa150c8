"""The one worker loop against real PostgreSQL: NOTIFY wake-ups, the leader lock, backoff, a clean stop."""

from __future__ import annotations

import threading

import psycopg
import pytest

from shared import db
from shared.worker import Backoff, WorkerLoop
from tests.support import new_id, wait_for


class Steps:
    """Records each step's wake-up payloads; ``fail`` makes the next steps raise, as a database going away would."""

    def __init__(self, sleep: float | None = 30.0) -> None:
        self.woken: list[set[str]] = []
        self.sleep = sleep
        self.fail = 0

    def __call__(self, conn: psycopg.Connection, woken: set[str]) -> float | None:
        conn.execute("SELECT 1")
        if self.fail:
            self.fail -= 1
            raise psycopg.OperationalError("the database went away")
        self.woken.append(woken)
        return self.sleep


def start(loop: WorkerLoop) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def finish(stop: threading.Event, thread: threading.Thread) -> None:
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the loop did not stop"


def notify(settings, channel: str, payload: str) -> None:
    with db.connect(settings.owner_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))


def test_a_notify_wakes_the_worker_with_its_payload_long_before_its_sleep_ends(members_settings):
    channel, steps = f"wake_{new_id()[:8]}", Steps(sleep=300.0)
    stop, thread = start(WorkerLoop("sample", members_settings.owner_dsn, steps, channels=(channel,),
                                    settle_seconds=0.2))
    try:
        wait_for(lambda: steps.woken, message="the first step")
        notify(members_settings, channel, "bureau-1")
        notify(members_settings, channel, "bureau-2")
        wait_for(lambda: len(steps.woken) >= 2, message="a step woken by NOTIFY")
        assert set().union(*steps.woken[1:]) == {"bureau-1", "bureau-2"}
    finally:
        finish(stop, thread)


def test_one_worker_leads_and_a_standby_takes_over_when_it_stops(members_settings):
    lock, first, second = f"sample-{new_id()}", Steps(sleep=0.05), Steps(sleep=0.05)
    loop = WorkerLoop("sample", members_settings.owner_dsn, first, leader_lock=lock, standby_seconds=0.1)
    stop_first, first_thread = start(loop)
    wait_for(lambda: first.woken, message="the leader's first step")
    stop_second, second_thread = start(WorkerLoop("standby", members_settings.owner_dsn, second, leader_lock=lock,
                                                  standby_seconds=0.1))
    try:
        wait_for(lambda: len(first.woken) > 20, message="the leader working on")
        assert second.woken == []
        finish(stop_first, first_thread)
        wait_for(lambda: second.woken, message="the standby taking over")
    finally:
        finish(stop_second, second_thread)


def test_failures_are_retried_with_backoff_and_the_hook_runs_each_time(members_settings):
    steps, errors = Steps(sleep=0.05), []
    steps.fail = 3
    loop = WorkerLoop("sample", members_settings.owner_dsn, steps, on_error=lambda: errors.append(1),
                      backoff=Backoff(first=0.01, cap=0.05))
    stop, thread = start(loop)
    try:
        wait_for(lambda: steps.woken, message="a step after the failures")
        assert len(errors) == 3
    finally:
        finish(stop, thread)


def test_an_error_the_worker_does_not_expect_ends_the_loop_for_the_supervisor_to_see(members_settings):
    def broken(_conn, _woken):
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        WorkerLoop("sample", members_settings.owner_dsn, broken).run(threading.Event())


@pytest.mark.parametrize("listens", [False, True])
def test_a_stop_during_a_long_sleep_ends_the_loop_at_once(members_settings, listens):
    steps = Steps(sleep=600.0)
    channels = (f"wake_{new_id()[:8]}",) if listens else ()
    stop, thread = start(WorkerLoop("sample", members_settings.owner_dsn, steps, channels=channels))
    wait_for(lambda: steps.woken, message="the first step")
    finish(stop, thread)
    assert len(steps.woken) == 1


def test_backoff_doubles_up_to_its_cap():
    assert [Backoff(0.5, 3.0).after(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
