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
    derived: bool = True
    instance: Schema = None  # built once: building a schema costs more than loading an event with it
    known: frozenset[str] = frozenset()
    loader: DataclassLoader | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "instance", self.schema())
        object.__setattr__(self, "known", frozenset(f.name for f in dataclass_fields(self.event_class)))
        if self.derived:
            object.__setattr__(self, "loader", DataclassLoader(self.event_class))


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
            derived = schema is None
            schema = schema or schema_from_dataclass(event_class)
            if name in self._by_name:
                raise ValueError(f"event type {name} registered twice")
            missing = [v for v in range(1, version) if v not in (upcasters or {})]
            if missing:
                raise ValueError(f"{name}: no upcaster from version(s) {missing}")
            contract = EventContract(name, version, event_class, schema, dict(upcasters or {}), derived)
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
        data = contract.instance.dump(event)
        errors = contract.instance.validate(data)
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
        # Neither loader changes what it reads: data at the current version is read as it is, not copied.
        current = data if version == contract.version else self.upcast(name, version, data)
        if contract.loader is not None:
            event = contract.loader.read(current)
            if event is not None:
                return event
        # not in the shape the schema writes: the schema converts it, or says what is wrong
        loaded = contract.instance.load(current, unknown=EXCLUDE)
        return contract.event_class(**{k: v for k, v in loaded.items() if k in contract.known})


class DataclassLoader:
    """Loads stored event data into a derived schema's types without marshmallow, when it is exactly what
    that schema writes (ISO dates, decimal strings, plain JSON types); anything else returns None and the
    schema handles it. Every consumer, rebuild and command decodes events: the schema takes ten times as long.

    ``read`` (load and make in one) and ``load`` are functions written for the class when it is registered, a
    statement per field: a loop over the fields, unpacking each one's description, took half a replay's decoding
    (an activity's twelve fields: 5.2 µs an event through the loop).
    """

    def __init__(self, event_class: type) -> None:
        hints = typing.get_type_hints(event_class)
        self.event_class = event_class
        self.fields = []
        self.kinds: dict[str, Any] = {}  # each field's type, None left out
        self.defaults = {field.name: field for field in dataclass_fields(event_class)
                         if field.default is not MISSING or field.default_factory is not MISSING}
        # An instance is made by filling its __dict__ (see ``make``) unless __init__ does more than set the fields.
        self.direct = (not hasattr(event_class, "__post_init__") and "__slots__" not in vars(event_class)
                       and all(field.init for field in dataclass_fields(event_class)))
        for field in dataclass_fields(event_class):
            optional, inner = _unwrap_optional(hints[field.name])
            required = field.default is MISSING and field.default_factory is MISSING
            plain = inner if inner in (str, int, bool) else None  # kept as it is when of exactly this type
            self.fields.append((field.name, required, optional, plain, None if plain else _converter(inner)))
            self.kinds[field.name] = inner
        self.load = self._written(make=False)
        self.read = self._written(make=True) if self.direct else self._read_through_init

    def make(self, loaded: dict) -> Any:
        """The event of what ``load`` returned, equal to ``event_class(**loaded)`` but made in a tenth of the time
        (twenty fields: 0.8 µs, not 8): a frozen dataclass's ``__init__`` sets each field by ``object.__setattr__``,
        and every consumer and rebuild makes one for each event. Fields left out get their defaults, in field order."""
        if not self.direct:
            return self.event_class(**loaded)
        if len(loaded) < len(self.fields):
            loaded = {name: loaded[name] if name in loaded else _default(self.defaults[name])
                      for name, *_ in self.fields}
        event = object.__new__(self.event_class)
        event.__dict__.update(loaded)
        return event

    def _read_through_init(self, data: Mapping[str, Any]) -> Any:
        loaded = self.load(data)
        return None if loaded is None else self.event_class(**loaded)

    def _written(self, make: bool) -> Callable[[Mapping[str, Any]], Any]:
        """``load`` (``make`` False: the loaded fields as a dict, those missing left out) or ``read`` (the event made
        as ``make`` makes it, each missing field given its default); None for data the schema must handle."""
        scope: dict[str, Any] = {"MISSING": MISSING, "new": object.__new__, "cls": self.event_class,
                                 "default": _default, "defaults": self.defaults, "iso_date": date.fromisoformat}
        lines = ["def written(data):", "    get = data.get", "    try:", "        pass"]  # a class may have no field
        for i, (name, required, optional, plain, convert) in enumerate(self.fields):
            scope[f"plain{i}"], scope[f"convert{i}"] = plain, convert
            value, key = f"v{i}", repr(name)
            lines.append(f"        {value} = get({key}, MISSING)")
            quick = _quick_check(self.kinds[name], value, f"kinds{i}")
            if plain is not None:  # checked first: most fields of most events are kept as they are
                lines += [f"        if type({value}) is plain{i}: pass", f"        elif {value} is MISSING:"]
            elif quick is not None:  # the usual form of a date or a list of ids, converted without a call
                scope[f"kinds{i}"] = {typing.get_args(self.kinds[name])[0]} if quick[2] else None
                lines += [f"        if {quick[0]}:", f"            {value} = {quick[1]}",
                          f"        elif {value} is MISSING:"]
            else:
                lines.append(f"        if {value} is MISSING:")
            if required:
                lines.append("            return None")
            else:
                lines.append(f"            {value} = default(defaults[{key}])" if make else "            pass")
            lines += [f"        elif {value} is None:", "            pass" if optional else "            return None",
                      "        else:",
                      f"            {value} = convert{i}({value})" if convert else "            return None"]
        lines += ["    except (TypeError, ValueError, ArithmeticError):", "        return None"]
        if make:
            pairs = ", ".join(f"{name!r}: v{i}" for i, (name, *_rest) in enumerate(self.fields))
            lines += ["    event = new(cls)", f"    event.__dict__.update({{{pairs}}})", "    return event"]
        else:
            pairs = ", ".join(f"({name!r}, v{i})" for i, (name, *_rest) in enumerate(self.fields))
            lines.append(f"    return {{key: value for key, value in ({pairs},) if value is not MISSING}}"
                         if self.fields else "    return {}")
        exec("\n".join(lines), scope)  # the source is made above from the class's own fields and nothing else
        return scope["written"]


