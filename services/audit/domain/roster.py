"""Who was in the register, in which branch and in what state, on a given day — folded from facts."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import date

from contracts.rulebook import people
from contracts.rulebook.dues import Stay

# How a change of branch ends the stay before it (None: it does not; a move hands the branch over).
ENDINGS = {"transferred_out": "transferred_out", "died": "died"}


@dataclass(frozen=True)
class MemberState:
    member_id: str
    name: str
    gender: str
    birth_date: date
    party_member: bool
    party_join_date: date | None
    retirement_kind: str
    health: str
    mobility: str
    joined_on: date
    branch_id: str | None
    group_id: str | None = None
    left_reason: str | None = None
    events: tuple[str, ...] = field(default=())

    @property
    def retiree(self) -> bool:
        """Due care, as the rulebook says (the retired cadres)."""
        return people.due_care(self.retirement_kind)

    def full_member(self, day: date) -> bool:
        return people.is_full_member(self.party_member, self.party_join_date, day)

    def brief(self) -> dict:
        return {"member_id": self.member_id, "name": self.name}


class Register:
    """The members of one bureau with their changes, answering questions about any day."""

    def __init__(self, members: list[dict], changes: list[dict]) -> None:
        self.members = {row["member_id"]: row for row in members}
        self.changes: dict[str, list[dict]] = {}
        self._in_branch: dict[tuple[str, date], list[MemberState]] = {}
        self._everyone: dict[date, list[MemberState]] = {}
        self._ever_in: dict[str, list[str]] | None = None
        self._stays: dict[str, list[Stay]] = {}
        self._states: dict[tuple[str, int], MemberState] = {}
        for row in sorted(changes, key=lambda r: (r["effective_on"], r["stream_version"] or 0)):
            self.changes.setdefault(row["member_id"], []).append(row)
        # the days a member's changes take effect, in order: their state on a day is the one after those up to it
        self._days: dict[str, list[date]] = {member_id: [change["effective_on"] for change in mine]
                                             for member_id, mine in self.changes.items()}

    def state(self, member_id: str, day: date) -> MemberState | None:
        """The member as on ``day``; None before they joined the register (or if unknown). Worked out once per
        member and number of changes in force: a card asks it of each member on several days, in several
        sections, a roll-up of a hundred cards — and a member is the same on every day between two changes."""
        row = self.members.get(member_id)
        if row is None or row["joined_on"] > day:
            return None
        days = self._days.get(member_id)
        key = (member_id, bisect_right(days, day) if days else 0)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = self._state(row, key[1])
        return state

    def _state(self, row: dict, changes: int) -> MemberState:
        """The member's row with their first ``changes`` changes applied."""
        member_id = row["member_id"]
        state = MemberState(member_id, row["name"], row["gender"], row["birth_date"], bool(row["party_member"]),
                            row["party_join_date"], row["retirement_kind"], row["health"], row["mobility"],
                            row["joined_on"], row["branch_id"], events=(str(row["event_id"]),))
        for change in self.changes.get(member_id, [])[:changes]:
            state = _evolve(state, change)
        return state

    def in_branch(self, branch_id: str, day: date) -> list[MemberState]:
        """The branch's members on ``day``, by name. Only those ever in the branch are looked at: a member is
        in it on a day only within one of their stays there."""
        key = (branch_id, day)
        if key not in self._in_branch:
            found = (self.state(member_id, day) for member_id in self.ever_in(branch_id))
            self._in_branch[key] = sorted((s for s in found if s is not None and s.branch_id == branch_id),
                                          key=lambda s: (s.name, s.member_id))
        return self._in_branch[key]

    def everyone(self, day: date) -> list[MemberState]:
        """Every member in one of the bureau's branches on ``day``."""
        if day not in self._everyone:
            found = (self.state(member_id, day) for member_id in self.members)
            self._everyone[day] = [s for s in found if s is not None and s.branch_id]
        return self._everyone[day]

    def stays(self, member_id: str) -> list[Stay]:
        """Every stay of the member in a branch of the bureau, and how it ended: what dues are charged to."""
        if member_id not in self._stays:
            self._stays[member_id] = self._fold_stays(member_id)
        return self._stays[member_id]

    def _fold_stays(self, member_id: str) -> list[Stay]:
        row = self.members.get(member_id)
        if row is None:
            return []
        stays = [Stay(row["branch_id"], row["joined_on"])]
        for change in self.changes.get(member_id, []):
            if change["kind"] == "party" and stays[-1].ends_on is None:
                stays[-1] = replace(stays[-1], ends_on=change["effective_on"], ended_by="left_party")
            if change["kind"] != "branch":
                continue
            if stays[-1].ends_on is None:
                how = ENDINGS.get((change["data"] or {}).get("reason"), "moved")
                stays[-1] = replace(stays[-1], ends_on=change["effective_on"], ended_by=how)
            if change["branch_id"]:
                stays.append(Stay(change["branch_id"], change["effective_on"]))
        return stays

    def ever_in(self, branch_id: str) -> list[str]:
        """The members who were in ``branch_id`` at any time (a stay there, however short): the branch they were
        registered in and each branch a change of branch took them to — what their stays start in."""
        if self._ever_in is None:
            self._ever_in = {}
            for member_id, row in self.members.items():
                branches = {row["branch_id"]} | {change["branch_id"] for change in self.changes.get(member_id, ())
                                                 if change["kind"] == "branch" and change["branch_id"]}
                for branch in branches:
                    self._ever_in.setdefault(branch, []).append(member_id)
        return self._ever_in.get(branch_id, [])

    def name(self, member_id: str) -> str:
        row = self.members.get(member_id)
        return row["name"] if row else member_id


def _evolve(state: MemberState, change: dict) -> MemberState:
    data, kind = change["data"] or {}, change["kind"]
    events = state.events + (str(change["event_id"]),)
    if kind == "branch":
        return replace(state, branch_id=change["branch_id"], left_reason=None if change["branch_id"] else
                       data.get("reason"), events=events)
    if kind == "health":
        return replace(state, health=data["health"], mobility=data["mobility"], events=events)
    if kind == "group":
        return replace(state, group_id=data.get("group_id"), events=events)
    if kind == "party":
        return replace(state, party_member=bool(data.get("party_member")), events=events)
    if kind == "profile":
        known = {k: _typed(k, v) for k, v in data.items() if k in ("name", "gender", "birth_date", "party_join_date")}
        return replace(state, **known, events=events)
    return state


def _typed(name: str, value):
    if name in ("birth_date", "party_join_date") and isinstance(value, str):
        return date.fromisoformat(value)
    return value
