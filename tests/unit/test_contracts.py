"""Event contracts: explicit names, versions, and upcasting old data on read."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from marshmallow import Schema, ValidationError, fields

from shared.contracts import EventRegistry, UnknownEventType


class NamedV2(Schema):
    full_name = fields.String(required=True)
    title = fields.String(required=True)


def make_registry():
    registry = EventRegistry()

    @registry.event("members.Renamed", schema=NamedV2, version=3, upcasters={
        1: lambda data: {"full_name": data["name"]},
        2: lambda data: {**data, "title": "同志"},
    })
    @dataclass(frozen=True)
    class Renamed:
        full_name: str
        title: str

    return registry, Renamed


def test_an_event_is_stored_under_its_explicit_name_and_current_version():
    registry, renamed = make_registry()
    assert registry.serialise(renamed("王明", "书记")) == ("members.Renamed", 3, {"full_name": "王明", "title": "书记"})
    assert renamed.event_type == "members.Renamed"


def test_old_versions_are_upcast_step_by_step_on_read():
    registry, renamed = make_registry()
    assert registry.deserialise("members.Renamed", 1, {"name": "王明"}) == renamed("王明", "同志")
    assert registry.deserialise("members.Renamed", 2, {"full_name": "王明"}) == renamed("王明", "同志")
    assert registry.deserialise("members.Renamed", 3, {"full_name": "王明", "title": "委员"}) == renamed("王明", "委员")


def test_a_version_without_its_upcaster_is_refused_at_registration():
    registry = EventRegistry()
    with pytest.raises(ValueError, match="upcaster"):
        registry.event("members.Broken", schema=NamedV2, version=2)(dataclass(frozen=True)(type("Broken", (), {})))


def test_a_name_registered_twice_is_refused():
    registry, _ = make_registry()
    with pytest.raises(ValueError, match="twice"):
        registry.event("members.Renamed", schema=NamedV2)(dataclass(frozen=True)(type("Other", (), {})))


def test_unknown_types_and_invalid_data_are_errors():
    registry, renamed = make_registry()
    with pytest.raises(UnknownEventType):
        registry.contract("members.Nope")
    with pytest.raises(ValidationError):
        registry.deserialise("members.Renamed", 3, {"full_name": "王明"})


def test_a_field_a_newer_producer_added_is_ignored_on_read():
    registry, renamed = make_registry()
    assert registry.deserialise("members.Renamed", 3, {"full_name": "王明", "title": "委员", "added_later": 1}) \
        == renamed("王明", "委员")
