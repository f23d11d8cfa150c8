"""Education coverage, study hours and the care overview, pure: computed from the roster and the records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contracts.members import DEFAULT_RULES
from contracts.rulebook.calendar import parse_period
from services.activities.domain.coverage import Reach, StudySession, care_overview, coverage, study_hours
from services.activities.domain.roster import BranchRecord, HealthRecord, Placement, PostRecord, RosterMember, roster_of

A, B = "branch-a", "branch-b"
BRANCHES = [BranchRecord(A, "一支部", date(2010, 1, 1)), BranchRecord(B, "二支部", date(2010, 1, 1))]
JOINED = Placement("joined", date(2019, 1, 1), A)


def member(member_id, *placements, health="good", posts=(), birth_date=date(1950, 1, 1)):
    return RosterMember(member_id, member_id, birth_date, True, placements=(JOINED, *placements),
                        health=(HealthRecord(date(2019, 1, 1), health, "mobile"),), posts=tuple(posts))


ROSTER = roster_of([
    member("wang"),
    member("li", health="poor"),
    member("zhao", Placement("moved", date(2024, 3, 15), B)),
    member("chen", Placement("died", date(2024, 3, 10))),
    member("sun", posts=[PostRecord("filled", "term-1", "secretary", date(2023, 5, 1))]),
], BRANCHES)
MARCH = parse_period("2024-03")
TODAY = date(2024, 11, 20)


def reach(member_id, day, how="activity:study", branch_id=A):
    return Reach(member_id, day, how, f"r-{member_id}-{day}", branch_id)


def test_members_reached_by_study_or_outreach_are_covered_and_the_rest_listed_as_uncovered():
    report = coverage(ROSTER, A, MARCH, [reach("wang", date(2024, 3, 5)),
                                         reach("li", date(2024, 3, 6), "outreach:home_study")], TODAY)
    assert [m["member_id"] for m in report["covered"]] == ["li", "wang"]
    assert [m["member_id"] for m in report["uncovered"]] == ["sun"]
    assert report["due"] == 3 and report["covered_count"] == 2 and report["complete"] is False
    assert report["covered"][0]["reached_by"][0]["how"] == "outreach:home_study"


def test_a_member_who_died_or_moved_during_the_period_is_not_due_in_the_branch():
    report = coverage(ROSTER, A, MARCH, [], TODAY)
    assert [(m["member_id"], m["status"]) for m in report["departed"]] == [("chen", "died")]
    assert [(m["member_id"], m["branch_id"]) for m in report["moved_out"]] == [("zhao", B)]
    in_b = coverage(ROSTER, B, MARCH, [reach("zhao", date(2024, 3, 3))], TODAY)
    assert [m["member_id"] for m in in_b["covered"]] == ["zhao"]  # reached in A before the move: still reached


def test_reaches_outside_the_period_do_not_count():
    report = coverage(ROSTER, A, MARCH, [reach("wang", date(2024, 2, 29)), reach("wang", date(2024, 4, 1))], TODAY)
    assert "wang" in [m["member_id"] for m in report["uncovered"]]


def test_the_current_period_is_judged_as_of_today():
    report = coverage(ROSTER, A, parse_period("2024-11"), [reach("wang", date(2024, 11, 25))], TODAY)
    assert report["as_of"] == TODAY and "wang" in [m["member_id"] for m in report["uncovered"]]


def test_study_hours_against_32_or_56_for_committee_members_with_health_exemptions():
    sessions = [StudySession("wang", date(2024, m, 10), Decimal(3), "activity:study", f"s{m}") for m in range(1, 12)]
    sessions += [StudySession("sun", date(2024, 1, 10), Decimal(40), "activity:study", "big")]
    report = study_hours(ROSTER, A, 2024, sessions, DEFAULT_RULES, TODAY)
    rows = {row["member_id"]: row for row in report["members"]}
    assert rows["wang"]["hours"] == 33 and rows["wang"]["required"] == 32 and rows["wang"]["met"]
    assert rows["sun"]["committee"] and rows["sun"]["required"] == 56 and not rows["sun"]["met"]
    assert rows["li"]["exempt"] and rows["li"]["exemption"] == "health:poor" and rows["li"]["met"]
    assert "zhao" not in rows and "chen" not in rows


def test_an_age_exemption_applies_only_when_the_rules_set_one():
    old = roster_of([member("old", birth_date=date(1935, 1, 1))], BRANCHES)
    assert not study_hours(old, A, 2024, [], DEFAULT_RULES, TODAY)["members"][0]["exempt"]
    rules = {**DEFAULT_RULES, "study_exempt_age": 85}
    assert study_hours(old, A, 2024, [], rules, TODAY)["members"][0]["exemption"] == "age:85"


def test_the_care_overview_shows_each_required_holiday_visit_and_the_newspaper():
    care = [{"member_id": "wang", "kind": "holiday_visit", "occurred_on": date(2024, 2, 2),
             "holiday": "spring_festival", "holiday_date": date(2024, 2, 10), "year": None},
            {"member_id": "wang", "kind": "newspaper", "occurred_on": date(2023, 12, 1), "holiday": None,
             "holiday_date": None, "year": 2024}]
    holidays = {"spring_festival": date(2024, 2, 10), "july_1": date(2024, 7, 1)}
    report = care_overview(ROSTER, A, 2024, care, holidays, DEFAULT_RULES, TODAY)
    wang = next(m for m in report["members"] if m["member_id"] == "wang")
    assert wang["holiday_visits"] == [{"holiday": "spring_festival", "date": date(2024, 2, 10),
                                       "visited_on": date(2024, 2, 2)},
                                      {"holiday": "july_1", "date": date(2024, 7, 1), "visited_on": None}]
    assert wang["newspaper"] is True and wang["birthday"] is None
