"""The journal projection: store each event verbatim, once, numbered in arrival order per tenant.

Each entry names the previous entry of its branch and of its stream (the chains a bundle's completeness
is proved by) and is a leaf of its tenant's Merkle tree; all of it is added in one transaction, and the
commit wakes the views worker (``NOTIFY audit_journal``).
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from shared.envelope import Envelope
from services.audit import formats
from services.audit.tree import JournalTree

CHANNEL = "audit_journal"


def append(conn: psycopg.Connection, envelope: Envelope, received_at: datetime | None = None) -> None:
    """Add an event to its tenant's journal and tree; an event already there is left alone.

    ``received_at`` (default: the database's clock once the entry's number is taken, so that it grows with
    the numbers) is when the journal received it: the day it becomes known to views ``known_on``.
    """
    if envelope.tenant_id is None:
        return
    if conn.execute("SELECT 1 FROM journal WHERE event_id = %s", (envelope.event_id,)).fetchone():
        return
    # The head row's lock serialises appends per tenant, so sequence numbers have no gaps and the
    # back-links read below are the true last entries of the branch and the stream.
    head = conn.execute(
        "INSERT INTO journal_heads (tenant_id, size) VALUES (%s, 1)"
        " ON CONFLICT (tenant_id) DO UPDATE SET size = journal_heads.size + 1 RETURNING size, tree_size",
        (envelope.tenant_id,)).fetchone()
    seq, body = head["size"], envelope.to_dict()
    branch_prev, stream_prev = advance_chains(conn, envelope.tenant_id, body, seq)
    conn.execute(
        "INSERT INTO journal (tenant_id, seq, event_id, event_type, stream_id, stream_version, branch_id,"
        " actor_user, occurred_at, recorded_at, hash, envelope, entry_format, branch_prev_seq, stream_prev_seq,"
        " received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " coalesce(%s, clock_timestamp()))",
        (envelope.tenant_id, seq, envelope.event_id, envelope.event_type, envelope.stream_id,
         envelope.stream_version, envelope.branch_id, envelope.actor.user, envelope.occurred_at,
         envelope.recorded_at, envelope.hash, envelope.to_json(), formats.ENTRY_FORMAT, branch_prev, stream_prev,
         received_at))
    tree = JournalTree(conn, envelope.tenant_id)
    if head["tree_size"] == seq - 1:
        tree.add_leaf(seq, formats.entry_leaf_data(formats.entry_header(seq, body, branch_prev, stream_prev)))
    else:
        tree.grow(seq)
    conn.execute(f"NOTIFY {CHANNEL}")


def advance_chains(conn: psycopg.Connection, tenant_id: str, envelope: dict, seq: int) -> tuple[int, int]:
    """Make entry ``seq`` the last of its branch and of its stream; return the entries it follows (0: none)."""
    (branch_kind, branch), (stream_kind, stream) = formats.chain_keys(envelope)
    rows = conn.execute(
        "WITH previous AS (SELECT kind, last_seq FROM journal_keys WHERE tenant_id = %(t)s"
        "   AND ((kind = %(bk)s AND key = %(b)s) OR (kind = %(sk)s AND key = %(s)s))),"
        " moved AS (INSERT INTO journal_keys (tenant_id, kind, key, last_seq)"
        "   VALUES (%(t)s, %(bk)s, %(b)s, %(seq)s), (%(t)s, %(sk)s, %(s)s, %(seq)s)"
        "   ON CONFLICT (tenant_id, kind, key) DO UPDATE SET last_seq = EXCLUDED.last_seq)"
        " SELECT kind, last_seq FROM previous",
        {"t": tenant_id, "bk": branch_kind, "b": branch, "sk": stream_kind, "s": stream, "seq": seq}).fetchall()
    previous = {row["kind"]: row["last_seq"] for row in rows}
    return previous.get(branch_kind, 0), previous.get(stream_kind, 0)
