"""Education coverage (every member reached each period) and study hours against the yearly yardstick.

A member is due in the branch they belong to at the end of the period (or today, for the current
one); members who died, left or transferred out of the bureau during it are listed apart, and so are
those who moved to another branch. Reaching a member anywhere in the bureau counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from collections.abc import Iterable, Mapping

from services.activities.domain.calendar import Period
from services.activities.domain.roster import Roster, RosterMember, departure_in, health_on, held_post_between


@dataclass(frozen=True)
class Reach:
    """A member reached on ``on``: by attending an activity (``activity``) or by an outreach channel."""

    member_id: str
    on: date
    how: str
    record_id: str
    branch_id: str


@dataclass(frozen=True)
class StudySession:
    member_id: str
    on: date
    hours: Decimal
    how: str
    record_id: str


def coverage(roster: Roster, branch_id: str, period: Period, reaches: Iterable[Reach], today: date) -> dict:
    as_of = min(period.ends_on, today)
    by_member: dict[str, list[Reach]] = {}
    for reach in reaches:
        if period.starts_on <= reach.on <= as_of:
            by_member.setdefault(reach.member_id, []).append(reach)
    covered, uncovered, departed, moved_out = [], [], [], []
    for member in sorted(roster.members.values(), key=lambda m: m.name):
        was_here = branch_id in roster.branch_ids_in(member.member_id, period.starts_on, as_of)
        if roster.is_member_of(member.member_id, branch_id, as_of):
            reached = sorted(by_member.get(member.member_id, []), key=lambda r: r.on)
            (covered if reached else uncovered).append(_due_entry(member, reached, as_of))
        elif was_here:
            departure = departure_in(member, period.starts_on, as_of)
            if departure is not None:
                departed.append({"member_id": member.member_id, "name": member.name, "status": departure.kind,
                                 "on": departure.effective_on})
            else:
                moved_out.append({"member_id": member.member_id, "name": member.name,
                                  "branch_id": roster.standing(member.member_id, as_of).branch_id})
    due = len(covered) + len(uncovered)
    return {"branch_id": branch_id, "period": period.name, "starts_on": period.starts_on, "ends_on": period.ends_on,
            "as_of": as_of, "due": due, "covered_count": len(covered), "complete": not uncovered,
            "covered": covered, "uncovered": uncovered, "departed": departed, "moved_out": moved_out}


def _due_entry(member: RosterMember, reached: list[Reach], as_of: date) -> dict:
    health = health_on(member, as_of)
    return {"member_id": member.member_id, "name": member.name,
            "health": health.health if health else None, "mobility": health.mobility if health else None,
            "reached_by": [{"on": r.on, "how": r.how, "record_id": r.record_id, "branch_id": r.branch_id}
                           for r in reached]}


def study_hours(roster: Roster, branch_id: str, year: int, sessions: Iterable[StudySession],
                rules: Mapping, today: date) -> dict:
    """Each member's study hours in ``year`` against 32 (56 for committee members), with exemptions."""
    starts, ends = date(year, 1, 1), date(year, 12, 31)
    as_of = min(ends, today)
    elapsed = Decimal((as_of - starts).days + 1) / Decimal((ends - starts).days + 1)
    totals: dict[str, Decimal] = {}
    for session in sessions:
        if starts <= session.on <= as_of:
            totals[session.member_id] = totals.get(session.member_id, Decimal(0)) + session.hours
    rows = []
    for member in sorted(roster.members_on(branch_id, as_of), key=lambda m: m.name):
        committee = held_post_between(member, starts, as_of)
        required = Decimal(str(rules["study_hours_committee" if committee else "study_hours_member"]))
        exemption = _exemption(member, rules, as_of)
        hours = totals.get(member.member_id, Decimal(0))
        rows.append({"member_id": member.member_id, "name": member.name, "hours": hours, "required": required,
                     "committee": committee, "exempt": exemption is not None, "exemption": exemption,
                     "met": exemption is not None or hours >= required,
                     "on_track": exemption is not None or hours >= (required * elapsed).quantize(Decimal("0.01"))})
    return {"branch_id": branch_id, "year": year, "as_of": as_of, "members": rows}


def _exemption(member: RosterMember, rules: Mapping, as_of: date) -> str | None:
    """Why a member is exempt from the yardstick under the bureau's rules (health, or age if the rules set one)."""
    health = health_on(member, as_of)
    if health is not None and health.health in (rules.get("study_exempt_health") or ()):
        return f"health:{health.health}"
    exempt_age = rules.get("study_exempt_age")
    if exempt_age and _age(member.birth_date, as_of) >= int(exempt_age):
        return f"age:{exempt_age}"
    return None


def _age(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def care_overview(roster: Roster, branch_id: str, year: int, care: Iterable[Mapping], holidays: Mapping[str, date],
                  rules: Mapping, today: date) -> dict:
    """Per member of the branch in ``year``: birthday care, the bureau's holiday visits, newspaper, health check.

    ``care`` rows have member_id, kind, occurred_on, holiday, year; ``holidays`` maps the bureau's
    holiday visits to their dates that year.
    """
    as_of = min(date(year, 12, 31), today)
    mine: dict[str, list[Mapping]] = {}
    for row in care:
        mine.setdefault(row["member_id"], []).append(row)
    members = []
    for member in sorted(roster.members_on(branch_id, as_of), key=lambda m: m.name):
        rows = mine.get(member.member_id, [])
        members.append({
            "member_id": member.member_id, "name": member.name,
            "birthday": _first(rows, lambda r: r["kind"] == "birthday" and r["occurred_on"].year == year),
            "holiday_visits": [{"holiday": name, "date": day, "visited_on": _first(
                rows, lambda r, name=name, day=day: r["kind"] == "holiday_visit" and r["holiday"] == name
                and r["holiday_date"] == day)} for name, day in holidays.items()],
            "newspaper": any(r["kind"] == "newspaper" and r["year"] == year for r in rows) if rules.get(
                "newspaper_per_member") else None,
            "health_check": _first(rows, lambda r: r["kind"] == "health_check" and r["occurred_on"].year == year),
        })
    return {"branch_id": branch_id, "year": year, "as_of": as_of, "members": members}


def _first(rows: Iterable[Mapping], wanted) -> date | None:
    days = sorted(r["occurred_on"] for r in rows if wanted(r))
    return days[0] if days else None
