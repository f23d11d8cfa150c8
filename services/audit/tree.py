"""The journal's Merkle tree in PostgreSQL: grown with each append, read for roots and proofs."""

from __future__ import annotations

import json

import psycopg

from shared import merkle
from shared.canonical import event_hash
from services.audit import formats

ENTRY_COLUMNS = "seq, event_id, envelope, entry_format, branch_prev_seq, stream_prev_seq"


def leaf_data(row: dict) -> bytes:
    """The bytes a journal row's leaf hashes, in the format it was journalled with (needs ``ENTRY_COLUMNS``)."""
    if row["entry_format"] == formats.ENTRY_FORMAT:
        return formats.entry_leaf_data(formats.entry_header(row["seq"], json.loads(row["envelope"]),
                                                            row["branch_prev_seq"], row["stream_prev_seq"]))
    return row["envelope"].encode("utf-8")


class JournalTree:
    """One tenant's tree over its journal, leaf ``seq - 1`` for journal entry ``seq``."""

    def __init__(self, conn: psycopg.Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self._cache: dict[tuple[int, int], bytes] = {}

    def read(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            row = self.conn.execute("SELECT hash FROM journal_nodes WHERE tenant_id = %s AND level = %s AND idx = %s",
                                    (self.tenant_id, level, index)).fetchone()
            if row is None:
                raise LookupError(f"journal tree node ({level}, {index}) of {self.tenant_id} is missing")
            self._cache[key] = bytes(row["hash"])
        return self._cache[key]

    def size(self) -> int:
        row = self.conn.execute("SELECT tree_size FROM journal_heads WHERE tenant_id = %s",
                                (self.tenant_id,)).fetchone()
        return 0 if row is None else row["tree_size"]

    def add_leaf(self, seq: int, data: bytes) -> None:
        """Add journal entry ``seq`` (its leaf data) when the tree holds exactly the ``seq - 1`` before it."""
        self.add_leaves(seq, [data])

    def add_leaves(self, first: int, leaves: list[bytes]) -> None:
        """Add journal entries ``first``, ``first + 1`` … (their leaf data) when the tree holds exactly the
        ``first - 1`` before them: the tree's right edge, which the new leaves hang from, is read in one
        query, every new node is worked out in memory, and all of them are written in one statement."""
        add_leaves_of_tenants(self.conn, [(self, first, leaves)])

    def right_edge(self, size: int) -> list[tuple[int, int]]:
        """The nodes a tree of ``size`` leaves hangs its next leaf from (what ``nodes_after_append`` reads)."""
        return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]

    def new_nodes(self, first: int, leaves: list[bytes]) -> list[tuple[str, int, int, bytes]]:
        """Every node the leaves ``first`` … add, worked out in memory from the right edge (already read)."""
        size, nodes = first - 1, []
        for offset, data in enumerate(leaves):
            for level, index, value in merkle.nodes_after_append(size + offset, merkle.leaf_hash(data), self.read):
                self._cache[(level, index)] = value
                nodes.append((self.tenant_id, level, index, value))
        return nodes

    def grow(self, journal_size: int) -> None:
        """Add the leaves of journal entries not yet in the tree (the caller holds the head row's lock)."""
        size = self.size()
        if size >= journal_size:
            return
        rows = self.conn.execute(f"SELECT {ENTRY_COLUMNS} FROM journal WHERE tenant_id = %s AND seq > %s"
                                 " AND seq <= %s ORDER BY seq", (self.tenant_id, size, journal_size)).fetchall()
        self.add_leaves(size + 1, [leaf_data(row) for row in rows])

    def prefetch(self, compute) -> None:
        """Load in one query every node ``compute(read)`` will ask for (it is run once with a recorder)."""
        wanted: set[tuple[int, int]] = set()

        def record(level: int, index: int) -> bytes:
            wanted.add((level, index))
            return merkle.EMPTY_ROOT
        compute(record)
        missing = [key for key in wanted if key not in self._cache]
        if missing:
            rows = self.conn.execute(
                "SELECT level, idx, hash FROM journal_nodes n JOIN unnest(%b::smallint[], %b::bigint[]) AS w(l, i)"
                " ON n.level = w.l AND n.idx = w.i WHERE n.tenant_id = %s",
                ([k[0] for k in missing], [k[1] for k in missing], self.tenant_id)).fetchall()
            self._cache.update({(row["level"], row["idx"]): bytes(row["hash"]) for row in rows})

    def root(self, size: int) -> bytes:
        self.prefetch(lambda read: merkle.root(size, read))
        return merkle.root(size, self.read)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self.prefetch(lambda read: merkle.inclusion_proof(index, size, read))
        return merkle.inclusion_proof(index, size, self.read)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        self.prefetch(lambda read: merkle.consistency_proof(first, second, read))
        return merkle.consistency_proof(first, second, self.read)


def read_right_edges(conn: psycopg.Connection, tenants: list[str]) -> psycopg.Cursor:
    """The nodes each tenant's tree, as big as it is now, hangs its next leaf from (rows: tenant_id, level, idx,
    hash): worked out in the query from the tree's size, so it can go out with the statements that take new
    entry numbers, in the same round trip."""
    return conn.execute(
        "SELECT n.tenant_id, n.level, n.idx, n.hash FROM journal_heads h CROSS JOIN generate_series(0, 62) AS l(level)"
        " JOIN journal_nodes n ON n.tenant_id = h.tenant_id AND n.level = l.level"
        " AND n.idx = (h.tree_size >> l.level) - 1"
        " WHERE h.tenant_id = ANY(%s) AND (h.tree_size >> l.level) & 1 = 1", (tenants,))


def add_leaves_of_tenants(conn: psycopg.Connection, plans: list[tuple[JournalTree, int, list[bytes]]],
                          edge_nodes: list[dict] | None = None) -> None:
    """Add leaves to several tenants' trees, each holding exactly the ``first - 1`` before its new ones, in
    three statements whatever the number of tenants (two when ``edge_nodes``, the rows ``read_right_edges``
    gave, are at hand): every right edge read at once, every new node written at once, every tree's size
    moved at once."""
    trees = {tree.tenant_id: tree for tree, _, _ in plans}
    if edge_nodes is None:
        wanted = [(tree.tenant_id, level, index) for tree, first, _ in plans
                  for level, index in tree.right_edge(first - 1) if (level, index) not in tree._cache]
        edge_nodes = conn.execute(
            "SELECT n.tenant_id, level, idx, hash FROM journal_nodes n"
            " JOIN unnest(%b::text[], %b::smallint[], %b::bigint[]) AS w(t, l, i)"
            " ON n.tenant_id = w.t AND n.level = w.l AND n.idx = w.i",
            ([w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted])).fetchall() if wanted else []
    for row in edge_nodes:
        if row["tenant_id"] in trees:
            trees[row["tenant_id"]]._cache[(row["level"], row["idx"])] = bytes(row["hash"])
    nodes = [node for tree, first, leaves in plans for node in tree.new_nodes(first, leaves)]
    if nodes:
        conn.execute("INSERT INTO journal_nodes (tenant_id, level, idx, hash)"
                     " SELECT * FROM unnest(%b::text[], %b::smallint[], %b::bigint[], %b::bytea[])",
                     [list(column) for column in zip(*nodes)])
    conn.execute("UPDATE journal_heads h SET tree_size = s.size FROM unnest(%b::text[], %b::bigint[]) AS s(t, size)"
                 " WHERE h.tenant_id = s.t",
                 ([tree.tenant_id for tree, _, _ in plans], [first - 1 + len(leaves) for _, first, leaves in plans]))


def verify_journal(conn: psycopg.Connection, tenant_id: str) -> list[dict]:
    """Recompute every leaf from the stored envelopes and the root from the leaves, and check that each entry
    names the true previous entry of its branch and of its stream; report what differs."""
    tree = JournalTree(conn, tenant_id)
    size = tree.size()
    problems, rebuilt, chains = [], merkle.MemoryTree(), ChainFollower()
    rows = conn.execute(f"SELECT {ENTRY_COLUMNS} FROM journal WHERE tenant_id = %s AND seq <= %s ORDER BY seq",
                        (tenant_id, size)).fetchall()
    for expected_seq, row in enumerate(rows, start=1):
        if row["seq"] != expected_seq:
            problems.append({"seq": expected_seq, "code": "entry_missing", "detail": "a journal entry is gone"})
            break
        if event_hash(json.loads(row["envelope"])) != json.loads(row["envelope"])["hash"]:
            problems.append({"seq": row["seq"], "event_id": str(row["event_id"]), "code": "hash_mismatch",
                             "detail": "the stored envelope does not match its own hash, which its leaf commits to"})
        data = leaf_data(row)
        rebuilt.append(data)
        stored = conn.execute("SELECT hash FROM journal_nodes WHERE tenant_id = %s AND level = 0 AND idx = %s",
                              (tenant_id, row["seq"] - 1)).fetchone()
        if stored is None or bytes(stored["hash"]) != merkle.leaf_hash(data):
            problems.append({"seq": row["seq"], "event_id": str(row["event_id"]), "code": "leaf_mismatch",
                             "detail": "the stored envelope does not hash to the tree's leaf"})
        if not chains.follows(row):
            problems.append({"seq": row["seq"], "event_id": str(row["event_id"]), "code": "chain_mismatch",
                             "detail": "the entry does not name the previous entry of its branch or stream"})
    if not problems and size and rebuilt.root(size) != tree.root(size):
        problems.append({"seq": None, "code": "root_mismatch",
                         "detail": "the stored tree nodes do not match the leaves"})
    return problems


class ChainFollower:
    """Walks the journal in order, knowing each branch's and stream's last entry so far."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, str], int] = {}

    def follows(self, row: dict) -> bool:
        """Whether a format-2 row's back-links name the true previous entries (format 1 has none to check)."""
        branch, stream = formats.chain_keys(json.loads(row["envelope"]))
        expected = (self.last.get(branch, 0), self.last.get(stream, 0))
        self.last[branch] = self.last[stream] = row["seq"]
        if row["entry_format"] != formats.ENTRY_FORMAT:
            return True
        return (row["branch_prev_seq"], row["stream_prev_seq"]) == expected
