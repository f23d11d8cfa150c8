"""Dates, times, periods and numbers as Chinese readers write them; the platform's codes in words."""

from __future__ import annotations

from datetime import date, datetime, UTC
from zoneinfo import ZoneInfo

from contracts import words
from contracts.activities import suggested_channel
from shared import chinese

BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_date_is_written_with_year_month_and_day_without_leading_zeros():
    assert chinese.day(date(2026, 11, 30)) == "2026年11月30日"
    assert chinese.day("2026-03-05") == "2026年3月5日" and chinese.day("2026-03-05T10:00:00+00:00") == "2026年3月5日"
    assert chinese.short_day("2026-03-05") == "3月5日" and chinese.day(None) == ""


def test_a_moment_recorded_in_utc_is_shown_in_the_bureaus_zone():
    late_evening_utc = datetime(2026, 11, 30, 20, 15, tzinfo=UTC)
    assert chinese.moment(late_evening_utc, BEIJING) == "2026年12月1日 04:15"
    assert chinese.moment("2026-11-30T04:49:35.257902+00:00", BEIJING) == "2026年11月30日 12:49"
    assert chinese.local_iso("2026-11-30T04:49:35+00:00", BEIJING) == "2026-11-30 12:49:35+08:00"


def test_periods_are_named_in_words():
    assert chinese.period("2026-11") == "2026年11月"
    assert chinese.period("2026-Q4") == "2026年第四季度"
    assert chinese.period("2026") == "2026年"


def test_percentages_are_whole_and_amounts_drop_trailing_zeros():
    assert chinese.percent(0.99) == "99%" and chinese.percent(0.985) == "99%" and chinese.percent(1) == "100%"
    assert chinese.percent(None) == ""
    assert chinese.amount("3000.00") == "3000元" and chinese.amount("19.50") == "19.5元"


def test_a_code_the_vocabulary_does_not_know_yet_is_shown_as_it_is():
    assert words.word(words.ACTIVITY_KINDS, "committee_meeting") == "支委会"
    assert words.word(words.ACTIVITY_KINDS, "new_kind_from_a_newer_producer") == "new_kind_from_a_newer_producer"
    assert words.word(words.MOVE_REASONS, "transfer") == "组织关系转接"


def test_the_suggested_channel_brings_study_home_visits_the_frail_and_phones_the_rest():
    every = ["visit", "phone", "home_study"]
    assert suggested_channel("homebound", "poor", every) == "home_study"
    assert suggested_channel("limited", "good", every) == "visit"
    assert suggested_channel("mobile", "poor", every) == "visit"
    assert suggested_channel("mobile", "good", every) == "phone"
    assert suggested_channel("homebound", "poor", ["phone"]) == "phone"


def test_a_holiday_a_rule_set_names_by_date_is_written_as_the_date():
    from contracts.rulebook.holidays import holiday_label
    assert holiday_label("double_ninth") == "重阳节"
    assert holiday_label("lunar:09-09") == "农历9月9日" and holiday_label("solar:12-29") == "12月29日"
