"""Response shapes of the members API."""

from __future__ import annotations

from marshmallow import Schema, fields


class CreatedSchema(Schema):
    id = fields.String(required=True)
    version = fields.Integer(required=True)


class MergedSchema(CreatedSchema):
    moved = fields.List(fields.String())


class BureauSchema(Schema):
    id = fields.String(attribute="bureau_id")
    name = fields.String()
    code = fields.String()


class RuleSetSchema(Schema):
    version = fields.Integer()
    effective_from = fields.Date(allow_none=True)
    rules = fields.Dict()


class GroupSchema(Schema):
    id = fields.String(attribute="group_id")
    name = fields.String()


class BranchSchema(Schema):
    id = fields.String(attribute="branch_id")
    name = fields.String()
    established_on = fields.Date()
    closed_on = fields.Date(allow_none=True)
    close_reason = fields.String(allow_none=True)
    merged_into = fields.String(allow_none=True)
    groups = fields.List(fields.Nested(GroupSchema))


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
    status = fields.String()
    left_on = fields.Date(allow_none=True)
    group_id = fields.String(allow_none=True)
    version = fields.Integer()


class RosterEntrySchema(MemberSchema):
    in_branch_from = fields.Date(attribute="from_date")
    in_branch_until = fields.Date(attribute="to_date", allow_none=True)


class RosterSchema(Schema):
    branch_id = fields.String()
    on = fields.Date()
    members = fields.List(fields.Nested(RosterEntrySchema))


class TransferSchema(Schema):
    id = fields.String(attribute="transfer_id")
    direction = fields.String()
    member_id = fields.String(allow_none=True)
    member_name = fields.String()
    from_bureau_id = fields.String(attribute="from_tenant_id")
    from_branch_id = fields.String()
    to_bureau_id = fields.String(attribute="to_tenant_id")
    to_branch_id = fields.String()
    dues_paid_until = fields.String(allow_none=True)
    issued_on = fields.Date()
    valid_until = fields.Date()
    status = fields.String()
    received_on = fields.Date(allow_none=True)
    received_member_id = fields.String(allow_none=True)
    slip_returned_on = fields.Date(allow_none=True)
    slip_due_by = fields.Date(allow_none=True)
    closed_on = fields.Date(allow_none=True)
