"""Handlers for elections, posts and the secretary's allowance (the branch's committee stream)."""

from __future__ import annotations

import uuid

from shared.envelope import start_of_day
from shared.unit_of_work import UnitOfWork
from services.members import commands as c
from services.members.domain import committee as rules
from services.members.domain.branch import require_open
from services.members.handlers import committee_stream, load_branch, load_committee, rules_in_force, today


def hold_election(uow: UnitOfWork, branch_id: str, command: c.HoldElection) -> dict:
    branch, _ = load_branch(uow, branch_id)
    require_open(branch)
    committee, version = load_committee(uow, branch_id)
    branch_members = uow.queries.full_member_ids(branch_id, command.held_on)
    term_years = rules_in_force(uow, command.held_on)["term_years"]
    ballot = rules.Ballot(command.eligible_voters, command.attendees, command.seats, command.candidates,
                          command.excused)
    election_id, term_id = str(uuid.uuid4()), str(uuid.uuid4())
    events = rules.elect(committee, branch_id, election_id, term_id, ballot, command.posts, command.held_on,
                         branch_members, term_years, command.approval_reference, today(uow))
    recorded = uow.record(committee_stream(branch_id), version, events, branch_id=branch_id,
                          occurred_at=start_of_day(command.held_on))
    return {"id": election_id, "term_id": term_id, "elected": events[0].elected,
            "eligible_voters": events[0].eligible_voters, "vacant_seats": events[0].vacant_seats,
            "version": recorded[-1].stream_version}


def fill_post(uow: UnitOfWork, branch_id: str, command: c.FillPost) -> dict:
    committee, version = _committee(uow, branch_id)
    branch_members = uow.queries.full_member_ids(branch_id, command.filled_on)
    events = rules.fill_post(committee, command.post, command.member_id, command.person_name, command.unit,
                             command.filled_on, branch_members, today(uow))
    return _recorded(uow, branch_id, version, events, command.filled_on)


def vacate_post(uow: UnitOfWork, branch_id: str, command: c.VacatePost) -> dict:
    committee, version = _committee(uow, branch_id)
    events = rules.vacate_post(committee, command.post, command.member_id, command.vacated_on, command.reason,
                               today(uow))
    return _recorded(uow, branch_id, version, events, command.vacated_on)


def pay_allowance(uow: UnitOfWork, branch_id: str, command: c.PayAllowance) -> dict:
    committee, version = _committee(uow, branch_id)
    events = rules.pay_allowance(committee, command.member_id, command.month, command.amount,
                                 rules_in_force(uow, today(uow)), today(uow))
    return _recorded(uow, branch_id, version, events, None)


def _committee(uow: UnitOfWork, branch_id: str):
    load_branch(uow, branch_id)
    committee, version = load_committee(uow, branch_id)
    return committee or rules.Committee(branch_id), version


def _recorded(uow: UnitOfWork, branch_id: str, version: int, events: list, day) -> dict:
    recorded = uow.record(committee_stream(branch_id), version, events, branch_id=branch_id,
                          occurred_at=start_of_day(day) if day else None)
    return {"id": branch_id, "version": recorded[-1].stream_version}
