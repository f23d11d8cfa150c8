"""This month's list of a branch and the forms' bodies, from the services' answers (pure, no server)."""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from services.web import agenda, forms
from services.web.client import Refused

BRANCH = "b-1"
TODAY = date(2026, 11, 30)


def card(**meetings) -> dict:
    """A scorecard answer whose meetings are ``kind=(required, done)``."""
    figures = {kind: {"required": r, "done": d, "label": kind}
               for kind, (r, d) in meetings.items() if kind != "briefing"}
    briefing = meetings.get("briefing", (0, 0))
    return {"figures": {"meetings": figures, "briefings": {"required": briefing[0], "done": briefing[1]}}}


def sources(**changes) -> agenda.Sources:
    base = dict(branch_id=BRANCH, today=TODAY, cards={}, planned=[], coverage={}, members=[], care={}, holidays=[],
                dues={}, inbox=[])
    return agenda.Sources(**{**base, **changes})


def test_each_meeting_is_judged_in_the_shortest_period_the_rules_require_one_in():
    cards = {"month": card(committee_meeting=(1, 0), general_meeting=(0, 0), life_meeting=(0, 0)),
             "quarter": card(committee_meeting=(3, 2), general_meeting=(1, 0), life_meeting=(0, 0)),
             "year": card(committee_meeting=(12, 11), general_meeting=(4, 3), life_meeting=(1, 1))}
    items = agenda.meetings(sources(cards=cards)).items
    assert [i.text for i in items] == ["支委会：本月应开1次，已开0次", "支部党员大会：本季度应开1次，已开0次"]
    assert items[0].href == "/branches/b-1/meetings/new?kind=committee_meeting"


def test_a_planned_meeting_links_to_recording_what_happened():
    cards = {"month": card(committee_meeting=(1, 0))}
    planned = [{"id": "a-9", "kind": "committee_meeting", "planned_on": "2026-12-02"}]
    item = agenda.meetings(sources(cards=cards, planned=planned)).items[0]
    assert item.detail == "已计划在12月2日召开" and item.href == "/branches/b-1/meetings/a-9/record"
    planned.append({"id": "a-10", "kind": "theme_day", "planned_on": "2026-12-08", "title": "参观纪念馆"})
    items = agenda.meetings(sources(cards=cards, planned=planned)).items
    assert [i.text for i in items] == ["支委会：本月应开1次，已开0次", "主题党日：参观纪念馆"]


def test_members_not_reached_come_with_their_health_mobility_and_the_suggested_channel():
    coverage = {"period": "2026-11", "uncovered": [{"member_id": "m-1", "name": "王德明", "health": "poor",
                                                    "mobility": "homebound", "suggested_channel": "home_study"}]}
    section = agenda.coverage(sources(coverage=coverage))
    assert section.title == "2026年11月尚未参加学习的党员"
    item = section.items[0]
    assert item.text == "王德明" and item.detail == "健康较差，居家难出门；建议送学上门"
    assert item.href == "/branches/b-1/outreach/new?member=m-1&channel=home_study"


def test_birthdays_and_holidays_of_the_coming_month_not_yet_cared_for_are_listed_by_date():
    members = [{"id": "m-1", "birth_date": "1946-12-01"}, {"id": "m-2", "birth_date": "1950-12-25"},
               {"id": "m-3", "birth_date": "1950-06-01"}]
    care = {2026: {"members": [
        {"member_id": "m-1", "name": "周建华", "birthday": None, "holiday_visits": []},
        {"member_id": "m-2", "name": "李淑芬", "birthday": "2026-12-24",
         "holiday_visits": [{"holiday": "new_year", "visited_on": "2026-12-18"}]},
        {"member_id": "m-3", "name": "王德明", "birthday": None, "holiday_visits": []}]},
        2027: {"members": [{"member_id": "m-1", "name": "周建华", "holiday_visits": []}]}}
    holidays = [{"date": "2026-12-20", "holiday": "new_year", "visits_required": True},
                {"date": "2026-12-22", "holiday": "solar:12-22", "visits_required": False},
                {"date": "2026-12-29", "holiday": "solar:12-29", "visits_required": True}]
    items = agenda.care(sources(members=members, care=care, holidays=holidays)).items
    assert [i.text for i in items] == ["周建华生日", "元旦慰问（2026年12月20日）", "12月29日慰问（2026年12月29日）"]
    assert items[1].detail == "尚未慰问：周建华、王德明"
    assert items[0].href == "/branches/b-1/care/new?member=m-1&kind=birthday&on=2026-12-01"


def test_dues_in_arrears_are_listed_per_member_and_this_months_in_one_line():
    dues = {"members": [
        {"member_id": "m-1", "name": "宋桂芝", "arrears": ["2026-09", "2026-10"],
         "open_months": ["2026-09", "2026-10", "2026-11"]},
        {"member_id": "m-2", "name": "罗春梅", "arrears": [], "open_months": ["2026-11"]},
        {"member_id": "m-3", "name": "马文斌", "arrears": [], "open_months": ["2026-11"]},
        {"member_id": "m-4", "name": "梁志强", "arrears": [], "open_months": []}]}
    items = agenda.dues(sources(dues=dues)).items
    assert items[0].text == "宋桂芝" and items[0].detail == "2026年9月（欠缴）、2026年10月（欠缴）、2026年11月"
    assert items[0].href == "/branches/b-1/dues/new?member=m-1&months=2026-09%2C2026-10%2C2026-11"
    assert items[1].text == "2026年11月党费尚未缴纳（2人）" and items[1].detail == "罗春梅、马文斌"


