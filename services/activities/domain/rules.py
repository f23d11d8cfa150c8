"""A bureau's local rule set in force on a date, from the versions the members service published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from collections.abc import Iterable, Mapping

from contracts.members import DEFAULT_RULES

# Activities that count as collective study for education coverage and study hours, unless the
# bureau's rules name their own (``coverage_activity_kinds``).
DEFAULT_STUDY_KINDS = ("study", "party_lecture", "theme_day", "general_meeting", "group_meeting", "briefing",
                       "life_meeting")


@dataclass(frozen=True)
class RuleVersion:
    version: int
    effective_from: date | None
    rules: Mapping[str, Any]


class RuleBook:
    """Every version of one bureau's rules; ``on(day)`` is the set in force that day.

    A published version replaces the previous one from its effective date; a key it leaves out
    keeps the platform's default (``contracts.members.DEFAULT_RULES``).
    """

    def __init__(self, versions: Iterable[RuleVersion] = ()) -> None:
        self.versions = sorted(versions, key=lambda v: (v.effective_from or date.min, v.version))

    def on(self, day: date) -> dict[str, Any]:
        current: Mapping[str, Any] = {}
        for version in self.versions:
            if (version.effective_from or date.min) <= day:
                current = version.rules
        return {**DEFAULT_RULES, **current}


def study_kinds(rules: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(rules.get("coverage_activity_kinds") or DEFAULT_STUDY_KINDS)
