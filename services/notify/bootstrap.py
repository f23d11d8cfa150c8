"""The notify service put together once: what its app, its workers and the operators' commands take.

The ``src_*`` projections are fed by the members and activities topics: their position is the
``notify-sources`` group's offsets, and a rebuild leaves them as they are.
"""

from __future__ import annotations

from pathlib import Path

from contracts.rulebook.calendar import use_timezone
from shared.bootstrap import Service, Worker, recording_service, utc_now
from shared.config import Settings
from services.notify import consumer, projections, queries
from services.notify.delivery import DeliveryWorker
from services.notify.events import registry
from services.notify.mailbox import Mailbox
from services.notify.scheduler import Scheduler
from services.notify.settings import NotifySettings

SERVICE = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(settings: Settings | None = None, notify_settings: NotifySettings | None = None, *,
              clock=utc_now) -> Service:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    return recording_service(
        SERVICE, settings, MIGRATIONS, registry, projections, queries, clock=clock,
        own_settings=notify_settings or NotifySettings.from_env(),
        workers=(
            Worker("notify-sources", consumer.sources_consumer, reads=consumer.SOURCES),
            Worker("notify-scheduler", Scheduler),
            Worker("notify-delivery", DeliveryWorker),
            Worker("notify-mailbox", lambda service: Mailbox(service.own_settings))),
        probes=(queries.scheduler_last_run,),
        gauges=queries.GAUGES)
