"""Periods, holidays (lunar ones from the calendar library) and late flags: pure, no services."""

from __future__ import annotations

from datetime import date

import pytest

from services.activities.domain.calendar import (holiday_date, holiday_in_window, holiday_visited_by, holidays_of,
                                                 is_holiday, late_reasons, parse_period, period_of)
from shared.holidays import summer_heat_start


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
    assert parse_period("2024-02").ends_on == date(2024, 2, 29)
    quarter = parse_period("2024-Q4")
    assert (quarter.starts_on, quarter.ends_on, quarter.unit) == (date(2024, 10, 1), date(2024, 12, 31), "quarter")
    assert period_of(date(2024, 5, 17), "quarter").name == "2024-Q2"
    assert period_of(date(2024, 5, 17), "month").name == "2024-05"
    for bad in ("2024-13", "2024-Q5", "24-01", ""):
        with pytest.raises(ValueError):
            parse_period(bad)


def test_a_record_in_a_closed_period_or_entered_too_late_is_flagged():
    closed = [parse_period("2024-03"), parse_period("2024-Q1")]
    assert late_reasons(date(2024, 3, 10), date(2024, 3, 20), closed, 30) == ["period_closed"]
    assert late_reasons(date(2024, 4, 1), date(2024, 5, 2), closed, 30) == ["entered_after_days"]
    assert late_reasons(date(2024, 4, 1), date(2024, 5, 1), closed, 30) == []
    assert late_reasons(date(2024, 2, 1), date(2024, 9, 1), closed, 30) == ["period_closed", "entered_after_days"]
