"""The activities service put together once: what its app, its workers and the operators' commands take.

The roster (``roster_*``) is fed by the members topic, not by this store: its position is the
``activities-roster`` group's offsets, and a rebuild leaves it as it is.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from contracts.rulebook.calendar import use_timezone
from shared.bootstrap import Service, Worker, utc_now
from shared.config import Settings
from shared.rebuild import ReadModel, StoreFeed
from shared.unit_of_work import NamedQueries
from services.activities import consumer, projections, queries
from services.activities.events import registry

SERVICE = "activities"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(settings: Settings | None = None, *, clock=utc_now) -> Service:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    return Service(
        name=SERVICE, settings=settings, migrations=MIGRATIONS, contracts=registry, project=projections.project,
        queries=partial(NamedQueries, queries=queries.HANDLERS), clock=clock,
        workers=(Worker(consumer.ROSTER_CONSUMER, consumer.roster_consumer, reads=("members",)),),
        read_model=ReadModel(tables=projections.TABLES),
        feed=lambda: StoreFeed(registry, projections.project))