def test_each_unread_reminder_links_to_the_form_that_answers_it_and_can_be_marked_read():
    inbox = [{"id": "n-1", "rule": "care.birthday", "branch_id": BRANCH,
              "title": "生日关怀：明天是周建华同志80岁生日",
              "body": "请准备蛋糕和鲜花", "details": {"member_id": "m-1"}, "note": None},
             {"id": "n-2", "rule": "committee.term_ending", "branch_id": BRANCH, "title": "支委会任期将满",
              "body": "", "details": {}},
             {"id": "n-3", "rule": "care.birthday", "branch_id": "another", "title": "x", "details": {}}]
    items = agenda.reminders(sources(inbox=inbox)).items
    assert [i.text for i in items] == ["生日关怀：明天是周建华同志80岁生日", "支委会任期将满"]
    assert items[0].href == "/branches/b-1/care/new?member=m-1&kind=birthday"
    assert items[0].read_href == "/inbox/n-1/read"
    assert items[1].href == ""


def test_a_meeting_form_becomes_the_apis_body_with_attendees_absentees_and_guests():
    roster = [{"member_id": "m-1"}, {"member_id": "m-2"}, {"member_id": "m-3"}]
    form = MultiDict([("kind", "committee_meeting"), ("occurred_on", "2026-11-29"), ("title", " 11月支委会 "),
                      ("topics", "学习二十届三中全会精神、研究走访安排\n"), ("place", ""), ("attendee", "m-1"),
                      ("attendee", "m-3"), ("absence-m-2", "住院"), ("absence-m-3", "ignored: present"),
                      ("guests", "张三，市委老干部局\n李四\n"), ("hours", "1.5"), ("status", "recorded")])
    body = forms.meeting_body(BRANCH, form, roster)
    assert body == {"branch_id": BRANCH, "kind": "committee_meeting", "occurred_on": "2026-11-29",
                    "title": "11月支委会", "topics": ["学习二十届三中全会精神", "研究走访安排"],
                    "attendees": ["m-1", "m-3"], "absentees": [{"member_id": "m-2", "reason": "住院"}],
                    "guests": [{"name": "张三", "unit": "市委老干部局"}, {"name": "李四"}], "hours": "1.5"}
    planned = forms.meeting_body(BRANCH, MultiDict({**form.to_dict(), "status": "planned"}), roster)
    assert planned["status"] == "planned" and "attendees" not in planned and "hours" not in planned


def test_a_correction_sends_the_reason_and_only_what_changed():
    roster = [{"member_id": "m-1"}, {"member_id": "m-2"}]
    before = {"kind": "study", "occurred_on": "2026-11-12", "title": "集体学习", "place": "活动中心",
              "topics": ["党章"], "attendees": ["m-1"], "absentees": [], "guests": [], "hours": "2.50",
              "minutes": None}
    form = MultiDict([("reason", "漏记一人"), ("kind", "study"), ("occurred_on", "2026-11-12"), ("title", "集体学习"),
                      ("place", "活动中心"), ("topics", "党章"), ("attendee", "m-1"), ("attendee", "m-2"),
                      ("hours", "2.50")])
    assert forms.correction_body(form, roster, before) == {"reason": "漏记一人", "attendees": ["m-1", "m-2"]}


def test_a_refusal_is_read_by_field_and_by_member():
    refusal = Refused(422, "member_deceased", "王德明当天已去世", {"attendees": ["m-2: member_deceased"]})
    assert forms.field_errors(refusal) == {"attendees": ["m-2: member_deceased"]}
    assert forms.member_errors(refusal, "attendees", "absentees") == {"m-2": "member_deceased"}
    nested = Refused(400, "invalid_request", "以下字段有误",
                     {"attendees": {"1": ["不是有效的编号"]}, "title": ["必须填写"]})
    assert forms.field_errors(nested) == {"attendees": ["不是有效的编号"], "title": ["必须填写"]}


def test_dues_care_and_outreach_forms_send_only_what_their_kind_takes():
    dues = forms.dues_body(MultiDict([("months", "2026-10"), ("months", "2026-11"), ("paid_on", "2026-11-30"),
                                      ("payer", "self"), ("payer_name", "王小红")]))
    assert dues == {"months": ["2026-10", "2026-11"], "paid_on": "2026-11-30", "payer": "self"}
    care = forms.care_body(MultiDict({"member_id": "m-1", "kind": "birthday", "occurred_on": "2026-12-01",
                                      "holiday": "new_year", "year": "2026", "note": "送蛋糕"}))
    assert care == {"member_id": "m-1", "kind": "birthday", "occurred_on": "2026-12-01", "note": "送蛋糕"}
    visit = forms.outreach_body(MultiDict({"member_id": "m-1", "channel": "visit", "occurred_on": "2026-11-30",
                                           "topic": "谈心", "hours": "2"}))
    assert visit == {"member_id": "m-1", "channel": "visit", "occurred_on": "2026-11-30", "topic": "谈心"}
