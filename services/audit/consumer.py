"""Entry points: the audit service's long-running workers, one process each.

``audit-journal`` consumes every service's topic into the journal and its Merkle tree;
``audit-views`` follows the journal into the views (see ``views_feed`` for why not Kafka directly);
``audit-checkpoints`` signs every bureau's checkpoint at least daily (see ``checkpoints``).
"""

from __future__ import annotations

from shared.bootstrap import Service
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.db import connect
from services.audit import journal
from services.audit.checkpoints import CheckpointWorker
from services.audit.tree import JournalTree
from services.audit.views_feed import ViewsWorker, ask_to_follow, follow_journal

SOURCES = ("members", "activities", "notify")


def journal_consumer(settings: Settings, linger_ms: int | None = None) -> ConsumerRunner:
    topics = [settings.topic(source) for source in SOURCES]
    return ConsumerRunner(settings, "audit-journal", topics, journal.append, apply_batch=journal_and_views,
                          linger_ms=linger_ms, linger_from_poll=True)  # auditors wait on the journal


def journal_and_views(conn, envelopes) -> None:
    """Journal a batch and bring the views level with it in the same transaction; the views worker is woken
    only for what that left behind. What the views need to know first is asked with the journal's reads."""
    asked = ask_to_follow(conn, sorted({e.tenant_id for e in envelopes if e.tenant_id is not None}))
    journalled = journal.append_batch(conn, envelopes, notify=False)
    if not follow_journal(conn, journalled, asked):
        journal.wake_views(conn)


def journal_worker(service: Service) -> ConsumerRunner:
    """Complete the Merkle trees of entries journalled before the tree existed, then consume."""
    with connect(service.settings.owner_dsn) as conn:
        for tenant in conn.execute("SELECT tenant_id FROM journal_heads WHERE tree_size < size").fetchall():
            with conn.transaction():
                size = conn.execute("SELECT size FROM journal_heads WHERE tenant_id = %s FOR UPDATE",
                                    (tenant["tenant_id"],)).fetchone()["size"]
                JournalTree(conn, tenant["tenant_id"]).grow(size)
    return journal_consumer(service.settings, service.own_settings.journal_linger_ms)


def views_worker(service: Service) -> ViewsWorker:
    return ViewsWorker(service.settings, batch_size=service.own_settings.views_batch_size)


def checkpoint_worker(service: Service) -> CheckpointWorker:
    return CheckpointWorker(service.settings, service.own_settings, clock=service.clock)
