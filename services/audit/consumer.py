"""Entry points: the audit service's long-running workers, one process each."""

from __future__ import annotations

from shared.config import Settings
from shared.consumer import ConsumerRunner
from services.audit import journal

SOURCES = ("members", "activities", "notify")


def journal_consumer(settings: Settings) -> ConsumerRunner:
    topics = [settings.topic(source) for source in SOURCES]
    return ConsumerRunner(settings, "audit-journal", topics, journal.append)


WORKERS = {"audit-journal": lambda settings: journal_consumer(settings).run}
