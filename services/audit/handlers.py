"""Queries behind the proofs API: sign a tree head, prove inclusion and consistency."""

from __future__ import annotations

import json

import flask

from shared.db import tenant_transaction
from shared.errors import NotFound, RequestInvalid
from shared.web import read_transaction, runtime
from services.audit.signing import TreeHeadSigner
from services.audit.tree import JournalTree, envelope_leaf


def signer() -> TreeHeadSigner:
    return flask.current_app.extensions["audit"].signer


def sign_tree_head(tenant_id: str) -> dict:
    """Sign the current head and keep it in ``tree_heads``, so the bureau's history of heads is on record."""
    with tenant_transaction(runtime().pool, tenant_id) as conn:
        tree = JournalTree(conn, tenant_id)
        size = tree.size()
        head = signer().sign(tenant_id, size, tree.root(size).hex(), runtime().clock())
        conn.execute("INSERT INTO tree_heads (tenant_id, tree_size, root_hash, signed_at, key_id, signature)"
                     " VALUES (%s, %s, %s, %s, %s, %s)", (tenant_id, size, head["root_hash"], head["timestamp"],
                                                          head["key_id"], head["signature"]))
    return head


def tree_head_history(tenant_id: str, limit: int) -> list[dict]:
    with read_transaction(tenant_id) as conn:
        rows = conn.execute("SELECT tree_size, root_hash, signed_at, key_id, signature FROM tree_heads"
                            " ORDER BY id DESC LIMIT %s", (limit,)).fetchall()
    return [{**row, "tenant_id": tenant_id, "signed_at": row["signed_at"].isoformat()} for row in rows]


def inclusion_proof(tenant_id: str, event_id: str, tree_size: int | None) -> dict:
    with read_transaction(tenant_id) as conn:
        entry = conn.execute("SELECT seq, envelope FROM journal WHERE event_id = %s", (event_id,)).fetchone()
        if entry is None:
            raise NotFound("no such event in your bureau's journal", fields={"event_id": ["unknown event"]})
        tree = JournalTree(conn, tenant_id)
        size = _size(tree, tree_size, "tree_size")
        if entry["seq"] > size:
            raise RequestInvalid("the event is not in a tree of that size",
                                 fields={"tree_size": [f"at least {entry['seq']}"]})
        path = tree.inclusion_proof(entry["seq"] - 1, size)
        root = tree.root(size)
    return {"event_id": event_id, "seq": entry["seq"], "leaf_index": entry["seq"] - 1, "tree_size": size,
            "leaf_hash": envelope_leaf(entry["envelope"]).hex(), "audit_path": [node.hex() for node in path],
            "root_hash": root.hex(), "envelope": entry["envelope"], "event": json.loads(entry["envelope"])}


def consistency_proof(tenant_id: str, first: int, second: int | None) -> dict:
    with read_transaction(tenant_id) as conn:
        tree = JournalTree(conn, tenant_id)
        second = _size(tree, second, "second")
        if first > second:
            raise RequestInvalid("first must not exceed second", fields={"first": [f"at most {second}"]})
        path = tree.consistency_proof(first, second)
        return {"first": first, "second": second, "first_root": tree.root(first).hex(),
                "second_root": tree.root(second).hex(), "consistency_path": [node.hex() for node in path]}


def _size(tree: JournalTree, requested: int | None, field: str) -> int:
    current = tree.size()
    if requested is None:
        return current
    if requested > current:
        raise RequestInvalid(f"the journal holds {current} entries", fields={field: [f"at most {current}"]})
    return requested
