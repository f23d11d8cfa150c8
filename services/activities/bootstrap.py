"""The activities service put together once: what its app, its workers and the operators' commands take.

The roster (``roster_*``) is fed by the members topic, not by this store: its position is the
``activities-roster`` group's offsets, and a rebuild leaves it as it is.
"""

from __future__ import annotations

from pathlib import Path

from contracts.rulebook.calendar import use_timezone
from shared.bootstrap import Service, Worker, recording_service, utc_now
from shared.config import Settings
from services.activities import consumer, projections, queries
from services.activities.events import registry

SERVICE = "activities"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(settings: Settings | None = None, *, clock=utc_now) -> Service:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    return recording_service(
        SERVICE, settings, MIGRATIONS, registry, projections, queries, clock=clock,
        workers=(Worker(consumer.ROSTER_CONSUMER, consumer.roster_consumer, reads=("members",)),))
