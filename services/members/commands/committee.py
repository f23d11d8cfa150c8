"""Commands on the branch committee: elections, posts, allowances."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from marshmallow import Schema, fields, validate

from services.members.commands.common import MONTH, POSTS, CommandSchema, member_id_field, money, text


class CandidateSchema(Schema):
    member_id = member_id_field(required=True)
    name = text(100, required=True)
    votes = fields.Integer(required=True, validate=validate.Range(min=0))
    unit = fields.String(validate=validate.Length(max=200), metadata={"description": "in-service: their unit"})


class PostSchema(Schema):
    post = fields.String(required=True, validate=validate.OneOf(POSTS))
    member_id = member_id_field(required=True)


class ExcusedSchema(Schema):
    member_id = member_id_field(required=True)
    reason = text(300, required=True)


@dataclass(frozen=True)
class HoldElection:
    held_on: date
    attendees: int
    seats: int
    candidates: list
    posts: list
    eligible_voters: int | None = None
    excused: list = field(default_factory=list)
    approval_reference: str | None = None


class HoldElectionSchema(CommandSchema):
    command = HoldElection
    held_on = fields.Date(required=True)
    eligible_voters = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "应到人数: by default the branch's full Party members that day; another number needs"
                       " ``excused``"})
    excused = fields.List(fields.Nested(ExcusedSchema), metadata={
        "description": "members left out of the voters, by id, each with a reason (e.g. long illness)"})
    attendees = fields.Integer(required=True, validate=validate.Range(min=0))
    seats = fields.Integer(required=True, validate=validate.Range(min=1, max=9))
    candidates = fields.List(fields.Nested(CandidateSchema), required=True, validate=validate.Length(min=1))
    posts = fields.List(fields.Nested(PostSchema), required=True, validate=validate.Length(min=1))
    approval_reference = fields.String(validate=validate.Length(max=200))


@dataclass(frozen=True)
class FillPost:
    post: str
    member_id: str
    person_name: str
    filled_on: date
    unit: str | None = None


class FillPostSchema(CommandSchema):
    command = FillPost
    post = fields.String(required=True, validate=validate.OneOf(POSTS))
    member_id = member_id_field(required=True)
    person_name = text(100, required=True)
    filled_on = fields.Date(required=True)
    unit = fields.String(validate=validate.Length(max=200))


@dataclass(frozen=True)
class VacatePost:
    post: str
    member_id: str
    vacated_on: date
    reason: str


class VacatePostSchema(CommandSchema):
    command = VacatePost
    post = fields.String(required=True, validate=validate.OneOf(POSTS))
    member_id = member_id_field(required=True)
    vacated_on = fields.Date(required=True)
    reason = text(300, required=True)


@dataclass(frozen=True)
class PayAllowance:
    member_id: str
    month: str
    amount: Decimal


class PayAllowanceSchema(CommandSchema):
    command = PayAllowance
    member_id = member_id_field(required=True)
    month = fields.String(required=True, validate=MONTH)
    amount = money(required=True)
