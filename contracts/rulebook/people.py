"""Who counts: for study coverage and hours, exemptions, care, dues, votes and the committee.

- Study coverage and study hours count the Party members on the branch's roster; non-Party retired
  cadres are served by care and briefings, never counted as uncovered or short of hours.
- Study hours: a member is exempt from the yearly yardstick by health (``study_exempt_health``) or by
  age (``study_exempt_age``), as the bureau's rules say; committee members owe more hours.
- Dues are owed by Party members only; care (birthdays, holiday visits, health checks, newspapers)
  is due to retired cadres (离休 and 退休), Party members or not.
- A full member is a Party member past the one-year probation; only full members vote and count
  for a branch's size; a branch of 7 or more full members elects a committee.
"""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from collections.abc import Iterable, Iterator, Mapping

RETIREE_KINDS = ("lixiu", "retired")
BRANCH_MIN_FULL_MEMBERS = 3
COMMITTEE_MIN_FULL_MEMBERS = 7
PROBATION_YEARS = 1


def counted_for_study(party_member: bool) -> bool:
    """Coverage and study hours count Party members only."""
    return bool(party_member)


def owes_dues(party_member: bool) -> bool:
    return bool(party_member)


def due_care(retirement_kind: str | None) -> bool:
    """Care is for the retired cadres (离休, 退休), not for in-service members of the branch."""
    return retirement_kind in RETIREE_KINDS


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_full_member(party_member: bool, party_join_date: date | None, day: date) -> bool:
    """A Party member whose probation (one year from joining the Party) is over by ``day``.

    A join date not recorded is taken as long past: the register holds it for every Party member it admits.
    """
    if not party_member:
        return False
    return party_join_date is None or _years_after(party_join_date, PROBATION_YEARS) <= day


def _years_after(day: date, years: int) -> date:
    return date(day.year + years, day.month, min(day.day, gregorian.monthrange(day.year + years, day.month)[1]))


def study_exemption(health: str | None, birth_date: date, rules: Mapping[str, Any], day: date) -> str | None:
    """Why a member is exempt from the study-hours yardstick on ``day`` (``health:poor``, ``age:85``), if at all."""
    if health is not None and health in (rules.get("study_exempt_health") or ()):
        return f"health:{health}"
    exempt_age = rules.get("study_exempt_age")
    if exempt_age and age_on(birth_date, day) >= int(exempt_age):
        return f"age:{exempt_age}"
    return None


def holds_committee(term_committee: bool | None, full_members: int) -> bool:
    """Whether a branch is held to committee work (monthly committee meetings): as its current term says;
    with no term recorded, only a branch of 7 or more full members — a smaller one has a secretary, no committee."""
    if term_committee is not None:
        return term_committee
    return full_members >= COMMITTEE_MIN_FULL_MEMBERS


# --- birthdays ----------------------------------------------------------------------------------

def birthday_on(birth_date: date, year: int) -> date:
    """The birthday in ``year``; 29 February is kept on 28 February in common years."""
    if (birth_date.month, birth_date.day) == (2, 29) and not gregorian.isleap(year):
        return date(year, 2, 28)
    return date(year, birth_date.month, birth_date.day)


def birthday_window(birthday: date, rules: Mapping[str, Any]) -> tuple[date, date]:
    """The days around a birthday in which birthday care is given (the rules' ``birthday_window_days``)."""
    days = timedelta(days=int(rules["birthday_window_days"]))
    return birthday - days, birthday + days


def birthday_near(birth_date: date, day: date, rules: Mapping[str, Any]) -> date | None:
    """The birthday whose window contains ``day`` (across a year's end too), if any."""
    for year in (day.year - 1, day.year, day.year + 1):
        start, end = birthday_window(birthday_on(birth_date, year), rules)
        if start <= day <= end:
            return birthday_on(birth_date, year)
    return None


def birthdays_between(birth_date: date, start: date, end: date) -> list[date]:
    return [b for year in range(start.year, end.year + 1) if start <= (b := birthday_on(birth_date, year)) <= end]


# --- health -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HealthRecord:
    changed_on: date
    health: str
    mobility: str
    seq: int = 0


def health_on(records: Iterable[HealthRecord], day: date) -> HealthRecord | None:
    """Health and mobility as last recorded on or before ``day`` (before any record: the earliest known)."""
    ordered = sorted(records, key=lambda h: (h.changed_on, h.seq))
    known = [h for h in ordered if h.changed_on <= day]
    return known[-1] if known else (ordered[0] if ordered else None)


# --- committee posts ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PostRecord:
    """A committee post of ``branch_id`` filled or vacated (``kind``) on ``on``."""

    kind: str
    term_id: str
    post: str
    on: date
    branch_id: str | None = None


def post_spans(posts: Iterable[PostRecord], term_ends: Mapping[str, date],
               branch_id: str | None = None) -> Iterator[tuple[str, date, date | None]]:
    """(post, filled on, held until): a post is held until its vacancy or the end of its term, whichever is first."""
    posts = list(posts)
    for post in posts:
        if post.kind != "filled" or (branch_id and post.branch_id not in (None, branch_id)):
            continue
        vacated = [p.on for p in posts
                   if p.kind == "vacated" and p.term_id == post.term_id and p.post == post.post and p.on >= post.on]
        until = min(vacated + ([term_ends[post.term_id]] if post.term_id in term_ends else []), default=None)
        yield post.post, post.on, until


def held_post_between(posts: Iterable[PostRecord], term_ends: Mapping[str, date], start: date, end: date,
                      branch_id: str | None = None) -> bool:
    """Whether a committee post (secretary, deputy or member) was held on any day in [start, end]."""
    return any(on <= end and (until is None or until >= start)
               for _, on, until in post_spans(posts, term_ends, branch_id))


def post_on(posts: Iterable[PostRecord], term_ends: Mapping[str, date], day: date,
            branch_id: str | None = None) -> str | None:
    return next((post for post, on, until in post_spans(posts, term_ends, branch_id)
                 if on <= day and (until is None or until >= day)), None)
