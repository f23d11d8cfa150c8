"""The members service put together once: what its app, its workers and the operators' commands take."""

from __future__ import annotations

from pathlib import Path

from contracts.rulebook.calendar import use_timezone
from shared.bootstrap import Service, Worker, recording_service, utc_now
from shared.config import Settings
from services.members import consumer, projections, queries
from services.members.daily import DailyDuties
from services.members.events import registry

SERVICE = "members"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(settings: Settings | None = None, *, clock=utc_now) -> Service:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    return recording_service(
        SERVICE, settings, MIGRATIONS, registry, projections, queries, clock=clock,
        workers=(Worker("members-transfer-saga", consumer.transfer_saga, reads=(SERVICE,)),
                 Worker("members-daily", DailyDuties)))
