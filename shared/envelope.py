"""The event envelope of DESIGN.md: one shape in the store, on Kafka and in the audit journal.

The hash is computed over a canonical JSON text (sorted keys, no spaces, UTC timestamps with
microseconds) so that any copy of an event, wherever it was stored, hashes to the same value.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, replace
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
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


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
        """The JSON form, as stored in the journal and sent on Kafka."""
        body = asdict(self)
        body["occurred_at"] = format_timestamp(self.occurred_at)
        body["recorded_at"] = format_timestamp(self.recorded_at)
        body["data"] = dict(self.data)
        return body

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


def envelope_from_wire(raw: bytes) -> Envelope:
    """Parse and validate an envelope received as JSON bytes; raises on anything malformed."""
    body = json.loads(raw.decode("utf-8"))
    errors = _ENVELOPE_SCHEMA.validate(body)
    if errors:
        raise ValueError(f"malformed envelope: {errors}")
    return Envelope.from_dict(body)
