"""The event catalogue: a JSON Schema (draft 2020-12) per event type and an AsyncAPI 3 document, from the contracts.

Generated, never written by hand: ``branchwork catalogue`` writes ``docs/events/`` and ``--check`` fails
when the files differ from what the contracts say now (CI runs it through the unit tests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from marshmallow import fields

from shared.contracts import EventContract, EventRegistry

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
TIMESTAMP_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
HASH_PATTERN = "^[0-9a-f]{64}$"


@dataclass(frozen=True)
class Topic:
    """One service's events topic: who publishes it, its contracts and the consumer groups that read it."""

    service: str
    address: str
    registry: EventRegistry
    consumers: Sequence[str]


def event_schema(contract: EventContract) -> dict:
    """The whole envelope of one event type, its ``data`` described by the contract's schema."""
    data = _object_schema(contract.schema(), f"The payload of {contract.name} (schema version {contract.version}). "
                          "Fields a newer producer adds are allowed: readers ignore what they do not know.")
    return {
        "$schema": DRAFT, "$id": f"{contract.name}.json", "title": contract.name,
        "description": _describe(contract), "type": "object", "additionalProperties": False,
        "required": sorted(ENVELOPE_PROPERTIES),
        "properties": {**ENVELOPE_PROPERTIES, "event_type": {"const": contract.name},
                       "schema_version": {"const": contract.version}, "data": data},
    }


def _describe(contract: EventContract) -> str:
    doc = " ".join((contract.event_class.__doc__ or "").split())
    versions = (f" Stored events of versions 1–{contract.version - 1} are upcast to {contract.version} on read."
                if contract.version > 1 else "")
    return (doc + versions).strip()


def _object_schema(schema, description: str) -> dict:
    required = sorted(name for name, field in schema.fields.items() if field.required)
    return {"type": "object", "description": description, "additionalProperties": True, "required": required,
            "properties": {name: _field_schema(field) for name, field in sorted(schema.fields.items())}}


def _field_schema(field: fields.Field) -> dict:
    described = _type_of(field)
    if field.allow_none:
        described = {"anyOf": [described, {"type": "null"}]}
    return described


def _type_of(field: fields.Field) -> dict:
    """The JSON form marshmallow dumps for each field type the contracts use."""
    if isinstance(field, fields.List):
        return {"type": "array", "items": _field_schema(field.inner)}
    if isinstance(field, fields.Dict):
        return {"type": "object"}
    if isinstance(field, fields.Decimal):
        return {"type": "string", "pattern": DECIMAL_PATTERN, "description": "a decimal number written as text"}
    if isinstance(field, fields.DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(field, fields.Date):
        return {"type": "string", "format": "date"}
    for kind, name in ((fields.Boolean, "boolean"), (fields.Integer, "integer"), (fields.String, "string")):
        if isinstance(field, kind):
            return {"type": name}
    raise TypeError(f"no JSON Schema for field type {type(field).__name__}")


_NULLABLE_TEXT = {"type": ["string", "null"]}
ENVELOPE_PROPERTIES: dict[str, dict] = {
    "event_id": {"type": "string", "format": "uuid", "description": "unique forever"},
    "event_type": {"type": "string"},
    "schema_version": {"type": "integer", "minimum": 1},
    "stream_id": {"type": "string", "minLength": 1, "maxLength": 200,
                  "description": "the aggregate's stream; also the Kafka message key"},
    "stream_version": {"type": "integer", "minimum": 1, "description": "1, 2, 3 … per stream, no gaps"},
    "tenant_id": {**_NULLABLE_TEXT, "description": "the bureau"},
    "branch_id": {**_NULLABLE_TEXT, "description": "the branch it concerns; null for bureau-level facts"},
    "occurred_at": {"type": "string", "pattern": TIMESTAMP_PATTERN, "description": "when it happened (UTC)"},
    "recorded_at": {"type": "string", "pattern": TIMESTAMP_PATTERN, "description": "when it was recorded (UTC)"},
    "actor": {"type": "object", "additionalProperties": False, "required": ["role", "user"],
              "properties": {"user": {"type": "string"}, "role": {"type": "string"}}},
    "correlation_id": _NULLABLE_TEXT,
    "causation_id": _NULLABLE_TEXT,
    "data": {"type": "object"},
    "prev_hash": {"type": "string", "pattern": HASH_PATTERN},
    "hash": {"type": "string", "pattern": HASH_PATTERN,
             "description": "sha256(prev_hash ‖ canonical JSON of the envelope without hash)"},
}


def asyncapi(topics: Sequence[Topic], version: str) -> dict:
    """The AsyncAPI 3 document: a channel per topic and its dead-letter sibling, messages by event type."""
    channels, operations, messages = {}, {}, {}
    for topic in topics:
        names = topic.registry.names()
        for name in names:
            messages[name] = _message(topic.registry.contract(name))
        refs = {name: {"$ref": f"#/components/messages/{name}"} for name in names}
        channel, dlq = f"{topic.service}Events", f"{topic.service}DeadLetters"
        channels[channel] = {"address": topic.address, "title": f"{topic.service} events",
                             "description": f"Every event the {topic.service} service records, through its outbox.",
                             "messages": refs}
        channels[dlq] = {"address": f"{topic.address}.dlq", "title": f"{topic.service} dead letters",
                         "description": "Events a consumer could not apply, verbatim, with the error in a header.",
                         "messages": {"deadLetter": {"$ref": "#/components/messages/deadLetter"}}}
        operations[f"{topic.service}Publishes"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"The {topic.service} outbox relay publishes in outbox order, key = stream_id.",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names]}
        for consumer in topic.consumers:
            operations[f"{_camel(consumer)}Reads{topic.service.title()}"] = {
                "action": "receive", "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"Consumer group <prefix>.{consumer}", "messages": [
                    {"$ref": f"#/channels/{channel}/messages/{name}"} for name in names]}
    messages["deadLetter"] = _dead_letter_message()
    return {"asyncapi": "3.0.0",
            "info": {"title": "Branchwork events", "version": version, "description": ASYNCAPI_DESCRIPTION},
            "defaultContentType": "application/json",
            "servers": {"kafka": {"host": "kafka:9092", "protocol": "kafka", "description":
                                  "Topics carry the prefix BRANCHWORK_TOPIC_PREFIX (default branchwork)"}},
            "channels": channels, "operations": operations,
            "components": {"messages": messages, "schemas": {"headers": HEADERS_SCHEMA}}}


