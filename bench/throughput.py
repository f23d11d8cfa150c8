"""The platform end to end: HTTP clients writing, every relay and consumer following, CPU counted per process.

Commands per second count only if every consumer keeps up: after the clients stop, each consumer
group, relay and the audit views must be back at the end of what was written within
``MAX_DRAIN_SECONDS``; a part that is not makes the run fail. CPU is counted from the first command
to the moment the last part caught up, so the consumers' share of the work is in it.
"""

from __future__ import annotations

import statistics
import threading
import time

from bench.load import run_mix, set_up_branches
from bench.stack import CpuMeter, Lag, Stack, own_cpu

MAX_DRAIN_SECONDS = 5.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class LagSampler:
    """The most each part was behind (in records) while the clients wrote, sampled every second."""

    def __init__(self, lag: Lag) -> None:
        self.lag = lag
        self.most: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            for name, behind in self.lag.behind().items():
                self.most[name] = max(self.most.get(name, 0), behind)

    def __enter__(self) -> LagSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


# The same mix, untimed, before the measured run: a stack started just before (as `make bench` may start
# one) is still compiling its hot paths — the Kafka broker's JIT took 158 of its 261 ms of CPU a second under
# this load in the first minute, 49 in the next — and filling its statement caches, which is not the cost of a
# command on a running platform.
WARM_UP_SECONDS = 10.0


def idle_cpu(stack: Stack, seconds: float = 5.0) -> float:
    """CPU seconds per second the whole stack uses with no command coming in."""
    meter = CpuMeter(stack)
    meter.start()
    time.sleep(seconds)
    return sum(meter.stop().values()) / seconds


def platform_run(stack: Stack, raw_tx_per_s: float, clients: int = 8, seconds: float = 10.0,
                 warm_up_seconds: float = WARM_UP_SECONDS) -> dict:
    branches = set_up_branches(stack, clients, "platform")
    lag = Lag(stack)
    try:
        warm_up = run_mix(branches, warm_up_seconds) if warm_up_seconds else None
        lag.drain_times(120)  # the set-up's and the warm-up's own events, before anything is counted
        idle = idle_cpu(stack)
        meter = CpuMeter(stack)
        client_before, started = own_cpu(), time.monotonic()
        meter.start()
        with LagSampler(lag) as sampler:
            load = run_mix(branches, seconds)
        drained = lag.drain_times(60)
        cpu = meter.stop()
        window, client_cpu = time.monotonic() - started, own_cpu() - client_before
    finally:
        lag.close()
        for branch in branches:
            branch.http.close()
    stack_cpu = sum(cpu.values())
    late = {name: seconds_ for name, seconds_ in drained.items() if seconds_ is None or seconds_ > MAX_DRAIN_SECONDS}
    return {
        "clients": clients, "seconds": round(load.seconds, 2), "commands": load.commands, "refused": load.refused,
        "commands_per_s": round(load.rate, 1), "ratio_to_raw": round(load.rate / raw_tx_per_s, 4),
        "latency_ms": {"p50": round(percentile(load.latencies, 0.5) * 1000, 1),
                       "p95": round(percentile(load.latencies, 0.95) * 1000, 1),
                       "mean": round(statistics.fmean(load.latencies) * 1000, 1) if load.latencies else None},
        "drain_seconds": drained, "most_behind_records": sampler.most, "kept_up": not late, "late": late,
        "cpu_ms_per_command": round(stack_cpu * 1000 / max(load.commands, 1), 2),
        # What the stack burns doing nothing (heartbeats, polls, the broker's own work) over the same window:
        # at a low command rate it weighs on every command, at a high one it fades.
        "idle_cpu_per_s": round(idle, 4),
        "cpu_ms_per_command_above_idle": round((stack_cpu - idle * window) * 1000 / max(load.commands, 1), 2),
        "cpu_ms_per_command_by_process": {name: round(seconds_ * 1000 / max(load.commands, 1), 2)
                                          for name, seconds_ in sorted(cpu.items(), key=lambda kv: -kv[1])},
        "client_cpu_ms_per_command": round(client_cpu * 1000 / max(load.commands, 1), 2),
        "errors": load.errors[:5],
        "warm_up": {"seconds": warm_up_seconds, "commands": warm_up.commands if warm_up else 0},
    }
