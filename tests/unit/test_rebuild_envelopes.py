"""A rebuild makes the envelopes of the rows it reads without ``Envelope.__init__``: they must be the same."""

from __future__ import annotations

import dataclasses
from datetime import datetime, UTC

from shared.envelope import Actor, Envelope
from shared.rebuild import envelopes

MOMENT = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def row(position: int, user: str = "u-1", role: str = "secretary") -> tuple:
    """A row as the rebuild's query reads it: the actor as two columns."""
    return (position, f"e-{position}", "MemberRegistered", 2, "member-7", position, "t-1", "b-1", MOMENT, MOMENT, user,
            role, "c-1", None, {"member_id": "m-7"}, "0" * 64, "f" * 64)


def test_the_envelopes_read_equal_those_the_constructor_makes_field_by_field():
    made = envelopes([row(1), row(2, "u-2", "auditor")], {})
    expected = Envelope("e-1", "MemberRegistered", 2, "member-7", 1, "t-1", "b-1", MOMENT, MOMENT,
                        Actor("u-1", "secretary"), "c-1", None, {"member_id": "m-7"}, "0" * 64, "f" * 64)
    assert made[0] == (1, expected)
    assert made[1][1].actor == Actor("u-2", "auditor") and made[1][1].stream_version == 2
    assert made[0][1].to_dict() == expected.to_dict()
    for field in dataclasses.fields(Envelope):  # a field added to the envelope must be added here too
        assert getattr(made[0][1], field.name) == getattr(expected, field.name), field.name
    assert set(vars(made[0][1])) == {field.name for field in dataclasses.fields(Envelope)}


def test_the_envelopes_read_stay_frozen_and_share_each_actor():
    actors: dict = {}
    first, second = envelopes([row(1), row(2)], actors)
    assert first[1].actor is second[1].actor and list(actors) == [("u-1", "secretary")]
    try:
        first[1].stream_version = 9
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("an envelope read by a rebuild could be changed")
