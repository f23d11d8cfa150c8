"""The bureau's calendar: its local date, months, periods (month, quarter, year) and late flags.

Every "today", "in the future", late flag and period boundary is judged in the bureau's local days
(``BRANCHWORK_TIMEZONE``, by default Asia/Shanghai), never in the server's zone or in UTC: a record
made at 00:30 in Beijing (16:30 UTC the day before) is dated today, not yesterday.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from datetime import date, datetime
from typing import TypeVar
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, validate

T = TypeVar("T")

DEFAULT_TIMEZONE = "Asia/Shanghai"
FIRST_YEAR, LAST_YEAR = 1900, 2099
"""The years the platform can judge — a period, an assessment, a report: the lunar calendar behind the holidays
covers 1900–2099, so no date outside it can be placed against the rules."""
YEAR_MESSAGE = f"年份须在 {FIRST_YEAR} 至 {LAST_YEAR} 之间"

validate_year = validate.Range(min=FIRST_YEAR, max=LAST_YEAR, error=YEAR_MESSAGE)
"""A marshmallow validator for a year given as a number."""

validate_day = validate.Range(min=date(FIRST_YEAR, 1, 1), max=date(LAST_YEAR, 12, 31), error=YEAR_MESSAGE)
"""A marshmallow validator for a day: its year must be one the platform can judge."""


def year_in_range(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def validate_period_year(text: str) -> None:
    """A marshmallow validator for a period (``2026``, ``2026-11``, ``2026-Q4``): its year must be in range."""
    match = re.match(r"\d{4}", text or "")
    if match and not year_in_range(int(match.group())):
        raise ValidationError(YEAR_MESSAGE)

_zone = ZoneInfo(DEFAULT_TIMEZONE)


def use_timezone(name: str) -> None:
    """Set the bureaus' time zone once, at a process's start, from its settings (``Settings.timezone``)."""
    global _zone
    _zone = ZoneInfo(name or DEFAULT_TIMEZONE)


def on_local_days(factory: Callable[..., T]) -> Callable[..., T]:
    """A worker factory that first sets the bureaus' time zone from the settings it is given."""
    def build(settings, *args, **kwargs) -> T:
        use_timezone(settings.timezone)
        return factory(settings, *args, **kwargs)
    return build


def timezone() -> ZoneInfo:
    return _zone


def day_start(day: date) -> datetime:
    """The moment the bureau's calendar day ``day`` begins (aware, in the bureaus' time zone)."""
    return datetime(day.year, day.month, day.day, tzinfo=_zone)


def local_date(moment: datetime) -> date:
    """The bureau's calendar day at ``moment`` (an aware timestamp, e.g. a clock's now or ``recorded_at``)."""
    if moment.tzinfo is None:
        raise ValueError("a moment without a time zone has no local date")
    return moment.astimezone(_zone).date()


# --- months ---------------------------------------------------------------------------------------

def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, count: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous_month(month: str) -> str:
    return add_months(month, -1)


def month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


@lru_cache(maxsize=4096)
def month_end(month: str) -> date:
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, calendar.monthrange(year, number)[1])


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (none when ``last`` comes first)."""
    return list(_months_between(first, last))


@lru_cache(maxsize=4096)
def _months_between(first: str, last: str) -> tuple[str, ...]:
    """Worked out once per pair: a roll-up asks the same span for each of a bureau's members."""
    if last < first:
        return ()
    start, end = int(first[:4]) * 12 + int(first[5:7]) - 1, int(last[:4]) * 12 + int(last[5:7]) - 1
    return tuple(f"{index // 12:04d}-{index % 12 + 1:02d}" for index in range(start, end + 1))


def last_twelve_months(today: date) -> list[str]:
    """The twelve months up to and including today's."""
    return months_between(add_months(month_of(today), -11), month_of(today))


# --- periods --------------------------------------------------------------------------------------

PERIOD_PATTERN = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")
PERIOD_KINDS = ("month", "quarter", "year")


class PeriodInvalid(ValueError):
    """Not a period: a month ``2026-11``, a quarter ``2026-Q4`` or a year ``2026``."""


@dataclass(frozen=True)
class Period:
    """A month (``2026-11``), a quarter (``2026-Q4``) or a year (``2026``), from its first to its last day."""

    id: str
    kind: str
    start: date
    end: date

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def months(self) -> list[str]:
        return list(self._months)

    @cached_property
    def _months(self) -> tuple[str, ...]:
        """Worked out once per period: a scorecard asks for them in every section."""
        return tuple(months_between(month_of(self.start), month_of(self.end)))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def ended_months(self, today: date) -> list[str]:
        """The period's months that are over before ``today``."""
        return [m for m in self.months if month_end(m) < today]

    def is_complete(self, today: date) -> bool:
        return self.end < today

    def has_begun(self, today: date) -> bool:
        return self.start <= today

    def as_of(self, today: date) -> date:
        """The day a period is judged on: its last day, or today while it runs."""
        return min(self.end, today)

    def to_dict(self, today: date) -> dict:
        return {"id": self.id, "kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "complete": self.is_complete(today)}


def parse_period(text: str | None, kinds: Iterable[str] = PERIOD_KINDS) -> Period:
    """Read a period of one of ``kinds``; raise PeriodInvalid for anything else (or a year out of range)."""
    match = PERIOD_PATTERN.match(text or "")
    if not match or not year_in_range(int(match.group(1))):
        raise PeriodInvalid(f"“{text}”不是一个期间：{_examples(kinds)}")
    year = int(match.group(1))
    if match.group(2):
        period = Period(text, "month", month_start(text), month_end(text))
    elif match.group(3):
        first = f"{year}-{3 * int(match.group(3)) - 2:02d}"
        period = Period(text, "quarter", month_start(first), month_end(add_months(first, 2)))
    else:
        period = Period(text, "year", date(year, 1, 1), date(year, 12, 31))
    if period.kind not in kinds:
        raise PeriodInvalid(f"这里不能用“{text}”这样的期间：{_examples(kinds)}")
    return period


def _examples(kinds: Iterable[str]) -> str:
    shapes = {"month": "月份写作 2026-11", "quarter": "季度写作 2026-Q4", "year": "年份写作 2026"}
    return "，".join(shapes[kind] for kind in kinds)


def period_of(day: date, kind: str = "month") -> Period:
    """The month, quarter or year that contains ``day``."""
    if kind == "year":
        return parse_period(str(day.year))
    if kind == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(month_of(day))


def periods_within(period: Period, kind: str, today: date) -> list[Period]:
    """The months or quarters of ``period`` (a longer one, or itself) that have begun by ``today``."""
    return list(_periods_within(period, kind, today))


@lru_cache(maxsize=1024)
def _periods_within(period: Period, kind: str, today: date) -> tuple[Period, ...]:
    """Worked out once per period, kind and day: a roll-up asks it for each of its branches."""
    found = dict.fromkeys(period_of(month_start(m), kind).id for m in period.months)
    return tuple(p for p in map(parse_period, found) if p.has_begun(today))


# --- late records -----------------------------------------------------------------------------------

def late_reasons(occurred_on: date, recorded_on: date, closed_periods: Iterable[Period],
                 late_entry_days: int) -> list[str]:
    """Why a record is late, in local days: its date lies in a closed period, and/or it was entered more than
    the rules' ``late_entry_days`` after it happened (``recorded_on`` is the local day it was recorded)."""
    reasons = []
    if any(period.contains(occurred_on) for period in closed_periods):
        reasons.append("period_closed")
    if (recorded_on - occurred_on).days > late_entry_days:
        reasons.append("entered_after_days")
    return reasons
