"""The activities service's rules, pure: no database and no clock (today comes in from the handler).

``calendar``: periods, holidays and late flags; ``rules``: the bureau's rule set on a date;
``roster``: who belonged to which branch on which date; ``activities``: planning, recording,
correcting and cancelling activities; ``records``: outreach, care, talks, teams, pledges, the centre
and periods; ``coverage``: education coverage and study hours.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.errors import DomainError


class ActivitiesRuleBroken(DomainError):
    """A rule of branch work forbids this."""

    def __init__(self, message: str = "", *, field: str | None = None, code: str | None = None,
                 details: Sequence[str] | None = None) -> None:
        super().__init__(message, field=field, code=code)
        if field and details:
            self.fields = {field: list(details)}


class ActivitiesConflict(ActivitiesRuleBroken):
    """The record is there already (a period closed, a newspaper taken, a centre set up): as any conflict, a 409."""

    status = 409
