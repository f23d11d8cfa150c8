"""Every kind of worker SIGKILLed in turn under load — each relay, each consumer, the views feed, the
scheduler, delivery, the daily job — and brought back by the supervisor: nothing lost, nothing doubled."""

from __future__ import annotations

import bisect
import time

from tests.faults.platform import PUBLISHING

MAILBOX = "notify-mailbox"  # the local SMTP server, not a worker of the platform: see test_smtp_outage
BETWEEN_KILLS_SECONDS = 1.0


def test_each_worker_killed_in_turn_is_restarted_by_the_supervisor_and_loses_nothing(platform, scenario):
    names = [f"{service}-relay" for service in PUBLISHING] + [n for n in platform.workers() if n != MAILBOX]
    kills = []
    with scenario.under_load() as load:
        for name in names:
            restarts = platform.restarts(name)
            killed_at = time.monotonic()
            old_pid = platform.sigkill(name)
            marks = scenario.census.mark()
            platform.wait_restarted(name, old_pid)
            # From the kill until it runs again and everything recorded before the kill is through.
            recovery = scenario.recovered(marks, since=killed_at)
            assert platform.restarts(name) == restarts + 1
            kills.append((killed_at, name, recovery, marks))
            time.sleep(BETWEEN_KILLS_SECONDS)
    # Each command is counted in the row of the last kill before it was sent (the first row also takes the
    # warm-up's), so the rows add up to the whole load.
    starts = [kill[0] for kill in kills]
    rows: list[list] = [[] for _ in kills]
    for command in load.commands():
        rows[max(bisect.bisect_right(starts, command.sent_at) - 1, 0)].append(command)
    scenario.census.settle()
    # The events recorded from one kill to the next are that row's too (the first row's from the start).
    bounds = [scenario.started_marks] + [kill[3] for kill in kills[1:]] + [scenario.census.mark()]
    for order, ((_, name, recovery, _), commands) in enumerate(zip(kills, rows), start=1):
        scenario.finish(40 + order, f"SIGKILL {name}, restarted by the supervisor", recovery, commands=commands,
                        whole=order == len(kills), marks=(bounds[order - 1], bounds[order]))
