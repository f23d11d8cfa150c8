"""The members service's daily duties: expire overdue transfer letters and raise dues arrears reviews.

It runs on start (catching up after downtime) and whenever the date changes; the clock is
the service's (its bootstrap's), so tests can run it on any day. Each duty is idempotent: running twice changes nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import date

from contracts.rulebook.calendar import local_date
from shared.bootstrap import Service
from shared.db import connect
from shared.envelope import Actor
from shared.errors import BranchworkError
from shared.unit_of_work import CommandContext, UnitOfWork
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
        last_day: date | None = None
        while not stop.is_set():
            today = self.today()
            if today != last_day:
                try:
                    self.run_once()
                    last_day = today
                except Exception:
                    log.exception("daily duties failed; retrying")
            stop.wait(check_every)

    def run_once(self) -> dict:
        with connect(self.settings.owner_dsn) as conn:
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
