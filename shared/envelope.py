"""The event envelope of DESIGN.md: one shape in the store, on Kafka and in the audit journal.

The hash is computed over a canonical JSON text (sorted keys, no spaces, UTC timestamps with
microseconds) so that any copy of an event, wherever it was stored, hashes to the same value.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, UTC
from typing import Any
from collections.abc import Mapping

from marshmallow import Schema, fields, validate

from shared.canonical import canonical_json, event_hash

GENESIS_HASH = "0" * 64
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as the canonical UTC text."""
    if moment.tzinfo is None:
        raise ValueError("timestamps in events must be timezone-aware")
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """The canonical text back to an aware datetime (fromisoformat: several times faster than strptime)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset():
        raise ValueError(f"not a canonical UTC timestamp: {text!r}")
    return moment.replace(tzinfo=UTC)


def start_of_day(day: date) -> datetime:
    """The moment a dated fact (a meeting on a day) is taken to have occurred."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class Actor:
    user: str
    role: str


@dataclass(frozen=True)
class Envelope:
    """An immutable, recorded fact. ``hash`` chains it to the previous event of its stream."""

    event_id: str
    event_type: str
    schema_version: int
    stream_id: str
    stream_version: int
    tenant_id: str | None
    branch_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    correlation_id: str | None
    causation_id: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as stored in the journal and sent on Kafka (built by hand: ``asdict`` deep-copies)."""
        return {"event_id": self.event_id, "event_type": self.event_type, "schema_version": self.schema_version,
                "stream_id": self.stream_id, "stream_version": self.stream_version, "tenant_id": self.tenant_id,
                "branch_id": self.branch_id, "occurred_at": format_timestamp(self.occurred_at),
                "recorded_at": format_timestamp(self.recorded_at),
                "actor": {"user": self.actor.user, "role": self.actor.role},
                "correlation_id": self.correlation_id, "causation_id": self.causation_id, "data": dict(self.data),
                "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Envelope:
        values = dict(body)
        values["occurred_at"] = _as_datetime(values["occurred_at"])
        values["recorded_at"] = _as_datetime(values["recorded_at"])
        values["actor"] = Actor(**values["actor"])
        return cls(**values)

    def compute_hash(self) -> str:
        """sha256(prev_hash ‖ canonical envelope without its hash)."""
        return event_hash(self.to_dict())

    def sealed(self, prev_hash: str) -> Envelope:
        """Return this envelope chained after ``prev_hash``, with its hash filled in."""
        chained = replace(self, prev_hash=prev_hash, hash="")
        return replace(chained, hash=chained.compute_hash())

    def to_json(self) -> str:
        return canonical_json(self.to_dict())


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_timestamp(value)


def new_event_id() -> str:
    return str(uuid.uuid4())


class ActorSchema(Schema):
    user = fields.String(required=True)
    role = fields.String(required=True)


class EnvelopeSchema(Schema):
    """Validates an envelope arriving from Kafka before a consumer trusts it."""

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Regexp(r"^[a-z]+\.[A-Z][A-Za-z]+$"))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    stream_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    stream_version = fields.Integer(required=True, validate=validate.Range(min=1))
    tenant_id = fields.String(required=True, allow_none=True)
    branch_id = fields.String(required=True, allow_none=True)
    occurred_at = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"))
    recorded_at = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"))
    actor = fields.Nested(ActorSchema, required=True)
    correlation_id = fields.String(required=True, allow_none=True)
    causation_id = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True)
    prev_hash = fields.String(required=True, validate=validate.Length(equal=64))
    hash = fields.String(required=True, validate=validate.Length(equal=64))


_ENVELOPE_SCHEMA = EnvelopeSchema()  # built once: schema construction costs more than validating
_FIELDS = frozenset(_ENVELOPE_SCHEMA.fields)
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
_EVENT_TYPE = re.compile(r"^[a-z]+\.[A-Z][A-Za-z]+$")


def envelope_from_wire(raw: bytes) -> Envelope:
    """Parse and validate an envelope received as JSON bytes; raises on anything malformed.

    Every consumer decodes every event it receives once, here; the usual, well-formed envelope is
    checked by a few plain tests, and only one that fails them goes through the schema, whose
    message names the fields at fault.
    """
    # The standard parser, not a faster one: orjson reads an integer beyond 64 bits as a float, which
    # would change the event's canonical text and so break its hash.
    body = json.loads(raw)
    if not _well_formed(body):
        errors = _ENVELOPE_SCHEMA.validate(body) if isinstance(body, dict) else {"_schema": ["not an object"]}
        raise ValueError(f"malformed envelope: {errors or 'invalid'}")
    return Envelope.from_dict(body)


def _well_formed(body: Any) -> bool:
    """The rules of EnvelopeSchema, tested directly (the schema takes ten times as long to say yes)."""
    try:
        actor = body["actor"]
        return (type(body) is dict and body.keys() == _FIELDS and _EVENT_TYPE.match(body["event_type"]) is not None
                and _positive(body["schema_version"]) and _positive(body["stream_version"])
                and isinstance(body["stream_id"], str) and 1 <= len(body["stream_id"]) <= 200
                and all(_text_or_none(body[k]) for k in ("tenant_id", "branch_id", "correlation_id", "causation_id"))
                and all(isinstance(body[k], str) and _TIMESTAMP.match(body[k]) for k in ("occurred_at", "recorded_at"))
                and type(actor) is dict and actor.keys() == {"user", "role"}
                and all(isinstance(v, str) for v in actor.values()) and type(body["data"]) is dict
                and all(isinstance(body[k], str) and len(body[k]) == 64 for k in ("prev_hash", "hash"))
                and _is_uuid(body["event_id"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def _is_uuid(value: Any) -> bool:
    uuid.UUID(value)  # raises ValueError (or AttributeError for a non-string) when it is not one
    return True


def _positive(value: Any) -> bool:
    return type(value) is int and value >= 1


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)
