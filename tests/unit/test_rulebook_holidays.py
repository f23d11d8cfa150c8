"""Holiday dates: lunar festivals against published dates for many years, leap months, the summer heat, fixed days."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.rulebook.holidays import UnknownHoliday, holiday_date, next_occurrence

SPRING_FESTIVAL = {2014: date(2014, 1, 31), 2017: date(2017, 1, 28), 2020: date(2020, 1, 25),
                   2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22),
                   2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
                   2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2034: date(2034, 2, 19)}
# Years with a leap month before the ninth (2017, 2020, 2023, 2025) and 2014, whose leap month IS the ninth.
DOUBLE_NINTH = {2014: date(2014, 10, 2), 2017: date(2017, 10, 28), 2020: date(2020, 10, 25),
                2021: date(2021, 10, 14), 2022: date(2022, 10, 4), 2023: date(2023, 10, 23),
                2024: date(2024, 10, 11), 2025: date(2025, 10, 29), 2026: date(2026, 10, 18)}
MID_AUTUMN = {2020: date(2020, 10, 1), 2023: date(2023, 9, 29), 2024: date(2024, 9, 17), 2025: date(2025, 10, 6)}


@pytest.mark.parametrize("year,expected", sorted(SPRING_FESTIVAL.items()))
def test_spring_festival_falls_on_the_published_date(year, expected):
    assert holiday_date("spring_festival", year) == expected


@pytest.mark.parametrize("year,expected", sorted(DOUBLE_NINTH.items()))
def test_the_double_ninth_falls_on_the_published_date_also_in_leap_month_years(year, expected):
    assert holiday_date("double_ninth", year) == expected


def test_in_2014_the_double_ninth_is_the_regular_ninth_month_not_the_leap_one():
    assert holiday_date("double_ninth", 2014) == date(2014, 10, 2)
    assert holiday_date("lunar:09-09", 2014) == date(2014, 10, 2)  # the leap 9/9 would be 2014-11-01


@pytest.mark.parametrize("year,expected", sorted(MID_AUTUMN.items()))
def test_mid_autumn_falls_on_the_published_date(year, expected):
    assert holiday_date("mid_autumn", year) == expected


SUMMER_HEAT = {2019: date(2019, 7, 12), 2020: date(2020, 7, 16), 2021: date(2021, 7, 11), 2022: date(2022, 7, 16),
               2023: date(2023, 7, 11), 2024: date(2024, 7, 15), 2025: date(2025, 7, 20)}


@pytest.mark.parametrize("year,expected", sorted(SUMMER_HEAT.items()))
def test_the_summer_heat_starts_on_the_third_geng_day_after_the_solstice(year, expected):
    assert holiday_date("summer_heat", year) == expected


def test_fixed_and_custom_holidays():
    assert holiday_date("july_1", 2025) == date(2025, 7, 1)
    assert holiday_date("solar:03-08", 2025) == date(2025, 3, 8)
    assert holiday_date("lunar:05-05", 2025) == holiday_date("dragon_boat", 2025) == date(2025, 5, 31)


def test_an_unknown_holiday_is_refused():
    with pytest.raises(UnknownHoliday):
        holiday_date("talk_like_a_pirate_day", 2025)
    with pytest.raises(UnknownHoliday):
        holiday_date("lunar:ninth", 2025)


def test_the_next_occurrence_rolls_over_the_year_end():
    assert next_occurrence("spring_festival", date(2025, 12, 31)) == date(2026, 2, 17)
    assert next_occurrence("spring_festival", date(2026, 2, 17)) == date(2026, 2, 17)
    assert next_occurrence("spring_festival", date(2026, 2, 18)) == date(2027, 2, 6)
