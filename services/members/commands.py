"""What callers ask the members service to do: command dataclasses and the request schemas that build them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marshmallow import Schema, fields, post_load, validate

GENDERS = ("male", "female")
RETIREMENT_KINDS = ("lixiu", "retired", "in_service")
HEALTH = ("good", "fair", "poor")
MOBILITY = ("mobile", "limited", "homebound")


@dataclass(frozen=True)
class RegisterBureau:
    name: str
    code: str


@dataclass(frozen=True)
class EstablishBranch:
    name: str
    established_on: date | None = None


@dataclass(frozen=True)
class RegisterMember:
    branch_id: str
    name: str
    gender: str
    birth_date: date
    party_member: bool
    retirement_kind: str
    health: str
    mobility: str
    party_join_date: date | None = None
    pension_base: Decimal | None = None
    phone: str | None = None
    address: str | None = None
    joined_on: date | None = None


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class RegisterBureauSchema(Schema):
    name = _text(200, required=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$",
                         error="2–40 lower-case letters, digits or hyphens"))

    @post_load
    def build(self, data, **_):
        return RegisterBureau(**data)


class EstablishBranchSchema(Schema):
    name = _text(200, required=True)
    established_on = fields.Date()

    @post_load
    def build(self, data, **_):
        return EstablishBranch(**data)


class RegisterMemberSchema(Schema):
    branch_id = fields.UUID(required=True)
    name = _text(100, required=True)
    gender = fields.String(required=True, validate=validate.OneOf(GENDERS))
    birth_date = fields.Date(required=True)
    party_member = fields.Boolean(required=True)
    party_join_date = fields.Date(allow_none=True)
    retirement_kind = fields.String(required=True, validate=validate.OneOf(RETIREMENT_KINDS))
    pension_base = fields.Decimal(allow_none=True, places=2, validate=validate.Range(min=0))
    health = fields.String(required=True, validate=validate.OneOf(HEALTH))
    mobility = fields.String(required=True, validate=validate.OneOf(MOBILITY))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 -]{5,20}$"))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    joined_on = fields.Date()

    @post_load
    def build(self, data, **_):
        return RegisterMember(**{**data, "branch_id": str(data["branch_id"])})
