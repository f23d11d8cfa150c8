"""Branches, their party groups and their roster on a given date; closure and merger."""

from __future__ import annotations


from flask.views import MethodView
from marshmallow import Schema, fields

from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction
from services.members import queries
from services.members.api import bureau_today, one, writer_of_branch
from services.members.api.schemas import BranchSchema, CreatedSchema, MergedSchema, RosterSchema
from services.members.commands import CloseBranchSchema, EstablishBranchSchema, FormPartyGroupSchema, MergeBranchSchema
from services.members.handlers import register

blueprint = ApiBlueprint("branches", __name__, description="Retired-cadre Party branches of a bureau")


class RosterQuerySchema(Schema):
    on = fields.Date(metadata={"description": "the day (default today)"})


def _admin() -> str:
    principal = current_principal()
    principal.require_role("bureau_admin")
    return principal.tenant


@blueprint.route("/branches")
class BranchCollection(MethodView):
    @blueprint.arguments(EstablishBranchSchema)
    @blueprint.response(201, CreatedSchema)
    def post(self, command):
        """Establish a branch (``established_on`` may be in the past, to bring a branch's history in)."""
        return execute_command(_admin(), lambda uow: register.establish_branch(uow, command))

    @blueprint.response(200, BranchSchema(many=True))
    def get(self):
        """The branches of your bureau."""
        with read_transaction(current_principal().tenant) as conn:
            branches, groups = queries.branches(conn), queries.party_groups(conn)
        return [{**b, "groups": [g for g in groups if g["branch_id"] == b["branch_id"]]} for b in branches]


@blueprint.route("/branches/<uuid:branch_id>")
class BranchItem(MethodView):
    @blueprint.response(200, BranchSchema)
    def get(self, branch_id):
        branch = one(queries.branch, str(branch_id))
        with read_transaction(current_principal().tenant) as conn:
            groups = queries.party_groups(conn, str(branch_id))
        return {**branch, "groups": groups}


@blueprint.route("/branches/<uuid:branch_id>/groups")
class PartyGroups(MethodView):
    @blueprint.arguments(FormPartyGroupSchema)
    @blueprint.response(201, CreatedSchema)
    def post(self, command, branch_id):
        """Form a party group (党小组) within the branch."""
        tenant = writer_of_branch(branch_id)
        return execute_command(tenant, lambda uow: register.form_party_group(uow, str(branch_id), command))


@blueprint.route("/branches/<uuid:branch_id>/members")
class Roster(MethodView):
    @blueprint.arguments(RosterQuerySchema, location="query")
    @blueprint.response(200, RosterSchema)
    def get(self, query, branch_id):
        """Who belonged to the branch on a day: each member counted in exactly one branch."""
        on = query.get("on") or bureau_today()
        one(queries.branch, str(branch_id))
        with read_transaction(current_principal().tenant) as conn:
            members = queries.roster(conn, str(branch_id), on)
        return {"branch_id": str(branch_id), "on": on, "members": members}


@blueprint.route("/branches/<uuid:branch_id>/actions/close")
class CloseBranch(MethodView):
    @blueprint.arguments(CloseBranchSchema)
    @blueprint.response(200, CreatedSchema)
    def post(self, command, branch_id):
        """Close an empty branch (a branch with members is merged instead)."""
        return execute_command(_admin(), lambda uow: register.close_branch(uow, str(branch_id), command))


@blueprint.route("/branches/<uuid:branch_id>/actions/merge")
class MergeBranch(MethodView):
    @blueprint.arguments(MergeBranchSchema)
    @blueprint.response(200, MergedSchema)
    def post(self, command, branch_id):
        """Merge the branch into another: every member moves that day, in one transaction."""
        return execute_command(_admin(), lambda uow: register.merge_branch(uow, str(branch_id), command))
