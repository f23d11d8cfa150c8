"""The branch committee: elections, posts, the allowance, and its current state (for term reminders)."""

from __future__ import annotations

from datetime import date

from flask.views import MethodView
from marshmallow import Schema, fields

from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction
from services.members import commands as c, queries
from services.members.api import bureau_today, one, writer_of_branch
from services.members.api.schemas import CreatedSchema
from services.members.handlers import committee

blueprint = ApiBlueprint("committee", __name__, description="Branch committees, elections and posts")


class ElectedSchema(CreatedSchema):
    term_id = fields.String()
    elected = fields.List(fields.String())
    eligible_voters = fields.Integer(metadata={"description": "members entitled to vote, less those excused"})
    vacant_seats = fields.Integer(metadata={"description": "seats no candidate won: vacant until filled"})


class CommitteeSchema(Schema):
    branch_id = fields.String()
    term = fields.Dict(allow_none=True)
    posts = fields.List(fields.Dict())
    vacant_posts = fields.List(fields.String())
    vacant_seats = fields.Integer(metadata={"description": "seats the election left vacant (flagged)"})
    days_to_term_end = fields.Integer(allow_none=True)
    allowances = fields.List(fields.Dict())


@blueprint.route("/branches/<uuid:branch_id>/elections")
class Elections(MethodView):
    @blueprint.arguments(c.HoldElectionSchema)
    @blueprint.response(201, ElectedSchema)
    def post(self, command, branch_id):
        """Record an election; the rules are checked and a term opens with its posts."""
        tenant = writer_of_branch(branch_id)
        return execute_command(tenant, lambda uow: committee.hold_election(uow, str(branch_id), command))


@blueprint.route("/branches/<uuid:branch_id>/committee")
class CommitteeView(MethodView):
    @blueprint.response(200, CommitteeSchema)
    def get(self, branch_id):
        """The current term, its posts (filled and vacated), vacancies and the days left in the term."""
        one(queries.branch, str(branch_id))
        with read_transaction(current_principal().tenant) as conn:
            state = queries.committee(conn, str(branch_id))
        return _describe(str(branch_id), state, bureau_today())


def _describe(branch_id: str, state: dict, today: date) -> dict:
    term, posts = state["term"], state["posts"]
    held = {p["post"] for p in posts if p["vacated_on"] is None}
    vacant = [] if term is None else [p for p in ("secretary",) if p not in held]
    if term is not None and term["committee"]:
        vacant += [] if "deputy_secretary" in held else ["deputy_secretary"]
    return {"branch_id": branch_id, "posts": [_jsonable(p) for p in posts], "vacant_posts": vacant,
            "vacant_seats": state["vacant_seats"],
            "term": _jsonable(term) if term else None,
            "days_to_term_end": (term["ends_on"] - today).days if term else None,
            "allowances": [_jsonable(a) for a in state["allowances"]]}


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else str(v) if k == "amount" else v) for k, v in row.items()}


def _committee_action(path: str, schema, handler, doc: str) -> None:
    @blueprint.route(f"/branches/<uuid:branch_id>/committee/{path}", endpoint=f"committee_{path}")
    class Action(MethodView):
        @blueprint.arguments(schema)
        @blueprint.response(201, CreatedSchema)
        def post(self, command, branch_id):
            return execute_command(writer_of_branch(branch_id), lambda uow: handler(uow, str(branch_id), command))
    Action.post.__doc__ = doc


_committee_action("posts", c.FillPostSchema, committee.fill_post, "Fill a vacant post during the term.")
_committee_action("vacancies", c.VacatePostSchema, committee.vacate_post, "Record that a post holder left the post.")
_committee_action("allowances", c.PayAllowanceSchema, committee.pay_allowance,
                  "Record a month's work allowance paid to a post holder.")
