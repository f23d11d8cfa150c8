"""Rebuild a service's own read models from its event store.

Everything happens in one transaction: readers keep seeing the old rows (MVCC) until the new ones
commit, and writers wait on the table locks, so no command is projected into a half-built model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import psycopg
from psycopg import sql

from shared import eventstore
from shared.contracts import EventRegistry

log = logging.getLogger(__name__)


def rebuild(conn: psycopg.Connection, tables: Sequence[str], registry: EventRegistry,
            project: Callable, batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Empty ``tables`` and replay every stored event through ``project``; return how many were replayed."""
    replayed, position = 0, 0
    with conn.transaction():
        conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
        while True:
            rows = eventstore.read_all(conn, position, batch)
            if not rows:
                break
            with conn.pipeline():  # the projection's writes go out together, not one round trip each
                for _, envelope in rows:
                    event = registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data)
                    project(conn, envelope, event)
            position = rows[-1][0]
            replayed += len(rows)
            if progress:
                progress(replayed)
    log.info("rebuilt %s from %d events", ", ".join(tables), replayed)
    return replayed
