"""What callers ask the activities service to do: command dataclasses and the request schemas that build them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from contracts.activities import ACTIVITY_KINDS, CARE_KINDS, HOLIDAYS, OUTREACH_CHANNELS

TEAM_KINDS = ("choir", "dance", "other")
PLEDGE_KINDS = ("no_religion", "integrity", "confidentiality", "other")
CORRECTABLE = ("kind", "occurred_on", "title", "place", "topics", "attendees", "guests", "absentees", "minutes",
               "hours", "group_id")


# --- activities ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanActivity:
    branch_id: str
    kind: str
    planned_on: date
    title: str
    place: str | None = None
    topics: tuple[str, ...] = ()
    group_id: str | None = None


@dataclass(frozen=True)
class RecordActivity:
    """What happened; ``guests`` are {name, member_id?, unit?}, ``absentees`` {member_id, reason}."""
    branch_id: str
    kind: str
    occurred_on: date
    title: str
    place: str | None = None
    topics: tuple[str, ...] = ()
    attendees: tuple[str, ...] = ()
    guests: tuple[dict, ...] = ()
    absentees: tuple[dict, ...] = ()
    minutes: str | None = None
    hours: Decimal | None = None
    group_id: str | None = None


@dataclass(frozen=True)
class RecordPlannedActivity:
    """Record what happened at a planned activity; fields left out keep the plan's values."""
    occurred_on: date
    attendees: tuple[str, ...]
    guests: tuple[dict, ...] = ()
    absentees: tuple[dict, ...] = ()
    minutes: str | None = None
    hours: Decimal | None = None
    title: str | None = None
    place: str | None = None
    topics: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CorrectActivity:
    """The changed fields of a recorded activity, and why."""
    changes: dict
    reason: str


@dataclass(frozen=True)
class CancelActivity:
    reason: str


# --- outreach, care, talks ------------------------------------------------------------------------

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
class RecordCare:
    member_id: str
    kind: str
    occurred_on: date
    note: str | None = None
    holiday: str | None = None
    year: int | None = None
    branch_id: str | None = None


@dataclass(frozen=True)
class RecordTalk:
    branch_id: str
    speakers: tuple[str, ...]
    audience: str
    topic: str
    occurred_on: date
    title: str | None = None
    place: str | None = None
    audience_size: int | None = None
    hours: Decimal | None = None


# --- teams ------------------------------------------------------------------------------------------

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


# --- pledges, the centre, periods ---------------------------------------------------------------

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


# --- request schemas ------------------------------------------------------------------------------

def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _hours(**kwargs) -> fields.Decimal:
    return fields.Decimal(places=2, allow_none=True, validate=validate.Range(min=Decimal("0.25"), max=Decimal("24")),
                          **kwargs)


def _ids(**kwargs) -> fields.List:
    return fields.List(fields.UUID(), validate=validate.Length(max=500), **kwargs)


class GuestSchema(Schema):
    name = _text(100, required=True)
    member_id = fields.UUID(allow_none=True)
    unit = _text(200, allow_none=True)

    @post_load
    def build(self, data, **_):
        return {"name": data["name"], "member_id": _str(data.get("member_id")), "unit": data.get("unit")}


class AbsenceSchema(Schema):
    member_id = fields.UUID(required=True)
    reason = _text(300, required=True)

    @post_load
    def build(self, data, **_):
        return {"member_id": str(data["member_id"]), "reason": data["reason"]}


def _str(value) -> str | None:
    return None if value is None else str(value)


def _strings(values) -> tuple[str, ...]:
    return tuple(str(v) for v in values or ())


