"""The years the platform can judge: one range for every service and page (the lunar calendar behind the
holidays covers 1900–2099, so no date outside it can be placed against the rules).

Kept tiny on purpose: the bureau calendar that grows in ``contracts/`` takes it over.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError, validate

FIRST_YEAR = 1900
LAST_YEAR = 2099
YEAR_MESSAGE = f"年份须在 {FIRST_YEAR} 至 {LAST_YEAR} 之间"

validate_year = validate.Range(min=FIRST_YEAR, max=LAST_YEAR, error=YEAR_MESSAGE)
"""A marshmallow validator for a year given as a number."""


def year_in_range(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def validate_period_year(text: str) -> None:
    """A marshmallow validator for a period (``2026``, ``2026-11``, ``2026-Q4``): its year must be in range."""
    match = re.match(r"\d{4}", text or "")
    if match and not year_in_range(int(match.group())):
        raise ValidationError(YEAR_MESSAGE)
