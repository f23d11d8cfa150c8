"""Handlers for bureaus, rules, branches, party groups and members' own records."""

from __future__ import annotations

import uuid
from datetime import date

from shared.envelope import start_of_day
from shared.errors import ConcurrencyError, Conflict
from shared.unit_of_work import DuplicateRecord, UnitOfWork
from services.members import commands as c
from services.members.domain import branch as branches, bureau as bureaus, member as members
from services.members.domain.bureau import evolve_bureau
from services.members.handlers import (
    branch_stream, bureau_stream, created, load_branch, load_bureau, load_member, member_stream, today)


def register_bureau(uow: UnitOfWork, command: c.RegisterBureau, bureau_id: str) -> dict:
    taken = uow.queries.bureau_by_code(command.code)
    if taken:
        raise BureauCodeTaken(command.code, taken)
    stream = bureau_stream(bureau_id)
    state, version = uow.load(stream, evolve_bureau, None)
    events = bureaus.register_bureau(bureau_id, state, command.name, command.code, today(uow))
    try:
        with uow.savepoint():  # after a code taken meanwhile, the transaction can still look it up
            recorded = uow.record(stream, version, events, tenant_id=bureau_id)
    except DuplicateRecord:  # a concurrent registration took the code first
        raise BureauCodeTaken(command.code, uow.queries.bureau_by_code(command.code)) from None
    return {"id": bureau_id, "version": recorded[-1].stream_version}


class BureauCodeTaken(Conflict):
    """A second bureau with a code already in use: the answer names the bureau that has it."""

    code = "bureau_code_taken"

    def __init__(self, code: str, existing: dict | None) -> None:
        self.existing = existing
        who = f"“{existing['name']}”（id {existing['bureau_id']}）" if existing else "另一个局"
        super().__init__(f"代码“{code}”已被{who}使用", fields={"code": ["已被使用"]})

    def to_body(self) -> dict:
        body = super().to_body()
        if self.existing:
            body["error"]["existing_id"] = self.existing["bureau_id"]
        return body


def publish_rules(uow: UnitOfWork, bureau_id: str, command: c.PublishRules, amend: bool = False) -> dict:
    bureau, version = load_bureau(uow, bureau_id)
    events = bureaus.publish_rules(bureau, command.rules, command.effective_from, amend)
    recorded = uow.record(bureau_stream(bureau_id), version, events, occurred_at=start_of_day(command.effective_from))
    return {"id": bureau_id, "version": recorded[-1].stream_version, "rules_version": events[0].rules_version}


def establish_branch(uow: UnitOfWork, command: c.EstablishBranch) -> dict:
    branch_id = str(uuid.uuid4())
    events = branches.establish_branch(branch_id, command.name, command.established_on, today(uow))
    return created(uow.record(branch_stream(branch_id), 0, events, branch_id=branch_id,
                              occurred_at=start_of_day(events[0].established_on)))


def form_party_group(uow: UnitOfWork, branch_id: str, command: c.FormPartyGroup) -> dict:
    branch, version = load_branch(uow, branch_id)
    group_id = str(uuid.uuid4())
    recorded = uow.record(branch_stream(branch_id), version, branches.form_party_group(branch, group_id, command.name),
                          branch_id=branch_id)
    return {"id": group_id, "version": recorded[-1].stream_version}


def close_branch(uow: UnitOfWork, branch_id: str, command: c.CloseBranch) -> dict:
    branch, version = load_branch(uow, branch_id)
    count = len(uow.queries.roster(branch_id, command.closed_on))
    events = branches.close_branch(branch, command.closed_on, command.reason, count, today(uow))
    recorded = uow.record(branch_stream(branch_id), version, events, branch_id=branch_id,
                          occurred_at=start_of_day(command.closed_on))
    return {"id": branch_id, "version": recorded[-1].stream_version}


def merge_branch(uow: UnitOfWork, branch_id: str, command: c.MergeBranch) -> dict:
    """Close the branch into another and move every member, all in this one transaction."""
    branch, version = load_branch(uow, branch_id)
    target, _ = load_branch(uow, command.into_branch_id, field="into_branch_id")
    current = [load_member(uow, row["member_id"]) for row in uow.queries.current_members(branch_id, lock=True)]
    closed, moves = branches.merge_branch(branch, target, command.merged_on,
                                          {member.member_id: member.since for member, _ in current}, today(uow))
    for member, member_version in current:
        uow.record(member_stream(member.member_id), member_version, moves[member.member_id],
                   branch_id=target.branch_id, occurred_at=start_of_day(command.merged_on))
    recorded = uow.record(branch_stream(branch_id), version, closed, branch_id=branch_id,
                          occurred_at=start_of_day(command.merged_on))
    return {"id": branch_id, "version": recorded[-1].stream_version, "moved": sorted(moves)}


def register_member(uow: UnitOfWork, command: c.RegisterMember) -> dict:
    branch, _ = load_branch(uow, command.branch_id)
    existing = uow.queries.same_person(command.name, command.birth_date)
    member_id = str(uuid.uuid4())
    details = {k: v for k, v in command.__dict__.items() if k != "branch_id"}
    events = members.register_member(member_id, branch, details, today(uow), existing)
    try:
        return created(uow.record(member_stream(member_id), 0, events, branch_id=command.branch_id,
                                  occurred_at=start_of_day(events[0].joined_on)))
    except DuplicateRecord:
        raise Conflict("这个人刚刚已被另一个请求登记",
                       code="member_already_registered", fields={"name": ["已经登记"]}) from None


def change_member(uow: UnitOfWork, member_id: str, expected_version: int | None, decide,
                  occurred_on: date | None = None) -> dict:
    """Load a member, check the caller's version (If-Match), apply one decision, record it."""
    member, version = load_member(uow, member_id)
    if expected_version is not None and expected_version != version:
        raise ConcurrencyError(member_stream(member_id), expected_version, version)
    events = decide(member)
    if not events:
        return {"id": member_id, "version": version}
    recorded = uow.record(member_stream(member_id), version, events, branch_id=member.branch_id,
                          occurred_at=start_of_day(occurred_on) if occurred_on else None)
    return {"id": member_id, "version": recorded[-1].stream_version}


def update_profile(uow: UnitOfWork, member_id: str, version: int, changes: dict) -> dict:
    return change_member(uow, member_id, version, lambda m: members.update_profile(m, changes, today(uow)))


def change_health(uow: UnitOfWork, member_id: str, version: int | None, command: c.ChangeHealth) -> dict:
    return change_member(uow, member_id, version, lambda m: members.change_health(
        m, command.health, command.mobility, command.changed_on, today(uow)), command.changed_on)


def record_death(uow: UnitOfWork, member_id: str, version: int | None, command: c.RecordDeath) -> dict:
    return change_member(uow, member_id, version, lambda m: members.record_death(m, command.died_on, today(uow)),
                         command.died_on)


def remove_from_party(uow: UnitOfWork, member_id: str, version: int | None, command: c.RemoveFromParty) -> dict:
    return change_member(uow, member_id, version, lambda m: members.remove_from_party(
        m, command.left_on, command.decision, today(uow)), command.left_on)


def assign_group(uow: UnitOfWork, member_id: str, version: int | None, command: c.AssignGroup) -> dict:
    def decide(member):
        branch, _ = load_branch(uow, member.branch_id)
        return members.assign_group(member, branch, command.group_id, command.assigned_on or today(uow), today(uow))
    return change_member(uow, member_id, version, decide, command.assigned_on)
