"""Commands on Party dues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marshmallow import Schema, fields, validate

from contracts.rulebook.calendar import validate_year
from services.members.commands.common import MONTH, PAYERS, CommandSchema, money, text


@dataclass(frozen=True)
class AssessDues:
    year: int


class AssessDuesSchema(CommandSchema):
    command = AssessDues
    year = fields.Integer(required=True, validate=validate_year)


@dataclass(frozen=True)
class ReduceDues:
    year: int
    from_month: str
    monthly_amount: Decimal
    resolution: str


class ReduceDuesSchema(CommandSchema):
    command = ReduceDues
    year = fields.Integer(required=True, validate=validate_year)
    from_month = fields.String(required=True, validate=MONTH)
    monthly_amount = money(required=True)
    resolution = text(500, required=True)


@dataclass(frozen=True)
class PayDues:
    months: list
    paid_on: date
    payer: str = "self"
    payer_name: str | None = None
    amount: Decimal | None = None
    exception: dict | None = None


class BranchDecisionSchema(Schema):
    """The branch's recorded decision that lets months more than six months back be paid."""
    resolution = text(500, required=True)
    decided_on = fields.Date(required=True)


class PayDuesSchema(CommandSchema):
    command = PayDues
    months = fields.List(fields.String(validate=MONTH), required=True, validate=validate.Length(min=1, max=24))
    paid_on = fields.Date(required=True)
    payer = fields.String(validate=validate.OneOf(PAYERS))
    payer_name = text(100)
    amount = money()
    exception = fields.Nested(BranchDecisionSchema, metadata={
        "description": "支部决定 {resolution, decided_on}: required to pay months more than six months back"})


@dataclass(frozen=True)
class ReviewArrears:
    on: date | None = None


class ReviewArrearsSchema(CommandSchema):
    command = ReviewArrears
    on = fields.Date()
