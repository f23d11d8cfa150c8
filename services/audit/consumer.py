"""Entry points: the audit service's long-running workers, one process each.

``audit-journal`` consumes every service's topic into the journal and its Merkle tree;
``audit-views`` follows the journal into the views (see ``views_feed`` for why not Kafka directly);
``audit-checkpoints`` signs every bureau's checkpoint at least daily (see ``checkpoints``).
"""

from __future__ import annotations

from contracts.rulebook.calendar import on_local_days
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.db import connect
from services.audit import journal
from services.audit.checkpoints import CheckpointWorker
from services.audit.tree import JournalTree
from services.audit.settings import AuditSettings
from services.audit.views_feed import ViewsWorker

SOURCES = ("members", "activities", "notify")


def journal_consumer(settings: Settings) -> ConsumerRunner:
    topics = [settings.topic(source) for source in SOURCES]
    return ConsumerRunner(settings, "audit-journal", topics, journal.append)


def journal_worker(settings: Settings):
    """Complete the Merkle trees of entries journalled before the tree existed, then consume."""
    with connect(settings.owner_dsn) as conn:
        for tenant in conn.execute("SELECT tenant_id FROM journal_heads WHERE tree_size < size").fetchall():
            with conn.transaction():
                size = conn.execute("SELECT size FROM journal_heads WHERE tenant_id = %s FOR UPDATE",
                                    (tenant["tenant_id"],)).fetchone()["size"]
                JournalTree(conn, tenant["tenant_id"]).grow(size)
    return journal_consumer(settings).run


def views_worker(settings: Settings) -> ViewsWorker:
    return ViewsWorker(settings, batch_size=AuditSettings.from_env().views_batch_size)


WORKERS = {name: on_local_days(factory) for name, factory in {
    "audit-journal": journal_worker,
    "audit-views": lambda settings: views_worker(settings).run,
    "audit-checkpoints": lambda settings: CheckpointWorker(settings, AuditSettings.from_env()).run,
}.items()}
