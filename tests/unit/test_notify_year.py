"""A whole year of rules in well under a second: a branch's notifications from 1 January to 31 December,
each cause once, evaluated day by day against a clock that is only a loop variable."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from services.notify.rules import evaluate
from services.notify.rules.model import Activity, Care
from tests.unit.test_notify_rules import BRANCH, bureau


def run_year(snapshot, year: int) -> dict[str, object]:
    """Evaluate every day of ``year`` and keep the first reminder of each cause (what the store keeps)."""
    notified: dict[str, object] = {}
    day = date(year, 1, 1)
    while day.year == year:
        for reminder in evaluate(snapshot, day):
            notified.setdefault(reminder.dedupe_key, (day, reminder))
        day += timedelta(days=1)
    return notified


def test_a_neglected_branchs_year_of_reminders():
    notified = run_year(bureau(), 2025)
    by_rule = Counter(reminder.rule for _day, reminder in notified.values())
    assert by_rule["meeting.committee_monthly"] == 12
    assert by_rule["coverage.unreached"] == 12
    assert by_rule["meeting.general_quarterly"] == 4 and by_rule["meeting.lecture_quota"] == 4
    assert by_rule["care.birthday"] == 3
    assert by_rule["care.holiday_visit"] == 2  # Spring Festival (29 January) and July 1
    assert by_rule["care.health_check"] == 1
    first_days = {key: day for key, (day, _r) in notified.items()}
    assert first_days[f"meeting.committee_monthly:branch-{BRANCH}:2025-02"] == date(2025, 2, 20)
    assert first_days[f"care.holiday_visit:branch-{BRANCH}:spring_festival-2025"] == date(2025, 1, 22)
    assert first_days[f"care.health_check:branch-{BRANCH}:2025"] == date(2025, 10, 1)


def test_a_diligent_branchs_year_has_only_care_reminders():
    activities, care = [], []
    for month in range(1, 13):
        day = date(2025, month, 5)
        activities.append(Activity(f"c{month}", BRANCH, "committee_meeting", "支委会", "held", occurred_on=day))
        activities.append(Activity(f"s{month}", BRANCH, "study", "学习", "held", occurred_on=day,
                                   attendees=("m-wang", "m-li", "m-zhao")))
        if month % 3 == 1:
            activities.append(Activity(f"g{month}", BRANCH, "general_meeting", "大会", "held", occurred_on=day))
            activities.append(Activity(f"l{month}", BRANCH, "party_lecture", "党课", "held", occurred_on=day))
    care = [Care(m, BRANCH, "health_check", date(2025, 4, 1)) for m in ("m-wang", "m-li", "m-zhao")]
    notified = run_year(bureau(activities=tuple(activities), care=tuple(care)), 2025)
    assert {reminder.rule for _day, reminder in notified.values()} == {"care.birthday", "care.holiday_visit"}
