"""The rulebook's calendar: periods, holidays (lunar ones from the calendar library) and late flags."""

from __future__ import annotations

from datetime import date, datetime, UTC

import pytest

from contracts.rulebook.calendar import (PeriodInvalid, add_months, late_reasons, local_date, months_between,
                                        parse_period, period_of, periods_within, use_timezone)
from contracts.rulebook.people import birthday_near, birthday_on
from contracts.rulebook.rules import DEFAULT_RULES, NATIONAL_FLOORS, RuleBook, RuleVersion, floor_violations
from shared.config import Settings
from contracts.rulebook.holidays import (holiday_date, holiday_in_window, holiday_visited_by, holidays_of, is_holiday,
                                         summer_heat_start)


@pytest.mark.parametrize("year, spring_festival, double_ninth", [
    (2019, date(2019, 2, 5), date(2019, 10, 7)),
    (2020, date(2020, 1, 25), date(2020, 10, 25)),
    (2023, date(2023, 1, 22), date(2023, 10, 23)),
    (2024, date(2024, 2, 10), date(2024, 10, 11)),
    (2025, date(2025, 1, 29), date(2025, 10, 29)),
    (2026, date(2026, 2, 17), date(2026, 10, 18)),
])
def test_spring_festival_and_the_double_ninth_follow_the_lunar_calendar(year, spring_festival, double_ninth):
    assert holiday_date("spring_festival", year) == spring_festival
    assert holiday_date("double_ninth", year) == double_ninth
    assert holiday_date("july_1", year) == date(year, 7, 1)


@pytest.mark.parametrize("year, first_day", [(2019, date(2019, 7, 12)), (2021, date(2021, 7, 11)),
                                             (2024, date(2024, 7, 15)), (2025, date(2025, 7, 20))])
def test_the_summer_heat_starts_on_the_third_geng_day_from_the_solstice(year, first_day):
    assert summer_heat_start(year) == first_day


def test_a_visit_before_the_festival_belongs_to_it_even_across_the_new_year():
    assert holiday_in_window("spring_festival", date(2024, 12, 28)) == date(2025, 1, 29)
    assert holiday_in_window("spring_festival", date(2024, 6, 1)) is None
    assert holiday_visited_by(date(2024, 6, 25), ["spring_festival", "july_1"]) == ("july_1", date(2024, 7, 1))
    assert holiday_visited_by(date(2024, 10, 9), ["double_ninth"]) == ("double_ninth", date(2024, 10, 11))
    assert holiday_visited_by(date(2024, 5, 1), ["spring_festival", "july_1"]) is None


def test_a_rule_set_may_name_its_own_lunar_or_solar_days_and_unknown_names_are_left_out():
    assert is_holiday("lunar:08-15") and is_holiday("solar:03-08") and not is_holiday("tomb_sweeping")
    assert holidays_of(2024, ["spring_festival", "lunar:08-15", "tomb_sweeping"]) == {
        "spring_festival": date(2024, 2, 10), "lunar:08-15": date(2024, 9, 17)}


def test_periods_are_months_or_quarters_with_their_first_and_last_days():
    assert parse_period("2024-02").end == date(2024, 2, 29)
    quarter = parse_period("2024-Q4")
    assert (quarter.start, quarter.end, quarter.kind) == (date(2024, 10, 1), date(2024, 12, 31), "quarter")
    assert period_of(date(2024, 5, 17), "quarter").id == "2024-Q2"
    assert period_of(date(2024, 5, 17), "month").id == "2024-05"
    assert parse_period("2024").months == [f"2024-{m:02d}" for m in range(1, 13)]
    for bad in ("2024-13", "2024-Q5", "24-01", "", "1899", "2024-00"):
        with pytest.raises(PeriodInvalid):
            parse_period(bad)
    with pytest.raises(PeriodInvalid):
        parse_period("2024", ("month", "quarter"))


