"""The read side's shortcuts give what their plain definitions give.

A bureau's roll-up judges a hundred cards, so the views find a member's reaches by bisection, work out a
member's state once per change in force, and set a member's payments of one month each in one step. Each is
checked here against the definition it stands for, on the cases where a shortcut could go wrong: records of one
day in any order, the first and last day of a span, changes on the same day, a month paid twice, payments of
several months and of different amounts.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from contracts.rulebook import coverage
from contracts.rulebook.calendar import parse_period
from contracts.rulebook.coverage import Reach, StudySession
from services.audit.domain import dues
from services.audit.domain.roster import Register, _evolve

START = date(2026, 1, 1)


def _reaches(count: int, seed: int) -> list[Reach]:
    rng = random.Random(seed)
    return [Reach(f"m{rng.randrange(6)}", START + timedelta(days=rng.randrange(120)), "activity:study",
                  f"e{rng.randrange(40):02d}", "b1") for _ in range(count)]


def _within(records, start: date, end: date, members=None) -> dict[str, list]:
    """The definition: every record from ``start`` to ``end``, sorted by day then record (stably), by member."""
    found: dict[str, list] = {}
    for record in sorted(records, key=lambda r: (r.on, r.record_id)):
        if start <= record.on <= end and (members is None or record.member_id in members):
            found.setdefault(record.member_id, []).append(record)
    return found


def test_reaches_found_by_bisection_are_those_of_the_span_in_date_order():
    for seed in range(20):
        reaches = _reaches(300, seed)
        by_member = coverage.ByMember(reaches)
        for period_id in ("2026-01", "2026-02", "2026-Q1", "2026-04", "2026"):
            period = parse_period(period_id)
            for today in (date(2026, 2, 14), date(2026, 12, 31)):
                as_of = period.as_of(today)
                assert coverage.reaches_in(reaches, period, today) == _within(reaches, period.start, as_of)
                assert by_member.within(period.start, as_of, {"m1", "m4", "nobody"}) \
                    == _within(reaches, period.start, as_of, {"m1", "m4"})


def test_study_hours_count_only_sessions_with_hours_whether_given_as_a_list_or_by_member():
    sessions = [StudySession(r.member_id, r.on, Decimal(len(r.record_id) % 3), r.how, r.record_id)
                for r in _reaches(200, 7)]
    expected = _within([s for s in sessions if s.hours], date(2026, 2, 1), date(2026, 3, 31))
    assert coverage.hours_by_member(sessions, date(2026, 2, 1), date(2026, 3, 31)) == expected
    assert coverage.hours_by_member(coverage.study_sessions(sessions), date(2026, 2, 1), date(2026, 3, 31)) == expected


def _change(member_id: str, seq: int, on: date, kind: str, **data) -> dict:
    return {"event_id": f"c{seq}", "member_id": member_id, "stream_version": seq, "effective_on": on, "kind": kind,
            "branch_id": data.pop("branch_id", None), "data": data}


def test_a_members_state_on_any_day_folds_exactly_the_changes_in_force_that_day():
    member = {"member_id": "m1", "name": "甲", "gender": "male", "birth_date": date(1950, 1, 1), "party_member": True,
              "party_join_date": date(1975, 7, 1), "retirement_kind": "retired", "health": "good",
              "mobility": "mobile", "joined_on": date(2026, 1, 10), "branch_id": "b1", "event_id": "r1"}
    changes = [_change("m1", 2, date(2026, 3, 1), "health", health="poor", mobility="limited"),
               _change("m1", 3, date(2026, 3, 1), "branch", branch_id="b2", reason="调整"),
               _change("m1", 4, date(2026, 5, 20), "party", party_member=False),
               _change("m1", 5, date(2026, 8, 1), "profile", name="甲乙")]
    register = Register([member], list(reversed(changes)))
    fresh = Register([member], changes)
    for day in (START + timedelta(days=n) for n in range(0, 365, 3)):
        expected = None
        if day >= member["joined_on"]:
            expected = fresh._state(member, 0)
            for change in changes:
                if change["effective_on"] <= day:
                    expected = _evolve(expected, change)
        assert register.state("m1", day) == expected, day
    assert register.state("m1", date(2026, 3, 1)).branch_id == "b2"
    assert register.state("m1", date(2026, 2, 28)) is register.state("m1", date(2026, 1, 10))  # made once


def _one_by_one(payments: list[list]) -> dict:
    """The definition: each payment's amount shared over its months, a later payment's share replacing an earlier."""
    paid = {}
    for amount, *months in payments:
        for month in months:
            paid[month] = (Decimal(amount) / len(months)).quantize(Decimal("0.01"))
    return paid


def test_payments_set_in_one_step_give_each_month_the_share_paid_for_it():
    cases = [[["24.00", f"2025-{m:02d}"] for m in range(1, 13)],
             [["24.00", "2025-01"], ["12.00", "2025-02"], ["24.00", "2025-03"]],
             [["48.00", "2025-01", "2025-02"], ["24.00", "2025-03"]],
             [["10.00", "2025-01", "2025-02", "2025-03"], ["0.00"]],
             [["24.00", "2025-01"], ["30.00", "2025-01"]],
             []]
    for payments in cases:
        paid = {}
        once = dues._apply_payments(paid, payments, {})
        months = [month for _amount, *mine in payments for month in mine]
        assert once == (len(months) == len(set(months)))
        assert paid == _one_by_one(payments)
