"""Periods the views are asked about: a month ``2026-11``, a quarter ``2026-Q4`` or a year ``2026``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.years import year_in_range
from shared.errors import RequestInvalid

PATTERN = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])))?$")


@dataclass(frozen=True)
class Period:
    id: str
    kind: str
    start: date
    end: date

    @property
    def months(self) -> list[str]:
        """The months of the period as ``YYYY-MM``."""
        return [f"{self.start.year}-{m:02d}" for m in range(self.start.month, self.end.month + 1)]

    @property
    def year(self) -> int:
        return self.start.year

    def ended_months(self, today: date) -> list[str]:
        """The months of the period that are over by ``today``."""
        return [m for m in self.months if month_end(m) < today]

    def is_complete(self, today: date) -> bool:
        return self.end < today

    def to_dict(self, today: date) -> dict:
        return {"id": self.id, "kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "complete": self.is_complete(today)}


def parse_period(text: str) -> Period:
    match = PATTERN.match(text or "")
    if not match or not year_in_range(int(match.group(1))) or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        raise RequestInvalid("期间写作 2026-11、2026-Q4 或 2026", fields={"period": ["例如 2026-11、2026-Q4、2026"]})
    year = int(match.group(1))
    if match.group(2):
        month = int(match.group(2))
        return Period(text, "month", date(year, month, 1), month_end(f"{year}-{month:02d}"))
    if match.group(3):
        quarter = int(match.group(3))
        first = 3 * quarter - 2
        return Period(text, "quarter", date(year, first, 1), month_end(f"{year}-{first + 2:02d}"))
    return Period(text, "year", date(year, 1, 1), date(year, 12, 31))


def month_end(month: str) -> date:
    year, number = int(month[:4]), int(month[5:7])
    following = date(year + (number == 12), number % 12 + 1, 1)
    return following - timedelta(days=1)


def month_period(month: str) -> Period:
    return parse_period(month)


def current_period(today: date, kind: str = "month") -> Period:
    if kind == "year":
        return parse_period(str(today.year))
    if kind == "quarter":
        return parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    return parse_period(f"{today.year}-{today.month:02d}")


def last_twelve_months(today: date) -> list[str]:
    months, year, month = [], today.year, today.month
    for _ in range(12):
        months.append(f"{year}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(months))
