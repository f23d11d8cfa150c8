"""Dates, times, periods and numbers written the way Chinese readers write them: 2026年11月30日, 99%.

Pure formatting; which time zone a reader lives in is the caller's to say.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo, UTC
from decimal import Decimal, ROUND_HALF_UP

QUARTERS = "一二三四"
PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])))?$")
DIGITS = "零一二三四五六七八九十"


def as_date(value) -> date | None:
    """A ``date`` from a date, a datetime or ISO text (``2026-11-30``, ``2026-11-30T…``); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def day(value) -> str:
    """2026年11月30日."""
    found = as_date(value)
    return f"{found.year}年{found.month}月{found.day}日" if found else ""


def short_day(value) -> str:
    """11月30日: a date within the year the reader is looking at."""
    found = as_date(value)
    return f"{found.month}月{found.day}日" if found else ""


def moment(value, zone: tzinfo) -> str:
    """2026年11月30日 12:49, in ``zone``; a naive datetime is taken as UTC, as the platform records time."""
    if value is None or value == "":
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(zone)
    return f"{day(local)} {local:%H:%M}"


def local_iso(value, zone: tzinfo) -> str:
    """2026-11-30 12:49:05+08:00: a machine-readable time in ``zone`` (for exports read by people and programs)."""
    if value is None or value == "":
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.astimezone(zone).isoformat(sep=" ", timespec="seconds")


def month(text: str) -> str:
    """``2026-11`` → 2026年11月."""
    year, number = text.split("-")[:2]
    return f"{int(year)}年{int(number)}月"


def period(text: str) -> str:
    """A period's id in words: 2026年11月, 2026年第四季度, 2026年; anything else is left as written."""
    found = PERIOD.match(text or "")
    if not found:
        return text
    year, number, quarter = found.groups()
    if quarter:
        return f"{int(year)}年第{QUARTERS[int(quarter) - 1]}季度"
    return f"{int(year)}年{int(number)}月" if number else f"{int(year)}年"


def numeral(number: int) -> str:
    """一 … 十 for small counts (一是、二是 …), the digits beyond."""
    return DIGITS[number] if 0 <= number <= 10 else str(number)


def percent(rate) -> str:
    """A rate (0.985) as a whole percentage, rounded half up: 99%."""
    if rate is None:
        return ""
    value = (Decimal(str(rate)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{value}%"


def amount(value) -> str:
    """Money as people write it: 3000元, 19.5元."""
    text = f"{Decimal(str(value)):f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "元"
