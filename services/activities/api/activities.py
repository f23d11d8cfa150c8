"""Activities: schedule, record, correct (If-Match), cancel, list and read; talks given by retired cadres."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared.errors import NotFound
from shared.web import execute_command, read_transaction
from services.activities import handlers, queries
from services.activities.api.common import (RecordedSchema, if_match, LateFlagsSchema, may_read_branch,
                                            readable_branches, reader, writer)
from services.activities.commands import (ActivitySchema as ActivityRequestSchema, CancelActivitySchema,
                                          CorrectActivitySchema, PlanActivity, RecordPlannedSchema, TalkSchema)
from services.activities.events import ACTIVITY_KINDS
from shared.web import ApiBlueprint

blueprint = ApiBlueprint("activities", __name__, description="Meetings, study and every other kind of branch work")


class GuestView(Schema):
    name = fields.String()
    member_id = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)


class AbsenceView(Schema):
    member_id = fields.String()
    reason = fields.String()


class ActivityView(LateFlagsSchema):
    id = fields.String(attribute="activity_id")
    branch_id = fields.String()
    kind = fields.String()
    status = fields.String()
    planned_on = fields.Date(allow_none=True)
    occurred_on = fields.Date(allow_none=True)
    title = fields.String()
    place = fields.String(allow_none=True)
    topics = fields.List(fields.String())
    attendees = fields.List(fields.String())
    invited = fields.List(fields.String(), metadata={"description": "those of the attendees who sat in on a body"
                                                                    " they do not belong to (列席)"})
    guests = fields.List(fields.Nested(GuestView))
    absentees = fields.List(fields.Nested(AbsenceView))
    minutes = fields.String(allow_none=True)
    hours = fields.Decimal(as_string=True, allow_none=True)
    group_id = fields.String(allow_none=True)
    voting_members = fields.Integer(allow_none=True)
    voting_present = fields.Integer(allow_none=True)
    quorate = fields.Boolean(allow_none=True)
    talk = fields.Dict(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    corrections = fields.Integer()
    version = fields.Integer()


class ActivityQuerySchema(Schema):
    branch_id = fields.UUID()
    kind = fields.String(validate=validate.OneOf(ACTIVITY_KINDS))
    status = fields.String(validate=validate.OneOf(("planned", "recorded", "cancelled")))
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


@blueprint.route("/activities")
class Activities(MethodView):
    @blueprint.arguments(ActivityRequestSchema)
    @blueprint.response(201, RecordedSchema)
    def post(self, command):
        """Record an activity that happened (default) or schedule one (``status: planned``)."""
        principal = writer()
        principal.require_branch_writer(command.branch_id)
        handler = handlers.plan_activity if isinstance(command, PlanActivity) else handlers.record_activity
        return execute_command(principal.tenant, lambda uow: handler(uow, command))

    @blueprint.arguments(ActivityQuerySchema, location="query")
    @blueprint.response(200, ActivityView(many=True))
    def get(self, query):
        """List activities by branch, kind, status and date range (inclusive)."""
        principal = reader()
        branches = readable_branches(principal)
        if query.get("branch_id"):
            wanted = str(query["branch_id"])
            branches = [wanted] if branches is None or wanted in branches else []
        with read_transaction(principal.tenant) as conn:
            return queries.activities(conn, branches, query.get("kind"), query.get("status"), query.get("from_"),
                                      query.get("to"), query["limit"])


@blueprint.route("/activities/<uuid:activity_id>")
class ActivityItem(MethodView):
    @blueprint.response(200, ActivityView)
    def get(self, activity_id):
        """Read an activity as it now stands (its ETag is the version to send in If-Match)."""
        principal = reader()
        with read_transaction(principal.tenant) as conn:
            row = queries.activity(conn, str(activity_id))
        if row is None or not may_read_branch(principal, row["branch_id"]):
            raise NotFound("本局没有这条活动记录")
        return row, 200, {"ETag": f'"{row["version"]}"'}


def _authorise(principal):
    return principal.require_branch_writer


@blueprint.route("/activities/<uuid:activity_id>/actions/record")
class RecordPlanned(MethodView):
    @blueprint.arguments(RecordPlannedSchema)
    @blueprint.response(201, RecordedSchema)
    def post(self, command, activity_id):
        """Record what happened at a planned activity."""
        principal = writer()
        return execute_command(principal.tenant, lambda uow: handlers.record_planned(
            uow, str(activity_id), command, _authorise(principal), if_match(required=False)))


@blueprint.route("/activities/<uuid:activity_id>/actions/correct")
class CorrectActivity(MethodView):
    @blueprint.arguments(CorrectActivitySchema)
    @blueprint.response(201, RecordedSchema)
    def post(self, command, activity_id):
        """Correct a recorded activity; ``If-Match: <version>`` is required, a stale one is a 409."""
        principal = writer()
        expected = if_match(required=True)
        return execute_command(principal.tenant, lambda uow: handlers.correct_activity(
            uow, str(activity_id), command, _authorise(principal), expected))


@blueprint.route("/activities/<uuid:activity_id>/actions/cancel")
class CancelActivity(MethodView):
    @blueprint.arguments(CancelActivitySchema)
    @blueprint.response(201, RecordedSchema)
    def post(self, command, activity_id):
        """Cancel a planned activity, or withdraw a recorded one entered in error."""
        principal = writer()
        return execute_command(principal.tenant, lambda uow: handlers.cancel_activity(
            uow, str(activity_id), command, _authorise(principal), if_match(required=False)))


@blueprint.route("/talks")
class Talks(MethodView):
    @blueprint.arguments(TalkSchema)
    @blueprint.response(201, RecordedSchema)
    def post(self, command):
        """Record a talk given by retired cadres (宣讲): to whom, on what; it is a ``talk_given`` activity."""
        principal = writer()
        principal.require_branch_writer(command.branch_id)
        return execute_command(principal.tenant, lambda uow: handlers.record_talk(uow, command))
