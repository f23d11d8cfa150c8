"""The local roster, pure: where each member stood on a date, folded from the register's facts.

Facts come from the members service's events in whatever order they arrived; folding sorts them
by date, then by kind (joining before moving before leaving), then by stream order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from collections.abc import Iterable, Mapping

from contracts.rulebook import people
from contracts.rulebook.people import HealthRecord, PostRecord

PLACEMENT_RANK = {"joined": 0, "moved": 1, "transferred_out": 2, "died": 2, "left_party": 2}
DEPARTURES = ("transferred_out", "died", "left_party")

# Why someone is not a member of a branch on a date: the reason code of the refusal.
NOT_A_MEMBER_CODES = {
    "unknown": "unknown_member",
    "not_yet_joined": "member_not_yet_joined",
    "died": "member_deceased",
    "transferred_out": "member_transferred_out",
    "left_party": "member_left_party",
    "branch_closed": "member_branch_closed",
    "other_branch": "member_of_another_branch",
}


@dataclass(frozen=True)
class Placement:
    """From ``effective_on`` the member is in ``branch_id`` (joined, moved) or out of the register."""

    kind: str
    effective_on: date
    branch_id: str | None = None
    seq: int = 0

    @property
    def sort_key(self) -> tuple:
        return self.effective_on, PLACEMENT_RANK[self.kind], self.seq


@dataclass(frozen=True)
class GroupAssignment:
    """From ``assigned_on`` the member is in party group ``group_id`` of ``branch_id`` (None: in no group).

    ``assigned_on`` is when the register recorded it (the members event carries no date of its own);
    None for assignments received before the date was kept.
    """

    group_id: str | None
    branch_id: str
    assigned_on: date | None = None
    seq: int = 0


@dataclass(frozen=True)
class BranchRecord:
    branch_id: str
    name: str | None = None
    established_on: date | None = None
    closed_on: date | None = None
    merged_into: str | None = None


@dataclass(frozen=True)
class RosterMember:
    member_id: str
    name: str
    birth_date: date
    party_member: bool
    placements: tuple[Placement, ...] = ()
    health: tuple[HealthRecord, ...] = ()
    posts: tuple[PostRecord, ...] = ()
    term_ends: Mapping[str, date] = field(default_factory=dict)
    groups: tuple[GroupAssignment, ...] = ()
    retirement_kind: str = "retired"
    party_join_date: date | None = None


@dataclass(frozen=True)
class Standing:
    """Where a member stood on a day: ``status`` is ``member`` (of ``branch_id``) or why not."""

    status: str
    branch_id: str | None = None
    since: date | None = None

    @property
    def is_member(self) -> bool:
        return self.status == "member"


@dataclass(frozen=True)
class Roster:
    """The part of the register a decision needs: members by id, every branch and party group of the bureau.

    ``party_groups`` maps each group's id to its branch's id.
    """

    members: Mapping[str, RosterMember]
    branches: Mapping[str, BranchRecord]
    party_groups: Mapping[str, str] = field(default_factory=dict)

    def standing(self, member_id: str, day: date) -> Standing:
        member = self.members.get(member_id)
        if member is None:
            return Standing("unknown")
        current = None
        for placement in sorted(member.placements, key=lambda p: p.sort_key):
            if placement.effective_on > day:
                break
            current = placement
        if current is None:
            return Standing("not_yet_joined")
        if current.kind in DEPARTURES:
            return Standing(current.kind, since=current.effective_on)
        return self._through_closures(current.branch_id, current.effective_on, day)

    def _through_closures(self, branch_id: str, since: date, day: date) -> Standing:
        """A closed branch's members belong to the branch it merged into (a chain of mergers too)."""
        seen = set()
        while branch_id not in seen:
            seen.add(branch_id)
            branch = self.branches.get(branch_id)
            if branch is None or branch.closed_on is None or branch.closed_on > day:
                return Standing("member", branch_id, since)
            if branch.merged_into is None:
                return Standing("branch_closed", branch_id, branch.closed_on)
            branch_id, since = branch.merged_into, branch.closed_on
        return Standing("branch_closed", branch_id, since)

    def is_member_of(self, member_id: str, branch_id: str, day: date) -> bool:
        standing = self.standing(member_id, day)
        return standing.is_member and standing.branch_id == branch_id

    def why_not_member(self, member_id: str, branch_id: str, day: date) -> str | None:
        """None if a member of ``branch_id`` on ``day``; else the reason code."""
        standing = self.standing(member_id, day)
        if standing.is_member:
            return None if standing.branch_id == branch_id else NOT_A_MEMBER_CODES["other_branch"]
        return NOT_A_MEMBER_CODES[standing.status]

    def members_on(self, branch_id: str, day: date) -> list[RosterMember]:
        return [m for m in self.members.values() if self.is_member_of(m.member_id, branch_id, day)]

    def post_holders_on(self, branch_id: str, day: date) -> set[str]:
        """Members of the branch who held a committee post (secretary, deputy, member) on ``day``."""
        return {m.member_id for m in self.members_on(branch_id, day) if post_on(m, day, branch_id)}

    def group_members_on(self, group_id: str, day: date) -> set[str]:
        """Members of the group's branch who were in party group ``group_id`` on ``day``."""
        branch_id = self.party_groups.get(group_id)
        return {m.member_id for m in self.members_on(branch_id, day) if group_on(m, day, branch_id) == group_id}

    def groups_of(self, branch_id: str) -> list[str]:
        return sorted(g for g, b in self.party_groups.items() if b == branch_id)

    def branch_ids_in(self, member_id: str, start: date, end: date) -> set[str]:
        """Every branch the member belonged to on some day between ``start`` and ``end``."""
        placements = self.members[member_id].placements
        days = {start, end} | {p.effective_on for p in placements if start <= p.effective_on <= end}
        days |= {b.closed_on for b in self.branches.values() if b.closed_on and start <= b.closed_on <= end}
        found = set()
        for day in days:
            standing = self.standing(member_id, day)
            if standing.is_member:
                found.add(standing.branch_id)
        return found

    def branch_open_on(self, branch_id: str, day: date) -> str | None:
        """None if the branch exists and is open on ``day``; else the reason code."""
        branch = self.branches.get(branch_id)
        if branch is None or branch.name is None:
            return "unknown_branch"
        if branch.established_on and day < branch.established_on:
            return "branch_not_yet_established"
        if branch.closed_on and day >= branch.closed_on:
            return "branch_closed"
        return None


