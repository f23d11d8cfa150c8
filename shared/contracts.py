"""Event types registered by explicit name and schema version, with upcasters for old versions.

A stored event is never rewritten: an event recorded under an older schema version is
upcast, one version at a time, each time it is read.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, dataclass, fields as dataclass_fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from collections.abc import Callable, Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields

Upcaster = Callable[[dict], dict]


class UnknownEventType(LookupError):
    """An event type no contract in this process describes."""


@dataclass(frozen=True)
class EventContract:
    name: str
    version: int
    event_class: type
    schema: type[Schema]
    upcasters: Mapping[int, Upcaster]


class EventRegistry:
    """The event contracts of one service: name → dataclass, schema and upcaster chain."""

    def __init__(self) -> None:
        self._by_name: dict[str, EventContract] = {}
        self._by_class: dict[type, EventContract] = {}

    def event(self, name: str, *, schema: type[Schema] | None = None, version: int = 1,
              upcasters: Mapping[int, Upcaster] | None = None) -> Callable[[type], type]:
        """Class decorator: register a frozen dataclass as event type ``name`` at ``version``.

        ``upcasters[v]`` turns the data of version ``v`` into version ``v + 1``. Without an explicit
        ``schema`` one is derived from the dataclass's annotated fields.
        """
        def register(event_class: type) -> type:
            nonlocal schema
            schema = schema or schema_from_dataclass(event_class)
            if name in self._by_name:
                raise ValueError(f"event type {name} registered twice")
            missing = [v for v in range(1, version) if v not in (upcasters or {})]
            if missing:
                raise ValueError(f"{name}: no upcaster from version(s) {missing}")
            contract = EventContract(name, version, event_class, schema, dict(upcasters or {}))
            self._by_name[name] = contract
            self._by_class[event_class] = contract
            event_class.event_type = name
            return event_class
        return register

    def contract(self, name: str) -> EventContract:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownEventType(name) from None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def serialise(self, event: Any) -> tuple[str, int, dict]:
        """Return (event type, schema version, JSON-ready data) for an event object, validated."""
        contract = self._by_class.get(type(event))
        if contract is None:
            raise UnknownEventType(type(event).__name__)
        data = contract.schema().dump(event)
        errors = contract.schema().validate(data)
        if errors:
            raise ValidationError(errors)
        return contract.name, contract.version, data

    def upcast(self, name: str, version: int, data: Mapping[str, Any]) -> dict:
        """Bring ``data`` recorded at ``version`` up to the contract's current version."""
        contract = self.contract(name)
        current = dict(data)
        for step in range(version, contract.version):
            current = contract.upcasters[step](current)
        return current

    def deserialise(self, name: str, version: int, data: Mapping[str, Any]) -> Any:
        """Rebuild the event object from stored data, upcasting first.

        A tolerant reader: fields a newer producer added (contracts grow by optional fields) are
        ignored, so a consumer running older code reads the event instead of parking it.
        """
        contract = self.contract(name)
        loaded = contract.schema().load(self.upcast(name, version, data), unknown=EXCLUDE)
        known = {f.name for f in dataclass_fields(contract.event_class)}
        return contract.event_class(**{k: v for k, v in loaded.items() if k in known})


def schema_from_dataclass(event_class: type) -> type[Schema]:
    """A marshmallow schema with one required field per dataclass field, typed from its annotation."""
    hints = typing.get_type_hints(event_class)
    declared = {}
    for field in dataclass_fields(event_class):
        optional, inner = _unwrap_optional(hints[field.name])
        has_default = field.default is not MISSING or field.default_factory is not MISSING
        declared[field.name] = _field_for(inner, required=not has_default, allow_none=optional)
    return Schema.from_dict(declared, name=f"{event_class.__name__}Schema")


def _unwrap_optional(hint: Any) -> tuple[bool, Any]:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return True, rest[0]
    return False, hint


def _field_for(hint: Any, **options) -> fields.Field:
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1]
        return fields.List(_field_for(item), **options)
    if origin is dict or hint is dict:
        return fields.Dict(**options)
    simple = {str: fields.String, int: fields.Integer, bool: fields.Boolean, date: fields.Date,
              datetime: fields.AwareDateTime}
    if hint is Decimal:
        return fields.Decimal(as_string=True, **options)
    if hint in simple:
        return simple[hint](**options)
    raise TypeError(f"no event field type for {hint!r}")
