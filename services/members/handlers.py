"""Command handlers: load the streams a decision needs, let the domain decide, record the events."""

from __future__ import annotations

import uuid

import psycopg

from shared.envelope import start_of_day
from shared.errors import Conflict, NotFound
from shared.unit_of_work import UnitOfWork
from services.members import domain
from services.members.commands import EstablishBranch, RegisterBureau, RegisterMember


def bureau_stream(bureau_id: str) -> str:
    return f"bureau-{bureau_id}"


def branch_stream(branch_id: str) -> str:
    return f"branch-{branch_id}"


def member_stream(member_id: str) -> str:
    return f"member-{member_id}"


def register_bureau(uow: UnitOfWork, command: RegisterBureau, bureau_id: str) -> dict:
    stream = bureau_stream(bureau_id)
    state, version = uow.load(stream, domain.evolve_bureau, None)
    events = domain.register_bureau(bureau_id, state, command)
    try:
        recorded = uow.record(stream, version, events, tenant_id=bureau_id)
    except psycopg.errors.UniqueViolation:
        raise Conflict("a bureau with this code exists", code="bureau_code_taken",
                       fields={"code": ["already taken"]}) from None
    return {"id": bureau_id, "version": recorded[-1].stream_version}


def establish_branch(uow: UnitOfWork, command: EstablishBranch) -> dict:
    branch_id = str(uuid.uuid4())
    today = uow.context.recorded_at.date()
    events = domain.establish_branch(branch_id, None, command, today)
    recorded = uow.record(branch_stream(branch_id), 0, events, branch_id=branch_id,
                          occurred_at=start_of_day(events[0].established_on))
    return {"id": branch_id, "version": recorded[-1].stream_version}


def register_member(uow: UnitOfWork, command: RegisterMember) -> dict:
    branch, _ = uow.load(branch_stream(command.branch_id), domain.evolve_branch, None)
    if branch is None:
        raise NotFound("no such branch in your bureau", fields={"branch_id": ["unknown branch"]})
    member_id = str(uuid.uuid4())
    events = domain.register_member(member_id, None, branch, command, uow.context.recorded_at.date())
    recorded = uow.record(member_stream(member_id), 0, events, branch_id=command.branch_id,
                          occurred_at=start_of_day(events[0].joined_on))
    return {"id": member_id, "version": recorded[-1].stream_version}