class ActivitySchema(Schema):
    """``status: planned`` schedules the activity on ``occurred_on``; otherwise it is recorded as happened."""
    branch_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    status = fields.String(load_default="recorded", validate=validate.OneOf(("planned", "recorded")))
    occurred_on = fields.Date(required=True)
    title = _text(200, required=True)
    place = _text(200, allow_none=True)
    topics = fields.List(_text(200), validate=validate.Length(max=50))
    attendees = _ids()
    guests = fields.List(fields.Nested(GuestSchema), validate=validate.Length(max=200))
    absentees = fields.List(fields.Nested(AbsenceSchema), validate=validate.Length(max=500))
    minutes = fields.String(allow_none=True, validate=validate.Length(max=20000))
    hours = _hours()
    group_id = fields.UUID(allow_none=True)

    @validates_schema
    def recorded_needs_attendees(self, data, **_):
        if data.get("status", "recorded") == "recorded" and "attendees" not in data:
            raise ValidationError("a recorded activity lists its attendees", "attendees")
        if data.get("status") == "planned":
            given = [name for name in ("attendees", "guests", "absentees", "minutes", "hours") if data.get(name)]
            if given:
                raise ValidationError({name: ["not known before the activity happens"] for name in given})

    @post_load
    def build(self, data, **_):
        common = dict(branch_id=str(data["branch_id"]), kind=data["kind"], title=data["title"],
                      place=data.get("place"), topics=tuple(data.get("topics") or ()),
                      group_id=_str(data.get("group_id")))
        if data["status"] == "planned":
            return PlanActivity(planned_on=data["occurred_on"], **common)
        return RecordActivity(occurred_on=data["occurred_on"], attendees=_strings(data.get("attendees")),
                              guests=tuple(data.get("guests") or ()), absentees=tuple(data.get("absentees") or ()),
                              minutes=data.get("minutes"), hours=data.get("hours"), **common)


class RecordPlannedSchema(Schema):
    occurred_on = fields.Date(required=True)
    attendees = _ids(required=True)
    guests = fields.List(fields.Nested(GuestSchema), validate=validate.Length(max=200))
    absentees = fields.List(fields.Nested(AbsenceSchema), validate=validate.Length(max=500))
    minutes = fields.String(allow_none=True, validate=validate.Length(max=20000))
    hours = _hours()
    title = _text(200)
    place = _text(200, allow_none=True)
    topics = fields.List(_text(200), validate=validate.Length(max=50))

    @post_load
    def build(self, data, **_):
        return RecordPlannedActivity(
            occurred_on=data["occurred_on"], attendees=_strings(data["attendees"]),
            guests=tuple(data.get("guests") or ()), absentees=tuple(data.get("absentees") or ()),
            minutes=data.get("minutes"), hours=data.get("hours"), title=data.get("title"), place=data.get("place"),
            topics=tuple(data["topics"]) if "topics" in data else None)


class CorrectActivitySchema(Schema):
    reason = _text(500, required=True)
    kind = fields.String(validate=validate.OneOf(ACTIVITY_KINDS))
    occurred_on = fields.Date()
    title = _text(200)
    place = _text(200, allow_none=True)
    topics = fields.List(_text(200), validate=validate.Length(max=50))
    attendees = _ids()
    guests = fields.List(fields.Nested(GuestSchema), validate=validate.Length(max=200))
    absentees = fields.List(fields.Nested(AbsenceSchema), validate=validate.Length(max=500))
    minutes = fields.String(allow_none=True, validate=validate.Length(max=20000))
    hours = _hours()
    group_id = fields.UUID(allow_none=True)

    @post_load
    def build(self, data, **_):
        changes = {name: data[name] for name in CORRECTABLE if name in data}
        if "attendees" in changes:
            changes["attendees"] = _strings(changes["attendees"])
        for name in ("topics", "guests", "absentees"):
            if name in changes:
                changes[name] = tuple(changes[name])
        if "group_id" in changes:
            changes["group_id"] = _str(changes["group_id"])
        return CorrectActivity(changes=changes, reason=data["reason"])


class CancelActivitySchema(Schema):
    reason = _text(500, required=True)

    @post_load
    def build(self, data, **_):
        return CancelActivity(**data)


