"""Each notify rule at its boundaries, on a hand-built bureau snapshot (pure: no database, no clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from contracts.members import DEFAULT_RULES
from services.notify.rules import evaluate
from services.notify.rules.model import (
    Activity, Branch, BureauSnapshot, Care, Dues, Member, Outreach, PostHolding, Reminded, RuleSetVersion, Term,
    Transfer)

TENANT, BRANCH = "bureau-1", "branch-1"
WANG = Member("m-wang", BRANCH, "王德明", date(1941, 3, 12), health="poor", mobility="homebound", phone="13800000001")
LI = Member("m-li", BRANCH, "李淑芬", date(1950, 10, 2), health="fair", mobility="limited")
ZHAO = Member("m-zhao", BRANCH, "赵国庆", date(1949, 10, 1), phone="13800000003")
TERM = Term("t-1", BRANCH, date(2023, 7, 1), date(2026, 6, 30))
SECRETARY = PostHolding("t-1", BRANCH, "secretary", "m-zhao", "赵国庆", date(2023, 7, 1))


def bureau(**changes) -> BureauSnapshot:
    base = BureauSnapshot(tenant_id=TENANT, branches=(Branch(BRANCH, "离退休干部党支部"),),
                          members=(WANG, LI, ZHAO), terms=(TERM,), posts=(SECRETARY,))
    return replace(base, **changes)


def fired(snapshot: BureauSnapshot, today: date, rule: str) -> list:
    return [r for r in evaluate(snapshot, today) if r.rule == rule]


def keys(snapshot: BureauSnapshot, today: date, rule: str) -> list[str]:
    return sorted(r.dedupe_key for r in fired(snapshot, today, rule))


# --- meetings ---------------------------------------------------------------------------------------

def planned(kind="general_meeting", on=date(2025, 6, 12), status="planned", **extra) -> Activity:
    return Activity("a-1", BRANCH, kind, "学习二十大精神", status, planned_on=on, place="活动中心", **extra)


def test_a_planned_meeting_is_reminded_from_the_day_before_to_the_day_itself():
    snapshot = bureau(activities=(planned(),))
    assert fired(snapshot, date(2025, 6, 10), "meeting.reminder") == []
    before = fired(snapshot, date(2025, 6, 11), "meeting.reminder")
    assert [r.dedupe_key for r in before] == ["meeting.reminder:activity-a-1:2025-06-12"]
    assert set(before[0].audiences) == {"member:m-wang", "member:m-li", "member:m-zhao"}
    assert "明天" not in before[0].title and "2025-06-12" in before[0].title
    assert "今天" in fired(snapshot, date(2025, 6, 12), "meeting.reminder")[0].title
    assert fired(snapshot, date(2025, 6, 13), "meeting.reminder") == []


def test_a_cancelled_or_already_held_meeting_is_not_reminded():
    for status in ("cancelled", "held"):
        assert fired(bureau(activities=(planned(status=status),)), date(2025, 6, 11), "meeting.reminder") == []


def test_a_committee_meeting_invites_the_committee_and_a_group_meeting_the_group():
    committee = fired(bureau(activities=(planned("committee_meeting"),)), date(2025, 6, 11), "meeting.reminder")
    assert committee[0].audiences == ("member:m-zhao",)
    grouped = bureau(members=(replace(WANG, group_id="g-1"), LI, ZHAO),
                     activities=(planned("group_meeting", group_id="g-1"),))
    assert fired(grouped, date(2025, 6, 11), "meeting.reminder")[0].audiences == ("member:m-wang",)


def test_kinds_that_are_not_meetings_get_no_reminder():
    assert fired(bureau(activities=(planned("inspection"),)), date(2025, 6, 11), "meeting.reminder") == []


def held(kind: str, on: date, attendees=(), activity_id=None) -> Activity:
    return Activity(activity_id or f"{kind}-{on}", BRANCH, kind, "会", "held", occurred_on=on,
                    attendees=tuple(attendees))


def test_no_committee_meeting_by_the_20th_alerts_the_secretary_once_a_month():
    snapshot = bureau(activities=(held("committee_meeting", date(2025, 2, 25)),))
    assert fired(snapshot, date(2025, 3, 19), "meeting.committee_monthly") == []
    assert keys(snapshot, date(2025, 3, 20), "meeting.committee_monthly") == [
        f"meeting.committee_monthly:branch-{BRANCH}:2025-03"]
    assert fired(snapshot, date(2025, 3, 20), "meeting.committee_monthly")[0].audiences == (f"secretary:{BRANCH}",)


def test_the_committee_meeting_alert_is_quiet_when_one_was_held_this_month():
    snapshot = bureau(activities=(held("committee_meeting", date(2025, 3, 3)),))
    assert fired(snapshot, date(2025, 3, 20), "meeting.committee_monthly") == []


def test_a_branch_without_a_committee_gets_no_committee_meeting_alert():
    snapshot = bureau(terms=(replace(TERM, committee=False),))
    assert fired(snapshot, date(2025, 3, 25), "meeting.committee_monthly") == []


def test_the_quarter_end_alerts_name_the_missing_general_meeting_and_lectures():
    warning_starts = date(2025, 3, 17)  # 14 days before 31 March
    assert fired(bureau(), date(2025, 3, 16), "meeting.general_quarterly") == []
    assert keys(bureau(), warning_starts, "meeting.general_quarterly") == [
        f"meeting.general_quarterly:branch-{BRANCH}:2025-Q1"]
    assert keys(bureau(), warning_starts, "meeting.lecture_quota") == [f"meeting.lecture_quota:branch-{BRANCH}:2025-Q1"]
    done = bureau(activities=(held("general_meeting", date(2025, 1, 8)), held("party_lecture", date(2025, 2, 8))))
    assert fired(done, warning_starts, "meeting.general_quarterly") == []
    assert fired(done, warning_starts, "meeting.lecture_quota") == []


def test_a_bureau_asking_eight_lectures_a_year_needs_two_a_quarter():
    rules = (RuleSetVersion(2, date(2025, 1, 1), {"party_lecture_per_year": 8}),)
    one = bureau(rule_sets=rules, activities=(held("party_lecture", date(2025, 2, 8)),))
    alert = fired(one, date(2025, 3, 30), "meeting.lecture_quota")
    assert alert and alert[0].details == {"quarter": "2025-Q1", "kind": "party_lecture", "held": 1, "required": 2}


# --- coverage ---------------------------------------------------------------------------------------

def test_by_the_20th_the_members_not_reached_are_listed_with_a_suggested_channel():
    snapshot = bureau()
    assert fired(snapshot, date(2025, 4, 19), "coverage.unreached") == []
    task = fired(snapshot, date(2025, 4, 20), "coverage.unreached")[0]
    assert task.dedupe_key == f"coverage.unreached:branch-{BRANCH}:2025-04"
    channels = {row["name"]: row["suggested_channel"] for row in task.details["members"]}
    assert channels == {"王德明": "home_study", "李淑芬": "visit", "赵国庆": "phone"}
    assert "送学上门" in task.body and "居家难出门" in task.body


def test_study_attendance_and_outreach_reach_members_but_a_committee_meeting_does_not():
    snapshot = bureau(activities=(held("study", date(2025, 4, 2), ["m-zhao"]),
                                  held("committee_meeting", date(2025, 4, 3), ["m-li"])),
                      outreach=(Outreach("m-wang", BRANCH, "home_study", date(2025, 4, 10)),
                                Outreach("m-li", BRANCH, "phone", date(2025, 3, 31))))
    task = fired(snapshot, date(2025, 4, 20), "coverage.unreached")[0]
    assert [row["member_id"] for row in task.details["members"]] == ["m-li"]


def test_full_coverage_raises_nothing():
    snapshot = bureau(activities=(held("study", date(2025, 4, 2), ["m-zhao", "m-li", "m-wang"]),))
    assert fired(snapshot, date(2025, 4, 25), "coverage.unreached") == []


def test_quarterly_coverage_is_checked_on_the_20th_of_the_quarters_last_month():
    snapshot = bureau(rule_sets=(RuleSetVersion(2, date(2025, 1, 1), {"coverage_period": "quarter"}),))
    assert fired(snapshot, date(2025, 2, 20), "coverage.unreached") == []
    assert keys(snapshot, date(2025, 3, 20), "coverage.unreached") == [f"coverage.unreached:branch-{BRANCH}:2025-Q1"]


# --- care --------------------------------------------------------------------------------------------

def test_a_birthday_is_a_task_the_day_before_and_on_the_day():
    snapshot = bureau()
    assert [r for r in fired(snapshot, date(2025, 3, 10), "care.birthday")] == []
    tomorrow = fired(snapshot, date(2025, 3, 11), "care.birthday")
    assert [r.dedupe_key for r in tomorrow] == ["care.birthday:member-m-wang:2025"]
    assert "明天" in tomorrow[0].title and "84" in tomorrow[0].title and "蛋糕和鲜花" in tomorrow[0].body
    assert "今天" in fired(snapshot, date(2025, 3, 12), "care.birthday")[0].title
    assert fired(snapshot, date(2025, 3, 13), "care.birthday") == []


def test_a_29_february_birthday_is_kept_on_the_28th_in_common_years():
    leap = bureau(members=(Member("m-leap", BRANCH, "钱立春", date(1948, 2, 29)),))
    assert keys(leap, date(2025, 2, 27), "care.birthday") == ["care.birthday:member-m-leap:2025"]
    assert fired(leap, date(2028, 2, 27), "care.birthday") == []
    assert keys(leap, date(2028, 2, 28), "care.birthday") == ["care.birthday:member-m-leap:2028"]


def test_a_new_year_birthday_is_announced_on_new_years_eve_for_the_next_year():
    snapshot = bureau(members=(Member("m-ny", BRANCH, "孙元旦", date(1950, 1, 1)),))
    assert keys(snapshot, date(2025, 12, 31), "care.birthday") == ["care.birthday:member-m-ny:2026"]


def test_a_member_who_died_or_left_gets_no_birthday_task():
    snapshot = bureau(members=(replace(WANG, active=False),))
    assert fired(snapshot, date(2025, 3, 11), "care.birthday") == []


def test_the_spring_festival_visit_list_comes_a_week_ahead_frailest_first():
    snapshot = bureau()  # default holidays: spring_festival and july_1; 2026's Spring Festival is 17 February
    assert fired(snapshot, date(2026, 2, 9), "care.holiday_visit") == []
    visit = fired(snapshot, date(2026, 2, 10), "care.holiday_visit")
    assert [r.dedupe_key for r in visit] == [f"care.holiday_visit:branch-{BRANCH}:spring_festival-2026"]
    assert [m["name"] for m in visit[0].details["members"]] == ["王德明", "李淑芬", "赵国庆"]
    assert visit[0].details["holiday_date"] == "2026-02-17" and "春节" in visit[0].title
    assert fired(snapshot, date(2026, 2, 18), "care.holiday_visit") == []


def test_the_double_ninth_moves_with_the_lunar_calendar():
    snapshot = bureau(rule_sets=(RuleSetVersion(2, date(2020, 1, 1), {"holiday_visits": ["double_ninth"]}),))
    for year, festival in ((2023, date(2023, 10, 23)), (2024, date(2024, 10, 11)), (2025, date(2025, 10, 29))):
        assert fired(snapshot, date.fromordinal(festival.toordinal() - 8), "care.holiday_visit") == []
        assert keys(snapshot, date.fromordinal(festival.toordinal() - 7), "care.holiday_visit") == [
            f"care.holiday_visit:branch-{BRANCH}:double_ninth-{year}"]


def test_a_holiday_the_calendar_cannot_place_is_skipped_and_the_others_still_fire():
    snapshot = bureau(rule_sets=(RuleSetVersion(2, date(2020, 1, 1), {"holiday_visits": ["pirate_day", "july_1"]}),))
    expected = [f"care.holiday_visit:branch-{BRANCH}:july_1-2025"]
    assert keys(snapshot, date(2025, 6, 24), "care.holiday_visit") == expected


def test_members_already_visited_for_the_holiday_are_left_off_the_list():
    snapshot = bureau(care=(Care("m-wang", BRANCH, "holiday_visit", date(2026, 2, 8), "spring_festival",
                                 date(2026, 2, 17)),))
    visit = fired(snapshot, date(2026, 2, 12), "care.holiday_visit")[0]
    assert [m["member_id"] for m in visit.details["members"]] == ["m-li", "m-zhao"]


def test_no_health_check_this_year_is_a_task_from_october():
    snapshot = bureau(care=(Care("m-li", BRANCH, "health_check", date(2025, 5, 6)),
                            Care("m-wang", BRANCH, "health_check", date(2024, 5, 6))))
    assert fired(snapshot, date(2025, 9, 30), "care.health_check") == []
    task = fired(snapshot, date(2025, 10, 1), "care.health_check")[0]
    assert task.dedupe_key == f"care.health_check:branch-{BRANCH}:2025"
    assert [m["member_id"] for m in task.details["members"]] == ["m-wang", "m-zhao"]


# --- committee ------------------------------------------------------------------------------------------

def test_a_term_ending_is_reminded_to_the_bureau_at_90_and_at_30_days():
    snapshot = bureau()  # the term ends 2026-06-30
    assert fired(snapshot, date(2026, 3, 31), "committee.term_ending") == []  # 91 days left
    assert keys(snapshot, date(2026, 4, 1), "committee.term_ending") == ["committee.term_ending:term-t-1:90d"]
    assert keys(snapshot, date(2026, 5, 30), "committee.term_ending") == ["committee.term_ending:term-t-1:90d"]
    assert keys(snapshot, date(2026, 5, 31), "committee.term_ending") == ["committee.term_ending:term-t-1:30d"]
    assert fired(snapshot, date(2026, 5, 31), "committee.term_ending")[0].audiences == ("bureau",)
    assert keys(snapshot, date(2026, 6, 30), "committee.term_ending") == ["committee.term_ending:term-t-1:30d"]
    assert fired(snapshot, date(2026, 7, 1), "committee.term_ending") == []


def test_a_new_term_stops_the_old_terms_reminders():
    snapshot = bureau(terms=(TERM, Term("t-2", BRANCH, date(2026, 6, 10), date(2029, 6, 9))))
    assert fired(snapshot, date(2026, 6, 15), "committee.term_ending") == []


def test_a_post_vacant_for_30_days_alerts_the_bureau_unless_filled():
    vacated = replace(SECRETARY, vacated_on=date(2025, 3, 1))
    snapshot = bureau(posts=(vacated,))
    assert fired(snapshot, date(2025, 3, 30), "committee.post_vacant") == []
    assert keys(snapshot, date(2025, 3, 31), "committee.post_vacant") == [
        "committee.post_vacant:post-t-1-secretary-m-zhao:2025-03-01"]
    refilled = bureau(posts=(vacated, PostHolding("t-1", BRANCH, "secretary", "m-li", "李淑芬", date(2025, 3, 20))))
    assert fired(refilled, date(2025, 4, 15), "committee.post_vacant") == []


# --- dues ---------------------------------------------------------------------------------------------------

def dues(**changes) -> Dues:
    return replace(Dues("m-li", assessed={2025: "25.00"}, paid=frozenset({"2025-01"})), **changes)


def test_three_unpaid_months_are_a_gentle_reminder_to_the_secretary():
    snapshot = bureau(dues=(dues(),))
    assert fired(snapshot, date(2025, 4, 30), "dues.arrears_reminder") == []  # February and March: two
    reminder = fired(snapshot, date(2025, 5, 1), "dues.arrears_reminder")
    assert [r.dedupe_key for r in reminder] == ["dues.arrears_reminder:member-m-li:2025-02"]
    assert reminder[0].audiences == (f"secretary:{BRANCH}",)
    assert reminder[0].details["months_unpaid"] == ["2025-02", "2025-03", "2025-04"]


def test_six_unpaid_months_are_a_review_task_for_the_bureau_never_a_removal():
    snapshot = bureau(dues=(dues(),))
    assert fired(snapshot, date(2025, 7, 31), "dues.arrears_review") == []
    review = fired(snapshot, date(2025, 8, 1), "dues.arrears_review")
    assert [r.dedupe_key for r in review] == ["dues.arrears_review:member-m-li:2025-02"]
    assert review[0].audiences[0] == "bureau" and "不得简单视为自动脱党" in review[0].body
    assert fired(snapshot, date(2025, 8, 1), "dues.arrears_reminder") == []


def test_an_exemption_or_a_payment_ends_the_run_of_arrears():
    exempt = bureau(dues=(dues(reductions=(("2025-03", "0"),)),))
    assert fired(exempt, date(2025, 6, 1), "dues.arrears_reminder") == []
    paid = bureau(dues=(dues(paid=frozenset({"2025-01", "2025-03"})),))
    assert fired(paid, date(2025, 6, 1), "dues.arrears_reminder") == []  # only April and May unpaid


def test_months_before_joining_are_not_arrears():
    snapshot = bureau(members=(replace(LI, joined_on=date(2025, 3, 15)),), dues=(dues(paid=frozenset()),))
    assert fired(snapshot, date(2025, 5, 1), "dues.arrears_reminder") == []  # March and April only
    assert keys(snapshot, date(2025, 6, 1), "dues.arrears_reminder") == ["dues.arrears_reminder:member-m-li:2025-03"]


def test_a_review_raised_by_the_members_service_reaches_the_bureau():
    snapshot = bureau(dues=(Dues("m-li", reviews=(("2024-11", date(2025, 5, 3)),)),))
    assert keys(snapshot, date(2025, 5, 4), "dues.arrears_review") == ["dues.arrears_review:member-m-li:2024-11"]


# --- transfers ------------------------------------------------------------------------------------------------

LETTER = Transfer("x-1", "out", "李淑芬", BRANCH, "branch-2", TENANT, date(2025, 1, 10), date(2025, 4, 10),
                  member_id="m-li")


def test_a_letter_about_to_expire_alerts_both_branches():
    snapshot = bureau(transfers=(LETTER,))
    assert fired(snapshot, date(2025, 3, 26), "transfer.letter_expiring") == []
    alert = fired(snapshot, date(2025, 3, 27), "transfer.letter_expiring")
    assert [r.dedupe_key for r in alert] == ["transfer.letter_expiring:transfer-x-1:2025-04-10"]
    assert alert[0].audiences == (f"secretary:{BRANCH}", "secretary:branch-2")
    assert fired(snapshot, date(2025, 4, 11), "transfer.letter_expiring") == []
    assert fired(bureau(transfers=(replace(LETTER, received_on=date(2025, 3, 1)),)), date(2025, 3, 30),
                 "transfer.letter_expiring") == []


def test_a_letter_to_another_bureau_alerts_our_side_only():
    other = replace(LETTER, to_tenant_id="bureau-2")
    assert fired(bureau(transfers=(other,)), date(2025, 4, 1), "transfer.letter_expiring")[0].audiences == (
        f"secretary:{BRANCH}",)


def test_a_return_slip_not_back_after_a_month_is_overdue():
    received = replace(LETTER, received_on=date(2025, 2, 1))
    snapshot = bureau(transfers=(received,))
    assert fired(snapshot, date(2025, 3, 3), "transfer.return_slip_overdue") == []  # day 30
    assert keys(snapshot, date(2025, 3, 4), "transfer.return_slip_overdue") == [
        "transfer.return_slip_overdue:transfer-x-1:2025-02-01"]
    returned = bureau(transfers=(replace(received, slip_returned_on=date(2025, 2, 20)),))
    assert fired(returned, date(2025, 3, 10), "transfer.return_slip_overdue") == []


# --- the rule set -------------------------------------------------------------------------------------------

def test_a_bureau_can_switch_rules_off_and_a_future_rule_set_waits_for_its_date():
    off = bureau(rule_sets=(RuleSetVersion(2, date(2025, 1, 1), {"notify_disabled_rules": ["care"]}),))
    assert [r for r in evaluate(off, date(2025, 3, 11)) if r.rule.startswith("care.")] == []
    later = bureau(rule_sets=(RuleSetVersion(2, date(2025, 6, 1), {"birthday_days_ahead": 3}),))
    assert fired(later, date(2025, 3, 10), "care.birthday") == []
    assert fired(later, date(2025, 9, 29), "care.birthday") != []  # 李淑芬, 2 October, three days ahead


def test_every_notification_names_its_rule_and_the_record_that_caused_it():
    snapshot = bureau(activities=(planned(),), dues=(dues(),), transfers=(LETTER,))
    for reminder in evaluate(snapshot, date(2025, 6, 11)):
        assert reminder.rule and reminder.records and reminder.dedupe_key.startswith(reminder.rule + ":")


# --- a reminded meeting cancelled ----------------------------------------------------------------------------

def cancelled(on=date(2025, 6, 12), cancelled_on=date(2025, 6, 11), **extra) -> Activity:
    return replace(planned(on=on, status="cancelled", **extra), cancelled_on=cancelled_on,
                   cancel_reason="书记住院，改期另行通知")


REMINDED = Reminded("a-1", "n-reminder", ("m-wang", "m-li"), ("w-1",))


def test_a_reminded_meeting_that_is_cancelled_tells_those_reminded_until_its_day():
    snapshot = bureau(activities=(cancelled(),), reminded=(REMINDED,))
    [notice] = fired(snapshot, date(2025, 6, 11), "meeting.cancelled")
    assert notice.dedupe_key == "meeting.cancelled:activity-a-1:2025-06-12"
    assert notice.audiences == ("member:m-wang", "member:m-li", "webhook:w-1")
    assert "2025-06-12" in notice.title and "取消" in notice.title and "书记住院" in notice.body
    assert notice.records == (("activity", "a-1"), ("notification", "n-reminder"))
    assert fired(snapshot, date(2025, 6, 12), "meeting.cancelled") != []
    assert fired(snapshot, date(2025, 6, 13), "meeting.cancelled") == []  # the day is over: no late notice


def test_a_cancelled_meeting_nobody_was_reminded_of_gets_no_notice():
    assert fired(bureau(activities=(cancelled(),)), date(2025, 6, 11), "meeting.cancelled") == []


def test_a_record_withdrawn_after_the_meeting_was_held_is_no_cancellation():
    withdrawn = replace(cancelled(), occurred_on=date(2025, 6, 12))
    assert fired(bureau(activities=(withdrawn,), reminded=(REMINDED,)), date(2025, 6, 12), "meeting.cancelled") == []


def test_a_meeting_reminded_for_the_secretary_only_is_cancelled_to_the_secretary():
    snapshot = bureau(activities=(cancelled(),), reminded=(Reminded("a-1", "n-reminder"),))
    assert fired(snapshot, date(2025, 6, 11), "meeting.cancelled")[0].audiences == (f"secretary:{BRANCH}",)


def test_the_cancellation_notice_can_be_switched_off_on_its_own():
    rules = (RuleSetVersion(2, date(2025, 1, 1), {"notify_disabled_rules": ["meeting.cancelled"]}),)
    snapshot = bureau(rule_sets=rules, activities=(cancelled(),), reminded=(REMINDED,))
    assert fired(snapshot, date(2025, 6, 11), "meeting.cancelled") == []


# --- boundaries found on the demo bureaus ---------------------------------------------------------------------

def test_a_branch_with_no_term_recorded_is_judged_by_size_for_the_committee_meeting():
    small = bureau(terms=(), posts=())
    assert fired(small, date(2025, 3, 25), "meeting.committee_monthly") == []  # 3 members: no committee
    seven = tuple(replace(ZHAO, member_id=f"m-{i}", name=f"成员{i}") for i in range(7))
    assert keys(bureau(terms=(), posts=(), members=seven), date(2025, 3, 25), "meeting.committee_monthly") == [
        f"meeting.committee_monthly:branch-{BRANCH}:2025-03"]


def test_a_dues_review_raised_later_is_not_announced_before_it_was_raised():
    snapshot = bureau(dues=(Dues("m-li", reviews=(("2025-05", date(2025, 11, 3)),)),))
    assert fired(snapshot, date(2025, 1, 1), "dues.arrears_review") == []
    assert fired(snapshot, date(2025, 11, 3), "dues.arrears_review") != []
    assert fired(snapshot, date(2026, 2, 2), "dues.arrears_review") == []  # 91 days later


def test_an_older_rule_set_without_the_reminder_settings_falls_back_to_the_defaults():
    before_the_move = {key: value for key, value in DEFAULT_RULES.items()
                       if key not in ("birthday_days_ahead", "meeting_reminder_days", "monthly_check_day")}
    snapshot = bureau(rule_sets=(RuleSetVersion(1, date(2020, 1, 1), before_the_move),))
    assert keys(snapshot, date(2025, 3, 11), "care.birthday") == ["care.birthday:member-m-wang:2025"]
    assert keys(snapshot, date(2025, 3, 20), "meeting.committee_monthly") == [
        f"meeting.committee_monthly:branch-{BRANCH}:2025-03"]
