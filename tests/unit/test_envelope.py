"""The envelope's canonical form and hash chain, without any server."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from shared.chain import check_chain
from shared.envelope import GENESIS_HASH, envelope_from_wire, format_timestamp, parse_timestamp
from tests.support import sample_envelopes


def chained(count=3):
    envelopes, prev = [], GENESIS_HASH
    for envelope in sample_envelopes("member-1", 1, count, "tenant-1"):
        envelope = envelope.sealed(prev)
        envelopes.append(envelope)
        prev = envelope.hash
    return envelopes


def test_the_hash_covers_every_field_but_itself():
    envelope = chained(1)[0]
    assert envelope.hash == envelope.compute_hash() and len(envelope.hash) == 64
    for change in ({"data": {"n": 2}}, {"stream_version": 2}, {"tenant_id": "other"},
                   {"recorded_at": envelope.recorded_at + timedelta(microseconds=1)}):
        assert replace(envelope, **change).compute_hash() != envelope.hash


def test_the_wire_form_round_trips_to_the_same_hash():
    envelope = chained(1)[0]
    again = envelope_from_wire(envelope.to_json().encode())
    assert again == envelope and again.compute_hash() == envelope.hash


def test_the_canonical_json_is_sorted_and_keeps_chinese_text_readable():
    text = chained(1)[0].to_json()
    assert text.index('"actor"') < text.index('"branch_id"') < text.index('"data"')
    assert "学习" in text and ", " not in text


def test_timestamps_are_utc_with_microseconds_and_naive_ones_are_refused():
    moment = datetime(2026, 7, 1, 8, 30, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    assert format_timestamp(moment) == "2026-07-01T00:30:00.000005Z"
    assert parse_timestamp(format_timestamp(moment)) == moment
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 7, 1))


def test_a_malformed_envelope_on_the_wire_is_rejected_with_the_field():
    body = chained(1)[0].to_dict()
    del body["stream_version"]
    import json
    with pytest.raises(ValueError, match="stream_version"):
        envelope_from_wire(json.dumps(body).encode())


def test_an_intact_chain_has_no_problems():
    assert check_chain("member-1", chained(4)) == []


def test_a_changed_event_breaks_its_hash_and_a_resealed_one_breaks_the_next_link():
    events = chained(3)
    changed = replace(events[1], data={"n": 42})
    assert [(p.code, p.stream_version) for p in check_chain("member-1", [events[0], changed, events[2]])] == [
        ("hash_mismatch", 2)]
    resealed = changed.sealed(events[0].hash)
    assert [(p.code, p.stream_version) for p in check_chain("member-1", [events[0], resealed, events[2]])] == [
        ("chain_broken", 3)]


def test_a_missing_event_shows_as_a_gap_and_a_broken_link():
    events = chained(3)
    assert {p.code for p in check_chain("member-1", [events[0], events[2]])} == {"version_gap", "chain_broken"}


@pytest.mark.parametrize("change", [
    {"schema_version": "1"}, {"schema_version": True}, {"stream_version": 0}, {"event_id": "not-a-uuid"},
    {"event_type": "MemberRegistered"}, {"stream_id": ""}, {"tenant_id": 7}, {"occurred_at": "2026-07-01T00:30:00Z"},
    {"recorded_at": None}, {"actor": {"user": "u"}}, {"actor": {"user": "u", "role": "r", "extra": 1}},
    {"data": []}, {"hash": "0" * 63}, {"surplus": "field"}])
def test_every_rule_of_the_envelope_schema_holds_on_the_wire(change):
    import json
    body = {**chained(1)[0].to_dict(), **change}
    with pytest.raises(ValueError, match="malformed envelope"):
        envelope_from_wire(json.dumps(body).encode())


def test_a_wire_message_that_is_not_an_object_is_rejected():
    for raw in (b"[1, 2]", b'"text"', b"not json"):
        with pytest.raises(ValueError):
            envelope_from_wire(raw)


def test_an_integer_beyond_64_bits_in_the_data_keeps_its_value_and_the_hash_on_the_wire():
    envelope = replace(chained(1)[0], data={"n": 123456789012345678901234567890}).sealed(GENESIS_HASH)
    again = envelope_from_wire(envelope.to_json().encode())
    assert again.data["n"] == 123456789012345678901234567890 and again.compute_hash() == envelope.hash
