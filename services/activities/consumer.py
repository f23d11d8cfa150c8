"""Entry points: the activities service's long-running workers, one process each."""

from __future__ import annotations

from contracts.rulebook.calendar import on_local_days
from shared.config import Settings
from shared.consumer import ConsumerRunner
from services.activities import roster

ROSTER_CONSUMER = "activities-roster"


def roster_consumer(settings: Settings) -> ConsumerRunner:
    """Builds the local roster from the members service's events (never its HTTP API)."""
    return ConsumerRunner(settings, ROSTER_CONSUMER, [settings.topic("members")], roster.apply,
                          event_types=roster.HANDLERS)


WORKERS = {name: on_local_days(factory) for name, factory in {
    ROSTER_CONSUMER: lambda settings: roster_consumer(settings).run,
}.items()}
