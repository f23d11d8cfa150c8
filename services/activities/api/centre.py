"""The branch's activity centre (阵地): its place, moves, and the bureau's checklist (六有) with evidence."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from shared.web import ApiBlueprint, execute_command, read_transaction
from services.activities import handlers, queries
from services.activities.api.common import (
    RecordedSchema, branch_reader, bureau_today, if_match, require_known_branch, writer)
from services.activities.commands import CentreSchema, EvidenceSchema, MoveCentreSchema
from services.activities.domain.records import checklist_status

centre = ApiBlueprint("centre", __name__, description="The branch's activity centre and its checklist")


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


@centre.route("/branches/<uuid:branch_id>/centre")
class Centre(MethodView):
    @centre.response(200, CentreViewSchema)
    def get(self, branch_id):
        """The centre: its place and moves, and the bureau's checklist with each item's evidence and date
        (its ETag is the version to send in If-Match)."""
        principal, branch = branch_reader(branch_id)
        day = bureau_today()
        with read_transaction(principal.tenant) as conn:
            centre, history = queries.centre(conn, branch)
            checklist = queries.load_rules(conn, principal.tenant).on(day)["centre_checklist"]
        since = (centre["moved_on"] or centre["set_up_on"]) if centre else day
        items = checklist_status(checklist, [h for h in history if h["kind"] == "evidenced"], since) if centre else [
            {"item": item, "met": False, "stale": False, "evidence": None} for item in checklist]
        version = centre["version"] if centre else 0
        return {"branch_id": branch, "place": centre and centre["place"], "set_up_on": centre and centre["set_up_on"],
                "moved_on": centre and centre["moved_on"], "checklist": items,
                "complete": all(item["met"] for item in items), "history": history,
                "version": version}, 200, {"ETag": f'"{version}"'}

    @centre.arguments(CentreSchema)
    @centre.response(201, RecordedSchema)
    def post(self, command, branch_id):
        """Record the branch's centre (its place, from a date)."""
        principal = writer()
        principal.require_branch_writer(str(branch_id))
        require_known_branch(principal, str(branch_id))
        return execute_command(principal.tenant, lambda uow: handlers.set_up_centre(uow, str(branch_id), command))


def _centre_command(schema, path: str, doc: str):
    @centre.route(f"/branches/<uuid:branch_id>/centre/{path}", endpoint=f"centre_{path.replace('/', '_')}")
    class CentreCommand(MethodView):
        @centre.arguments(schema)
        @centre.response(201, RecordedSchema)
        def post(self, command, branch_id):
            principal = writer()
            principal.require_branch_writer(str(branch_id))
            require_known_branch(principal, str(branch_id))
            expected = if_match(required=False)
            return execute_command(principal.tenant, lambda uow: handlers.change_centre(uow, str(branch_id), command,
                                                                                        expected))
    CentreCommand.post.__doc__ = doc
    return CentreCommand


_centre_command(MoveCentreSchema, "actions/move", "The centre moved to another place; evidence is then renewed.")
_centre_command(EvidenceSchema, "evidence", "Evidence (text, photo reference, date) of one checklist item.")
