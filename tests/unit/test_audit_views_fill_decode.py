"""A views rebuild decodes each journal entry its own quicker way: the same envelope, the same facts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from services.audit.projections import facts_of
from services.audit.views_feed import _envelope, _envelope_json, _stamps, _timestamp
from shared.envelope import Envelope, parse_timestamp
from tests.audit_month import month_of_work


def _bodies() -> list[dict]:
    return [json.loads(envelope.to_json()) for envelope in month_of_work().envelopes]


def test_an_entry_becomes_the_envelope_from_dict_makes_field_for_field():
    actors: dict = {}
    bodies = _bodies()
    assert bodies
    for body in bodies:
        made, expected = _envelope(json.loads(json.dumps(body)), actors), Envelope.from_dict(body)
        assert made == expected
        assert vars(made) == vars(expected)
        assert list(vars(made)) == list(vars(expected))  # the fields in their order
        assert made.occurred_at.tzinfo is expected.occurred_at.tzinfo


def test_an_entry_of_other_fields_is_left_to_from_dict():
    body = _bodies()[0]
    with pytest.raises(TypeError):
        _envelope({**body, "extra": 1}, {})
    short = {key: value for key, value in body.items() if key not in ("prev_hash", "hash")}
    assert _envelope(short, {}) == Envelope.from_dict(short)  # the defaults filled in, as from_dict fills them


@pytest.mark.parametrize("text", ["2026-11-03T09:30:00.000000Z", "2026-11-03T09:30:00Z", "2026-11-03T09:30:00+00:00",
                                  "2026-11-03T09:30:00.250000"])
def test_a_timestamp_reads_as_parse_timestamp_reads_it(text):
    try:
        expected = parse_timestamp(text)
    except ValueError:
        with pytest.raises(ValueError):
            _timestamp(text)
        return
    assert _timestamp(text) == expected and _timestamp(text).tzinfo is expected.tzinfo


def test_a_timestamp_of_another_offset_is_refused_as_before():
    text = datetime(2026, 11, 3, 9, 30, tzinfo=timezone(timedelta(hours=8))).isoformat()
    with pytest.raises(ValueError):
        _timestamp(text)


def test_the_timeline_carries_the_canonical_text_of_the_same_instants_and_nothing_else_changes():
    timelines = 0
    for body in _bodies():
        envelope = Envelope.from_dict(body)
        stamps = _stamps(body)
        assert stamps == (body["occurred_at"], body["recorded_at"])
        plain, stamped = facts_of(envelope), facts_of(envelope, stamps=stamps)
        assert [fact.table for fact in plain] == [fact.table for fact in stamped]
        for before, after in zip(plain, stamped):
            if before.table != "member_events":
                assert before == after
                continue
            timelines += 1
            assert {**after.row, "occurred_at": before.row["occurred_at"],
                    "recorded_at": before.row["recorded_at"]} == before.row
            assert parse_timestamp(after.row["occurred_at"]) == before.row["occurred_at"]
            assert parse_timestamp(after.row["recorded_at"]) == before.row["recorded_at"]
    assert timelines


@pytest.mark.parametrize("occurred", ["2026-11-03T09:30:00Z", "2026-11-03T09:30:00.000000+00:00", None, 17])
def test_a_timestamp_not_in_the_canonical_form_leaves_the_timeline_its_datetimes(occurred):
    assert _stamps({"occurred_at": occurred, "recorded_at": "2026-11-03T09:30:00.000000Z"}) is None


def test_the_journals_json_reader_gives_what_the_envelope_is_made_from():
    body = _bodies()[1]
    assert _envelope(_envelope_json(json.dumps(body).encode()), {}) == Envelope.from_dict(body)
