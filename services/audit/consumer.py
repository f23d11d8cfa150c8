"""Entry points: the audit service's long-running workers, one process each.

``audit-journal`` consumes every service's topic into the journal and its Merkle tree;
``audit-views`` follows the journal into the views (see ``views_feed`` for why not Kafka directly);
``audit-checkpoints`` signs every bureau's checkpoint at least daily (see ``checkpoints``).
"""

from __future__ import annotations

import psycopg

from shared.bootstrap import Service
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.db import connect
from shared.envelope import Envelope
from services.audit import journal
from services.audit.checkpoints import CheckpointWorker
from services.audit.tree import JournalTree
from services.audit.views_feed import ViewsWorker, ask_to_follow, follow_journal

SOURCES = ("members", "activities", "notify")


def journal_consumer(settings: Settings, linger_ms: int | None = None) -> ConsumerRunner:
    """The journal's consumer: a batch waits for PostgreSQL twice from BEGIN to COMMIT — the claim, the journal's
    reads and the views' lock and positions together (``ask_for_batch``), then every write with the COMMIT
    (``journal_and_views``). The views' writes are not kept apart by a savepoint, which would cost a round trip
    for their errors: a batch that fails is journalled again without them (``journal_alone``), and the views
    worker applies it and records what the database refused."""
    topics = [settings.topic(source) for source in SOURCES]
    return ConsumerRunner(settings, "audit-journal", topics, journal.append, ask=ask_for_batch,
                          apply_batch=journal_and_views, fallback_batch=journal_alone,
                          linger_ms=linger_ms, linger_from_poll=True)  # auditors wait on the journal


Asked = tuple[psycopg.Cursor, journal.Asked | None]


def ask_for_batch(conn: psycopg.Connection, envelopes: list[Envelope]) -> Asked:
    """What a batch needs to know first, sent together: the views' lock and positions, the journal's reads."""
    return (ask_to_follow(conn, sorted({e.tenant_id for e in envelopes if e.tenant_id is not None})),
            journal.ask(conn, envelopes))


def journal_and_views(conn: psycopg.Connection, envelopes: list[Envelope], asked: Asked | None = None) -> None:
    """Journal a batch's new events and bring the views level with them in the same transaction; the views
    worker is woken only for what that left behind. ``asked``: what ``ask_for_batch`` sent for these events or
    more (None: asked here)."""
    to_follow, journal_asked = asked or ask_for_batch(conn, envelopes)
    journalled = journal.append_batch(conn, envelopes, notify=False, asked=journal_asked)
    if not follow_journal(conn, journalled, to_follow):
        journal.wake_views(conn)


def journal_alone(conn: psycopg.Connection, envelopes: list[Envelope], asked: Asked) -> None:
    """Journal a batch's new events and leave the views to their worker (woken at the commit)."""
    journal.append_batch(conn, envelopes, asked=asked[1])


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
