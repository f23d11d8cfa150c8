"""The one loop of every polling worker: lead, listen, work, sleep until a NOTIFY or a timeout, back off, stop.

A worker brings its ``step(conn, woken)``: it does what is due and says how long it may sleep (0: more is
ready now; None: the loop's idle time). ``woken`` holds the payloads of the NOTIFYs that woke it. The loop
owns the rest: a connection in autocommit mode; a session advisory lock when only one worker may lead
(the others stand by and take over the moment its session ends); LISTEN on the worker's channels; a short
settle after a wake-up so that a burst of commits is taken in one step; a doubling backoff while the
database (or whatever else ``errors`` names) fails; and a clean stop — the step in hand finishes first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from shared.db import connect

log = logging.getLogger(__name__)

Step = Callable[[psycopg.Connection, set[str]], "float | None"]


@dataclass(frozen=True)
class Backoff:
    """Waits after consecutive failures: ``first``, doubling, never above ``cap``."""

    first: float = 0.5
    cap: float = 30.0

    def after(self, failures: int) -> float:
        return min(self.first * 2 ** (failures - 1), self.cap)


@dataclass(frozen=True)
class WorkerLoop:
    name: str
    dsn: str
    step: Step
    channels: tuple[str, ...] = ()
    leader_lock: str | int | None = None
    on_lead: Callable[[psycopg.Connection], None] | None = None
    on_error: Callable[[], None] | None = None
    idle_seconds: float = 1.0
    settle_seconds: float = 0.0
    standby_seconds: float = 1.0
    backoff: Backoff = Backoff()
    errors: tuple[type[BaseException], ...] = (psycopg.OperationalError,)

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; a failure costs a pause, never the process."""
        failures = 0
        while not stop.is_set():
            try:
                with connect(self.dsn, autocommit=True) as conn:
                    if not self._lead(conn, stop):
                        continue
                    failures = 0
                    self._serve(conn, stop)
            except self.errors as error:
                failures += 1
                wait = self.backoff.after(failures)
                log.warning("%s paused: %s: %s; retrying in %.1fs", self.name, type(error).__name__, error, wait,
                            exc_info=not isinstance(error, psycopg.OperationalError))  # a bug's trace, not an outage's
                if self.on_error is not None:
                    self.on_error()
                stop.wait(wait)

    def _lead(self, conn: psycopg.Connection, stop: threading.Event) -> bool:
        """Become the one active worker (if only one may be); False if stopped while standing by."""
        if self.leader_lock is None:
            return True
        # A session lock, not a transaction's: it is held as long as this connection lives, and freed the
        # moment it dies, so a standby takes over from a crashed leader without anyone's help.
        query = ("SELECT pg_try_advisory_lock(hashtext(%s)) AS got" if isinstance(self.leader_lock, str)
                 else "SELECT pg_try_advisory_lock(%s) AS got")
        while not stop.is_set():
            if conn.execute(query, (self.leader_lock,)).fetchone()["got"]:
                log.info("%s active", self.name)
                return True
            stop.wait(self.standby_seconds)
        return False

    def _serve(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        for channel in self.channels:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        if self.on_lead is not None:
            self.on_lead(conn)
        woken: set[str] = set()
        while not stop.is_set():
            sleep = self.step(conn, woken)
            woken = self._wait(conn, self.idle_seconds if sleep is None else sleep, stop)

    def _wait(self, conn: psycopg.Connection, seconds: float, stop: threading.Event) -> set[str]:
        """Sleep up to ``seconds``, waking on a NOTIFY or a stop; return the payloads that arrived."""
        if not self.channels:
            stop.wait(seconds)
            return set()
        deadline = time.monotonic() + seconds
        woken: set[str] = set()
        # In slices of at most a second, so that a stop is noticed even during a long sleep.
        while not woken and not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            woken = {notify.payload for notify in conn.notifies(timeout=min(left, 1.0), stop_after=1)}
        if woken and self.settle_seconds > 0:
            woken |= {notify.payload for notify in conn.notifies(timeout=self.settle_seconds)}
        return woken
