"""The scheduler: evaluates the time-based rules for every bureau and records what is due, once per cause.

It runs on start (catching up after downtime), every ``scheduler_interval_seconds``, and when the
``notify-sources`` consumer reports new facts for a bureau — once per ``scheduler_window_seconds`` for
all the facts of that window (``BureauThrottle``), and only once that consumer has read
its topics to the end: rules decided on half-replayed projections (after downtime, on a rebuild) would
remind of the birthday of a member whose death is still in the queue. Rules are windows over dates (from
the day before a birthday to the day itself, from the 20th to the month's end …), so a run after
downtime finds every condition still open and a second run finds nothing new; a reminder whose
window closed while the scheduler was down is not sent late. The clock is the service's (its bootstrap's).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import date, datetime, UTC
from collections.abc import Callable

import psycopg

from contracts.rulebook.calendar import local_date
from shared.bootstrap import Service
from shared.consumer_lag import ConsumerLag
from shared.envelope import Actor
from shared.unit_of_work import CommandContext
from shared.worker import WorkerLoop
from services.notify import handlers
from services.notify.commands import ScheduleReminder
from services.notify.rules import evaluate
from services.notify.snapshot import load_directory, load_snapshot, tenants
from services.notify.sources import RULES_CHANNEL

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = Actor(user="notify-scheduler", role="system")
SOURCES_CONSUMER = "notify-sources"
SOURCE_SERVICES = ("members", "activities")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class BureauThrottle:
    """The bureaus the consumer woke, each evaluated once per ``window`` seconds at most.

    A busy bureau wakes the scheduler with every projected batch, and evaluating its rules takes a
    snapshot of the whole bureau: the first wake-up opens a window, the wake-ups within it join it,
    and the bureau is evaluated once when it closes, on everything the window brought in.
    """

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._woken: dict[str, float] = {}

    @property
    def pending(self) -> set[str]:
        return set(self._woken)

    def wake(self, tenant_ids) -> None:
        now = self.clock()
        for tenant in tenant_ids:
            self._woken.setdefault(tenant, now)

    def due(self) -> set[str]:
        """The woken bureaus whose window has closed."""
        now = self.clock()
        return {tenant for tenant, woken in self._woken.items() if now - woken >= self.window}

    def evaluated(self, tenant_ids) -> None:
        for tenant in set(tenant_ids):
            self._woken.pop(tenant, None)

    def wait(self, longest: float) -> float:
        """Seconds until the first window closes (``longest`` when no bureau is waiting)."""
        if not self._woken:
            return longest
        return max(0.01, min(longest, min(self._woken.values()) + self.window - self.clock()))


LAG_RECHECK_SECONDS = 0.1


class Scheduler:
    def __init__(self, service: Service, *, dsn: str | None = None, sources_behind: Callable[[], int] | None = None,
                 max_wait_seconds: float = 600.0) -> None:
        self.service = service
        self.settings, self.notify, self.clock = service.settings, service.own_settings, service.clock
        settings = self.settings
        self.dsn = dsn or settings.owner_dsn
        self.sources_behind = sources_behind or ConsumerLag(
            settings.kafka_bootstrap, f"{settings.topic_prefix}.{SOURCES_CONSUMER}",
            [settings.topic(service) for service in SOURCE_SERVICES]).behind
        self.max_wait_seconds = max_wait_seconds

    def today(self) -> date:
        """The bureaus' calendar day now (their time zone, not the server's)."""
        return local_date(self.clock())

    def run_once(self, conn: psycopg.Connection, tenant_ids: list[str] | None = None,
                 actor: Actor = SCHEDULER_ACTOR) -> list[str]:
        """Evaluate the rules for the given bureaus (all by default), one transaction each; return new ids."""
        scheduled: list[str] = []
        for tenant_id in tenant_ids if tenant_ids is not None else tenants(conn):
            try:
                with conn.transaction():
                    scheduled.extend(self.run_tenant(conn, tenant_id, actor))
            except psycopg.OperationalError:
                raise
            except Exception:  # one bureau's unexpected data must not keep the others' reminders back
                log.exception("rules of bureau %s could not be evaluated", tenant_id)
        return scheduled

    def run_tenant(self, conn: psycopg.Connection, tenant_id: str, actor: Actor = SCHEDULER_ACTOR) -> list[str]:
        """Inside the caller's transaction: schedule every reminder due today for one bureau."""
        today = self.today()
        snapshot = load_snapshot(conn, tenant_id)
        directory = load_directory(conn, snapshot, today)
        context = CommandContext(actor=actor, tenant_id=tenant_id, correlation_id=str(uuid.uuid4()),
                                 causation_id=None, recorded_at=self.clock())
        uow = self.service.unit_of_work(conn, context)
        scheduled = [notification_id for reminder in evaluate(snapshot, today)
                     if (notification_id := handlers.schedule(uow, ScheduleReminder(reminder, directory, today)))]
        self._log_run(conn, tenant_id, today, len(scheduled))
        if scheduled:
            log.info("scheduled %d notification(s) for %s as of %s", len(scheduled), tenant_id, today)
        return scheduled

    def _log_run(self, conn: psycopg.Connection, tenant_id: str, today: date, scheduled: int) -> None:
        """Keep the first run of each day and every run that scheduled something (not every wake-up)."""
        if scheduled or not conn.execute("SELECT 1 FROM scheduler_runs WHERE tenant_id = %s AND as_of = %s LIMIT 1",
                                         (tenant_id, today)).fetchone():
            conn.execute("INSERT INTO scheduler_runs (tenant_id, as_of, scheduled) VALUES (%s, %s, %s)",
                         (tenant_id, today, scheduled))

    def run(self, stop: threading.Event) -> None:
        """Evaluate on start, then on every wake-up from the consumer or at the interval, until stopped."""
        # psycopg.Error, not only OperationalError: on a fresh stack the schema may not be migrated yet.
        WorkerLoop("notify-scheduler", self.dsn, self._step, channels=(RULES_CHANNEL,), on_lead=self._start,
                   errors=(psycopg.Error,)).run(stop)

    def _start(self, _conn: psycopg.Connection) -> None:
        """On (re)connecting: a catch-up run over every bureau, then wake-ups and the interval."""
        self._throttle = BureauThrottle(self.notify.scheduler_window_seconds)
        self._lag_recheck_at = 0.0
        self._sweep = True
        self._last_sweep = self._waiting_since = time.monotonic()

    def _step(self, conn: psycopg.Connection, woken: set[str]) -> float:
        """Collect the bureaus woken by the consumer; evaluate them (or all, at the interval) once it caught up."""
        throttle = self._throttle
        throttle.wake(woken)
        self._sweep = self._sweep or time.monotonic() - self._last_sweep >= self.notify.scheduler_interval_seconds
        due = throttle.due()
        if not (due or self._sweep):
            if not throttle.pending:
                self._waiting_since = time.monotonic()
            return throttle.wait(1.0)
        if not self._may_evaluate(time.monotonic() - self._waiting_since):
            return max(throttle.wait(1.0), self._lag_recheck_at - time.monotonic())
        self.run_once(conn, None if self._sweep else sorted(due))
        throttle.evaluated(throttle.pending if self._sweep else due)
        if self._sweep:
            self._last_sweep = time.monotonic()
        self._sweep, self._waiting_since = False, time.monotonic()
        return throttle.wait(1.0)

    def _may_evaluate(self, waited: float) -> bool:
        """True once the sources consumer has read everything, or after waiting too long for it.

        Its lag — two requests to the broker — is asked at most every ``LAG_RECHECK_SECONDS``: under a
        steady stream of events the consumer is a few events behind most of the time, and asking at every
        wake-up kept the scheduler and the broker busy for a decision about days."""
        now = time.monotonic()
        if now < self._lag_recheck_at:
            return False
        try:
            behind = self.sources_behind()
        except Exception as error:  # Kafka away: decide on what the projections hold
            log.warning("cannot read the sources consumer's lag (%s); evaluating anyway", error)
            return True
        if behind and waited < self.max_wait_seconds:
            self._lag_recheck_at = now + LAG_RECHECK_SECONDS
            return False
        if behind:
            log.warning("the sources consumer is still %d event(s) behind after %.0fs; evaluating anyway",
                        behind, waited)
        return True