def test_a_record_in_a_closed_period_or_entered_too_late_is_flagged():
    closed = [parse_period("2024-03"), parse_period("2024-Q1")]
    assert late_reasons(date(2024, 3, 10), date(2024, 3, 20), closed, 30) == ["period_closed"]
    assert late_reasons(date(2024, 4, 1), date(2024, 5, 2), closed, 30) == ["entered_after_days"]
    assert late_reasons(date(2024, 4, 1), date(2024, 5, 1), closed, 30) == []
    assert late_reasons(date(2024, 2, 1), date(2024, 9, 1), closed, 30) == ["period_closed", "entered_after_days"]


@pytest.mark.parametrize("utc_hour, minute", [(16, 30), (23, 30)])
def test_the_local_date_is_the_bureaus_day_not_the_utc_one(utc_hour, minute):
    moment = datetime(2024, 11, 30, utc_hour, minute, tzinfo=UTC)
    assert moment.date() == date(2024, 11, 30) and local_date(moment) == date(2024, 12, 1)
    assert local_date(datetime(2024, 11, 30, 15, 59, tzinfo=UTC)) == date(2024, 11, 30)


def test_the_time_zone_comes_from_the_settings():
    try:
        use_timezone("Europe/London")
        assert local_date(datetime(2024, 11, 30, 23, 30, tzinfo=UTC)) == date(2024, 11, 30)
    finally:
        use_timezone(Settings(service="test").timezone)
    assert Settings.from_env("audit", {"BRANCHWORK_TIMEZONE": "Asia/Urumqi"}).timezone == "Asia/Urumqi"
    assert Settings.from_env("audit", {}).timezone == "Asia/Shanghai"
    with pytest.raises(ValueError):
        local_date(datetime(2024, 11, 30, 23, 30))


def test_the_rule_set_in_force_is_the_defaults_merged_under_a_version_and_held_to_the_floors():
    book = RuleBook([RuleVersion(2, date(2025, 1, 1), {"briefing_per_year": 2, "committee_meeting_per_year": 0}),
                     RuleVersion(1, date(2024, 1, 1), {"briefing_per_year": 6})])
    assert book.on(date(2023, 6, 1)) == DEFAULT_RULES  # before any version: the defaults
    assert book.on(date(2024, 6, 1))["briefing_per_year"] == 6
    later = book.on(date(2025, 6, 1))
    assert later["briefing_per_year"] == 2 and later["birthday_window_days"] == DEFAULT_RULES["birthday_window_days"]
    assert later["committee_meeting_per_year"] == 12  # a version stored below the national floor is read at it
    below = floor_violations({"term_years": 1, "study_hours_member": 40, "dues_review_months": 9})
    assert below == {name: NATIONAL_FLOORS[name].says for name in ("term_years", "dues_review_months")}


def test_periods_within_a_longer_period_are_its_months_or_quarters_begun_by_today():
    year = parse_period("2026")
    assert [p.id for p in periods_within(year, "quarter", date(2026, 5, 2))] == ["2026-Q1", "2026-Q2"]
    assert [p.id for p in periods_within(parse_period("2026-02"), "quarter", date(2026, 5, 2))] == ["2026-Q1"]
    assert parse_period("2026-Q2").as_of(date(2026, 5, 2)) == date(2026, 5, 2)


def test_one_birthday_window_for_recording_reminding_and_judging():
    leap = date(1944, 2, 29)
    assert birthday_on(leap, 2025) == date(2025, 2, 28) and birthday_on(leap, 2028) == date(2028, 2, 29)
    assert birthday_near(leap, date(2025, 2, 28), DEFAULT_RULES) == date(2025, 2, 28)
    assert birthday_near(date(1950, 1, 3), date(2025, 12, 25), DEFAULT_RULES) == date(2026, 1, 3)
    assert birthday_near(date(1950, 6, 3), date(2025, 7, 1), DEFAULT_RULES) is None


def test_months_between_lists_every_month_from_the_first_to_the_last_across_years():
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_between("2026-03", "2026-03") == ["2026-03"] and months_between("2026-04", "2026-03") == []
    for first in ("1999-12", "2024-01", "2024-07"):
        for count in range(0, 40, 7):
            expected = [add_months(first, step) for step in range(count + 1)]
            assert months_between(first, add_months(first, count)) == expected
