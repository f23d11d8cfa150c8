"""HTTP API of the audit service: the event history of a bureau with its hash chains checked, and its proofs."""

from __future__ import annotations

import json

import flask
from flask.views import MethodView
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from contracts.rulebook.calendar import validate_day
from shared.chain import check_chain
from shared.envelope import Envelope
from shared.web import ApiBlueprint, current_principal
from services.audit import csv_export, handlers, queries
from services.audit.projections import shown_data
from services.audit.bundles import Period, Scope

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
    known_on = fields.Date(validate=validate_day,
                           metadata={"description": "only entries the journal had received by the end of this day"})


class HistorySchema(Schema):
    events = fields.List(fields.Dict())
    next_after_seq = fields.Integer(allow_none=True)
    has_more = fields.Boolean(metadata={"description": "whether more events follow this page"})
    next = fields.String(allow_none=True, metadata={"description": "the next page's address (also a Link header)"})
    chain = fields.Dict(allow_none=True)


@events.route("/events")
class EventHistory(MethodView):
    @events.arguments(EventQuerySchema, location="query")
    @events.response(200, HistorySchema)
    @events.doc(responses={"200": {"content": {
        "application/json": {"schema": HistorySchema}, "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "one envelope per line"}}}}})
    def get(self, query):
        """Events of your bureau in journal order; with ``stream_id``, in stream order with the chain checked.

        JSON answers a page at a time (``has_more``, ``next``); CSV and JSON Lines hold every event."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        selection = queries.journal_selection(principal.tenant, query)
        if query.get("format") in ("csv", "jsonl"):
            entries = queries.history_stream(principal.tenant, selection.where, selection.params, selection.order,
                                             query.get("limit"))
            return csv_export.stream_history(entries, query["format"], query.get("lang", "zh"))
        limit = query.get("limit", 100)
        rows = queries.journal_page(principal.tenant, selection, limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        listed = [_shown({"seq": row["seq"], **json.loads(row["envelope"])}) for row in rows]
        after = max((row["seq"] for row in rows), default=None) if more else None
        following = _next_page(after) if after is not None else None
        headers = {"Link": f'<{following}>; rel="next"'} if following else {}
        return {"events": listed, "next_after_seq": after, "has_more": more, "next": following,
                "chain": _chain_report(query, rows)}, 200, headers


def _next_page(after_seq: int) -> str:
    args = {name: value for name, value in flask.request.args.items() if name != "after_seq"}
    return flask.url_for(flask.request.endpoint, **{**args, "after_seq": after_seq})


def _shown(entry: dict) -> dict:
    """The entry with its data as the current contract shows it (JSON Lines keep the recorded bytes, for proofs)."""
    return {**entry, "data": shown_data(entry["event_type"], entry["schema_version"], entry["data"])}


def _chain_report(query: dict, rows: list[dict]) -> dict | None:
    """For a whole stream (no paging or filters beyond it), say whether its hash chain holds."""
    if "stream_id" not in query or query["after_seq"] or set(query) - {"stream_id", "after_seq", "limit", "known_on"}:
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


class OpenSchema(Schema):
    """An answer whose named fields are documented and which may grow more (a newer head format, say)."""

    class Meta:
        unknown = INCLUDE


class TreeHeadSchema(OpenSchema):
    tenant_id = fields.String(required=True)
    tree_size = fields.Integer(required=True, validate=validate.Range(min=0))
    root_hash = fields.String(required=True, metadata={"description": "hex SHA-256"})
    timestamp = fields.String(required=True, metadata={"format": "date-time"})
    algorithm = fields.String(required=True)
    key_id = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "base64 Ed25519 public key"})
    signature = fields.String(required=True, metadata={"description": "base64 Ed25519 signature"})
    index_size = fields.Integer(required=True, metadata={"description": "rows of the index of last entries"})
    index_root = fields.String(required=True, metadata={"description": "hex root of that index"})
    checkpoint = fields.String(required=True, metadata={"description": "the head as a signed C2SP checkpoint"})


class CosignedBySchema(Schema):
    witness_key = fields.String(required=True)
    cosigned_at = fields.String(required=True, metadata={"format": "date-time"})


class SignedHeadSchema(OpenSchema):
    tenant_id = fields.String(required=True)
    tree_size = fields.Integer(required=True, validate=validate.Range(min=0))
    root_hash = fields.String(required=True)
    signed_at = fields.String(required=True, metadata={"format": "date-time"})
    key_id = fields.String(required=True)
    signature = fields.String(required=True)
    checkpoint = fields.String(metadata={"description": "with every witness's cosignature (heads signed since"
                                                        " checkpoints exist)"})
    cosignatures = fields.List(fields.Nested(CosignedBySchema))


class TreeHeadsSchema(Schema):
    tree_heads = fields.List(fields.Nested(SignedHeadSchema), required=True)


class InclusionSchema(Schema):
    event_id = fields.String(required=True)
    seq = fields.Integer(required=True, validate=validate.Range(min=1))
    leaf_index = fields.Integer(required=True, validate=validate.Range(min=0))
    tree_size = fields.Integer(required=True, validate=validate.Range(min=1))
    entry_format = fields.Integer(required=True, metadata={"description": "1: envelope leaf; 2: header leaf"})
    leaf_data = fields.String(required=True, metadata={"description": "the exact text the leaf hashes"})
    leaf_hash = fields.String(required=True)
    audit_path = fields.List(fields.String(), required=True)
    root_hash = fields.String(required=True)
    envelope = fields.String(required=True, metadata={"description": "the journalled envelope, canonical JSON"})
    event = fields.Dict(required=True)


class ConsistencySchema(Schema):
    first = fields.Integer(required=True, validate=validate.Range(min=0))
    second = fields.Integer(required=True, validate=validate.Range(min=0))
    first_root = fields.String(required=True)
    second_root = fields.String(required=True)
    consistency_path = fields.List(fields.String(), required=True)


class KeySchema(Schema):
    key_id = fields.String(required=True)
    algorithm = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "base64 Ed25519 public key"})
    valid_from = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    valid_to = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    vkey = fields.String(required=True, metadata={"description": "the signed-note verifier key"})


class KeysSchema(Schema):
    origin = fields.String(required=True)
    keys = fields.List(fields.Nested(KeySchema), required=True)


class CosignatureKeptSchema(Schema):
    tree_size = fields.Integer(required=True)
    head_signed_at = fields.String(required=True, metadata={"format": "date-time"})
    witness_key = fields.String(required=True)
    cosigned_at = fields.String(required=True, metadata={"format": "date-time"})
    checkpoint = fields.String(required=True, metadata={"description": "the head with every cosignature"})


class CosignatureSchema(Schema):
    witness_key = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata={
        "description": "the witness's verifier key, name+keyid+base64(0x04 ‖ Ed25519 public key)"})
    cosignature = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata={
        "description": "its signature line over the checkpoint (c2sp.org/tlog-cosignature, cosignature/v1)"})


class BundleQuerySchema(Schema):
    branch_id = fields.UUID(metadata={"description": "one branch's entries (default: the whole bureau)"})
    stream_id = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "one stream's"})
    first_day = fields.Date(required=True, data_key="from", validate=validate_day,
                            metadata={"description": "first day (the bureaus' days)"})
    last_day = fields.Date(data_key="to", validate=validate_day, metadata={"description": "last day (default: today)"})
    known_on = fields.Date(validate=validate_day,
                           metadata={"description": "as journalled by the end of this day (default: now)"})
    tree_size = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "prove against the kept head of this size (one a witness cosigned); not with known_on"})

    @validates_schema
    def one_scope_and_an_ordered_period(self, data, **_kwargs):
        if "branch_id" in data and "stream_id" in data:
            raise ValidationError("一个证据包只针对一个支部或一个事件流", field_name="stream_id")
        if data.get("last_day") and data["last_day"] < data["first_day"]:
            raise ValidationError("结束日期不能早于开始日期", field_name="to")
        if data.get("known_on") and data["known_on"] < data["first_day"]:
            raise ValidationError("known_on 不能早于开始日期", field_name="known_on")
        if "known_on" in data and "tree_size" in data:
            raise ValidationError("known_on 与 tree_size 只能选一个", field_name="tree_size")


@proofs.route("/tree-head")
class TreeHead(MethodView):
    @proofs.alt_response(200, schema=TreeHeadSchema, success=True, description="The signed head")
    def get(self):
        """Sign and return your bureau's journal tree head now: size, root, time, Ed25519 signature."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return handlers.sign_tree_head(principal.tenant)


@proofs.route("/tree-heads")
class TreeHeadHistory(MethodView):
    @proofs.arguments(TreeHeadHistorySchema, location="query")
    @proofs.alt_response(200, schema=TreeHeadsSchema, success=True, description="Signed heads, newest first")
    def get(self, query):
        """The tree heads signed so far, newest first."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return {"tree_heads": handlers.tree_head_history(principal.tenant, query["limit"])}


@proofs.route("/checkpoint")
class Checkpoint(MethodView):
    @proofs.doc(responses={"200": {"description": "The checkpoint as a signed note", "content": {
        "text/plain": {"schema": {"type": "string"}}}}})
    def get(self):
        """The newest signed checkpoint (c2sp.org/tlog-checkpoint) with its witnesses' cosignatures, as text."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return flask.Response(handlers.latest_checkpoint(principal.tenant), mimetype="text/plain")


@proofs.route("/tree-heads/<int:size>/cosignatures")
class Cosignatures(MethodView):
    @proofs.arguments(CosignatureSchema)
    @proofs.alt_response(201, schema=CosignatureKeptSchema, success=True, description="Verified and kept")
    @proofs.alt_response(200, schema=CosignatureKeptSchema, success=True, description="Kept before")
    def post(self, body, size):
        """Add a witness's cosignature of the kept head of this size; it is verified before it is kept."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        kept, created = handlers.add_cosignature(principal.tenant, size, body["witness_key"], body["cosignature"])
        return kept, 201 if created else 200


@proofs.route("/keys")
class Keys(MethodView):
    @proofs.alt_response(200, schema=KeysSchema, success=True, description="The key list")
    def get(self):
        """The bureau's tree-head signing keys, past and present, with their validity: the verifier's --key."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return handlers.keys(principal.tenant)


@proofs.route("/bundles")
class Bundles(MethodView):
    @proofs.arguments(BundleQuerySchema, location="query")
    @proofs.doc(responses={"200": {"description": "The bundle file (branchwork-audit-bundle/1)", "content": {
        "application/json": {"schema": {"type": "object"}}}}})
    def get(self, query):
        """One file with a period's journal entries (a branch's, a stream's or the bureau's) and every proof
        needed to check it offline: ``branchwork verify BUNDLE --key KEYS``."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        scope = (Scope("branch", str(query["branch_id"])) if "branch_id" in query else
                 Scope("stream", query["stream_id"]) if "stream_id" in query else Scope("bureau"))
        period = Period(query["first_day"], query.get("last_day") or handlers.today(), query.get("known_on"),
                        query.get("tree_size"))
        body = handlers.bundle(principal.tenant, scope, period)
        name = f"bundle-{scope.label}-{period.first.isoformat()}-{period.last.isoformat()}.json"
        return flask.Response(body, mimetype="application/json",
                              headers={"Content-Disposition": f"attachment; filename={name}"})


@proofs.route("/proofs/inclusion")
class InclusionProof(MethodView):
    @proofs.arguments(InclusionQuerySchema, location="query")
    @proofs.alt_response(200, schema=InclusionSchema, success=True, description="The inclusion proof")
    def get(self, query):
        """Prove that an event is in the journal: its envelope, leaf index, audit path and the root."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return handlers.inclusion_proof(principal.tenant, str(query["event_id"]), query.get("tree_size"))


@proofs.route("/proofs/consistency")
class ConsistencyProof(MethodView):
    @proofs.arguments(ConsistencyQuerySchema, location="query")
    @proofs.alt_response(200, schema=ConsistencySchema, success=True, description="The consistency proof")
    def get(self, query):
        """Prove that the journal of size ``second`` extends the journal of size ``first``."""
        principal = current_principal()
        principal.require_role(*READER_ROLES)
        return handlers.consistency_proof(principal.tenant, query["first"], query.get("second"))