ASYNCAPI_DESCRIPTION = (
    "Every event of the platform, as published by each service's outbox relay to Apache Kafka. The value is the "
    "event envelope as JSON (UTF-8), the key is its stream_id (one stream, one partition, its order kept). "
    "Delivery is at least once: consumers deduplicate by event_id. The payload schemas are the files beside "
    "this document, one per event type, generated from contracts/.")

HEADERS = {"event_type": "the envelope's event_type, to route without parsing the value",
           "event_id": "the envelope's event_id, to deduplicate",
           "correlation_id": "the request that started the chain (empty when none)",
           "tenant_id": "the bureau (empty for platform-level facts)"}
HEADERS_SCHEMA = {
    "type": "object", "description": "Kafka record headers set by the relay (UTF-8 text).",
    "properties": {name: {"type": "string", "description": description} for name, description in HEADERS.items()},
}


def _message(contract: EventContract) -> dict:
    return {"name": contract.name, "title": contract.name, "summary": _describe(contract) or contract.name,
            "contentType": "application/json", "headers": {"$ref": "#/components/schemas/headers"},
            "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": {"$ref": f"{contract.name}.json"}},
            "bindings": {"kafka": {"key": {"type": "string", "description": "the envelope's stream_id"},
                                   "bindingVersion": "0.5.0"}}}


def _dead_letter_message() -> dict:
    return {"name": "deadLetter", "title": "A parked event", "contentType": "application/json",
            "summary": "The record as the consumer received it; headers name the consumer and the error.",
            "headers": {"type": "object", "properties": {
                "consumer": {"type": "string", "description": "the consumer that gave up"},
                "error": {"type": "string", "description": "the last error, at most 1000 bytes"}}},
            "payload": {"type": "string", "description": "the original record value"}}


def _camel(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(part.title() for part in rest)


def render(topics: Sequence[Topic], version: str) -> dict[str, str]:
    """Every file of the catalogue: name → text."""
    files = {}
    for topic in topics:
        for name in topic.registry.names():
            files[f"{name}.json"] = json.dumps(event_schema(topic.registry.contract(name)), indent=2,
                                               ensure_ascii=False) + "\n"
    files["asyncapi.yaml"] = ("# Generated by `branchwork catalogue` from contracts/; do not edit.\n"
                              + yaml.safe_dump(asyncapi(topics, version), sort_keys=False, allow_unicode=True,
                                               width=120))
    return files


def stale(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Files that are missing, different, or no longer generated."""
    present = {path.name for path in directory.glob("*") if path.suffix in (".json", ".yaml")}
    changed = [name for name, text in files.items()
               if not (directory / name).exists() or (directory / name).read_text(encoding="utf-8") != text]
    return sorted(changed + sorted(present - set(files)))


def write(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Write the catalogue, removing files of event types that no longer exist; return what changed."""
    changed = stale(directory, files)
    directory.mkdir(parents=True, exist_ok=True)
    for name in changed:
        if name in files:
            (directory / name).write_text(files[name], encoding="utf-8")
        else:
            (directory / name).unlink()
    return changed
