"""Entry points: the notify service's consumer, wiring ``shared.consumer`` to its projections of others' events."""

from __future__ import annotations

from shared.bootstrap import Service
from shared.consumer import ConsumerRunner
from services.notify import sources

SOURCES = ("members", "activities")


def sources_consumer(service: Service) -> ConsumerRunner:
    """Builds notify's projections of the members and activities events."""
    settings = service.settings
    return ConsumerRunner(settings, "notify-sources", [settings.topic(s) for s in SOURCES], sources.apply,
                          event_types=sources.HANDLERS)
