"""The event catalogue in docs/events: current with the contracts, valid JSON Schema, a coherent AsyncAPI document."""

from __future__ import annotations

import json
from datetime import date, datetime, UTC

import pytest
import yaml
from jsonschema import Draft202012Validator

from shared import catalogue
from shared.cli import CATALOGUE_DIR, _version, catalogue_topics
from shared.envelope import Actor, Envelope

TOPICS = catalogue_topics()
EVENT_TYPES = [name for topic in TOPICS for name in topic.registry.names()]


def schema(event_type: str) -> dict:
    return json.loads((CATALOGUE_DIR / f"{event_type}.json").read_text(encoding="utf-8"))


def test_the_committed_catalogue_is_what_the_contracts_generate():
    stale = catalogue.stale(CATALOGUE_DIR, catalogue.render(TOPICS, _version()))
    assert not stale, f"docs/events is stale ({stale[:5]}…): run .venv/bin/branchwork catalogue"


def test_staleness_is_noticed_for_a_changed_a_missing_and_a_leftover_file(tmp_path):
    files = catalogue.render(TOPICS, _version())
    catalogue.write(tmp_path, files)
    assert catalogue.stale(tmp_path, files) == []
    (tmp_path / "members.BureauRegistered.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notify.WebhookRemoved.json").unlink()
    (tmp_path / "members.GoneAway.json").write_text("{}", encoding="utf-8")
    assert catalogue.stale(tmp_path, files) == ["members.BureauRegistered.json", "members.GoneAway.json",
                                                "notify.WebhookRemoved.json"]
    catalogue.write(tmp_path, files)
    assert catalogue.stale(tmp_path, files) == [] and not (tmp_path / "members.GoneAway.json").exists()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_has_a_valid_draft_2020_12_schema(event_type):
    described = schema(event_type)
    Draft202012Validator.check_schema(described)
    assert described["$schema"] == catalogue.DRAFT
    assert described["properties"]["event_type"] == {"const": event_type}


def test_an_event_the_producer_writes_is_valid_and_a_broken_one_is_not():
    from contracts.members import BranchEstablished, registry
    event = BranchEstablished(branch_id="b1", name="离退休干部党支部", established_on=date(2012, 6, 18))
    name, version, data = registry.serialise(event)
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    envelope = Envelope(event_id="6f1c2f9e-4f7e-4a43-9d8b-1f1b5f2a7c11", event_type=name, schema_version=version,
                        stream_id="branch-b1", stream_version=1, tenant_id="t1", branch_id="b1", occurred_at=now,
                        recorded_at=now, actor=Actor("admin", "bureau_admin"), correlation_id="c1", causation_id=None,
                        data=data).sealed("0" * 64).to_dict()
    validator = Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert list(validator.iter_errors(envelope)) == []
    for broken in ({**envelope, "data": {k: v for k, v in data.items() if k != "name"}},
                   {**envelope, "data": {**data, "established_on": "18 June 2012"}},
                   {**envelope, "schema_version": version + 1},
                   {**envelope, "recorded_at": "2026-01-02T03:04:05+00:00"},
                   {**envelope, "extra": 1}):
        assert list(validator.iter_errors(broken)), broken


def test_the_asyncapi_document_names_every_topic_message_header_and_file():
    document = yaml.safe_load((CATALOGUE_DIR / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["asyncapi"].startswith("3.")
    messages = document["components"]["messages"]
    assert set(EVENT_TYPES) <= set(messages)
    for topic in TOPICS:
        channel = document["channels"][f"{topic.service}Events"]
        assert channel["address"] == topic.address
        assert document["channels"][f"{topic.service}DeadLetters"]["address"] == f"{topic.address}.dlq"
        assert set(channel["messages"]) == set(topic.registry.names())
    for operation in document["operations"].values():
        channel = operation["channel"]["$ref"].split("/")[-1]
        for ref in operation["messages"]:
            _, _, name, _, message = ref["$ref"].split("/")
            assert name == channel and message in document["channels"][channel]["messages"]
    for name in EVENT_TYPES:
        assert (CATALOGUE_DIR / messages[name]["payload"]["schema"]["$ref"]).exists()
    receivers = {op["summary"].split(".", 1)[1] for op in document["operations"].values() if op["action"] == "receive"}
    assert receivers == {"members-transfer-saga", "activities-roster", "notify-sources", "audit-journal"}


def test_the_headers_documented_are_the_headers_the_relay_sends():
    from shared.relay import _headers
    from tests.support import sample_envelopes
    [envelope] = sample_envelopes("sample-1", 1, 1, "t1")
    assert {name for name, _ in _headers(envelope)} == set(catalogue.HEADERS)
