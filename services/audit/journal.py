"""The journal projection: store each event verbatim, once, numbered in arrival order per tenant.

Each entry is also a leaf of its tenant's Merkle tree, added in the same transaction, and the commit
wakes the views worker (``NOTIFY audit_journal``).
"""

from __future__ import annotations

import psycopg

from shared.envelope import Envelope
from services.audit.tree import JournalTree

CHANNEL = "audit_journal"


def append(conn: psycopg.Connection, envelope: Envelope) -> None:
    """Add an event to its tenant's journal and tree; an event already there is left alone."""
    if envelope.tenant_id is None:
        return
    if conn.execute("SELECT 1 FROM journal WHERE event_id = %s", (envelope.event_id,)).fetchone():
        return
    # The head row's lock serialises appends per tenant, so sequence numbers have no gaps.
    head = conn.execute(
        "INSERT INTO journal_heads (tenant_id, size) VALUES (%s, 1)"
        " ON CONFLICT (tenant_id) DO UPDATE SET size = journal_heads.size + 1 RETURNING size, tree_size",
        (envelope.tenant_id,)).fetchone()
    seq, text = head["size"], envelope.to_json()
    conn.execute(
        "INSERT INTO journal (tenant_id, seq, event_id, event_type, stream_id, stream_version, branch_id,"
        " actor_user, occurred_at, recorded_at, hash, envelope)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (envelope.tenant_id, seq, envelope.event_id, envelope.event_type, envelope.stream_id,
         envelope.stream_version, envelope.branch_id, envelope.actor.user, envelope.occurred_at,
         envelope.recorded_at, envelope.hash, text))
    tree = JournalTree(conn, envelope.tenant_id)
    if head["tree_size"] == seq - 1:
        tree.add_leaf(seq, text)  # the usual case: the tree is in step, add just this entry
    else:
        tree.grow(seq)
    conn.execute(f"NOTIFY {CHANNEL}")
