"""The holidays of a bureau's rule set as dates: fixed solar ones, and lunar ones through ``lunardate``.

Spring Festival (春节, lunar 1/1), Dragon Boat (端午, 5/5), Mid-Autumn (中秋, 8/15) and the Double Ninth
(重阳, 9/9) move every year; a leap month never carries the festival (the regular month does).
"""

from __future__ import annotations

from datetime import date

from lunardate import LunarDate

LUNAR_HOLIDAYS = {"spring_festival": (1, 1), "dragon_boat": (5, 5), "mid_autumn": (8, 15), "double_ninth": (9, 9)}
SOLAR_HOLIDAYS = {"new_year": (1, 1), "july_1": (7, 1), "national_day": (10, 1),
                  # 三伏 starts on a 庚 day after the solstice; bureaus visit in the heat of late July.
                  "summer_heat": (7, 20)}
HOLIDAY_NAMES = {"spring_festival": "春节", "dragon_boat": "端午节", "mid_autumn": "中秋节", "double_ninth": "重阳节",
                 "new_year": "元旦", "july_1": "七一", "national_day": "国庆节", "summer_heat": "夏季防暑"}


class UnknownHoliday(ValueError):
    """A holiday name the calendar cannot place."""


def holiday_date(holiday: str, year: int) -> date:
    """The Gregorian date of ``holiday`` in ``year``; also accepts ``lunar:MM-DD`` and ``solar:MM-DD``."""
    if holiday in LUNAR_HOLIDAYS:
        return lunar_to_solar(year, *LUNAR_HOLIDAYS[holiday])
    if holiday in SOLAR_HOLIDAYS:
        return date(year, *SOLAR_HOLIDAYS[holiday])
    kind, _, month_day = holiday.partition(":")
    try:
        month, day = (int(part) for part in month_day.split("-"))
    except ValueError:
        raise UnknownHoliday(holiday) from None
    if kind == "lunar":
        return lunar_to_solar(year, month, day)
    if kind == "solar":
        return date(year, month, day)
    raise UnknownHoliday(holiday)


def lunar_to_solar(year: int, month: int, day: int) -> date:
    """The Gregorian date of lunar ``month``/``day`` of the lunar year starting in Gregorian ``year``."""
    return LunarDate(year, month, day, False).to_solar_date()


def holiday_label(holiday: str) -> str:
    return HOLIDAY_NAMES.get(holiday, holiday)


def next_occurrence(holiday: str, today: date) -> date:
    """The holiday's date this year, or next year's if this year's has passed."""
    this_year = holiday_date(holiday, today.year)
    return this_year if this_year >= today else holiday_date(holiday, today.year + 1)
