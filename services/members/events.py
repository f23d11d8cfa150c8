"""The facts the members service records, by explicit name and schema version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marshmallow import Schema, fields

from shared.contracts import EventRegistry

registry = EventRegistry()


class BureauRegisteredSchema(Schema):
    bureau_id = fields.String(required=True)
    name = fields.String(required=True)
    code = fields.String(required=True)


@registry.event("members.BureauRegistered", schema=BureauRegisteredSchema)
@dataclass(frozen=True)
class BureauRegistered:
    bureau_id: str
    name: str
    code: str


class BranchEstablishedSchema(Schema):
    branch_id = fields.String(required=True)
    name = fields.String(required=True)
    established_on = fields.Date(required=True)


@registry.event("members.BranchEstablished", schema=BranchEstablishedSchema)
@dataclass(frozen=True)
class BranchEstablished:
    branch_id: str
    name: str
    established_on: date


class MemberRegisteredSchema(Schema):
    member_id = fields.String(required=True)
    branch_id = fields.String(required=True)
    name = fields.String(required=True)
    gender = fields.String(required=True)
    birth_date = fields.Date(required=True)
    party_member = fields.Boolean(required=True)
    party_join_date = fields.Date(required=True, allow_none=True)
    retirement_kind = fields.String(required=True)
    pension_base = fields.Decimal(required=True, allow_none=True, as_string=True, places=2)
    health = fields.String(required=True)
    mobility = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)
    joined_on = fields.Date(required=True)


@registry.event("members.MemberRegistered", schema=MemberRegisteredSchema)
@dataclass(frozen=True)
class MemberRegistered:
    member_id: str
    branch_id: str
    name: str
    gender: str
    birth_date: date
    party_member: bool
    party_join_date: date | None
    retirement_kind: str
    pension_base: Decimal | None
    health: str
    mobility: str
    phone: str | None
    address: str | None
    joined_on: date
