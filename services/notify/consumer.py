"""Entry points: the notify service's long-running workers, one process each."""

from __future__ import annotations

from contracts.rulebook.calendar import on_local_days
from shared.config import Settings
from shared.consumer import ConsumerRunner
from services.notify import source_projections
from services.notify.delivery import DeliveryWorker
from services.notify.mailbox import Mailbox
from services.notify.scheduler import Scheduler
from services.notify.settings import NotifySettings

SOURCES = ("members", "activities")


def sources_consumer(settings: Settings) -> ConsumerRunner:
    """Builds notify's projections of the members and activities events."""
    return ConsumerRunner(settings, "notify-sources", [settings.topic(s) for s in SOURCES], source_projections.apply,
                          event_types=source_projections.HANDLERS)


WORKERS = {name: on_local_days(factory) for name, factory in {
    "notify-sources": lambda settings: sources_consumer(settings).run,
    "notify-scheduler": lambda settings: Scheduler(settings, NotifySettings.from_env()).run,
    "notify-delivery": lambda settings: DeliveryWorker(settings, NotifySettings.from_env()).run,
    "notify-mailbox": lambda settings: Mailbox(NotifySettings.from_env()).run,
}.items()}
