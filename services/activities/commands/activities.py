"""Commands about activities: plan, record, record a planned one, correct, cancel; talks given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.activities.commands.fields import hours, ids, optional_str, strings, text
from services.activities.events import ACTIVITY_KINDS

CORRECTABLE = ("kind", "occurred_on", "title", "place", "topics", "attendees", "guests", "absentees", "minutes",
               "hours", "group_id")


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


class GuestSchema(Schema):
    name = text(100, required=True)
    member_id = fields.UUID(allow_none=True)
    unit = text(200, allow_none=True)

    @post_load
    def build(self, data, **_):
        return {"name": data["name"], "member_id": optional_str(data.get("member_id")), "unit": data.get("unit")}


class AbsenceSchema(Schema):
    member_id = fields.UUID(required=True)
    reason = text(300, required=True)

    @post_load
    def build(self, data, **_):
        return {"member_id": str(data["member_id"]), "reason": data["reason"]}


class ActivitySchema(Schema):
    """``status: planned`` schedules the activity on ``occurred_on``; otherwise it is recorded as happened."""
    branch_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    status = fields.String(load_default="recorded", validate=validate.OneOf(("planned", "recorded")))
    occurred_on = fields.Date(required=True)
    title = text(200, required=True)
    place = text(200, allow_none=True)
    topics = fields.List(text(200), validate=validate.Length(max=50))
    attendees = ids()
    guests = fields.List(fields.Nested(GuestSchema), validate=validate.Length(max=200))
    absentees = fields.List(fields.Nested(AbsenceSchema), validate=validate.Length(max=500))
    minutes = fields.String(allow_none=True, validate=validate.Length(max=20000))
    hours = hours()
    group_id = fields.UUID(allow_none=True)

    @validates_schema
    def recorded_needs_attendees(self, data, **_):
        if data.get("status", "recorded") == "recorded" and "attendees" not in data:
            raise ValidationError("记录已召开的活动时须填写出席的人", "attendees")
        if data.get("status") == "planned":
            given = [name for name in ("attendees", "guests", "absentees", "minutes", "hours") if data.get(name)]
            if given:
                raise ValidationError({name: ["活动召开以后才能填写"] for name in given})

    @post_load
    def build(self, data, **_):
        common = dict(branch_id=str(data["branch_id"]), kind=data["kind"], title=data["title"],
                      place=data.get("place"), topics=tuple(data.get("topics") or ()),
                      group_id=optional_str(data.get("group_id")))
        if data["status"] == "planned":
            return PlanActivity(planned_on=data["occurred_on"], **common)
        return RecordActivity(occurred_on=data["occurred_on"], attendees=strings(data.get("attendees")),
                              guests=tuple(data.get("guests") or ()), absentees=tuple(data.get("absentees") or ()),
                              minutes=data.get("minutes"), hours=data.get("hours"), **common)


class RecordPlannedSchema(Schema):
    occurred_on = fields.Date(required=True)
    attendees = ids(required=True)
    guests = fields.List(fields.Nested(GuestSchema), validate=validate.Length(max=200))
    absentees = fields.List(fields.Nested(AbsenceSchema), validate=validate.Length(max=500))
    minutes = fields.String(allow_none=True, validate=validate.Length(max=20000))
    hours = hours()
    title = text(200)
    place = text(200, allow_none=True)
    topics = fields.List(text(200), validate=validate.Length(max=50))

    @post_load
    def build(self, data, **_):
        return RecordPlannedActivity(
            occurred_on=data["occurred_on"], attendees=strings(data["attendees"]),
            guests=tuple(data.get("guests") or ()), absentees=tuple(data.get("absentees") or ()),
            minutes=data.get("minutes"), hours=data.get("hours"), title=data.get("title"), place=data.get("place"),
            topics=tuple(data["topics"]) if "topics" in data else None)


class CorrectActivitySchema(Schema):
    reason = text(500, required=True)
    kind = fields.String(validate=validate.OneOf(ACTIVITY_KINDS))
    occurred_on = fields.Date()
    title = text(200)
    place = text(200, allow_none=True)
    topics = fields.List(text(200), validate=validate.Length(max=50))
    attendees = ids()
    guests = fields.List(fields.Nested(GuestSchema), validate=validate.Length(max=200))
    absentees = fields.List(fields.Nested(AbsenceSchema), validate=validate.Length(max=500))
    minutes = fields.String(allow_none=True, validate=validate.Length(max=20000))
    hours = hours()
    group_id = fields.UUID(allow_none=True)

    @post_load
    def build(self, data, **_):
        changes = {name: data[name] for name in CORRECTABLE if name in data}
        if "attendees" in changes:
            changes["attendees"] = strings(changes["attendees"])
        for name in ("topics", "guests", "absentees"):
            if name in changes:
                changes[name] = tuple(changes[name])
        if "group_id" in changes:
            changes["group_id"] = optional_str(changes["group_id"])
        return CorrectActivity(changes=changes, reason=data["reason"])


class CancelActivitySchema(Schema):
    reason = text(500, required=True)

    @post_load
    def build(self, data, **_):
        return CancelActivity(**data)


class TalkSchema(Schema):
    branch_id = fields.UUID(required=True)
    speakers = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=20))
    audience = text(300, required=True)
    topic = text(300, required=True)
    occurred_on = fields.Date(required=True)
    title = text(200)
    place = text(200, allow_none=True)
    audience_size = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=100000))
    hours = hours()

    @post_load
    def build(self, data, **_):
        return RecordTalk(**{**data, "branch_id": str(data["branch_id"]), "speakers": strings(data["speakers"])})