def health_on(member: RosterMember, day: date) -> HealthRecord | None:
    """The member's health and mobility on ``day``, read as the rulebook reads it."""
    return people.health_on(member.health, day)


def held_post_between(member: RosterMember, start: date, end: date, branch_id: str | None = None) -> bool:
    return people.held_post_between(member.posts, member.term_ends, start, end, branch_id)


def post_on(member: RosterMember, day: date, branch_id: str | None = None) -> str | None:
    return people.post_on(member.posts, member.term_ends, day, branch_id)


def group_on(member: RosterMember, day: date, branch_id: str) -> str | None:
    """The member's party group in ``branch_id`` on ``day``: the last assignment on or before it.

    Before the first assignment the register recorded, the first one is taken to hold (groups are
    often entered after the work they cover); an assignment made in another branch does not count.
    """
    ordered = sorted(member.groups, key=lambda g: (g.assigned_on or date.min, g.seq))
    known = [g for g in ordered if (g.assigned_on or date.min) <= day] or ordered[:1]
    if not known or known[-1].branch_id != branch_id:
        return None
    return known[-1].group_id


def departure_in(member: RosterMember, start: date, end: date) -> Placement | None:
    """The member's departure from the register (death, transfer out, leaving) within [start, end]."""
    for placement in sorted(member.placements, key=lambda p: p.sort_key):
        if placement.kind in DEPARTURES and start <= placement.effective_on <= end:
            return placement
    return None


def roster_of(members: Iterable[RosterMember], branches: Iterable[BranchRecord],
              party_groups: Mapping[str, str] | None = None) -> Roster:
    return Roster({m.member_id: m for m in members}, {b.branch_id: b for b in branches}, dict(party_groups or {}))
