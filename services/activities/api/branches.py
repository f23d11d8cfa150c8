"""A branch's views: its roster on a date, education coverage, study hours and care of its members."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import psycopg

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from contracts.activities import suggested_channel
from contracts.rulebook.calendar import validate_period_year
from shared.errors import RequestInvalid
from shared.web import ApiBlueprint, read_transaction
from services.activities import queries
from services.activities.api.common import YearQuerySchema, branch_reader, bureau_today
from services.activities.domain import coverage as reports
from contracts.rulebook.calendar import parse_period, period_of
from contracts.rulebook.holidays import holidays_of
from contracts.rulebook.rules import coverage_channels, study_kinds
from services.activities.domain.roster import group_on, health_on, post_on

branches = ApiBlueprint("branch-views", __name__, description="Roster, coverage, study hours and care of a branch")


# --- roster ---------------------------------------------------------------------------------------

class OnSchema(Schema):
    on = fields.Date()


class RosterEntrySchema(Schema):
    member_id = fields.String()
    name = fields.String()
    party_member = fields.Boolean()
    health = fields.String(allow_none=True)
    mobility = fields.String(allow_none=True)
    post = fields.String(allow_none=True, metadata={"description": "committee post held that day"})
    group_id = fields.String(allow_none=True, metadata={"description": "party group that day"})


class RosterSchema(Schema):
    branch_id = fields.String()
    on = fields.Date()
    members = fields.List(fields.Nested(RosterEntrySchema))


@branches.route("/branches/<uuid:branch_id>/roster")
class Roster(MethodView):
    @branches.arguments(OnSchema, location="query")
    @branches.response(200, RosterSchema)
    def get(self, query, branch_id):
        """The branch's members on a date (today by default), with their health, committee post and party group,
        as this service knows them from members' events."""
        principal, branch = branch_reader(branch_id)
        day = query.get("on") or bureau_today()
        with read_transaction(principal.tenant) as conn:
            roster = queries.load_roster(conn, branch_id=branch)
        members = []
        for member in sorted(roster.members_on(branch, day), key=lambda m: m.name):
            health = health_on(member, day)
            members.append({"member_id": member.member_id, "name": member.name, "party_member": member.party_member,
                            "health": health and health.health, "mobility": health and health.mobility,
                            "post": post_on(member, day, branch), "group_id": group_on(member, day, branch)})
        return {"branch_id": branch, "on": day, "members": members}


# --- coverage and study hours -----------------------------------------------------------------------

class PeriodQuerySchema(Schema):
    period = fields.String(validate=[validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$",
                                                     error="期间写作月份 2026-11 或季度 2026-Q4"),
                                     validate_period_year])


class ReachSchema(Schema):
    on = fields.Date()
    how = fields.String()
    record_id = fields.String()
    branch_id = fields.String()


class DueSchema(Schema):
    member_id = fields.String()
    name = fields.String()
    health = fields.String(allow_none=True)
    mobility = fields.String(allow_none=True)
    reached_by = fields.List(fields.Nested(ReachSchema))
    suggested_channel = fields.String(metadata={"description": "for a member not yet reached: how to reach them"})


class GoneSchema(Schema):
    member_id = fields.String()
    name = fields.String()
    status = fields.String()
    on = fields.Date()
    branch_id = fields.String(allow_none=True)


class CoverageSchema(Schema):
    branch_id = fields.String()
    period = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    as_of = fields.Date()
    due = fields.Integer()
    covered_count = fields.Integer()
    complete = fields.Boolean()
    covered = fields.List(fields.Nested(DueSchema))
    uncovered = fields.List(fields.Nested(DueSchema))
    departed = fields.List(fields.Nested(GoneSchema))
    moved_out = fields.List(fields.Nested(GoneSchema))


