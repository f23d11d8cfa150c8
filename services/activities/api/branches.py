"""A branch's views: its roster on a date, education coverage, study hours, care, and the activity centre;
the bureau's periods and holidays."""

from __future__ import annotations

from datetime import date

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared.errors import RequestInvalid
from shared.web import ApiBlueprint, execute_command, read_transaction, runtime
from services.activities import handlers, queries
from services.activities.api.common import (RecordedSchema, reader, require_branch_reader, require_known_branch,
                                            writer)
from services.activities.commands import CentreSchema, ClosePeriodSchema, EvidenceSchema, MoveCentreSchema
from services.activities.domain import coverage as reports
from services.activities.domain.activities import local_today
from services.activities.domain.calendar import holidays_of, parse_period, period_of, HOLIDAY_DATES
from services.activities.domain.records import checklist_status
from services.activities.domain.roster import health_on
from services.activities.domain.rules import study_kinds

branches = ApiBlueprint("branch-views", __name__, description="Roster, coverage, study hours, care and centre of a branch")
periods = ApiBlueprint("periods", __name__, description="Closing months and quarters; the holidays of care visits")


def _today() -> date:
    return local_today(runtime().clock())


def _branch_reader(branch_id) -> tuple:
    principal = reader()
    require_branch_reader(principal, str(branch_id))
    require_known_branch(principal, str(branch_id))
    return principal, str(branch_id)


# --- roster ---------------------------------------------------------------------------------------

class OnSchema(Schema):
    on = fields.Date()


class RosterEntrySchema(Schema):
    member_id = fields.String()
    name = fields.String()
    party_member = fields.Boolean()
    health = fields.String(allow_none=True)
    mobility = fields.String(allow_none=True)


class RosterSchema(Schema):
    branch_id = fields.String()
    on = fields.Date()
    members = fields.List(fields.Nested(RosterEntrySchema))


@branches.route("/branches/<uuid:branch_id>/roster")
class Roster(MethodView):
    @branches.arguments(OnSchema, location="query")
    @branches.response(200, RosterSchema)
    def get(self, query, branch_id):
        """The branch's members on a date (today by default), as this service knows them from members' events."""
        principal, branch = _branch_reader(branch_id)
        day = query.get("on") or _today()
        with read_transaction(principal.tenant) as conn:
            roster = queries.load_roster(conn, branch_id=branch)
        members = []
        for member in sorted(roster.members_on(branch, day), key=lambda m: m.name):
            health = health_on(member, day)
            members.append({"member_id": member.member_id, "name": member.name, "party_member": member.party_member,
                            "health": health and health.health, "mobility": health and health.mobility})
        return {"branch_id": branch, "on": day, "members": members}


# --- coverage and study hours -----------------------------------------------------------------------

class PeriodQuerySchema(Schema):
    period = fields.String(validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$",
                                                    error="a month YYYY-MM or a quarter YYYY-Qn"))


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
        principal, branch = _branch_reader(branch_id)
        today = _today()
        with read_transaction(principal.tenant) as conn:
            rules = queries.load_rules(conn, principal.tenant).on(today)
            period = parse_period(query["period"]) if query.get("period") else period_of(today, rules["coverage_period"])
            if period.starts_on > today:
                raise RequestInvalid("the period has not begun", fields={"period": ["in the future"]})
            rules = queries.load_rules(conn, principal.tenant).on(period.starts_on)
            roster = queries.load_roster(conn, branch_id=branch)
            reached = queries.reaches(conn, list(roster.members), period.starts_on, period.ends_on,
                                      study_kinds(rules), rules["coverage_channels"])
        return reports.coverage(roster, branch, period, reached, today)


class YearQuerySchema(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2200))


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


@branches.route("/branches/<uuid:branch_id>/study-hours")
class StudyHours(MethodView):
    @branches.arguments(YearQuerySchema, location="query")
    @branches.response(200, StudyHoursSchema)
    def get(self, query, branch_id):
        """Each member's study hours in a year against 32 (56 for committee members), with exemptions."""
        principal, branch = _branch_reader(branch_id)
        today = _today()
        year = query.get("year") or today.year
        with read_transaction(principal.tenant) as conn:
            rules = queries.load_rules(conn, principal.tenant).on(min(date(year, 12, 31), today))
            roster = queries.load_roster(conn, branch_id=branch)
            sessions = queries.study_sessions(conn, list(roster.members), date(year, 1, 1), date(year, 12, 31),
                                              study_kinds(rules))
        return reports.study_hours(roster, branch, year, sessions, rules, today)


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
        principal, branch = _branch_reader(branch_id)
        today = _today()
        year = query.get("year") or today.year
        with read_transaction(principal.tenant) as conn:
            rules = queries.load_rules(conn, principal.tenant).on(min(date(year, 12, 31), today))
            roster = queries.load_roster(conn, branch_id=branch)
            care = conn.execute("SELECT member_id, kind, occurred_on, holiday, holiday_date, year FROM care"
                                " WHERE member_id = ANY(%s) AND (extract(year FROM occurred_on) = %s OR year = %s"
                                " OR extract(year FROM holiday_date) = %s)",
                                (list(roster.members), year, year, year)).fetchall()
        return reports.care_overview(roster, branch, year, care, holidays_of(year, rules["holiday_visits"]), rules,
                                     today)


