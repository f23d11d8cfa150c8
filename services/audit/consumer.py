"""Entry points: the audit service's long-running workers, one process each.

``audit-journal`` consumes every service's topic into the journal and its Merkle tree;
``audit-views`` follows the journal into the views (see ``views_feed`` for why not Kafka directly).
"""

from __future__ import annotations

from shared.config import Settings
from shared.consumer import ConsumerRunner
from services.audit import journal
from services.audit.settings import AuditSettings
from services.audit.views_feed import ViewsWorker

SOURCES = ("members", "activities", "notify")


def journal_consumer(settings: Settings) -> ConsumerRunner:
    topics = [settings.topic(source) for source in SOURCES]
    return ConsumerRunner(settings, "audit-journal", topics, journal.append)


def views_worker(settings: Settings) -> ViewsWorker:
    return ViewsWorker(settings, batch_size=AuditSettings.from_env().views_batch_size)


WORKERS = {"audit-journal": lambda settings: journal_consumer(settings).run,
           "audit-views": lambda settings: views_worker(settings).run}
