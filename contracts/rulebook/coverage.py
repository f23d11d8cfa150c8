"""Study coverage (教育全覆盖) and study hours: who was reached in a period, and hours against the yardstick.

Every Party member on the branch's roster on the day a period is judged (its last day, or today
while it runs) is due to be reached in it: by attending an activity the rules count as study
(``coverage_activity_kinds``) or by an outreach channel the rules count (``coverage_channels``).
Reaching a member anywhere in the bureau counts, whichever branch recorded it. The yearly study
hours (``study_hours_member``, ``study_hours_committee`` for anyone who held a committee post in the
period) are prorated to a shorter period by its months; exempt members meet it whatever their hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from collections.abc import Iterable, Mapping

from contracts.rulebook.calendar import Period
from contracts.rulebook.rules import coverage_channels, study_kinds


@dataclass(frozen=True)
class Reach:
    """A member reached on ``on``: ``how`` is ``activity:<kind>`` or ``outreach:<channel>``."""

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


def activity_counts_as_study(kind: str, rules: Mapping[str, Any]) -> bool:
    return kind in study_kinds(rules)


def outreach_reaches(channel: str, rules: Mapping[str, Any]) -> bool:
    return channel in coverage_channels(rules)


def outreach_counts_hours(channel: str) -> bool:
    """Only study brought to the home (送学上门) counts towards a member's study hours."""
    return channel == "home_study"


def reaches_in(reaches: Iterable[Reach], period: Period, today: date) -> dict[str, list[Reach]]:
    """member → their reaches within the period (up to the day it is judged on), in date order."""
    as_of = period.as_of(today)
    found: dict[str, list[Reach]] = {}
    for reach in sorted(reaches, key=lambda r: (r.on, r.record_id)):
        if period.start <= reach.on <= as_of:
            found.setdefault(reach.member_id, []).append(reach)
    return found


def uncovered(due: Iterable[str], reaches: Iterable[Reach], period: Period, today: date) -> set[str]:
    """The members due in the period whom no counting reach found."""
    return set(due) - set(reaches_in(reaches, period, today))


def hours_by_member(sessions: Iterable[StudySession], start: date, end: date) -> dict[str, list[StudySession]]:
    found: dict[str, list[StudySession]] = {}
    for session in sorted(sessions, key=lambda s: (s.on, s.record_id)):
        if start <= session.on <= end and session.hours:
            found.setdefault(session.member_id, []).append(session)
    return found


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
