"""What every part of a scorecard needs to know about one branch in one period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from contracts.rulebook.calendar import Period
from contracts.rulebook.people import holds_committee
from contracts.rulebook.rules import occasions_due
from services.audit.domain.roster import MemberState

if TYPE_CHECKING:  # the facts come in from a store, loaded by services/audit/facts.py
    from services.audit.facts import Facts


@dataclass
class BranchContext:
    facts: Facts
    branch_id: str
    period: Period
    today: date
    rules: dict
    reference_day: date          # the period's end, or today while it is running
    members: list[MemberState]   # the branch's register on the reference day
    _held: dict[str, list[dict]] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, facts: Facts, branch_id: str, period: Period, today: date) -> BranchContext:
        reference_day = period.as_of(today)
        return cls(facts, branch_id, period, today, facts.rules(reference_day), reference_day,
                   facts.register.in_branch(branch_id, reference_day))

    def rows(self, table: str) -> list[dict]:
        return self.facts.of(table, self.branch_id)

    def in_period(self, table: str, column: str = "on_date") -> list[dict]:
        return [r for r in self.rows(table) if r[column] and self.period.start <= r[column] <= self.period.end]

    def held(self, kind: str) -> list[dict]:
        """Activities of this kind that took place in the period (not planned, not cancelled), in date order."""
        if self._held is None:  # every section asks for some kinds: the period's held activities sorted once, by kind
            self._held = {}
            for activity in sorted((a for a in self.in_period("activities") if a["status"] == "held"),
                                   key=lambda a: (a["on_date"], a["activity_id"])):
                self._held.setdefault(activity["kind"], []).append(activity)
        return list(self._held.get(kind, ()))

    def party_members(self, day: date | None = None) -> list[MemberState]:
        members = self.members if day is None else self.facts.register.in_branch(self.branch_id, day)
        return [m for m in members if m.party_member]

    def retirees(self, day: date | None = None) -> list[MemberState]:
        """The members due care (the rulebook's retired cadres) on the reference day or ``day``."""
        members = self.members if day is None else self.facts.register.in_branch(self.branch_id, day)
        return [m for m in members if m.retiree]

    def full_members(self, day: date | None = None) -> list[MemberState]:
        day = day or self.reference_day
        members = self.members if day == self.reference_day else self.facts.register.in_branch(self.branch_id, day)
        return [m for m in members if m.full_member(day)]

    def current_term(self) -> dict | None:
        terms = [t for t in self.rows("terms") if t["branch_id"] == self.branch_id
                 and t["starts_on"] <= self.reference_day]
        return max(terms, key=lambda t: (t["starts_on"], t["term_id"])) if terms else None

    def holds_committee(self) -> bool:
        """Whether the branch is held to committee work: as its term says; without a term, by its full members."""
        term = self.current_term()
        return holds_committee(term["committee"] if term else None, len(self.full_members()))

    def name(self, member_id: str) -> str:
        return self.facts.register.name(member_id)

    def brief(self, member_ids) -> list[dict]:
        return [{"member_id": m, "name": self.name(m)} for m in sorted(member_ids, key=self.name)]

    def scaled(self, per_year: int | float, months: int | None = None) -> int:
        """A yearly frequency over ``months`` months of the period (whole occasions only)."""
        return occasions_due(per_year, len(self.period.months) if months is None else months)

    def member_counts(self) -> dict:
        """Members by kind on the reference day: the seed's 离退休干部 and 离退休党员干部 counts."""
        members = self.members
        count = lambda test: sum(1 for m in members if test(m))  # noqa: E731
        return {"total": len(members), "retirees": count(lambda m: m.retiree),
                "lixiu": count(lambda m: m.retirement_kind == "lixiu"),
                "retired": count(lambda m: m.retirement_kind == "retired"),
                "in_service": count(lambda m: m.retirement_kind == "in_service"),
                "party_members": count(lambda m: m.party_member),
                "retiree_party_members": count(lambda m: m.party_member and m.retiree),
                "on": self.reference_day.isoformat(),
                "events": sorted({e for m in members for e in m.events})}


def finding(code: str, message: str, *, records=(), members=()) -> dict:
    return {"code": code, "message": message, "records": sorted({str(r) for r in records}), "members": list(members)}


def event_ids(rows) -> list[str]:
    return sorted({str(r["event_id"]) for r in rows if r.get("event_id")})
