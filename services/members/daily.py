"""The members service's daily duties: expire overdue transfer letters and raise dues arrears reviews.

It runs on start (catching up after downtime) and whenever the date changes; the clock is
the service's (its bootstrap's), so tests can run it on any day. Each duty is idempotent: running twice changes nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import date

import psycopg

from contracts.rulebook.calendar import local_date
from shared.bootstrap import Service
from shared.envelope import Actor
from shared.errors import BranchworkError
from shared.unit_of_work import CommandContext, UnitOfWork
from shared.worker import Backoff, WorkerLoop
from services.members import queries
from services.members.handlers import dues, transfers

log = logging.getLogger(__name__)
DAILY_ACTOR = Actor(user="members-daily", role="system")


class DailyDuties:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.settings = service.settings
        self.clock = service.clock

    def today(self) -> date:
        """The bureaus' local day now: the daily duties turn over at their midnight, not the server's."""
        return local_date(self.clock())

    def run(self, stop: threading.Event, check_every: float = 60.0) -> None:
        """Do the duties on start and whenever the bureaus' day has changed, until stopped."""
        self._last_day: date | None = None
        # Any failure is retried at the next check: a duty that failed today is still owed today.
        WorkerLoop("members-daily", self.settings.owner_dsn, lambda conn, _woken: self._step(conn, check_every),
                   backoff=Backoff(check_every, check_every), errors=(Exception,)).run(stop)

    def _step(self, conn: psycopg.Connection, check_every: float) -> float:
        today = self.today()
        if today != self._last_day:
            self.run_once(conn)
            self._last_day = today
        return check_every

    def run_once(self, conn: psycopg.Connection) -> dict:
        expired = self._expire_letters(conn)
        with conn.transaction():
            reviews = dues.review_arrears(self._unit_of_work(conn, None), None, self.today())
        log.info("daily duties: %d letter(s) expired, %d review(s) raised", len(expired), len(reviews["raised"]))
        return {"expired": expired, "reviews": reviews["raised"]}

    def _expire_letters(self, conn) -> list[str]:
        expired = []
        for row in queries.overdue_letters(conn, self.today()):
            try:
                with conn.transaction():
                    transfers.expire(self._unit_of_work(conn, row["tenant_id"]), row["transfer_id"])
                expired.append(row["transfer_id"])
            except BranchworkError as error:
                log.info("letter %s not expired: %s", row["transfer_id"], error)
        return expired

    def _unit_of_work(self, conn, tenant: str | None) -> UnitOfWork:
        context = CommandContext(actor=DAILY_ACTOR, tenant_id=tenant, correlation_id=f"daily-{self.today()}",
                                 causation_id=None, recorded_at=self.clock())
        return self.service.unit_of_work(conn, context)