# --- the activity centre ------------------------------------------------------------------------

class ChecklistEvidenceSchema(Schema):
    text = fields.String()
    photo_ref = fields.String(allow_none=True)
    evidenced_on = fields.Date()


class ChecklistItemSchema(Schema):
    item = fields.String()
    met = fields.Boolean()
    stale = fields.Boolean()
    evidence = fields.Nested(ChecklistEvidenceSchema, allow_none=True)


class CentreEventSchema(Schema):
    kind = fields.String()
    on_date = fields.Date(data_key="on")
    place = fields.String(allow_none=True)
    from_place = fields.String(allow_none=True)
    item = fields.String(allow_none=True)


class CentreViewSchema(Schema):
    branch_id = fields.String()
    place = fields.String(allow_none=True)
    set_up_on = fields.Date(allow_none=True)
    moved_on = fields.Date(allow_none=True)
    checklist = fields.List(fields.Nested(ChecklistItemSchema))
    complete = fields.Boolean()
    history = fields.List(fields.Nested(CentreEventSchema))
    version = fields.Integer()


@branches.route("/branches/<uuid:branch_id>/centre")
class Centre(MethodView):
    @branches.response(200, CentreViewSchema)
    def get(self, branch_id):
        """The centre: its place and moves, and the bureau's checklist with each item's evidence and date."""
        principal, branch = _branch_reader(branch_id)
        today = _today()
        with read_transaction(principal.tenant) as conn:
            centre = conn.execute("SELECT * FROM centres WHERE branch_id = %s", (branch,)).fetchone()
            history = conn.execute("SELECT * FROM centre_history WHERE branch_id = %s ORDER BY seq",
                                   (branch,)).fetchall()
            checklist = queries.load_rules(conn, principal.tenant).on(today)["centre_checklist"]
        since = (centre["moved_on"] or centre["set_up_on"]) if centre else today
        items = checklist_status(checklist, [h for h in history if h["kind"] == "evidenced"], since) if centre else [
            {"item": item, "met": False, "stale": False, "evidence": None} for item in checklist]
        return {"branch_id": branch, "place": centre and centre["place"], "set_up_on": centre and centre["set_up_on"],
                "moved_on": centre and centre["moved_on"], "checklist": items,
                "complete": all(item["met"] for item in items), "history": history,
                "version": centre["version"] if centre else 0}

    @branches.arguments(CentreSchema)
    @branches.response(201, RecordedSchema)
    def post(self, command, branch_id):
        """Record the branch's centre (its place, from a date)."""
        principal = writer()
        principal.require_branch_writer(str(branch_id))
        return execute_command(principal.tenant, lambda uow: handlers.set_up_centre(uow, str(branch_id), command))


def _centre_command(schema, path: str, doc: str):
    @branches.route(f"/branches/<uuid:branch_id>/centre/{path}", endpoint=f"centre_{path.replace('/', '_')}")
    class CentreCommand(MethodView):
        @branches.arguments(schema)
        @branches.response(201, RecordedSchema)
        def post(self, command, branch_id):
            principal = writer()
            principal.require_branch_writer(str(branch_id))
            return execute_command(principal.tenant, lambda uow: handlers.change_centre(uow, str(branch_id), command))
    CentreCommand.post.__doc__ = doc
    return CentreCommand


_centre_command(MoveCentreSchema, "actions/move", "The centre moved to another place; evidence is then renewed.")
_centre_command(EvidenceSchema, "evidence", "Evidence (text, photo reference, date) of one checklist item.")


# --- periods and holidays -------------------------------------------------------------------------

class PeriodSchema(Schema):
    period = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    closed_on = fields.Date()


@periods.route("/periods")
class Periods(MethodView):
    @periods.arguments(ClosePeriodSchema)
    @periods.response(201, RecordedSchema)
    def post(self, command):
        """Close a month or quarter: later records dated in it are flagged late (bureau admins only)."""
        principal = writer()
        principal.require_role("bureau_admin")
        return execute_command(principal.tenant, lambda uow: handlers.close_period(uow, command))

    @periods.response(200, PeriodSchema(many=True))
    def get(self):
        principal = reader()
        with read_transaction(principal.tenant) as conn:
            return conn.execute("SELECT period, starts_on, ends_on, closed_on FROM closed_periods"
                                " ORDER BY starts_on, period").fetchall()


class HolidaySchema(Schema):
    holiday = fields.String()
    date = fields.Date()
    visits_required = fields.Boolean()


@periods.route("/holidays")
class Holidays(MethodView):
    @periods.arguments(YearQuerySchema, location="query")
    @periods.response(200, HolidaySchema(many=True))
    def get(self, query):
        """The holidays of care visits in a year (lunar ones converted), and which the bureau's rules require."""
        principal = reader()
        today = _today()
        year = query.get("year") or today.year
        with read_transaction(principal.tenant) as conn:
            required = queries.load_rules(conn, principal.tenant).on(min(date(year, 12, 31), today))["holiday_visits"]
        dates = holidays_of(year, HOLIDAY_DATES)
        return [{"holiday": name, "date": day, "visits_required": name in required}
                for name, day in sorted(dates.items(), key=lambda item: item[1])]
