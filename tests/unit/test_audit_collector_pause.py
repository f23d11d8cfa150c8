"""Views read and judge with Python's cycle collector held off, and give it back as they found it."""

from __future__ import annotations

import gc
import threading

from services.audit.facts import collector_paused


def test_the_collector_is_off_while_a_view_is_read_and_back_on_after():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_readers_in_other_threads_share_the_pause_until_the_last_is_done():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen["while_second_reads"] = gc.isenabled()
        seen["after_both"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"while_second_reads": False, "after_both": True}


def test_a_collector_switched_off_by_someone_else_stays_off_and_a_failing_view_still_resumes_it():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    try:
        with collector_paused():
            raise ValueError("the view failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_as_a_decorator_the_views_facts_are_dropped_before_the_collector_resumes():
    observed = []

    class Fact:
        def __del__(self):
            observed.append(gc.isenabled())

    @collector_paused()
    def view():
        fact = Fact()
        return id(fact)

    view()
    assert observed == [False]


def test_readers_that_never_stop_overlapping_still_let_the_collector_run(monkeypatch):
    from services.audit import facts

    monkeypatch.setattr(facts, "LONGEST_PAUSE", -1.0)  # overdue at once
    collected = []
    monkeypatch.setattr(gc, "collect", lambda *args: collected.append(args) or 0)
    with collector_paused():
        with collector_paused():  # another reader, begun before the first is done
            pass
        assert collected == [()] and not gc.isenabled()
    assert gc.isenabled()
