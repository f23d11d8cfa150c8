"""The journal projection: store each event verbatim, once, numbered in arrival order per tenant.

Each entry names the previous entry of its branch and of its stream (the chains a bundle's completeness
is proved by) and is a leaf of its tenant's Merkle tree; all of it is added in one transaction, and the
commit wakes the views worker (``NOTIFY audit_journal``).

The journal consumer hands over a whole polled batch, of however many bureaus: their sequence numbers
are taken at once, back-links and Merkle nodes are worked out in memory, and each table gets one
statement for the whole batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from shared.envelope import Envelope
from services.audit import formats
from services.audit.tree import JournalTree, add_leaves_of_tenants, read_right_edges

CHANNEL = "audit_journal"
# Each table gets one statement for the batch, its rows as arrays: with executemany each row would be a
# statement of its own on the wire and in the server, and a batch writes some fifteen rows an event. Arrays
# go in binary (%b): in text, every element — an entry's whole envelope — is escaped in Python.
ENTRY_COLUMNS = ("tenant_id", "seq", "event_id", "event_type", "stream_id", "stream_version", "branch_id",
                 "actor_user", "occurred_at", "recorded_at", "hash", "envelope", "entry_format", "branch_prev_seq",
                 "stream_prev_seq")
ENTRY_TYPES = ("text", "bigint", "uuid", "text", "text", "int", "text", "text", "timestamptz", "timestamptz", "text",
               "text", "smallint", "bigint", "bigint")
ENTRY_INSERT = (f"INSERT INTO journal ({', '.join(ENTRY_COLUMNS)}, received_at)"
                f" SELECT *, coalesce(%s::timestamptz, clock_timestamp()) FROM unnest("
                + ", ".join(f"%b::{kind}[]" for kind in ENTRY_TYPES) + ")")
KEYS_MOVE = ("INSERT INTO journal_keys (tenant_id, kind, key, last_seq)"
             " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[])"
             " ON CONFLICT (tenant_id, kind, key) DO UPDATE SET last_seq = EXCLUDED.last_seq")


def columns(rows: Sequence[tuple]) -> list[list]:
    """Rows as one list per column, for ``unnest``."""
    return [list(column) for column in zip(*rows)] if rows else []


def append(conn: psycopg.Connection, envelope: Envelope, received_at: datetime | None = None) -> None:
    """Add an event to its tenant's journal and tree; an event already there is left alone.

    ``received_at`` (default: the database's clock once the entry's number is taken, so that it grows with
    the numbers) is when the journal received it: the day it becomes known to views ``known_on``.
    """
    append_batch(conn, [envelope], received_at)


Journalled = dict[str, tuple[int, list[Envelope]]]  # tenant → the first new entry's number, the new entries


@dataclass(frozen=True)
class Asked:
    """The statements ``ask`` sent for a batch, their answers still on the way in pipeline mode."""

    by_tenant: dict[str, list[Envelope]]
    already: psycopg.Cursor
    reserved: psycopg.Cursor
    chain_ends: psycopg.Cursor
    edges: psycopg.Cursor


def ask(conn: psycopg.Connection, envelopes: Sequence[Envelope]) -> Asked | None:
    """Send what ``append_batch`` needs to know first: the events journalled already looked for, the numbers of
    every bureau reserved (as if none were), the chains' last entries and the trees' right edges — four
    statements, one round trip in pipeline mode, which a caller may share with statements of its own (the
    consumer's claim). None: nothing to journal."""
    by_tenant = _by_tenant(_once([e for e in envelopes if e.tenant_id is not None]))
    if not by_tenant:
        return None
    return Asked(by_tenant, _journalled_of(conn, by_tenant), _reserve(conn, by_tenant),
                 _read_chains(conn, _chains_of(by_tenant)), read_right_edges(conn, sorted(by_tenant)))


def append_batch(conn: psycopg.Connection, envelopes: Sequence[Envelope], received_at: datetime | None = None,
                 *, notify: bool = True, asked: Asked | None = None) -> Journalled:
    """Add events to their tenants' journals and trees, in the order given; those already there (or twice in
    the batch) are left alone. Returns what was added, per tenant; ``notify=False`` leaves waking the views
    worker to the caller. ``asked``: what ``ask`` sent for these events or more (None: asked here); the
    numbers it took for events not among ``envelopes`` are given back.

    However many bureaus the batch holds, it costs the same few statements: what ``ask`` sends, then the
    back-links moved and the entries and the trees' new nodes written, each in one statement for the whole
    batch.
    """
    given, asked = asked is not None, asked or ask(conn, envelopes)
    if asked is None:
        return {}
    # The numbers were taken as if no event were journalled already, and are given back in the rare batch where
    # some are (an event the journal holds but the consumer had not recorded as processed) or where the asking
    # was for events the caller then left out.
    seen = {str(row["event_id"]) for row in asked.already.fetchall()}
    heads = {row["tenant_id"]: row for row in asked.reserved.fetchall()}
    last = {(row["tenant_id"], row["kind"], row["key"]): row["last_seq"] for row in asked.chain_ends.fetchall()}
    edge_nodes = asked.edges.fetchall()
    if given:
        wanted = {_event_id(envelope) for envelope in envelopes}
        seen |= {event_id for entries in asked.by_tenant.values() for e in entries
                 if (event_id := _event_id(e)) not in wanted}
    by_tenant = asked.by_tenant
    if seen:
        by_tenant = _give_back(conn, by_tenant, seen, heads)
        if not by_tenant:
            return {}
    bodies = {tenant_id: [envelope.to_dict() for envelope in entries] for tenant_id, entries in by_tenant.items()}
    chains = _chains_of(by_tenant)
    journalled = {tenant_id: (heads[tenant_id]["size"] - len(entries) + 1, entries)
                  for tenant_id, entries in by_tenant.items()}
    links = _advance_chains(conn, chains, last, {tenant_id: first for tenant_id, (first, _) in journalled.items()})
    rows, leaves = [], []
    for tenant_id, (first, entries) in journalled.items():
        headers = [formats.entry_header(first + offset, body, *link)
                   for offset, (body, link) in enumerate(zip(bodies[tenant_id], links[tenant_id]))]
        rows += [(tenant_id, header["seq"], e.event_id, e.event_type, e.stream_id, e.stream_version, e.branch_id,
                  e.actor.user, e.occurred_at, e.recorded_at, e.hash, e.to_json(), formats.ENTRY_FORMAT,
                  header["branch_prev"], header["stream_prev"]) for e, header in zip(entries, headers)]
        leaves.append((tenant_id, first, [formats.entry_leaf_data(header) for header in headers]))
    conn.execute(ENTRY_INSERT, (received_at, *columns(rows)))
    _grow_trees(conn, heads, leaves, edge_nodes)
    if notify:
        wake_views(conn)
    return journalled


def _reserve(conn: psycopg.Connection, by_tenant: dict[str, list[Envelope]]) -> psycopg.Cursor:
    """Take each tenant's next numbers (rows: tenant_id, size, tree_size); its head row, locked until the
    commit, serialises its appends, so the numbers have no gaps and the chains' last entries read with it
    are the true ones."""
    tenants = sorted(by_tenant)  # the rows are locked in one order, whoever else appends
    return conn.execute(
        "INSERT INTO journal_heads (tenant_id, size) SELECT * FROM unnest(%b::text[], %b::bigint[])"
        " ON CONFLICT (tenant_id) DO UPDATE SET size = journal_heads.size + EXCLUDED.size"
        " RETURNING tenant_id, size, tree_size",
        (tenants, [len(by_tenant[tenant]) for tenant in tenants]))


def _grow_trees(conn: psycopg.Connection, heads: dict[str, dict], leaves: list[tuple[str, int, list[bytes]]],
                edge_nodes: list[dict]) -> None:
    """Hang the new leaves on each tree from its right edge (already read); a tree left behind (entries
    journalled before it existed) grows from the journal first."""
    level = [(JournalTree(conn, tenant_id), first, data) for tenant_id, first, data in leaves
             if heads[tenant_id]["tree_size"] == first - 1]
    if level:
        add_leaves_of_tenants(conn, level, edge_nodes)
    for tenant_id, first, _ in leaves:
        if heads[tenant_id]["tree_size"] != first - 1:
            JournalTree(conn, tenant_id).grow(heads[tenant_id]["size"])


def wake_views(conn: psycopg.Connection) -> None:
    """Wake the views worker when this transaction commits."""
    conn.execute(f"NOTIFY {CHANNEL}")


def _event_id(envelope: Envelope) -> str:
    """The id in PostgreSQL's spelling of a uuid, as the journal returns it."""
    return str(uuid.UUID(envelope.event_id))


def _once(envelopes: list[Envelope]) -> list[Envelope]:
    """The envelopes without a second copy of one event (the first is kept)."""
    seen: set[str] = set()
    once = []
    for envelope in envelopes:
        if (event_id := _event_id(envelope)) not in seen:
            seen.add(event_id)
            once.append(envelope)
    return once


def _by_tenant(envelopes: list[Envelope]) -> dict[str, list[Envelope]]:
    by_tenant: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        by_tenant.setdefault(envelope.tenant_id, []).append(envelope)
    return by_tenant


def _journalled_of(conn: psycopg.Connection, by_tenant: dict[str, list[Envelope]]) -> psycopg.Cursor:
    """Which of the events the journal already holds (rows: event_id)."""
    ids = [_event_id(envelope) for entries in by_tenant.values() for envelope in entries]
    return conn.execute("SELECT event_id FROM journal WHERE event_id = ANY(%b::uuid[])", (ids,))


def _give_back(conn: psycopg.Connection, by_tenant: dict[str, list[Envelope]], seen: set[str],
               heads: dict[str, dict]) -> dict[str, list[Envelope]]:
    """Leave out the events journalled already, and give their tenants back the numbers taken for them (the
    head rows are locked by this transaction since they were taken, so nobody took any after them)."""
    fresh = {tenant_id: [e for e in entries if _event_id(e) not in seen] for tenant_id, entries in by_tenant.items()}
    returned = {tenant_id: len(by_tenant[tenant_id]) - len(entries) for tenant_id, entries in fresh.items()}
    tenants = sorted(tenant_id for tenant_id, count in returned.items() if count)
    for row in conn.execute(
            "UPDATE journal_heads h SET size = h.size - r.count FROM unnest(%b::text[], %b::bigint[]) AS r(t, count)"
            " WHERE h.tenant_id = r.t RETURNING h.tenant_id, h.size, h.tree_size",
            (tenants, [returned[tenant_id] for tenant_id in tenants])).fetchall():
        heads[row["tenant_id"]] = row
    return {tenant_id: entries for tenant_id, entries in fresh.items() if entries}


def _chains_of(by_tenant: dict[str, list[Envelope]]) -> dict[str, list[tuple]]:
    """Each entry's chains (branch, stream), by tenant: whose last entries are read."""
    return {tenant_id: [formats.chain_keys({"branch_id": e.branch_id, "stream_id": e.stream_id}) for e in entries]
            for tenant_id, entries in by_tenant.items()}


def _read_chains(conn: psycopg.Connection, chains: dict[str, list[tuple]]) -> psycopg.Cursor:
    """The last entries of the chains (branch, stream) the new entries belong to (rows: tenant_id, kind, key,
    last_seq)."""
    wanted = sorted({(tenant_id, *key) for tenant_id, pairs in chains.items() for pair in pairs for key in pair})
    return conn.execute(
        "SELECT tenant_id, kind, key, last_seq FROM journal_keys"
        " WHERE (tenant_id, kind, key) IN (SELECT * FROM unnest(%b::text[], %b::text[], %b::text[]))",
        ([w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted]))


def _advance_chains(conn: psycopg.Connection, chains: dict[str, list[tuple]], last: dict[tuple, int],
                    firsts: dict[str, int]) -> dict[str, list[tuple]]:
    """Make each tenant's entries ``first``, ``first + 1`` … the last of their branches and streams, in turn;
    return, for each, the entries it follows (0: none) — and move the chains in one statement."""
    links: dict[str, list[tuple]] = {}
    for tenant_id, pairs in chains.items():
        links[tenant_id] = []
        for seq, (branch, stream) in enumerate(pairs, start=firsts[tenant_id]):
            links[tenant_id].append((last.get((tenant_id, *branch), 0), last.get((tenant_id, *stream), 0)))
            last[(tenant_id, *branch)] = last[(tenant_id, *stream)] = seq
    moved = sorted({(tenant_id, *key) for tenant_id, pairs in chains.items() for pair in pairs for key in pair})
    if moved:
        conn.execute(KEYS_MOVE, columns([(tenant_id, kind, key, last[(tenant_id, kind, key)])
                                         for tenant_id, kind, key in moved]))
    return links
