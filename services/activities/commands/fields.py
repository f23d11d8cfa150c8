"""Field builders the request schemas share."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import fields, validate


def text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def hours(**kwargs) -> fields.Decimal:
    return fields.Decimal(places=2, allow_none=True, validate=validate.Range(min=Decimal("0.25"), max=Decimal("24")),
                          **kwargs)


def ids(**kwargs) -> fields.List:
    return fields.List(fields.UUID(), validate=validate.Length(max=500), **kwargs)


def optional_str(value) -> str | None:
    return None if value is None else str(value)


def strings(values) -> tuple[str, ...]:
    return tuple(str(v) for v in values or ())

