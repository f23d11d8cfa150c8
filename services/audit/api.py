"""HTTP API of the audit service: the event history of a bureau with its hash chains checked, and its proofs."""

from __future__ import annotations

import json

import flask
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared.chain import check_chain
from shared.envelope import Envelope
from shared.web import ApiBlueprint, current_principal, read_transaction
from services.audit import csv_export, handlers, queries

events = ApiBlueprint("events", __name__, description="The event history of your bureau")

READER_ROLES = ("auditor", "bureau_admin")


class EventQuerySchema(Schema):
    stream_id = fields.String()
    event_type = fields.String()
    branch_id = fields.String()
    actor = fields.String()
    since = fields.AwareDateTime(metadata={"description": "recorded at or after"})
    until = fields.AwareDateTime(metadata={"description": "recorded before"})
    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(validate=validate.Range(min=1, max=1000),
                           metadata={"description": "JSON: a page of this many (default 100; follow ``next``);"
                                                    " CSV and JSON Lines hold every row unless a limit is given"})
    format = fields.String(validate=validate.OneOf(["json", "csv", "jsonl"]),
                           metadata={"description": "csv (one row per event) or jsonl (one envelope per line)"})
    lang = fields.String(validate=validate.OneOf(["zh", "en"]),
                         metadata={"description": "CSV for people (zh, default: Chinese, Beijing time) or machines"})


class HistorySchema(Schema):
    events = fields.List(fields.Dict())
    next_after_seq = fields.Integer(allow_none=True)
    has_more = fields.Boolean(metadata={"description": "whether more events follow this page"})
    next = fields.String(allow_none=True, metadata={"description": "the next page's address (also a Link header)"})
    chain = fields.Dict(allow_none=True)


FILTERS = {"stream_id": "stream_id = %s", "event_type": "event_type = %s", "branch_id": "branch_id = %s",
           "actor": "actor_user = %s", "since": "recorded_at >= %s", "until": "recorded_at < %s"}


@events.route("/events")
class EventHistory(MethodView):
    @events.arguments(EventQuerySchema, location="query")
    @events.response(200, HistorySchema)
    def get(self, query):
        """Events of your bureau in journal order; with ``stream_id``, in stream order with the chain checked.

        JSON answers a page at a time (``has_more``, ``next``); CSV and JSON Lines hold every event."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        clauses = ["seq > %s"] + [FILTERS[name] for name in FILTERS if name in query]
        params = [query["after_seq"]] + [query[name] for name in FILTERS if name in query]
        order = "stream_version" if "stream_id" in query else "seq"
        if query.get("format") in ("csv", "jsonl"):
            entries = queries.history_stream(principal.tenant, clauses, params, order, query.get("limit"))
            return csv_export.stream_history(entries, query["format"], query.get("lang", "zh"))
        limit = query.get("limit", 100)
        with read_transaction(principal.tenant) as conn:
            rows = conn.execute(f"SELECT seq, envelope FROM journal WHERE {' AND '.join(clauses)}"
                                f" ORDER BY {order} LIMIT %s", [*params, limit + 1]).fetchall()
        more, rows = len(rows) > limit, rows[:limit]
        listed = [{"seq": row["seq"], **json.loads(row["envelope"])} for row in rows]
        after = max((row["seq"] for row in rows), default=None) if more else None
        following = _next_page(after) if after is not None else None
        headers = {"Link": f'<{following}>; rel="next"'} if following else {}
        return {"events": listed, "next_after_seq": after, "has_more": more, "next": following,
                "chain": _chain_report(query, rows)}, 200, headers


def _next_page(after_seq: int) -> str:
    args = {name: value for name, value in flask.request.args.items() if name != "after_seq"}
    return flask.url_for(flask.request.endpoint, **{**args, "after_seq": after_seq})


def _chain_report(query: dict, rows: list[dict]) -> dict | None:
    """For a whole stream (no paging or filters beyond it), say whether its hash chain holds."""
    if "stream_id" not in query or query["after_seq"] or set(query) - {"stream_id", "after_seq", "limit"}:
        return None
    envelopes = [Envelope.from_dict(json.loads(row["envelope"])) for row in rows]
    problems = check_chain(query["stream_id"], envelopes)
    return {"valid": not problems, "length": len(envelopes), "problems": [p.to_dict() for p in problems]}


proofs = ApiBlueprint("proofs", __name__, description="Tamper evidence: signed tree heads and Merkle proofs")


class InclusionQuerySchema(Schema):
    event_id = fields.UUID(required=True)
    tree_size = fields.Integer(validate=validate.Range(min=1), metadata={"description": "default: the current size"})


class ConsistencyQuerySchema(Schema):
    first = fields.Integer(required=True, validate=validate.Range(min=0))
    second = fields.Integer(validate=validate.Range(min=0), metadata={"description": "default: the current size"})


class TreeHeadHistorySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


@proofs.route("/tree-head")
class TreeHead(MethodView):
    def get(self):
        """Sign and return your bureau's journal tree head now: size, root, time, Ed25519 signature."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return handlers.sign_tree_head(principal.tenant)


@proofs.route("/tree-heads")
class TreeHeadHistory(MethodView):
    @proofs.arguments(TreeHeadHistorySchema, location="query")
    def get(self, query):
        """The tree heads signed so far, newest first."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return {"tree_heads": handlers.tree_head_history(principal.tenant, query["limit"])}


@proofs.route("/proofs/inclusion")
class InclusionProof(MethodView):
    @proofs.arguments(InclusionQuerySchema, location="query")
    def get(self, query):
        """Prove that an event is in the journal: its envelope, leaf index, audit path and the root."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return handlers.inclusion_proof(principal.tenant, str(query["event_id"]), query.get("tree_size"))


@proofs.route("/proofs/consistency")
class ConsistencyProof(MethodView):
    @proofs.arguments(ConsistencyQuerySchema, location="query")
    def get(self, query):
        """Prove that the journal of size ``second`` extends the journal of size ``first``."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return handlers.consistency_proof(principal.tenant, query["first"], query.get("second"))
