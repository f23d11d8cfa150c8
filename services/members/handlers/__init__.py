"""Command handlers: load the streams a decision needs, let the domain decide, record the events.

Each handler takes a unit of work (one transaction, scoped to the caller's bureau) and a command,
and returns the response body. Stream names live here so every handler spells them the same way.
"""

from __future__ import annotations

from datetime import date

from contracts.rulebook.calendar import local_date
from shared.errors import NotFound
from shared.unit_of_work import UnitOfWork
from services.members.domain.branch import evolve_branch
from services.members.domain.bureau import Bureau, evolve_bureau
from services.members.domain.committee import evolve_committee
from services.members.domain.member import evolve_member
from services.members.domain.transfer import evolve_incoming


def bureau_stream(bureau_id: str) -> str:
    return f"bureau-{bureau_id}"


def branch_stream(branch_id: str) -> str:
    return f"branch-{branch_id}"


def member_stream(member_id: str) -> str:
    return f"member-{member_id}"


def committee_stream(branch_id: str) -> str:
    return f"committee-{branch_id}"


def incoming_stream(transfer_id: str) -> str:
    return f"incoming-transfer-{transfer_id}"


def today(uow: UnitOfWork) -> date:
    """The bureau's local day the command is recorded on."""
    return local_date(uow.context.recorded_at)


def load_bureau(uow: UnitOfWork, bureau_id: str) -> tuple[Bureau, int]:
    return _required(uow, bureau_stream(bureau_id), evolve_bureau, "bureau_id", "bureau")


def load_branch(uow: UnitOfWork, branch_id: str, field: str = "branch_id"):
    return _required(uow, branch_stream(branch_id), evolve_branch, field, "branch")


def load_member(uow: UnitOfWork, member_id: str, field: str = "member_id"):
    return _required(uow, member_stream(member_id), evolve_member, field, "member")


def load_committee(uow: UnitOfWork, branch_id: str):
    return uow.load(committee_stream(branch_id), evolve_committee, None)


def load_incoming(uow: UnitOfWork, transfer_id: str):
    return _required(uow, incoming_stream(transfer_id), evolve_incoming, "transfer_id", "transfer")


WHAT = {"bureau": "局", "branch": "支部", "member": "党员", "transfer": "介绍信"}


def _required(uow: UnitOfWork, stream: str, evolve, field: str, what: str):
    state, version = uow.load(stream, evolve, None)
    if state is None:
        raise NotFound(f"本局没有这个{WHAT.get(what, what)}", fields={field: ["不存在"]})
    return state, version


def created(recorded) -> dict:
    """The response to a command that created something: its id and the stream's new version."""
    last = recorded[-1]
    return {"id": last.stream_id.split("-", 1)[1], "version": last.stream_version}


def rules_in_force(uow: UnitOfWork, day: date) -> dict:
    bureau, _ = load_bureau(uow, uow.context.tenant_id)
    return bureau.rules_on(day)
