"""Periods (months and quarters), the visit windows of holidays, and the flags of late records.

The holidays' dates come from the platform's one calendar, ``shared.holidays`` (lunar festivals
by ``lunardate``, the summer heat from the solstice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from collections.abc import Iterable

from shared.holidays import LUNAR_HOLIDAYS, SOLAR_HOLIDAYS, UnknownHoliday, holiday_date

PERIOD_PATTERN = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


@dataclass(frozen=True)
class Period:
    """A month (``2024-03``) or a quarter (``2024-Q1``), from its first to its last day."""

    name: str
    starts_on: date
    ends_on: date

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    @property
    def unit(self) -> str:
        return "quarter" if "Q" in self.name else "month"


def parse_period(text: str) -> Period:
    """Read ``YYYY-MM`` or ``YYYY-Qn``; raise ValueError for anything else."""
    match = PERIOD_PATTERN.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a period (YYYY-MM or YYYY-Qn)")
    year = int(match.group(1))
    if match.group(2):
        month = int(match.group(2))
        return Period(text, date(year, month, 1), _month_end(year, month))
    quarter = int(match.group(3))
    first = 3 * quarter - 2
    return Period(text, date(year, first, 1), _month_end(year, first + 2))


def period_of(day: date, unit: str) -> Period:
    """The month or quarter that contains ``day``."""
    if unit == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(f"{day.year}-{day.month:02d}")


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


# --- holidays -----------------------------------------------------------------------------------

KNOWN_HOLIDAYS = (*LUNAR_HOLIDAYS, *SOLAR_HOLIDAYS, "summer_heat")


def is_holiday(name: str) -> bool:
    """A holiday the calendar can place: a known one, or ``lunar:MM-DD`` / ``solar:MM-DD``."""
    try:
        holiday_date(name, 2000)
    except UnknownHoliday:
        return False
    return True


# A holiday visit is made in the weeks before the holiday, or shortly after it.
VISIT_DAYS_BEFORE = 45
VISIT_DAYS_AFTER = 15


def holidays_of(year: int, names: Iterable[str]) -> dict[str, date]:
    """The dates in ``year`` of the holidays named (those the calendar cannot place are left out)."""
    return {name: holiday_date(name, year) for name in names if is_holiday(name)}


def visit_window(name: str, year: int) -> tuple[date, date]:
    day = holiday_date(name, year)
    return day - timedelta(days=VISIT_DAYS_BEFORE), day + timedelta(days=VISIT_DAYS_AFTER)


def holiday_visited_by(day: date, names: Iterable[str]) -> tuple[str, date] | None:
    """The holiday (of ``names``) whose visit window contains ``day``, nearest first."""
    candidates = []
    for name in names:
        if not is_holiday(name):
            continue
        for year in (day.year - 1, day.year, day.year + 1):
            starts, ends = visit_window(name, year)
            if starts <= day <= ends:
                candidates.append((abs((holiday_date(name, year) - day).days), name, holiday_date(name, year)))
    if not candidates:
        return None
    _, name, when = min(candidates)
    return name, when


def holiday_in_window(name: str, day: date) -> date | None:
    """The date of holiday ``name`` whose visit window contains ``day``, if any."""
    for year in (day.year - 1, day.year, day.year + 1):
        starts, ends = visit_window(name, year)
        if starts <= day <= ends:
            return holiday_date(name, year)
    return None


# --- late records -------------------------------------------------------------------------------

def late_reasons(occurred_on: date, recorded_on: date, closed_periods: Iterable[Period],
                 late_entry_days: int) -> list[str]:
    """Why a record is late: its date lies in a closed period, and/or it was entered too long after."""
    reasons = []
    if any(period.contains(occurred_on) for period in closed_periods):
        reasons.append("period_closed")
    if (recorded_on - occurred_on).days > late_entry_days:
        reasons.append("entered_after_days")
    return reasons