def _quick_check(hint: Any, value: str, kinds: str) -> tuple[str, str, bool] | None:
    """For a date or a list of plain values: the test of a value in the form the schema writes, the expression
    converting it as the field's converter does, and whether the test uses the list's item types (``kinds``)."""
    if hint is date:  # as _iso_date
        return f"type({value}) is str and len({value}) == 10", f"iso_date({value})", False
    if typing.get_origin(hint) in (list, tuple) and typing.get_args(hint)[:1] in ((str,), (int,), (bool,)):
        # as _list_of
        return f"type({value}) is list and (not {value} or set(map(type, {value})) <= {kinds})", f"list({value})", True
    return None


def _default(field: Any) -> Any:
    return field.default if field.default_factory is MISSING else field.default_factory()


def _exactly(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(f"not a {kind.__name__}")
        return value
    return convert


_a_list, _a_dict = _exactly(list), _exactly(dict)


def _list_of(kind: type) -> Callable[[Any], list]:
    """A list of plain JSON values of one type, checked in one pass (a list of member ids: tens of them)."""
    kinds = {kind}

    def convert(value: Any) -> list:
        if type(value) is not list or (value and not set(map(type, value)) <= kinds):
            raise TypeError(f"not a list of {kind.__name__}")
        return list(value)
    return convert


def _iso_date(value: Any) -> date:
    if type(value) is not str or len(value) != 10:
        raise ValueError("not an ISO date")
    return date.fromisoformat(value)


def _aware_datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("not timezone-aware")
    return moment


def _decimal(value: Any) -> Decimal:
    number = Decimal(_exactly(str)(value))
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def _converter(hint: Any) -> Callable[[Any], Any]:
    """What the derived schema's field would load, for values in the form that field dumps."""
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1]
        if item in (str, int, bool):
            return _list_of(item)
        convert_item = _converter(item)
        return lambda value: [convert_item(v) for v in _a_list(value)]
    if origin is dict or hint is dict:
        return lambda value: dict(_a_dict(value))
    if hint is Decimal:
        return _decimal
    return {str: _exactly(str), int: _exactly(int), bool: _exactly(bool), date: _iso_date,
            datetime: _aware_datetime}[hint]


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
