"""The journal's Merkle tree in PostgreSQL: grown with each append, read for roots and proofs."""

from __future__ import annotations

import psycopg

from shared import merkle


def envelope_leaf(envelope_text: str) -> bytes:
    """A journal entry's leaf: sha256(0x00 ‖ its canonical envelope, UTF-8)."""
    return merkle.leaf_hash(envelope_text.encode("utf-8"))


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

    def add_leaf(self, seq: int, envelope_text: str) -> None:
        """Add journal entry ``seq`` when the tree holds exactly the ``seq - 1`` before it."""
        self._store(seq, envelope_text)
        self.conn.execute("UPDATE journal_heads SET tree_size = %s WHERE tenant_id = %s", (seq, self.tenant_id))

    def _store(self, seq: int, envelope_text: str) -> None:
        nodes = merkle.nodes_after_append(seq - 1, envelope_leaf(envelope_text), self.read)
        for level, index, value in nodes:
            self._cache[(level, index)] = value
        self.conn.cursor().executemany(
            "INSERT INTO journal_nodes (tenant_id, level, idx, hash) VALUES (%s, %s, %s, %s)",
            [(self.tenant_id, level, index, value) for level, index, value in nodes])

    def grow(self, journal_size: int) -> None:
        """Add the leaves of journal entries not yet in the tree (the caller holds the head row's lock)."""
        size = self.size()
        if size >= journal_size:
            return
        rows = self.conn.execute("SELECT seq, envelope FROM journal WHERE tenant_id = %s AND seq > %s AND seq <= %s"
                                 " ORDER BY seq", (self.tenant_id, size, journal_size)).fetchall()
        for row in rows:
            self._store(row["seq"], row["envelope"])
        self.conn.execute("UPDATE journal_heads SET tree_size = %s WHERE tenant_id = %s",
                          (journal_size, self.tenant_id))

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
                "SELECT level, idx, hash FROM journal_nodes n JOIN unnest(%s::smallint[], %s::bigint[]) AS w(l, i)"
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


def verify_journal(conn: psycopg.Connection, tenant_id: str) -> list[dict]:
    """Recompute every leaf from the stored envelopes and the root from the leaves; report what differs."""
    tree = JournalTree(conn, tenant_id)
    size = tree.size()
    problems, rebuilt = [], merkle.MemoryTree()
    rows = conn.execute("SELECT seq, event_id, envelope FROM journal WHERE tenant_id = %s AND seq <= %s ORDER BY seq",
                        (tenant_id, size)).fetchall()
    for expected_seq, row in enumerate(rows, start=1):
        if row["seq"] != expected_seq:
            problems.append({"seq": expected_seq, "code": "entry_missing", "detail": "a journal entry is gone"})
            break
        rebuilt.append(row["envelope"].encode("utf-8"))
        stored = conn.execute("SELECT hash FROM journal_nodes WHERE tenant_id = %s AND level = 0 AND idx = %s",
                              (tenant_id, row["seq"] - 1)).fetchone()
        if stored is None or bytes(stored["hash"]) != envelope_leaf(row["envelope"]):
            problems.append({"seq": row["seq"], "event_id": str(row["event_id"]), "code": "leaf_mismatch",
                             "detail": "the stored envelope does not hash to the tree's leaf"})
    if not problems and size and rebuilt.root(size) != tree.root(size):
        problems.append({"seq": None, "code": "root_mismatch",
                         "detail": "the stored tree nodes do not match the leaves"})
    return problems
