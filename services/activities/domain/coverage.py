"""Education coverage (every Party member reached each period), study hours against the yearly yardstick, and
the care of the retired cadres — each member judged by the rulebook (``contracts.rulebook``).

A member is due in the branch they belong to on the day the period is judged (its end, or today
for the current one); members who died, left or transferred out of the bureau during it are listed
apart, and so are those who moved to another branch. Reaching a member anywhere in the bureau counts.
Non-Party retired cadres are not counted for coverage or study hours: care serves them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from collections.abc import Iterable, Mapping

from contracts.rulebook import coverage as rulebook, people
from contracts.rulebook.calendar import Period, parse_period
from contracts.rulebook.coverage import Reach, StudySession
from services.activities.domain.roster import Roster, RosterMember, departure_in, health_on, held_post_between

__all__ = ["Reach", "StudySession", "coverage", "study_hours", "care_overview"]


def coverage(roster: Roster, branch_id: str, period: Period, reaches: Iterable[Reach], today: date) -> dict:
    as_of = period.as_of(today)
    by_member = rulebook.reaches_in(reaches, period, today)
    covered, uncovered, departed, moved_out = [], [], [], []
    for member in sorted(roster.members.values(), key=lambda m: (m.name, m.member_id)):
        if not people.counted_for_study(member.party_member):
            continue
        was_here = branch_id in roster.branch_ids_in(member.member_id, period.start, as_of)
        if roster.is_member_of(member.member_id, branch_id, as_of):
            reached = by_member.get(member.member_id, [])
            (covered if reached else uncovered).append(_due_entry(member, reached, as_of))
        elif was_here:
            departure = departure_in(member, period.start, as_of)
            if departure is not None:
                departed.append({"member_id": member.member_id, "name": member.name, "status": departure.kind,
                                 "on": departure.effective_on})
            else:
                moved_out.append({"member_id": member.member_id, "name": member.name,
                                  "branch_id": roster.standing(member.member_id, as_of).branch_id})
    due = len(covered) + len(uncovered)
    return {"branch_id": branch_id, "period": period.id, "starts_on": period.start, "ends_on": period.end,
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
    """Each Party member's study hours in ``year`` against 32 (56 for committee members), with exemptions."""
    period = parse_period(str(year))
    as_of = period.as_of(today)
    elapsed = Decimal((as_of - period.start).days + 1) / Decimal((period.end - period.start).days + 1)
    hours = rulebook.hours_by_member(sessions, period.start, as_of)
    rows = []
    for member in sorted(roster.members_on(branch_id, as_of), key=lambda m: (m.name, m.member_id)):
        if not people.counted_for_study(member.party_member):
            continue
        committee = held_post_between(member, period.start, as_of)
        required = rulebook.required_hours(rules, committee, period)
        health = health_on(member, as_of)
        exemption = people.study_exemption(health and health.health, member.birth_date, rules, as_of)
        done = rulebook.total_hours(hours.get(member.member_id, []))
        rows.append({"member_id": member.member_id, "name": member.name, "hours": done, "required": required,
                     "committee": committee, "exempt": exemption is not None, "exemption": exemption,
                     "met": rulebook.hours_met(done, required, exemption),
                     "on_track": rulebook.hours_met(done, (required * elapsed).quantize(Decimal("0.01")), exemption)})
    return {"branch_id": branch_id, "year": year, "as_of": as_of, "members": rows}


def care_overview(roster: Roster, branch_id: str, year: int, care: Iterable[Mapping], holidays: Mapping[str, date],
                  rules: Mapping, today: date) -> dict:
    """Per retired cadre of the branch in ``year``: birthday care, the bureau's holiday visits, newspaper,
    health check (in-service members of the branch are not due care).

    ``care`` rows have member_id, kind, occurred_on, holiday, year; ``holidays`` maps the bureau's
    holiday visits to their dates that year.
    """
    as_of = min(date(year, 12, 31), today)
    mine: dict[str, list[Mapping]] = {}
    for row in care:
        mine.setdefault(row["member_id"], []).append(row)
    members = []
    for member in sorted(roster.members_on(branch_id, as_of), key=lambda m: (m.name, m.member_id)):
        if not people.due_care(member.retirement_kind):
            continue
        rows = mine.get(member.member_id, [])
        birthday = people.birthday_on(member.birth_date, year)
        members.append({
            "member_id": member.member_id, "name": member.name,
            "birthday": _first(rows, lambda r, born=member.birth_date, day=birthday: r["kind"] == "birthday"
                               and people.birthday_near(born, r["occurred_on"], rules) == day),
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
