"""Branches: establishment, party groups, closure, and the merger that moves every member at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from contracts.members import BranchClosed, BranchEstablished, MemberMoved, PartyGroupFormed
from services.members.domain import refuse, require_not_future


@dataclass(frozen=True)
class Branch:
    branch_id: str
    name: str
    established_on: date
    closed_on: date | None = None
    groups: dict = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.closed_on is None


def establish_branch(branch_id: str, name: str, established_on: date | None, today: date) -> list:
    established_on = established_on or today
    require_not_future(established_on, "established_on", today)
    return [BranchEstablished(branch_id=branch_id, name=name, established_on=established_on)]


def form_party_group(branch: Branch, group_id: str, name: str) -> list:
    require_open(branch)
    if name in branch.groups.values():
        raise refuse("本支部已经有同名的党小组", "group_exists", "name")
    return [PartyGroupFormed(branch_id=branch.branch_id, group_id=group_id, name=name)]


def close_branch(branch: Branch, closed_on: date, reason: str, member_count: int, today: date) -> list:
    """Close an empty branch; a branch with members is merged instead, so that no one is lost."""
    require_open(branch)
    require_not_future(closed_on, "closed_on", today)
    if member_count:
        raise refuse(f"支部还有 {member_count} 名党员：请把支部合并到另一个支部",
                     "branch_has_members")
    return [BranchClosed(branch_id=branch.branch_id, closed_on=closed_on, reason=reason)]


def merge_branch(branch: Branch, target: Branch, merged_on: date, members_since: dict[str, date],
                 today: date) -> tuple[list, dict]:
    """Close ``branch`` into ``target``: one BranchClosed, and a MemberMoved for every current member.

    ``members_since``: each current member and the day they came to the branch; a merger dated before
    someone arrived would move them out before they were in, so it is refused.
    """
    require_open(branch)
    require_open(target, field="into_branch_id")
    require_not_future(merged_on, "merged_on", today)
    if branch.branch_id == target.branch_id:
        raise refuse("支部不能合并到它自己", "same_branch", "into_branch_id")
    if merged_on < target.established_on:
        raise refuse("那一天要并入的支部还没有成立", "target_not_established", "merged_on")
    late = sorted(member for member, since in members_since.items() if since > merged_on)
    if late:
        raise refuse(f"有 {len(late)} 名党员是那一天以后才转入本支部的：{'、'.join(late)}",
                     "before_current_branch", "merged_on")
    moves = {member_id: [MemberMoved(member_id=member_id, from_branch_id=branch.branch_id,
                                     to_branch_id=target.branch_id, moved_on=merged_on, reason="merger")]
             for member_id in sorted(members_since)}
    closed = [BranchClosed(branch_id=branch.branch_id, closed_on=merged_on, reason="merger",
                           merged_into=target.branch_id)]
    return closed, moves


def require_open(branch: Branch, field: str = "branch_id") -> None:
    if not branch.open:
        raise refuse("支部已经撤销", "branch_closed", field)


def evolve_branch(state: Branch | None, event) -> Branch | None:
    if isinstance(event, BranchEstablished):
        return Branch(event.branch_id, event.name, event.established_on)
    if isinstance(event, PartyGroupFormed):
        return Branch(state.branch_id, state.name, state.established_on, state.closed_on,
                      {**state.groups, event.group_id: event.name})
    if isinstance(event, BranchClosed):
        return Branch(state.branch_id, state.name, state.established_on, event.closed_on, state.groups)
    return state
