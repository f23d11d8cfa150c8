"""What every activities endpoint shares: who may write or read a branch, response schemas, If-Match."""

from __future__ import annotations

from datetime import date

from flask import request
from marshmallow import Schema, fields

from contracts.rulebook.calendar import validate_year
from shared.auth import Principal
from shared.errors import Forbidden, NotFound, RequestInvalid
from shared.web import current_principal, read_transaction, runtime
from contracts.rulebook.calendar import local_date
from services.activities import queries


def writer() -> Principal:
    """The caller, if they may record branch work: the bureau's admin or a secretary."""
    principal = current_principal()
    principal.require_role("bureau_admin", "secretary")
    if principal.tenant is None:
        raise Forbidden("需要某个局的令牌")
    return principal


def reader() -> Principal:
    """The caller, if they may read branch work: admin, auditor, or a secretary (for their branches)."""
    principal = current_principal()
    principal.require_role("bureau_admin", "auditor", "secretary")
    if principal.tenant is None:
        raise Forbidden("需要某个局的令牌")
    return principal


def may_read_branch(principal: Principal, branch_id: str) -> bool:
    return principal.has_role("bureau_admin", "auditor") or branch_id in principal.branches


def require_branch_reader(principal: Principal, branch_id: str) -> None:
    if not may_read_branch(principal, branch_id):
        raise Forbidden("支部书记只能查看本支部的记录")


def readable_branches(principal: Principal) -> list[str] | None:
    """None: every branch of the bureau; else the secretary's branches."""
    return None if principal.has_role("bureau_admin", "auditor") else sorted(principal.branches)


def require_known_branch(principal: Principal, branch_id: str) -> None:
    """404 unless the roster knows the branch in the caller's bureau."""
    with read_transaction(principal.tenant) as conn:
        known = queries.known_branch(conn, branch_id)
    if not known:
        raise NotFound("本局没有这个支部", fields={"branch_id": ["不存在"]})


def bureau_today() -> date:
    """Today in the bureaus' time zone, from the service's clock."""
    return local_date(runtime().clock())


def branch_reader(branch_id) -> tuple[Principal, str]:
    """The caller and the branch id, if the caller may read this branch and the roster knows it."""
    principal = reader()
    require_branch_reader(principal, str(branch_id))
    require_known_branch(principal, str(branch_id))
    return principal, str(branch_id)


def if_match(required: bool) -> int | None:
    """The stream version the client last saw, from ``If-Match`` (``"3"``, ``3`` or ``W/"3"``)."""
    header = request.headers.get("If-Match")
    if header is None:
        if required:
            raise RequestInvalid("更正时请在 If-Match 中发送所更正记录的版本号",
                                 fields={"If-Match": ["必须填写：这条活动记录的版本号（ETag）"]})
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise RequestInvalid("If-Match 须为版本号", fields={"If-Match": ["不是版本号"]})
    return int(text)


class RecordedSchema(Schema):
    """The answer to a command: the record's id and version, and what the platform flagged on it."""
    id = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String()
    late = fields.Boolean()
    late_reasons = fields.List(fields.String())
    invited = fields.List(fields.String(), metadata={"description": "attendees who sat in on a body they do not"
                                                                    " belong to (列席)"})
    quorate = fields.Boolean()
    voting_members = fields.Integer()
    voting_present = fields.Integer()
    holiday = fields.String()
    holiday_date = fields.String()


class LateFlagsSchema(Schema):
    """A record's late flags: its date in a closed period, or entered too long after it happened."""
    late = fields.Boolean()
    late_reasons = fields.List(fields.String())


class YearQuerySchema(Schema):
    year = fields.Integer(validate=validate_year)
