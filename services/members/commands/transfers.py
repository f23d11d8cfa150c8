"""Commands on transfers of membership."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from marshmallow import fields, validate

from services.members.commands.common import CommandSchema, member_id_field


@dataclass(frozen=True)
class IssueTransfer:
    member_id: str
    to_branch_id: str
    to_bureau_id: str | None = None
    issued_on: date | None = None


class IssueTransferSchema(CommandSchema):
    command = IssueTransfer
    member_id = member_id_field(required=True)
    to_branch_id = fields.String(required=True, validate=validate.Length(equal=36))
    to_bureau_id = fields.String(validate=validate.Length(equal=36),
                                 metadata={"description": "another bureau's id for a transfer across bureaus"})
    issued_on = fields.Date()


@dataclass(frozen=True)
class DatedAction:
    on: date | None = None
    reason: str | None = None


class DatedActionSchema(CommandSchema):
    command = DatedAction
    on = fields.Date()
    reason = fields.String(validate=validate.Length(max=500))
