"""The journal projection: store each event verbatim, once, numbered in arrival order per tenant.

Each entry names the previous entry of its branch and of its stream (the chains a bundle's completeness
is proved by) and is a leaf of its tenant's Merkle tree; all of it is added in one transaction, and the
commit wakes the views worker (``NOTIFY audit_journal``).

The journal consumer hands over a whole polled batch: per bureau, its sequence numbers are taken at
once, its back-links and Merkle nodes are worked out in memory, and each table gets one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import psycopg

from shared.envelope import Envelope
from services.audit import formats
from services.audit.tree import JournalTree

CHANNEL = "audit_journal"
ENTRY_INSERT = ("INSERT INTO journal (tenant_id, seq, event_id, event_type, stream_id, stream_version, branch_id,"
                " actor_user, occurred_at, recorded_at, hash, envelope, entry_format, branch_prev_seq,"
                " stream_prev_seq, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " coalesce(%s, clock_timestamp()))")


def append(conn: psycopg.Connection, envelope: Envelope, received_at: datetime | None = None) -> None:
    """Add an event to its tenant's journal and tree; an event already there is left alone.

    ``received_at`` (default: the database's clock once the entry's number is taken, so that it grows with
    the numbers) is when the journal received it: the day it becomes known to views ``known_on``.
    """
    append_batch(conn, [envelope], received_at)


def append_batch(conn: psycopg.Connection, envelopes: Sequence[Envelope], received_at: datetime | None = None) -> None:
    """Add events to their tenants' journals and trees, in the order given; those already there (or twice in
    the batch) are left alone."""
    fresh = _not_journalled(conn, [e for e in envelopes if e.tenant_id is not None])
    by_tenant: dict[str, list[Envelope]] = {}
    for envelope in fresh:
        by_tenant.setdefault(envelope.tenant_id, []).append(envelope)
    for tenant_id, entries in by_tenant.items():
        _append_tenant(conn, tenant_id, entries, received_at)
    if fresh:
        conn.execute(f"NOTIFY {CHANNEL}")


def _not_journalled(conn: psycopg.Connection, envelopes: list[Envelope]) -> list[Envelope]:
    if not envelopes:
        return []
    ids = [str(uuid.UUID(e.event_id)) for e in envelopes]
    seen = {str(row["event_id"]) for row in conn.execute(
        "SELECT event_id FROM journal WHERE event_id = ANY(%s::uuid[])", (ids,))}
    fresh = []
    for event_id, envelope in zip(ids, envelopes):
        if event_id not in seen:
            seen.add(event_id)
            fresh.append(envelope)
    return fresh


def _append_tenant(conn: psycopg.Connection, tenant_id: str, envelopes: list[Envelope],
                   received_at: datetime | None) -> None:
    # The head row's lock serialises appends per tenant, so sequence numbers have no gaps and the
    # back-links read below are the true last entries of the branches and streams.
    head = conn.execute(
        "INSERT INTO journal_heads (tenant_id, size) VALUES (%s, %s) ON CONFLICT (tenant_id)"
        " DO UPDATE SET size = journal_heads.size + EXCLUDED.size RETURNING size, tree_size",
        (tenant_id, len(envelopes))).fetchone()
    first = head["size"] - len(envelopes) + 1
    bodies = [envelope.to_dict() for envelope in envelopes]
    links = advance_chains(conn, tenant_id, bodies, first)
    headers = [formats.entry_header(first + offset, body, *link)
               for offset, (body, link) in enumerate(zip(bodies, links))]
    conn.cursor().executemany(ENTRY_INSERT, [
        (tenant_id, header["seq"], e.event_id, e.event_type, e.stream_id, e.stream_version, e.branch_id,
         e.actor.user, e.occurred_at, e.recorded_at, e.hash, e.to_json(), formats.ENTRY_FORMAT,
         header["branch_prev"], header["stream_prev"], received_at) for e, header in zip(envelopes, headers)])
    tree = JournalTree(conn, tenant_id)
    if head["tree_size"] == first - 1:
        tree.add_leaves(first, [formats.entry_leaf_data(header) for header in headers])
    else:
        tree.grow(head["size"])


def advance_chains(conn: psycopg.Connection, tenant_id: str, envelopes: list[dict], first_seq: int) -> list[tuple]:
    """Make entries ``first_seq``, ``first_seq + 1`` … the last of their branches and streams, in turn;
    return, for each, the entries it follows (0: none) — one query to read the chains, one to move them."""
    keys = [formats.chain_keys(envelope) for envelope in envelopes]
    wanted = sorted({key for pair in keys for key in pair})
    last = {(row["kind"], row["key"]): row["last_seq"] for row in conn.execute(
        "SELECT kind, key, last_seq FROM journal_keys WHERE tenant_id = %s"
        " AND (kind, key) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        (tenant_id, [kind for kind, _ in wanted], [key for _, key in wanted]))}
    links = []
    for seq, (branch, stream) in enumerate(keys, start=first_seq):
        links.append((last.get(branch, 0), last.get(stream, 0)))
        last[branch] = last[stream] = seq
    conn.cursor().executemany(
        "INSERT INTO journal_keys (tenant_id, kind, key, last_seq) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, kind, key) DO UPDATE SET last_seq = EXCLUDED.last_seq",
        [(tenant_id, kind, key, last[(kind, key)]) for kind, key in wanted])
    return links