@branches.route("/branches/<uuid:branch_id>/coverage")
class Coverage(MethodView):
    @branches.arguments(PeriodQuerySchema, location="query")
    @branches.response(200, CoverageSchema)
    def get(self, query, branch_id):
        """Members covered and not covered by study (attendance or a counting outreach channel) in a period."""
        principal, branch = branch_reader(branch_id)
        today = bureau_today()
        with read_transaction(principal.tenant) as conn:
            rules = queries.load_rules(conn, principal.tenant).on(today)
            period = (parse_period(query["period"], ("month", "quarter")) if query.get("period")
                      else period_of(today, rules["coverage_period"]))
            if not period.has_begun(today):
                raise RequestInvalid("这个期间还没有开始", fields={"period": ["在将来"]})
            rules = queries.load_rules(conn, principal.tenant).on(period.as_of(today))
            roster = queries.load_roster(conn, branch_id=branch)
            reached = queries.reaches(conn, list(roster.members), period.start, period.end,
                                      study_kinds(rules), coverage_channels(rules))
        report = reports.coverage(roster, branch, period, reached, today)
        for member in report["uncovered"]:
            member["suggested_channel"] = suggested_channel(member["mobility"], member["health"],
                                                            coverage_channels(rules))
        return report


class StudyRowSchema(Schema):
    member_id = fields.String()
    name = fields.String()
    hours = fields.Decimal(as_string=True)
    required = fields.Decimal(as_string=True)
    committee = fields.Boolean()
    exempt = fields.Boolean()
    exemption = fields.String(allow_none=True)
    met = fields.Boolean()
    on_track = fields.Boolean()


class StudyHoursSchema(Schema):
    branch_id = fields.String()
    year = fields.Integer()
    as_of = fields.Date()
    members = fields.List(fields.Nested(StudyRowSchema))


@dataclass(frozen=True)
class YearScope:
    """What a yearly report of one branch starts from."""

    conn: psycopg.Connection
    branch: str
    year: int
    today: date
    rules: dict
    roster: object


@contextmanager
def year_in_branch(query: dict, branch_id) -> Iterator[YearScope]:
    """Authorise the reader, then open a read of the branch's roster and the rules in force for the year."""
    principal, branch = branch_reader(branch_id)
    today = bureau_today()
    year = query.get("year") or today.year
    with read_transaction(principal.tenant) as conn:
        rules = queries.load_rules(conn, principal.tenant).on(min(date(year, 12, 31), today))
        yield YearScope(conn, branch, year, today, rules, queries.load_roster(conn, branch_id=branch))


@branches.route("/branches/<uuid:branch_id>/study-hours")
class StudyHours(MethodView):
    @branches.arguments(YearQuerySchema, location="query")
    @branches.response(200, StudyHoursSchema)
    def get(self, query, branch_id):
        """Each member's study hours in a year against 32 (56 for committee members), with exemptions."""
        with year_in_branch(query, branch_id) as scope:
            sessions = queries.study_sessions(scope.conn, list(scope.roster.members), date(scope.year, 1, 1),
                                              date(scope.year, 12, 31), study_kinds(scope.rules))
        return reports.study_hours(scope.roster, scope.branch, scope.year, sessions, scope.rules, scope.today)


# --- care -------------------------------------------------------------------------------------------

class HolidayVisitSchema(Schema):
    holiday = fields.String()
    date = fields.Date()
    visited_on = fields.Date(allow_none=True)


class CareRowSchema(Schema):
    member_id = fields.String()
    name = fields.String()
    birthday = fields.Date(allow_none=True)
    holiday_visits = fields.List(fields.Nested(HolidayVisitSchema))
    newspaper = fields.Boolean(allow_none=True)
    health_check = fields.Date(allow_none=True)


class CareOverviewSchema(Schema):
    branch_id = fields.String()
    year = fields.Integer()
    as_of = fields.Date()
    members = fields.List(fields.Nested(CareRowSchema))


@branches.route("/branches/<uuid:branch_id>/care")
class CareOverview(MethodView):
    @branches.arguments(YearQuerySchema, location="query")
    @branches.response(200, CareOverviewSchema)
    def get(self, query, branch_id):
        """Care of each member in a year: birthday, the bureau's holiday visits, newspaper, health check."""
        with year_in_branch(query, branch_id) as scope:
            year = scope.year
            care = queries.care_in_year(scope.conn, list(scope.roster.members), year)
        holidays = holidays_of(year, scope.rules["holiday_visits"])
        return reports.care_overview(scope.roster, scope.branch, year, care, holidays, scope.rules, scope.today)
