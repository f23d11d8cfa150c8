"""Commands about members and the branch: outreach, care, teams, pledges, the centre, periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from contracts.rulebook.calendar import validate_period_year, validate_year
from services.activities.commands.fields import hours, ids, optional_str, strings, text
from contracts.rulebook.holidays import is_holiday
from services.activities.events import CARE_KINDS, OUTREACH_CHANNELS

TEAM_KINDS = ("choir", "dance", "other")
PLEDGE_KINDS = ("no_religion", "integrity", "confidentiality", "other")


@dataclass(frozen=True)
class RecordOutreach:
    member_id: str
    channel: str
    occurred_on: date
    topic: str
    note: str | None = None
    hours: Decimal | None = None
    branch_id: str | None = None


@dataclass(frozen=True)
class WithdrawRecord:
    """Withdraw an outreach or care record entered in error."""
    reason: str


@dataclass(frozen=True)
class RecordCare:
    member_id: str
    kind: str
    occurred_on: date
    note: str | None = None
    holiday: str | None = None
    year: int | None = None
    branch_id: str | None = None


@dataclass(frozen=True)
class FormTeam:
    branch_id: str
    name: str
    kind: str
    formed_on: date
    leader_id: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class JoinTeam:
    member_id: str
    joined_on: date


@dataclass(frozen=True)
class LeaveTeam:
    member_id: str
    left_on: date


@dataclass(frozen=True)
class RecordPerformance:
    occurred_on: date
    title: str
    performers: tuple[str, ...]
    place: str | None = None
    audience: str | None = None


@dataclass(frozen=True)
class SignPledge:
    """``statement`` and ``document_ref`` are kept only in the pledges table, never in an event."""
    member_id: str
    kind: str
    signed_on: date
    statement: str | None = None
    document_ref: str | None = None
    branch_id: str | None = None


@dataclass(frozen=True)
class SetUpCentre:
    place: str
    set_up_on: date


@dataclass(frozen=True)
class MoveCentre:
    to_place: str
    moved_on: date


@dataclass(frozen=True)
class EvidenceChecklistItem:
    item: str
    evidenced_on: date
    evidence: str
    photo_ref: str | None = None


@dataclass(frozen=True)
class ClosePeriod:
    period: str


class OutreachSchema(Schema):
    member_id = fields.UUID(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(OUTREACH_CHANNELS))
    occurred_on = fields.Date(required=True)
    topic = text(300, required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    hours = hours()
    branch_id = fields.UUID()

    @validates_schema
    def hours_only_for_study(self, data, **_):
        if data.get("hours") is not None and data.get("channel") != "home_study":
            raise ValidationError("只有送学上门才填写学时", "hours")

    @post_load
    def build(self, data, **_):
        return RecordOutreach(**_with_ids(data))


def _placeable_holiday(name: str) -> None:
    if not is_holiday(name):
        raise ValidationError("日历里没有这个节日（也可写作 lunar:MM-DD 或 solar:MM-DD）")


class CareSchema(Schema):
    member_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CARE_KINDS))
    occurred_on = fields.Date(required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    holiday = fields.String(allow_none=True, validate=_placeable_holiday)
    year = fields.Integer(allow_none=True, validate=validate_year)
    branch_id = fields.UUID()

    @validates_schema
    def fields_of_the_kind(self, data, **_):
        if data.get("holiday") and data.get("kind") != "holiday_visit":
            raise ValidationError("只有节日慰问才选择节日", "holiday")
        if data.get("year") is not None and data.get("kind") != "newspaper":
            raise ValidationError("只有订阅党报才填写年度", "year")

    @post_load
    def build(self, data, **_):
        return RecordCare(**_with_ids(data))


class TeamSchema(Schema):
    branch_id = fields.UUID(required=True)
    name = text(100, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(TEAM_KINDS))
    formed_on = fields.Date(required=True)
    leader_id = fields.UUID(allow_none=True)
    members = ids()

    @post_load
    def build(self, data, **_):
        return FormTeam(**{**data, "branch_id": str(data["branch_id"]),
                           "leader_id": optional_str(data.get("leader_id")),
                           "members": strings(data.get("members"))})


class JoinTeamSchema(Schema):
    member_id = fields.UUID(required=True)
    joined_on = fields.Date(required=True)

    @post_load
    def build(self, data, **_):
        return JoinTeam(str(data["member_id"]), data["joined_on"])


class LeaveTeamSchema(Schema):
    member_id = fields.UUID(required=True)
    left_on = fields.Date(required=True)

    @post_load
    def build(self, data, **_):
        return LeaveTeam(str(data["member_id"]), data["left_on"])


class PerformanceSchema(Schema):
    occurred_on = fields.Date(required=True)
    title = text(200, required=True)
    performers = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=200))
    place = text(200, allow_none=True)
    audience = text(300, allow_none=True)

    @post_load
    def build(self, data, **_):
        return RecordPerformance(**{**data, "performers": strings(data["performers"])})


class PledgeSchema(Schema):
    member_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PLEDGE_KINDS))
    signed_on = fields.Date(required=True)
    statement = fields.String(allow_none=True, validate=validate.Length(max=20000))
    document_ref = text(500, allow_none=True)
    branch_id = fields.UUID()

    @post_load
    def build(self, data, **_):
        return SignPledge(**_with_ids(data))


class CentreSchema(Schema):
    place = text(300, required=True)
    set_up_on = fields.Date(required=True)

    @post_load
    def build(self, data, **_):
        return SetUpCentre(**data)


class MoveCentreSchema(Schema):
    to_place = text(300, required=True)
    moved_on = fields.Date(required=True)

    @post_load
    def build(self, data, **_):
        return MoveCentre(**data)


class EvidenceSchema(Schema):
    item = text(100, required=True)
    evidenced_on = fields.Date(required=True)
    evidence = text(5000, required=True)
    photo_ref = text(500, allow_none=True)

    @post_load
    def build(self, data, **_):
        return EvidenceChecklistItem(**data)


class ClosePeriodSchema(Schema):
    period = fields.String(required=True, validate=[validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$",
                                                                    error="a month YYYY-MM or a quarter YYYY-Qn"),
                                                    validate_period_year])

    @post_load
    def build(self, data, **_):
        return ClosePeriod(**data)


class WithdrawSchema(Schema):
    reason = text(500, required=True)

    @post_load
    def build(self, data, **_):
        return WithdrawRecord(**data)


def _with_ids(data: dict) -> dict:
    """The loaded request with its member and (optional) branch ids as strings."""
    return {**data, "member_id": str(data["member_id"]), "branch_id": optional_str(data.get("branch_id"))}
