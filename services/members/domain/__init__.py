"""The members service's rules, pure: ``decide(state, command, …) -> events`` and ``evolve(state, event)``.

No I/O and no clock: today's date is passed in by the handler. One module per aggregate or concern.
"""

from shared.errors import DomainError
from shared import chinese


class MembersRuleBroken(DomainError):
    """A rule of the member register forbids this."""


class MembersConflict(MembersRuleBroken):
    """The register holds this already (the same person, say): as any conflict, a 409."""

    status = 409

    def __init__(self, message: str, *, code: str, fields: dict) -> None:
        super().__init__(message, code=code)
        self.fields = fields


def refuse(message: str, code: str, field: str | None = None) -> MembersRuleBroken:
    return MembersRuleBroken(message, code=code, field=field)


def require_not_future(day, field: str, today) -> None:
    if day > today:
        raise refuse(f"日期不能在今天（{chinese.day(today)}）之后", "date_in_future", field)
