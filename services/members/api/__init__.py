"""HTTP API of the members service: parse, authorise, call a handler, shape the response.

One module per resource; this package lists their blueprints for the app factory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import request

from contracts.rulebook.calendar import local_date

from shared.errors import NotFound, PreconditionRequired, RequestInvalid
from shared.web import current_principal, read_transaction, runtime
from services.members import queries


def bureau_today() -> date:
    """Today in the bureaus' time zone, from the service's clock."""
    return local_date(runtime().clock())


def if_match(required: bool = False) -> int | None:
    """The stream version the caller last saw, from ``If-Match`` (``3`` or ``"3"``); 428 when required."""
    raw = request.headers.get("If-Match")
    if raw is None:
        if required:
            raise PreconditionRequired(fields={"If-Match": ["必须填写：读取时的版本号"]})
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise RequestInvalid("If-Match 须为版本号", fields={"If-Match": ["不是版本号"]}) from None


def one(query: Callable[..., dict | None], *args) -> dict:
    """The row a named query finds in the caller's bureau; another bureau's row is as absent as a missing one."""
    with read_transaction(current_principal().tenant) as conn:
        row = query(conn, *args)
    if row is None:
        raise NotFound()
    return row


def branch_of_member(member_id: str) -> str:
    return one(queries.member, str(member_id))["branch_id"]


def writer_of_branch(branch_id) -> str:
    """Authorise a write in a branch (its secretary or the bureau's admin); return the caller's tenant."""
    principal = current_principal()
    principal.require_branch_writer(str(branch_id))
    # A branch of another bureau is as absent for a write as for a read: 404, never a write into nowhere.
    one(queries.branch, str(branch_id))
    return principal.tenant


def writer_of_member(member_id) -> str:
    """Authorise a write about a member (their branch's secretary or the bureau's admin); return the tenant.

    The member and their branch are read in one transaction (this runs before every command about a member).
    """
    principal = current_principal()
    with read_transaction(principal.tenant) as conn:
        member = queries.member(conn, str(member_id))
        branch = member and queries.branch(conn, member["branch_id"])
    if member is None:
        raise NotFound()
    principal.require_branch_writer(str(member["branch_id"]))
    if branch is None:
        raise NotFound()
    return principal.tenant