class OutreachSchema(Schema):
    member_id = fields.UUID(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(OUTREACH_CHANNELS))
    occurred_on = fields.Date(required=True)
    topic = _text(300, required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    hours = _hours()
    branch_id = fields.UUID()

    @validates_schema
    def hours_only_for_study(self, data, **_):
        if data.get("hours") is not None and data.get("channel") != "home_study":
            raise ValidationError("only study brought to the home has hours", "hours")

    @post_load
    def build(self, data, **_):
        return RecordOutreach(**{**data, "member_id": str(data["member_id"]), "branch_id": _str(data.get("branch_id"))})


class CareSchema(Schema):
    member_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CARE_KINDS))
    occurred_on = fields.Date(required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    holiday = fields.String(allow_none=True, validate=validate.OneOf(HOLIDAYS))
    year = fields.Integer(allow_none=True, validate=validate.Range(min=1949, max=2200))
    branch_id = fields.UUID()

    @validates_schema
    def fields_of_the_kind(self, data, **_):
        if data.get("holiday") and data.get("kind") != "holiday_visit":
            raise ValidationError("only a holiday visit names a holiday", "holiday")
        if data.get("year") is not None and data.get("kind") != "newspaper":
            raise ValidationError("only a newspaper subscription names a year", "year")

    @post_load
    def build(self, data, **_):
        return RecordCare(**{**data, "member_id": str(data["member_id"]), "branch_id": _str(data.get("branch_id"))})


class TalkSchema(Schema):
    branch_id = fields.UUID(required=True)
    speakers = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=20))
    audience = _text(300, required=True)
    topic = _text(300, required=True)
    occurred_on = fields.Date(required=True)
    title = _text(200)
    place = _text(200, allow_none=True)
    audience_size = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=100000))
    hours = _hours()

    @post_load
    def build(self, data, **_):
        return RecordTalk(**{**data, "branch_id": str(data["branch_id"]), "speakers": _strings(data["speakers"])})


class TeamSchema(Schema):
    branch_id = fields.UUID(required=True)
    name = _text(100, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(TEAM_KINDS))
    formed_on = fields.Date(required=True)
    leader_id = fields.UUID(allow_none=True)
    members = _ids()

    @post_load
    def build(self, data, **_):
        return FormTeam(**{**data, "branch_id": str(data["branch_id"]), "leader_id": _str(data.get("leader_id")),
                           "members": _strings(data.get("members"))})


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
    title = _text(200, required=True)
    performers = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=200))
    place = _text(200, allow_none=True)
    audience = _text(300, allow_none=True)

    @post_load
    def build(self, data, **_):
        return RecordPerformance(**{**data, "performers": _strings(data["performers"])})


class PledgeSchema(Schema):
    member_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PLEDGE_KINDS))
    signed_on = fields.Date(required=True)
    statement = fields.String(allow_none=True, validate=validate.Length(max=20000))
    document_ref = _text(500, allow_none=True)
    branch_id = fields.UUID()

    @post_load
    def build(self, data, **_):
        return SignPledge(**{**data, "member_id": str(data["member_id"]), "branch_id": _str(data.get("branch_id"))})


class CentreSchema(Schema):
    place = _text(300, required=True)
    set_up_on = fields.Date(required=True)

    @post_load
    def build(self, data, **_):
        return SetUpCentre(**data)


class MoveCentreSchema(Schema):
    to_place = _text(300, required=True)
    moved_on = fields.Date(required=True)

    @post_load
    def build(self, data, **_):
        return MoveCentre(**data)


class EvidenceSchema(Schema):
    item = _text(100, required=True)
    evidenced_on = fields.Date(required=True)
    evidence = _text(5000, required=True)
    photo_ref = _text(500, allow_none=True)

    @post_load
    def build(self, data, **_):
        return EvidenceChecklistItem(**data)


class ClosePeriodSchema(Schema):
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$",
                                                                   error="a month YYYY-MM or a quarter YYYY-Qn"))

    @post_load
    def build(self, data, **_):
        return ClosePeriod(**data)
