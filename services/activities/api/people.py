"""Records about members: outreach, care, interest teams and pledges (the last readable only as the rules allow)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from contracts.rulebook.calendar import validate_year
from shared.errors import NotFound
from shared.web import ApiBlueprint, execute_command, read_transaction
from services.activities import handlers, queries
from services.activities.api.common import (RecordedSchema, LateFlagsSchema, if_match, may_read_branch,
                                            readable_branches, reader, require_branch_reader, writer)
from services.activities.commands import (CareSchema, JoinTeamSchema, LeaveTeamSchema, OutreachSchema,
                                          PerformanceSchema, PledgeSchema, TeamSchema, WithdrawSchema)

outreach = ApiBlueprint("outreach", __name__, description="Home visits, phone contact and study brought to the home")
care = ApiBlueprint("care", __name__, description="Birthdays, holiday visits, health checks, newspapers, condolences")
teams = ApiBlueprint("teams", __name__, description="Choir, dance and other interest teams")
pledges = ApiBlueprint("pledges", __name__, description="Signed pledges: sensitive, every read recorded")


class RecordQuerySchema(Schema):
    branch_id = fields.UUID()
    member_id = fields.UUID()
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class WithdrawableSchema(LateFlagsSchema):
    withdrawn_on = fields.Date(allow_none=True)
    withdraw_reason = fields.String(allow_none=True)


class OutreachSchemaOut(WithdrawableSchema):
    id = fields.String(attribute="outreach_id")
    branch_id = fields.String()
    member_id = fields.String()
    channel = fields.String()
    occurred_on = fields.Date()
    topic = fields.String()
    note = fields.String(allow_none=True)
    hours = fields.Decimal(as_string=True, allow_none=True)


class CareSchemaOut(WithdrawableSchema):
    id = fields.String(attribute="care_id")
    branch_id = fields.String()
    member_id = fields.String()
    kind = fields.String()
    occurred_on = fields.Date()
    note = fields.String(allow_none=True)
    holiday = fields.String(allow_none=True)
    holiday_date = fields.Date(allow_none=True)
    year = fields.Integer(allow_none=True, validate=validate_year)


def _records(table: str, query: dict) -> list[dict]:
    """Rows of ``outreach`` or ``care`` the caller may read, filtered by branch, member and dates."""
    principal = reader()
    branches = readable_branches(principal)
    if query.get("branch_id"):
        require_branch_reader(principal, str(query["branch_id"]))
        branches = [str(query["branch_id"])]
    with read_transaction(principal.tenant) as conn:
        member = str(query["member_id"]) if query.get("member_id") else None
        return queries.personal_records(conn, table, branches, member, query.get("from_"), query.get("to"))


@outreach.route("/outreach")
class Outreach(MethodView):
    @outreach.arguments(OutreachSchema)
    @outreach.response(201, RecordedSchema)
    def post(self, command):
        """Record reaching a member who could not attend (on their behalf, by the secretary)."""
        principal = writer()
        return execute_command(principal.tenant, lambda uow: handlers.record_outreach(
            uow, command, principal.require_branch_writer))

    @outreach.arguments(RecordQuerySchema, location="query")
    @outreach.response(200, OutreachSchemaOut(many=True))
    def get(self, query):
        return _records("outreach", query)


@care.route("/care")
class Care(MethodView):
    @care.arguments(CareSchema)
    @care.response(201, RecordedSchema)
    def post(self, command):
        """Record care for a member; a holiday visit is linked to its holiday (lunar ones too)."""
        principal = writer()
        return execute_command(principal.tenant, lambda uow: handlers.record_care(
            uow, command, principal.require_branch_writer))

    @care.arguments(RecordQuerySchema, location="query")
    @care.response(200, CareSchemaOut(many=True))
    def get(self, query):
        return _records("care", query)


def _withdrawal(blueprint: ApiBlueprint, kind: str) -> None:
    """``POST /<kind>/{id}/actions/withdraw {reason}``: the record stays in the history, marked withdrawn."""
    @blueprint.route(f"/{kind}/<uuid:record_id>/actions/withdraw", endpoint=f"{kind}_withdraw")
    class Withdraw(MethodView):
        @blueprint.arguments(WithdrawSchema)
        @blueprint.response(201, RecordedSchema)
        def post(self, command, record_id):
            principal = writer()
            expected = if_match(required=False)
            return execute_command(principal.tenant, lambda uow: handlers.withdraw_record(
                uow, kind, str(record_id), command, principal.require_branch_writer, expected))
    Withdraw.post.__doc__ = f"Withdraw a {kind} record entered in error (it no longer counts)."


_withdrawal(outreach, "outreach")
_withdrawal(care, "care")


# --- teams ------------------------------------------------------------------------------------------

class TeamMemberSchema(Schema):
    member_id = fields.String()
    joined_on = fields.Date()
    left_on = fields.Date(allow_none=True)


class PerformanceSchemaOut(LateFlagsSchema):
    id = fields.String(attribute="performance_id")
    occurred_on = fields.Date()
    title = fields.String()
    place = fields.String(allow_none=True)
    performers = fields.List(fields.String())
    audience = fields.String(allow_none=True)


class TeamSchemaOut(Schema):
    id = fields.String(attribute="team_id")
    branch_id = fields.String()
    name = fields.String()
    kind = fields.String()
    formed_on = fields.Date()
    leader_id = fields.String(allow_none=True)
    members = fields.List(fields.Nested(TeamMemberSchema))
    performances = fields.List(fields.Nested(PerformanceSchemaOut))
    version = fields.Integer(metadata={"description": "the version to send in If-Match"})


@teams.route("/teams")
class Teams(MethodView):
    @teams.arguments(TeamSchema)
    @teams.response(201, RecordedSchema)
    def post(self, command):
        """Form a team of members of one branch."""
        principal = writer()
        principal.require_branch_writer(command.branch_id)
        return execute_command(principal.tenant, lambda uow: handlers.form_team(uow, command))

    @teams.response(200, TeamSchemaOut(many=True))
    def get(self):
        principal = reader()
        with read_transaction(principal.tenant) as conn:
            return [queries.team_detail(conn, row) for row in queries.teams(conn)
                    if may_read_branch(principal, row["branch_id"])]


@teams.route("/teams/<uuid:team_id>")
class TeamItem(MethodView):
    @teams.response(200, TeamSchemaOut)
    def get(self, team_id):
        """A team with its members and performances (its ETag is the version to send in If-Match)."""
        principal = reader()
        with read_transaction(principal.tenant) as conn:
            row = queries.team(conn, str(team_id))
            if row is None or not may_read_branch(principal, row["branch_id"]):
                raise NotFound("本局没有这个团队")
            return queries.team_detail(conn, row), 200, {"ETag": f'"{row["version"]}"'}


def _team_command(schema, path: str, doc: str):
    """A command on one team (join, leave, perform), each its own route."""
    @teams.route(f"/teams/<uuid:team_id>/{path}", endpoint=path.replace("/", "_"))
    class TeamCommand(MethodView):
        @teams.arguments(schema)
        @teams.response(201, RecordedSchema)
        def post(self, command, team_id):
            principal = writer()
            expected = if_match(required=False)
            return execute_command(principal.tenant, lambda uow: handlers.change_team(
                uow, str(team_id), command, principal.require_branch_writer, expected))
    TeamCommand.post.__doc__ = doc
    return TeamCommand


_team_command(JoinTeamSchema, "members", "A member of the branch joins the team.")
_team_command(LeaveTeamSchema, "actions/leave", "A member leaves the team.")
_team_command(PerformanceSchema, "performances", "The team performed (its performers are team members).")


# --- pledges ------------------------------------------------------------------------------------

class PledgeSchemaOut(Schema):
    id = fields.String(attribute="pledge_id")
    branch_id = fields.String()
    member_id = fields.String()
    kind = fields.String()
    signed_on = fields.Date()
    statement = fields.String(allow_none=True)
    document_ref = fields.String(allow_none=True)


class PledgeQuerySchema(Schema):
    branch_id = fields.UUID(required=True)


class PledgeReadSchema(Schema):
    reader = fields.String()
    reader_role = fields.String()
    read_at = fields.DateTime()


@pledges.route("/pledges")
class Pledges(MethodView):
    @pledges.arguments(PledgeSchema)
    @pledges.response(201, RecordedSchema)
    def post(self, command):
        """Record a signed pledge; its statement is stored apart and never leaves the service in an event."""
        principal = writer()
        return execute_command(principal.tenant, lambda uow: handlers.sign_pledge(
            uow, command, principal.require_branch_writer))

    @pledges.arguments(PledgeQuerySchema, location="query")
    @pledges.response(200, PledgeSchemaOut(many=True))
    def get(self, query):
        """A branch's pledges, for the roles the bureau's rules name (``pledge_readers``); each read is recorded."""
        principal = reader()
        require_branch_reader(principal, str(query["branch_id"]))
        return execute_command(principal.tenant, lambda uow: handlers.read_pledges(
            uow, None, str(query["branch_id"]), principal.roles))


@pledges.route("/pledges/<uuid:pledge_id>")
class PledgeItem(MethodView):
    @pledges.response(200, PledgeSchemaOut)
    def get(self, pledge_id):
        """One pledge, for the roles the bureau's rules name; the read is recorded as an event."""
        principal = reader()
        rows = execute_command(principal.tenant, lambda uow: _readable(
            handlers.read_pledges(uow, [str(pledge_id)], None, principal.roles), principal))
        if not rows:
            raise NotFound("本局没有这份承诺书")
        return rows[0]


def _readable(rows: list[dict], principal) -> list[dict]:
    for row in rows:
        require_branch_reader(principal, row["branch_id"])
    return rows


@pledges.route("/pledges/<uuid:pledge_id>/reads")
class PledgeReads(MethodView):
    @pledges.response(200, PledgeReadSchema(many=True))
    def get(self, pledge_id):
        """Who read a pledge, and when (for the bureau's admin and auditors)."""
        principal = reader()
        principal.require_role("bureau_admin", "auditor")
        with read_transaction(principal.tenant) as conn:
            # The pledge's own row is for its permitted readers only; its stream says it exists in this bureau.
            if not queries.pledge_recorded(conn, str(pledge_id)):
                raise NotFound("本局没有这份承诺书")
            return queries.pledge_reads(conn, str(pledge_id))
