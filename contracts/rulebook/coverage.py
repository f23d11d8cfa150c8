"""Study coverage (教育全覆盖) and study hours: who was reached in a period, and hours against the yardstick.

Every Party member on the branch's roster on the day a period is judged (its last day, or today
while it runs) is due to be reached in it: by attending an activity the rules count as study
(``coverage_activity_kinds``) or by an outreach channel the rules count (``coverage_channels``).
Reaching a member anywhere in the bureau counts, whichever branch recorded it. The yearly study
hours (``study_hours_member``, ``study_hours_committee`` for anyone who held a committee post in the
period) are prorated to a shorter period by its months; exempt members meet it whatever their hours.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any, NamedTuple
from collections.abc import Iterable, Mapping

from contracts.rulebook.calendar import Period
from contracts.rulebook.rules import coverage_channels, study_kinds


class Reach(NamedTuple):
    """A member reached on ``on``: ``how`` is ``activity:<kind>`` or ``outreach:<channel>``. A named tuple: a
    bureau's quarter makes one for every attendance, and a tuple is made several times faster than a dataclass."""

    member_id: str
    on: date
    how: str
    record_id: str
    branch_id: str


class StudySession(NamedTuple):
    member_id: str
    on: date
    hours: Decimal
    how: str
    record_id: str


def activity_counts_as_study(kind: str, rules: Mapping[str, Any]) -> bool:
    return kind in study_kinds(rules)


def outreach_reaches(channel: str, rules: Mapping[str, Any]) -> bool:
    return channel in coverage_channels(rules)


def outreach_counts_hours(channel: str) -> bool:
    """Only study brought to the home (送学上门) counts towards a member's study hours."""
    return channel == "home_study"


in_date_order = attrgetter("on", "record_id")


class ByMember:
    """Reaches or study sessions by member, each member's in date order (by day, then record): a member's records
    from one day to another are found by bisection, without sorting them again for every period asked about."""

    def __init__(self, records: Iterable[Reach] | Iterable[StudySession]) -> None:
        self._records: dict[str, list] = {}
        for record in records:
            self._records.setdefault(record.member_id, []).append(record)
        for mine in self._records.values():  # a member's few sorted, not the bureau's many (a stable sort either way)
            mine.sort(key=in_date_order)
        self._days = {member_id: [r.on for r in mine] for member_id, mine in self._records.items()}

    def within(self, start: date, end: date, members: Iterable[str] | None = None) -> dict[str, list]:
        """member → their records from ``start`` to ``end`` (both included), in date order; of ``members`` only,
        if given."""
        found = {}
        for member_id in self._records if members is None else members:
            days = self._days.get(member_id)
            if days:
                first, last = bisect_left(days, start), bisect_right(days, end)
                if first < last:
                    found[member_id] = self._records[member_id][first:last]
        return found


def reaches_in(reaches: Iterable[Reach] | ByMember, period: Period, today: date,
               members: Iterable[str] | None = None) -> dict[str, list[Reach]]:
    """member → their reaches within the period (up to the day it is judged on), in date order (of ``members``
    only, if given)."""
    found = reaches if isinstance(reaches, ByMember) else ByMember(reaches)
    return found.within(period.start, period.as_of(today), members)


def uncovered(due: Iterable[str], reaches: Iterable[Reach], period: Period, today: date) -> set[str]:
    """The members due in the period whom no counting reach found."""
    return set(due) - set(reaches_in(reaches, period, today))


def hours_by_member(sessions: Iterable[StudySession] | ByMember, start: date, end: date,
                    members: Iterable[str] | None = None) -> dict[str, list[StudySession]]:
    """member → their sessions with hours from ``start`` to ``end``, in date order (of ``members`` only, if given);
    sessions already by member (``study_sessions``) are not sorted again."""
    found = sessions if isinstance(sessions, ByMember) else study_sessions(sessions)
    return found.within(start, end, members)


def study_sessions(sessions: Iterable[StudySession]) -> ByMember:
    """The sessions that count towards study hours (those with hours), by member."""
    return ByMember(s for s in sessions if s.hours)


def total_hours(sessions: Iterable[StudySession]) -> Decimal:
    return sum((Decimal(s.hours) for s in sessions), Decimal(0))


def required_hours(rules: Mapping[str, Any], committee: bool, period: Period) -> Decimal:
    """The yearly yardstick (committee members' or members'), prorated to the months of ``period``."""
    yearly = Decimal(str(rules["study_hours_committee" if committee else "study_hours_member"]))
    return (yearly * len(period.months) / 12).quantize(Decimal("0.1"))


def hours_met(hours: Decimal, required: Decimal, exemption: str | None) -> bool:
    return exemption is not None or hours >= required


def suggested_channel(mobility: str | None, health: str | None, allowed) -> str:
    """How to reach a member study has not reached: bring study home to the homebound, visit the frail,
    phone the rest — among the bureau's ``coverage_channels``."""
    if mobility == "homebound":
        preferred = ["home_study", "visit", "phone"]
    elif mobility == "limited" or health == "poor":
        preferred = ["visit", "home_study", "phone"]
    else:
        preferred = ["phone", "visit", "home_study"]
    return next((channel for channel in preferred if channel in allowed), preferred[0])
