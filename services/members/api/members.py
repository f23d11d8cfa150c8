"""Members: registration, the profile (with If-Match), and each life event as its own command."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared.errors import RequestInvalid
from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction
from services.members import commands as c, queries
from services.members.api import if_match, one, writer_of_member
from services.members.api.schemas import CreatedSchema, MemberSchema
from services.members.handlers import register

blueprint = ApiBlueprint("members", __name__, description="Members of the branches")


class MemberQuerySchema(Schema):
    branch_id = fields.String(validate=validate.Length(equal=36))
    status = fields.String(validate=validate.OneOf(("active", "transferred_out", "deceased", "left_party")))
    retirement_kind = fields.String(validate=validate.OneOf(c.RETIREMENT_KINDS))
    name = fields.String(validate=validate.Length(min=1, max=100))


@blueprint.route("/members")
class MemberCollection(MethodView):
    @blueprint.arguments(c.RegisterMemberSchema)
    @blueprint.response(201, CreatedSchema)
    def post(self, command):
        """Register a member in a branch (the bureau's admin or the branch's secretary)."""
        principal = current_principal()
        principal.require_branch_writer(command.branch_id)
        return execute_command(principal.tenant, lambda uow: register.register_member(uow, command))

    @blueprint.arguments(MemberQuerySchema, location="query")
    @blueprint.response(200, MemberSchema(many=True))
    def get(self, query):
        """Find members of your bureau by branch, status, kind or a part of the name (at most 500)."""
        with read_transaction(current_principal().tenant) as conn:
            return queries.members(conn, query)


@blueprint.route("/members/<uuid:member_id>")
class MemberItem(MethodView):
    @blueprint.response(200, MemberSchema, headers={"ETag": {"description": "the member's version"}})
    def get(self, member_id):
        """A member, with ``version`` (also as ETag) to send back as If-Match when changing them."""
        return one(queries.member, str(member_id))

    @blueprint.arguments(c.UpdateProfileSchema)
    @blueprint.response(200, CreatedSchema)
    def patch(self, changes, member_id):
        """Change profile fields; If-Match is required, and a stale version is a 409."""
        if not changes:
            raise RequestInvalid("没有要修改的内容", fields={"body": ["至少填写一项"]})
        version = if_match(required=True)
        tenant = writer_of_member(member_id)
        return execute_command(tenant, lambda uow: register.update_profile(uow, str(member_id), version, changes))


def _action(path: str, schema, handler, doc: str) -> None:
    """One POST ``/members/{id}/actions/<path>`` per life event; If-Match is honoured when sent."""
    @blueprint.route(f"/members/<uuid:member_id>/actions/{path}", endpoint=f"member_{path}")
    class Action(MethodView):
        @blueprint.arguments(schema)
        @blueprint.response(200, CreatedSchema)
        def post(self, command, member_id):
            version = if_match()
            tenant = writer_of_member(member_id)
            return execute_command(tenant, lambda uow: handler(uow, str(member_id), version, command))
    Action.post.__doc__ = doc


_action("change-health", c.ChangeHealthSchema, register.change_health, "Record a change of health or mobility.")
_action("record-death", c.RecordDeathSchema, register.record_death, "Record the member's death.")
_action("remove-from-party", c.RemoveFromPartySchema, register.remove_from_party,
        "Record removal from the Party by decision (never automatic).")
_action("assign-group", c.AssignGroupSchema, register.assign_group, "Put the member in a party group (or none).")


@blueprint.after_app_request
def _etag(response: Response) -> Response:
    if response.status_code == 200 and response.is_json and isinstance(response.json, dict) \
            and "version" in response.json and "ETag" not in response.headers:
        response.headers["ETag"] = f'"{response.json["version"]}"'
    return response
