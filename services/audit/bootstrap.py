"""The audit service put together once: what its app, its workers and the operators' commands take.

``audit-journal`` consumes every service's topic into the journal and its Merkle tree;
``audit-views`` follows the journal into the views (see ``views_feed`` for why not Kafka directly);
``audit-checkpoints`` signs every bureau's checkpoint at least daily (see ``checkpoints``).
"""

from __future__ import annotations

from pathlib import Path

from contracts.rulebook.calendar import use_timezone
from shared.bootstrap import Service, Worker, utc_now
from shared.config import Settings
from services.audit import admin, consumer
from services.audit.settings import AuditSettings
from services.audit.views_feed import READ_MODEL, JournalFeed

SERVICE = "audit"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(settings: Settings | None = None, audit_settings: AuditSettings | None = None, *,
              clock=utc_now) -> Service:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    return Service(
        name=SERVICE, settings=settings, own_settings=audit_settings or AuditSettings.from_env(),
        migrations=MIGRATIONS, clock=clock, publishes=False,
        workers=(Worker("audit-journal", consumer.journal_worker, reads=consumer.SOURCES),
                 Worker("audit-views", consumer.views_worker),
                 Worker("audit-checkpoints", consumer.checkpoint_worker)),
        commands=admin.COMMANDS,
        read_model=READ_MODEL,
        feed=JournalFeed,
        probes=(admin.views_position,),
        gauges=admin.GAUGES)
