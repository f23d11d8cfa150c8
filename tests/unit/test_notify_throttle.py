"""The scheduler's throttle: a busy bureau's wake-ups within a window make one evaluation, not one each."""

from __future__ import annotations

from services.notify.scheduler import BureauThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wake_ups_of_a_window_make_one_evaluation_when_it_closes():
    clock = Clock()
    throttle = BureauThrottle(2.0, clock)
    for _ in range(50):  # a burst of projected batches for the same bureau
        throttle.wake(["a"])
        clock.now += 0.01
    assert throttle.due() == set() and throttle.pending == {"a"}
    assert 1.4 < throttle.wait(5.0) < 1.6
    clock.now += 1.6
    assert throttle.due() == {"a"}
    throttle.evaluated({"a"})
    assert throttle.pending == set() and throttle.due() == set() and throttle.wait(5.0) == 5.0


def test_a_wake_up_after_an_evaluation_opens_a_new_window():
    clock = Clock()
    throttle = BureauThrottle(2.0, clock)
    throttle.wake(["a"])
    clock.now += 2
    throttle.evaluated(throttle.due())
    throttle.wake(["a"])
    clock.now += 1
    assert throttle.due() == set()
    clock.now += 1
    assert throttle.due() == {"a"}


def test_another_bureau_is_not_held_back_by_a_busy_one():
    clock = Clock()
    throttle = BureauThrottle(2.0, clock)
    throttle.wake(["busy"])
    clock.now += 1.5
    throttle.wake(["busy", "quiet"])
    clock.now += 0.5
    assert throttle.due() == {"busy"}
    throttle.evaluated({"busy"})
    clock.now += 1.5
    assert throttle.due() == {"quiet"}
