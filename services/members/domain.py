"""The members service's rules, pure: ``decide(state, command, …) -> events`` and ``evolve(state, event)``.

No I/O and no clock: today's date is passed in by the handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.errors import DomainError
from services.members.commands import EstablishBranch, RegisterBureau, RegisterMember
from services.members.events import BranchEstablished, BureauRegistered, MemberRegistered


class MembersRuleBroken(DomainError):
    """A rule of the member register forbids this."""


@dataclass(frozen=True)
class Bureau:
    bureau_id: str
    name: str
    code: str


@dataclass(frozen=True)
class Branch:
    branch_id: str
    name: str
    established_on: date
    open: bool = True


@dataclass(frozen=True)
class Member:
    member_id: str
    branch_id: str
    name: str
    birth_date: date
    party_member: bool
    retirement_kind: str
    health: str
    mobility: str
    joined_on: date


def register_bureau(bureau_id: str, existing: Bureau | None, command: RegisterBureau) -> list:
    if existing is not None:
        raise MembersRuleBroken("this bureau is already registered", code="bureau_exists")
    return [BureauRegistered(bureau_id=bureau_id, name=command.name, code=command.code)]


def establish_branch(branch_id: str, existing: Branch | None, command: EstablishBranch, today: date) -> list:
    if existing is not None:
        raise MembersRuleBroken("this branch already exists", code="branch_exists")
    established_on = command.established_on or today
    if established_on > today:
        raise MembersRuleBroken("a branch cannot be established in the future", field="established_on",
                                code="date_in_future")
    return [BranchEstablished(branch_id=branch_id, name=command.name, established_on=established_on)]


def register_member(member_id: str, existing: Member | None, branch: Branch, command: RegisterMember,
                    today: date) -> list:
    """A new member of an open branch, with dates that can have happened."""
    if existing is not None:
        raise MembersRuleBroken("this member is already registered", code="member_exists")
    if not branch.open:
        raise MembersRuleBroken("the branch is closed", field="branch_id", code="branch_closed")
    joined_on = command.joined_on or today
    _require_past(command.birth_date, "birth_date", today)
    _require_past(joined_on, "joined_on", today)
    if joined_on < branch.established_on:
        raise MembersRuleBroken("a member cannot join a branch before it was established", field="joined_on",
                                code="joined_before_branch")
    _check_party_dates(command, today)
    return [MemberRegistered(
        member_id=member_id, branch_id=command.branch_id, name=command.name, gender=command.gender,
        birth_date=command.birth_date, party_member=command.party_member, party_join_date=command.party_join_date,
        retirement_kind=command.retirement_kind, pension_base=command.pension_base, health=command.health,
        mobility=command.mobility, phone=command.phone, address=command.address, joined_on=joined_on)]


def _check_party_dates(command: RegisterMember, today: date) -> None:
    if command.party_member and command.party_join_date is None:
        raise MembersRuleBroken("a Party member needs the date they joined the Party", field="party_join_date",
                                code="party_join_date_required")
    if command.party_join_date is not None:
        _require_past(command.party_join_date, "party_join_date", today)
        if command.party_join_date <= command.birth_date:
            raise MembersRuleBroken("the Party join date must be after the birth date", field="party_join_date",
                                    code="party_join_before_birth")


def _require_past(day: date, field: str, today: date) -> None:
    if day > today:
        raise MembersRuleBroken(f"{field} cannot be in the future", field=field, code="date_in_future")


def evolve_bureau(state: Bureau | None, event) -> Bureau | None:
    if isinstance(event, BureauRegistered):
        return Bureau(event.bureau_id, event.name, event.code)
    return state


def evolve_branch(state: Branch | None, event) -> Branch | None:
    if isinstance(event, BranchEstablished):
        return Branch(event.branch_id, event.name, event.established_on)
    return state


def evolve_member(state: Member | None, event) -> Member | None:
    if isinstance(event, MemberRegistered):
        return Member(event.member_id, event.branch_id, event.name, event.birth_date, event.party_member,
                      event.retirement_kind, event.health, event.mobility, event.joined_on)
    return state
