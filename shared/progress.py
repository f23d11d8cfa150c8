"""A progress bar with an estimate of the time left, for operators' long commands.

On a terminal it redraws one line; written to a file or a pipe (a Kubernetes Job's log) it prints a
plain line at most every few seconds, so the log stays readable.
"""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, label: str, stream: TextIO, *, every_seconds: float = 5.0, clock=time.monotonic) -> None:
        self.label = label
        self.stream = stream
        self.every = every_seconds
        self.clock = clock
        self.started = clock()
        self.shown_at: float | None = None
        self.last = ""
        self.interactive = stream.isatty()

    def update(self, done: int, total: int) -> None:
        now = self.clock()
        if not self.interactive and self.shown_at is not None and now - self.shown_at < self.every:
            return
        self.shown_at = now
        self.last = render(self.label, done, total, now - self.started)
        self.stream.write(("\r" + self.last + "\033[K") if self.interactive else self.last + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive and self.last:
            self.stream.write("\n")
            self.stream.flush()


def render(label: str, done: int, total: int, elapsed: float) -> str:
    """``label [#####-----]  50%  500/1000  250/s  about 2s left``."""
    fraction = min(done / total, 1.0) if total else 1.0
    filled = round(fraction * WIDTH)
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate and total > done else 0.0
    return (f"{label} [{'#' * filled}{'-' * (WIDTH - filled)}] {fraction:4.0%}  {done}/{total}  "
            f"{rate:,.0f}/s  {'done' if fraction >= 1 else f'about {duration(left)} left'}")


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
