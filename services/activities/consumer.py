"""Entry points: the activities service's consumer, wiring ``shared.consumer`` to the roster projection."""

from __future__ import annotations

from shared.bootstrap import Service
from shared.consumer import ConsumerRunner
from services.activities import sources

ROSTER_CONSUMER = "activities-roster"


def roster_consumer(service: Service) -> ConsumerRunner:
    """Builds the local roster from the members service's events (never its HTTP API)."""
    settings = service.settings
    return ConsumerRunner(settings, ROSTER_CONSUMER, [settings.topic("members")], sources.apply,
                          event_types=sources.HANDLERS)
