"""Event contracts: explicit names, versions, and upcasting old data on read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

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


def _typed_registry():
    registry = EventRegistry()

    @registry.event("members.Typed")
    @dataclass(frozen=True)
    class Typed:
        name: str
        count: int
        active: bool
        on: date
        at: datetime
        amount: Decimal
        months: list[str]
        details: dict
        days: list[date]
        note: str | None = None

    return registry, Typed


def test_the_quick_loader_gives_what_the_schema_gives_for_what_the_schema_wrote():
    registry, typed = _typed_registry()
    event = typed(name="王明", count=3, active=True, on=date(2026, 7, 1),
                  at=datetime(2026, 7, 1, 8, 30, tzinfo=timezone(timedelta(hours=8))), amount=Decimal("24.50"),
                  months=["2026-06", "2026-07"], details={"a": [1, 2]}, days=[date(2026, 1, 2)], note=None)
    _, _, data = registry.serialise(event)
    contract = registry.contract("members.Typed")
    assert contract.loader.load(data) == contract.instance.load(data)
    assert registry.deserialise("members.Typed", 1, data) == event
    assert registry.deserialise("members.Typed", 1, {**data, "added_later": 1}) == event  # a tolerant reader
    assert registry.deserialise("members.Typed", 1, {k: v for k, v in data.items() if k != "note"}) == event
    assert registry.deserialise("members.Typed", 1, data).at.astimezone(UTC) == event.at


@pytest.mark.parametrize("change", [{"count": "3"}, {"amount": 24.5}, {"active": "true"}])
def test_data_in_another_form_goes_through_the_schema_which_converts_it(change):
    registry, _typed = _typed_registry()
    data = {"name": "王明", "count": 3, "active": True, "on": "2026-07-01", "at": "2026-07-01T00:30:00+00:00",
            "amount": "24.50", "months": [], "details": {}, "days": []}
    contract = registry.contract("members.Typed")
    assert contract.loader.load({**data, **change}) is None
    assert registry.deserialise("members.Typed", 1, {**data, **change}) == registry.deserialise("members.Typed", 1,
                                                                                                data)


@pytest.mark.parametrize("change", [{"count": None}, {"on": "2026-13-01"}, {"amount": "NaN"}, {"name": 5},
                                    {"at": "2026-07-01T00:30:00"}, {"months": "2026-07"}, {"days": ["yesterday"]},
                                    {"months": ["2026-07", 7]}, {"on": 20260701}, {"on": "2026-7-1"}])
def test_data_the_schema_refuses_is_still_refused_with_its_field(change):
    registry, _typed = _typed_registry()
    data = {"name": "王明", "count": 3, "active": True, "on": "2026-07-01", "at": "2026-07-01T00:30:00+00:00",
            "amount": "24.50", "months": [], "details": {}, "days": []}
    with pytest.raises(ValidationError) as refused:
        registry.deserialise("members.Typed", 1, {**data, **change})
    assert set(refused.value.messages) == set(change)


def test_the_written_reader_makes_what_load_then_make_make_and_refuses_what_load_refuses():
    registry, _typed = _typed_registry()
    contract = registry.contract("members.Typed")
    data = {"name": "王明", "count": 3, "active": True, "on": "2026-07-01", "at": "2026-07-01T00:30:00+00:00",
            "amount": "24.50", "months": ["2026-06"], "details": {"a": 1}, "days": ["2026-01-02"]}
    for sample in (data, {**data, "months": []}, {**data, "note": None}, {**data, "note": "委员"}):
        made = contract.loader.read(sample)
        assert vars(made) == vars(contract.loader.make(contract.loader.load(sample)))
        assert made.months is not sample["months"]  # the event's list is its own, as the schema's would be
    for wrong in ({"count": "3"}, {"months": ["2026-06", 6]}, {"on": "2026-7-1"}, {"days": "2026-01-02"}):
        assert contract.loader.read({**data, **wrong}) is None and contract.loader.load({**data, **wrong}) is None
    assert contract.loader.read({k: v for k, v in data.items() if k != "name"}) is None  # required


def test_every_contract_of_the_platform_loads_quickly_what_its_schema_writes_into_the_event_its_constructor_makes():
    import contracts.activities
    import contracts.members
    import contracts.notify
    from dataclasses import fields as dataclass_fields

    for module in (contracts.activities, contracts.members, contracts.notify):
        for name in module.registry.names():
            contract = module.registry.contract(name)
            assert contract.loader is not None, f"{name} has no quick loader"
            required = {f.name: "x" for f in dataclass_fields(contract.event_class)
                        if f.name not in contract.loader.defaults}
            assert vars(contract.loader.make(dict(required))) == vars(contract.event_class(**required)), name


def test_an_event_the_quick_loader_makes_is_the_one_its_constructor_makes_fields_defaults_and_all():
    from dataclasses import field, fields as dataclass_fields

    registry = EventRegistry()

    @registry.event("members.Noted")
    @dataclass(frozen=True)
    class Noted:
        name: str
        note: str | None = None
        tags: list[str] = field(default_factory=list)

    contract = registry.contract("members.Noted")
    made = contract.loader.make(contract.loader.load({"name": "王明"}))
    assert made == Noted("王明") and vars(made) == vars(Noted("王明"))
    assert list(vars(made)) == [f.name for f in dataclass_fields(Noted)]  # in field order, as __init__ sets them
    assert made.tags == [] and made.tags is not contract.loader.make(contract.loader.load({"name": "王明"})).tags
    with pytest.raises(AttributeError):  # still frozen
        made.name = "李华"  # type: ignore[misc]
    full = registry.deserialise("members.Noted", 1, {"name": "王明", "note": "委员", "tags": ["a"]})
    assert type(full) is Noted and vars(full) == vars(Noted("王明", "委员", ["a"]))


def test_an_event_without_fields_is_read_as_its_class_makes_it():
    registry = EventRegistry()

    @registry.event("members.Nudged")
    @dataclass(frozen=True)
    class Nudged:
        pass

    assert registry.deserialise("members.Nudged", 1, {}) == Nudged()
    assert registry.deserialise("members.Nudged", 1, {"added_later": 1}) == Nudged()  # a tolerant reader
    assert registry.contract("members.Nudged").loader.load({}) == {}


def test_an_event_whose_init_does_more_than_set_its_fields_is_still_made_by_it():
    registry = EventRegistry()

    @registry.event("members.Checked")
    @dataclass(frozen=True)
    class Checked:
        name: str

        def __post_init__(self) -> None:
            object.__setattr__(self, "name", self.name.strip())

    assert registry.deserialise("members.Checked", 1, {"name": " 王明 "}).name == "王明"

