"""Queries behind the proofs API: sign a tree head, prove inclusion and consistency, keys and cosignatures."""

from __future__ import annotations

import json
from datetime import date

import flask

from contracts.rulebook.calendar import local_date
from shared.db import tenant_snapshot, tenant_transaction
from shared.errors import NotFound, RequestInvalid
from shared.merkle import leaf_hash
from shared.web import read_transaction, runtime
from services.audit import bundles, formats, heads, queries
from services.audit.tree import JournalTree, leaf_data


def audit():
    """The audit service's runtime: its settings and keyring."""
    return flask.current_app.extensions["audit"]


def sign_tree_head(tenant_id: str) -> dict:
    """Sign the current head and keep it in ``tree_heads``, so the bureau's history of heads is on record."""
    with runtime().pool.connection() as conn, tenant_snapshot(conn, tenant_id):
        head = heads.sign_and_keep(conn, tenant_id, audit().keyring, audit().settings.log_origin, runtime().clock())
    head.pop("id")
    return head


def tree_head_history(tenant_id: str, limit: int) -> list[dict]:
    with read_transaction(tenant_id) as conn:
        return [{**head, "tenant_id": tenant_id} for head in heads.history(conn, tenant_id, limit)]


def latest_checkpoint(tenant_id: str) -> str:
    """The newest signed checkpoint with its witnesses' cosignatures (signing one if none is kept yet)."""
    with read_transaction(tenant_id) as conn:
        row = heads.latest(conn, tenant_id)
        if row:
            return heads.with_cosignatures(row["checkpoint"], heads.cosignatures_of(conn, row["id"]))
    return sign_tree_head(tenant_id)["checkpoint"]


def keys(tenant_id: str) -> dict:
    return audit().keyring.listing(formats.origin(audit().settings.log_origin, tenant_id))


def add_cosignature(tenant_id: str, size: int, witness_key: str, cosignature: str) -> tuple[dict, bool]:
    with tenant_transaction(runtime().pool, tenant_id) as conn:
        return heads.add_cosignature(conn, tenant_id, size, witness_key, cosignature, runtime().clock())


def today() -> date:
    """Today in the bureaus' time zone (the rulebook's local date)."""
    return local_date(runtime().clock())


def bundle(tenant_id: str, scope: bundles.Scope, period: bundles.Period) -> bytes:
    """The bundle file's bytes; 404 for a branch or stream the bureau does not have."""
    with runtime().pool.connection() as conn, tenant_snapshot(conn, tenant_id):
        _require_scope(conn, scope)
        built = bundles.build(conn, tenant_id, scope, period, audit().settings, audit().keyring, runtime().clock())
    return formats.render_bundle(built)


def _require_scope(conn, scope: bundles.Scope) -> None:
    if scope.kind == "branch" and not queries.branch_known(conn, scope.id):
        raise NotFound("本单位没有这个支部", fields={"branch_id": ["不存在"]})
    if scope.kind == "stream" and not queries.stream_journalled(conn, scope.id):
        raise NotFound("本单位的日志里没有这个事件流", fields={"stream_id": ["不存在"]})


def inclusion_proof(tenant_id: str, event_id: str, tree_size: int | None) -> dict:
    with read_transaction(tenant_id) as conn:
        entry = queries.journal_entry(conn, event_id)
        if entry is None:
            raise NotFound("本局的日志里没有这个事件", fields={"event_id": ["不存在"]})
        tree = JournalTree(conn, tenant_id)
        size = _size(tree, tree_size, "tree_size")
        if entry["seq"] > size:
            raise RequestInvalid("这个事件不在该大小的树中",
                                 fields={"tree_size": [f"至少为 {entry['seq']}"]})
        path = tree.inclusion_proof(entry["seq"] - 1, size)
        root = tree.root(size)
    data = leaf_data(entry)
    return {"event_id": event_id, "seq": entry["seq"], "leaf_index": entry["seq"] - 1, "tree_size": size,
            "entry_format": entry["entry_format"], "leaf_data": data.decode("utf-8"),
            "leaf_hash": leaf_hash(data).hex(), "audit_path": [node.hex() for node in path],
            "root_hash": root.hex(), "envelope": entry["envelope"], "event": json.loads(entry["envelope"])}


def consistency_proof(tenant_id: str, first: int, second: int | None) -> dict:
    with read_transaction(tenant_id) as conn:
        tree = JournalTree(conn, tenant_id)
        second = _size(tree, second, "second")
        if first > second:
            raise RequestInvalid("first 不能大于 second", fields={"first": [f"至多为 {second}"]})
        path = tree.consistency_proof(first, second)
        return {"first": first, "second": second, "first_root": tree.root(first).hex(),
                "second_root": tree.root(second).hex(), "consistency_path": [node.hex() for node in path]}


def _size(tree: JournalTree, requested: int | None, field: str) -> int:
    current = tree.size()
    if requested is None:
        return current
    if requested > current:
        raise RequestInvalid(f"日志现有 {current} 条记录", fields={field: [f"至多为 {current}"]})
    return requested
