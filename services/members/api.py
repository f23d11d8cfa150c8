"""HTTP API of the members service: parse, authorise, call a handler, shape the response."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from marshmallow import Schema, fields

from shared.errors import NotFound
from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction
from services.members import handlers
from services.members.commands import EstablishBranchSchema, RegisterBureauSchema, RegisterMemberSchema

bureaus = ApiBlueprint("bureaus", __name__, description="Bureaus: the tenants of the platform")
branches = ApiBlueprint("branches", __name__, description="Retired-cadre Party branches of a bureau")
members = ApiBlueprint("members", __name__, description="Members of the branches")


class CreatedSchema(Schema):
    id = fields.String(required=True)
    version = fields.Integer(required=True)


class BureauSchema(Schema):
    id = fields.String(attribute="bureau_id")
    name = fields.String()
    code = fields.String()
    version = fields.Integer()


class BranchSchema(Schema):
    id = fields.String(attribute="branch_id")
    name = fields.String()
    established_on = fields.Date()
    closed_on = fields.Date(allow_none=True)
    version = fields.Integer()


class MemberSchema(Schema):
    id = fields.String(attribute="member_id")
    branch_id = fields.String()
    name = fields.String()
    gender = fields.String()
    birth_date = fields.Date()
    party_member = fields.Boolean()
    party_join_date = fields.Date(allow_none=True)
    retirement_kind = fields.String()
    pension_base = fields.Decimal(as_string=True, allow_none=True)
    health = fields.String()
    mobility = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    joined_on = fields.Date()
    version = fields.Integer()


@bureaus.route("/bureaus")
class BureauCollection(MethodView):
    @bureaus.arguments(RegisterBureauSchema)
    @bureaus.response(201, CreatedSchema)
    def post(self, command):
        """Register a bureau (platform admins only)."""
        current_principal().require_role("platform_admin")
        bureau_id = str(uuid.uuid4())
        return execute_command(bureau_id, lambda uow: handlers.register_bureau(uow, command, bureau_id))


@bureaus.route("/bureaus/<uuid:bureau_id>")
class BureauItem(MethodView):
    @bureaus.response(200, BureauSchema)
    def get(self, bureau_id):
        """Read your own bureau."""
        principal = current_principal()
        return _one("SELECT * FROM bureaus WHERE bureau_id = %s", principal.tenant, str(bureau_id))


@branches.route("/branches")
class BranchCollection(MethodView):
    @branches.arguments(EstablishBranchSchema)
    @branches.response(201, CreatedSchema)
    def post(self, command):
        """Establish a branch in your bureau."""
        principal = current_principal()
        principal.require_role("bureau_admin")
        return execute_command(principal.tenant, lambda uow: handlers.establish_branch(uow, command))

    @branches.response(200, BranchSchema(many=True))
    def get(self):
        """List the branches of your bureau."""
        principal = current_principal()
        with read_transaction(principal.tenant) as conn:
            return conn.execute("SELECT * FROM branches ORDER BY name").fetchall()


@branches.route("/branches/<uuid:branch_id>")
class BranchItem(MethodView):
    @branches.response(200, BranchSchema)
    def get(self, branch_id):
        principal = current_principal()
        return _one("SELECT * FROM branches WHERE branch_id = %s", principal.tenant, str(branch_id))


@members.route("/members")
class MemberCollection(MethodView):
    @members.arguments(RegisterMemberSchema)
    @members.response(201, CreatedSchema)
    def post(self, command):
        """Register a member in a branch (the bureau's admin or the branch's secretary)."""
        principal = current_principal()
        principal.require_branch_writer(command.branch_id)
        return execute_command(principal.tenant, lambda uow: handlers.register_member(uow, command))


@members.route("/members/<uuid:member_id>")
class MemberItem(MethodView):
    @members.response(200, MemberSchema)
    def get(self, member_id):
        principal = current_principal()
        return _one("SELECT * FROM members WHERE member_id = %s", principal.tenant, str(member_id))


def _one(query: str, tenant_id: str | None, record_id: str) -> dict:
    """Fetch one row of the caller's bureau; another bureau's row is as absent as a missing one."""
    with read_transaction(tenant_id) as conn:
        row = conn.execute(query, (record_id,)).fetchone()
    if row is None:
        raise NotFound()
    return row
