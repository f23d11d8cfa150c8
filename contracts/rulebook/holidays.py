"""The holiday calendar of the bureaus' care visits: Gregorian dates, and the weeks a visit belongs to.

Spring Festival (春节, lunar 1/1), Dragon Boat (端午, 5/5), Mid-Autumn (中秋, 8/15) and the Double Ninth
(重阳, 9/9) are lunar dates, converted by ``lunardate`` (a leap month never carries the festival: the
regular month does); the summer heat (初伏) starts on the third 庚 day counted from the June solstice;
the rest are fixed. A rule set may also name ``lunar:MM-DD`` or ``solar:MM-DD``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from datetime import date, timedelta
from collections.abc import Iterable

from lunardate import LunarDate

LUNAR_HOLIDAYS = {"spring_festival": (1, 1), "dragon_boat": (5, 5), "mid_autumn": (8, 15), "double_ninth": (9, 9)}
SOLAR_HOLIDAYS = {"new_year": (1, 1), "july_1": (7, 1), "national_day": (10, 1)}
HOLIDAY_LABELS = {"spring_festival": "春节", "dragon_boat": "端午节", "mid_autumn": "中秋节", "double_ninth": "重阳节",
                  "new_year": "元旦", "july_1": "七一", "national_day": "国庆节", "summer_heat": "入伏（夏季防暑）"}


class UnknownHoliday(KeyError, ValueError):
    """A holiday name no calendar rule places."""


@lru_cache(maxsize=1024)
def holiday_date(holiday: str, year: int) -> date:
    """The Gregorian date of ``holiday`` in ``year`` (worked out once per holiday and year: a bureau's roll-up asks
    it for each of its branches, and a lunar date takes a calendar conversion)."""
    if holiday in LUNAR_HOLIDAYS:
        return lunar_to_solar(year, *LUNAR_HOLIDAYS[holiday])
    if holiday in SOLAR_HOLIDAYS:
        return date(year, *SOLAR_HOLIDAYS[holiday])
    if holiday == "summer_heat":
        return summer_heat_start(year)
    kind, _, month_day = holiday.partition(":")
    try:
        month, day = (int(part) for part in month_day.split("-"))
        if kind == "lunar":
            return lunar_to_solar(year, month, day)
        if kind == "solar":
            return date(year, month, day)
    except ValueError:
        pass
    raise UnknownHoliday(holiday)


def lunar_to_solar(year: int, month: int, day: int) -> date:
    """Lunar ``month``/``day`` (never of a leap month) of the lunar year that starts in Gregorian ``year``."""
    return LunarDate(year, month, day, False).to_solar_date()


def june_solstice(year: int) -> date:
    """The June solstice's date in China (UTC+8), by Meeus' mean-solstice formula (±1 h for 1000–3000)."""
    y = (year - 2000) / 1000
    julian_ephemeris_day = (2451716.56767 + 365241.62603 * y + 0.00325 * y ** 2 + 0.00888 * y ** 3
                            - 0.00030 * y ** 4)
    return date.fromordinal(math.floor(julian_ephemeris_day + 8 / 24 - 1721424.5))


def summer_heat_start(year: int) -> date:
    """初伏: the third 庚 (geng) day counted from the solstice (a geng solstice counts as the first)."""
    solstice = june_solstice(year)
    first_geng = solstice + timedelta(days=(2 - solstice.toordinal()) % 10)
    return first_geng + timedelta(days=20)


def holiday_label(holiday: str) -> str:
    """The holiday's name; a day a rule set names by date, as the date (农历九月初九 → 农历9月9日, 12月29日)."""
    if holiday in HOLIDAY_LABELS:
        return HOLIDAY_LABELS[holiday]
    kind, _, month_day = holiday.partition(":")
    month, _, day = month_day.partition("-")
    if kind in ("lunar", "solar") and month.isdigit() and day.isdigit():
        return f"{'农历' if kind == 'lunar' else ''}{int(month)}月{int(day)}日"
    return holiday


def next_occurrence(holiday: str, today: date) -> date:
    """The holiday's date this year, or next year's once this year's has passed."""
    this_year = holiday_date(holiday, today.year)
    return this_year if this_year >= today else holiday_date(holiday, today.year + 1)


KNOWN_HOLIDAYS = (*LUNAR_HOLIDAYS, *SOLAR_HOLIDAYS, "summer_heat")


def is_holiday(name: str) -> bool:
    """A holiday the calendar can place: a known one, or ``lunar:MM-DD`` / ``solar:MM-DD``."""
    try:
        holiday_date(name, 2000)
    except UnknownHoliday:
        return False
    return True


def holidays_of(year: int, names: Iterable[str]) -> dict[str, date]:
    """The dates in ``year`` of the holidays named (those the calendar cannot place are left out)."""
    return {name: holiday_date(name, year) for name in names if is_holiday(name)}


# A holiday visit is made in the weeks before the holiday, or shortly after it.
VISIT_DAYS_BEFORE = 45
VISIT_DAYS_AFTER = 15


def visit_window(name: str, year: int) -> tuple[date, date]:
    day = holiday_date(name, year)
    return day - timedelta(days=VISIT_DAYS_BEFORE), day + timedelta(days=VISIT_DAYS_AFTER)


def holiday_in_window(name: str, day: date) -> date | None:
    """The date of holiday ``name`` whose visit window contains ``day``, if any."""
    for year in (day.year - 1, day.year, day.year + 1):
        starts, ends = visit_window(name, year)
        if starts <= day <= ends:
            return holiday_date(name, year)
    return None


def holiday_visited_by(day: date, names: Iterable[str]) -> tuple[str, date] | None:
    """The holiday (of ``names``) whose visit window contains ``day``, nearest first."""
    candidates = []
    for name in names:
        when = holiday_in_window(name, day) if is_holiday(name) else None
        if when is not None:
            candidates.append((abs((when - day).days), name, when))
    if not candidates:
        return None
    _, name, when = min(candidates)
    return name, when
