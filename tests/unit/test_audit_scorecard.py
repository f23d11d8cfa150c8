"""Audit views from hand-written event sequences: a month of a branch's work, delivered in order,
out of order and twice, gives one scorecard with the expected figures and findings."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from contracts import activities as A
from contracts import members as M
from services.audit import facts as facts_module
from contracts.rulebook.calendar import parse_period
from services.audit.projections import facts_of
from services.audit.domain import scorecard
from services.audit.store import MemoryStore, put_all
from tests.audit_month import BRANCH, M1, M2, M4, M5, M8, OTHER, TENANT, TODAY, History, activity, card_from, \
    codes, month_of_work


@pytest.fixture(scope="module")
def history() -> History:
    return month_of_work()


@pytest.fixture(scope="module")
def card(history) -> dict:
    return card_from(history.envelopes)


def test_members_are_counted_by_kind_as_the_seed_reports_them(card):
    counts = card["figures"]["members"]
    assert (counts["total"], counts["retirees"], counts["lixiu"], counts["retired"],
            counts["in_service"]) == (8, 7, 2, 5, 1)
    assert (counts["party_members"], counts["retiree_party_members"]) == (7, 6)


def test_meetings_held_are_set_against_the_default_rules(card):
    meetings = card["figures"]["meetings"]
    assert meetings["committee_meeting"]["required"] == 1 and meetings["committee_meeting"]["done"] == 1
    assert meetings["theme_day"]["done"] == 1 and meetings["group_meeting"]["done"] == 1
    assert meetings["general_meeting"]["required"] == 0  # quarterly: nothing owed within one month
    assert len(meetings["committee_meeting"]["events"]) == 1
    assert "committee_meeting_short" not in codes(card)


def test_a_general_meeting_without_a_majority_present_is_a_finding(card):
    quorum = card["figures"]["general_meeting_quorum"]
    assert (quorum["held"], quorum["quorate"]) == (1, 0)
    assert "general_meeting_not_quorate" in codes(card)


def test_coverage_counts_study_and_study_brought_home_and_names_who_was_missed(card, history):
    coverage = card["figures"]["coverage"]["periods"][0]
    # m4 is reached by study brought to the home, m6 and m8 at the theme day; m7 is not a Party member.
    assert (coverage["members"], coverage["covered"], coverage["not_covered"]) == (7, 7, [])
    assert card["figures"]["coverage"]["rate"] == 1.0
    october = card_from(history.envelopes, period=parse_period("2026-10"))
    assert october["figures"]["coverage"]["done"] == 0
    missed = next(f for f in october["findings"] if f["code"] == "coverage_incomplete")
    assert len(missed["members"]) == 7


def test_dues_arrears_of_six_months_call_for_a_review_never_a_removal(card):
    dues = card["figures"]["dues"]
    arrears = {m["member_id"]: m["arrears"] for m in dues["members"] if m["arrears"]}
    assert arrears == {M4: ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]}
    assert {"dues_arrears", "dues_review_due"} <= codes(card)
    review = next(f for f in card["findings"] if f["code"] == "dues_review_due")
    assert review["members"] == [{"member_id": M4, "name": "刘桂兰"}] and "不自动除名" in review["message"]


def test_a_month_paid_twice_counts_the_payment_with_the_greater_event_id_whatever_the_order(history):
    h = History()
    h.versions = dict(history.versions)
    for amount in ("30.00", "36.00"):
        h.record(f"member-{M4}", M.DuesPaid(member_id=M4, branch_id=BRANCH, months=["2026-10"], amount=Decimal(amount),
                                            paid_on=date(2026, 11, 29), payer="self"), on=date(2026, 11, 29))
    later = max(h.envelopes, key=lambda e: e.event_id)
    expected = "30.00" if later is h.envelopes[0] else "36.00"
    for order in ([*history.envelopes, *h.envelopes], [*history.envelopes, *reversed(h.envelopes)]):
        card = card_from(order, period=parse_period("2026-10"))
        (member,) = [m for m in card["figures"]["dues"]["members"] if m["member_id"] == M4]
        assert member["paid"] == expected and member["arrears"] == ["2026-06", "2026-07", "2026-08", "2026-09"]
        assert {str(e.event_id) for e in h.envelopes} <= set(card["figures"]["dues"]["events"])


def test_committee_posts_allowance_centre_and_late_entries(card):
    committee = card["figures"]["committee"]
    assert [p["post"] for p in committee["posts"]] == ["secretary", "deputy_secretary", "member"]
    assert committee["allowance"]["required"] == 1 and committee["allowance"]["done"] == 1
    centre = card["figures"]["centre"]
    assert (centre["required"], centre["done"]) == (6, 5)
    assert "centre_checklist_incomplete" in codes(card)
    assert card["figures"]["late_entries"]["count"] == 2  # the talk's activity and its details
    assert card["figures"]["talks"]["count"] == 1 and card["figures"]["talks"]["audience"] == 40
    assert card["figures"]["care"]["birthdays"] == {"required": 1, "done": 1, "missed": [],
                                                     "events": card["figures"]["care"]["birthdays"]["events"]}
    assert not card["compliant"]


def test_every_finding_and_figure_points_at_recorded_events(card, history):
    known = {e.event_id for e in history.envelopes}
    for figure in card["figures"].values():
        if isinstance(figure, dict) and "events" in figure:
            assert set(figure["events"]) <= known
    for item in card["findings"]:
        assert set(item["records"]) <= known


def test_out_of_order_and_duplicate_delivery_converge_to_the_same_scorecard(history, card):
    shuffled = list(history.envelopes)
    random.Random(7).shuffle(shuffled)
    twice = shuffled + list(reversed(history.envelopes))
    assert card_from(twice) == card


def test_a_correction_wins_over_the_original_whatever_order_they_arrive_in(history):
    h = History()
    h.versions = dict(history.versions)
    correction = A.ActivityCorrected(
        activity_id="a-committee_meeting-2026-11-10", branch_id=BRANCH, kind="committee_meeting",
        occurred_on=date(2026, 10, 30), title="支委会", place=None, topics=[], attendees=[M1], guests=[],
        absentees=[], minutes=None, hours=None, voting_members=None, voting_present=None, quorate=None, late=False,
        late_reasons=[], reason="日期记错", corrected_fields=["occurred_on"])
    fixed = h.record("activity-a-committee_meeting-2026-11-10", correction, on=date(2026, 10, 30))
    for order in ([*history.envelopes, fixed], [fixed, *history.envelopes]):
        card = card_from(order)
        assert card["figures"]["meetings"]["committee_meeting"]["done"] == 0
        assert "committee_meeting_short" in codes(card)


def test_a_member_who_moved_away_is_counted_in_the_new_branch_from_the_day_of_the_move(history):
    h = History()
    h.versions = dict(history.versions)
    h.record("branch-other", M.BranchEstablished(branch_id=OTHER, name="第二支部", established_on=date(2020, 1, 1)),
             branch_id="other")
    h.record("member-m5", M.MemberMoved(member_id=M5, from_branch_id=BRANCH, to_branch_id=OTHER,
                                        moved_on=date(2026, 11, 15), reason="合并"), on=date(2026, 11, 15))
    card = card_from([*h.envelopes, *history.envelopes])
    assert card["figures"]["members"]["total"] == 7
    october = card_from([*h.envelopes, *history.envelopes], period=parse_period("2026-10"))
    assert october["figures"]["members"]["total"] == 8


def test_a_withdrawn_care_record_no_longer_counts_whichever_arrives_first(history):
    h = History()
    h.versions = dict(history.versions)
    withdrawn = h.record("care-c1", A.CareWithdrawn(care_id="c1", branch_id=BRANCH, member_id=M2, kind="birthday",
                                                    withdrawn_on=date(2026, 11, 30), reason="记错了人"))
    for order in ([*history.envelopes, withdrawn], [withdrawn, *history.envelopes]):
        card = card_from(order)
        assert card["figures"]["care"]["birthdays"]["done"] == 0
        assert "birthday_care_missed" in codes(card)


def _with_rules(history: History, **rules) -> list:
    h = History()
    h.versions = dict(history.versions)
    h.record(f"bureau-{TENANT}", M.BureauRulesPublished(bureau_id=TENANT, rules_version=1,
                                                        effective_from=date(2026, 1, 1), rules=rules),
             on=date(2026, 1, 1), branch_id=None)
    return [*history.envelopes, *h.envelopes]


def test_holiday_visits_are_judged_on_the_calendar_activities_and_notify_use(history):
    from contracts.rulebook import holidays
    envelopes = _with_rules(history, holiday_visits=["summer_heat", "double_ninth", "lunar:08-15", "no_such_day"])
    card = card_from(envelopes, period=parse_period("2026"))
    judged = {h["holiday"]: h["date"] for h in card["figures"]["care"]["holiday_visits"]["holidays"]}
    assert judged == {name: holidays.holiday_date(name, 2026).isoformat()
                      for name in ("summer_heat", "double_ninth", "lunar:08-15")}
    labels = {h["holiday"]: h["label"] for h in card["figures"]["care"]["holiday_visits"]["holidays"]}
    assert labels["summer_heat"] == holidays.holiday_label("summer_heat") and labels["double_ninth"] == "重阳节"


def test_a_monthly_meeting_missed_in_one_month_is_a_finding_of_the_year_even_if_made_up_later(history):
    h = History()
    h.versions = dict(history.versions)
    for month in (1, 2, 3, 5, 6, 7, 8, 9, 10):  # none in April; two in November (one is in the month of work)
        record = activity("committee_meeting", date(2026, month, 6), [M1, M2, M8])
        h.record(f"activity-{record.activity_id}", record, on=record.occurred_on)
    extra = activity("committee_meeting", date(2026, 11, 28), [M1, M2, M8])
    h.record(f"activity-{extra.activity_id}", extra, on=extra.occurred_on)
    card = card_from([*history.envelopes, *h.envelopes], period=parse_period("2026"))
    committee = card["figures"]["meetings"]["committee_meeting"]
    assert (committee["done"], committee["due_so_far"]) == (11, 11)  # the total alone would hide April
    assert committee["missed"] == ["2026-04"]
    short = next(f for f in card["findings"] if f["code"] == "committee_meeting_short")
    assert "2026年4月" in short["message"]
    quarterly = card["figures"]["meetings"]["general_meeting"]
    assert quarterly["missed"] == ["2026-Q1", "2026-Q2", "2026-Q3"]  # Q4 is not over on 5 December


def test_a_transfer_received_by_another_branch_of_the_bureau_is_not_an_overdue_letter(history):
    h = History()
    h.versions = dict(history.versions)
    h.record("branch-other", M.BranchEstablished(branch_id=OTHER, name="第二支部", established_on=date(2020, 1, 1)),
             branch_id=OTHER)
    letter = M.TransferLetterIssued(transfer_id="tr1", member_id=M5, member_name="陈志强", from_branch_id=BRANCH,
                                    to_tenant_id=TENANT, to_branch_id=OTHER, dues_paid_until="2026-03",
                                    issued_on=date(2026, 3, 1), valid_until=date(2026, 5, 30))
    h.record("member-m5", letter, on=date(2026, 3, 1))
    pending = card_from([*history.envelopes, *h.envelopes], period=parse_period("2026"))
    assert "transfer_letter_overdue" in codes(pending)
    h.record("member-m5", M.TransferReceived(transfer_id="tr1", to_branch_id=OTHER, member_id=M5,
                                             received_on=date(2026, 3, 8)), on=date(2026, 3, 8), branch_id=OTHER)
    h.record("member-m5", M.MemberMoved(member_id=M5, from_branch_id=BRANCH, to_branch_id=OTHER,
                                        moved_on=date(2026, 3, 8), reason="transfer", transfer_id="tr1"),
             on=date(2026, 3, 8), branch_id=OTHER)
    for order in ([*history.envelopes, *h.envelopes], [*reversed(h.envelopes), *history.envelopes]):
        sender = card_from(order, period=parse_period("2026"))
        assert "transfer_letter_overdue" not in codes(sender) and sender["figures"]["transfers"]["pending"] == 0
        store = MemoryStore()
        for envelope in order:
            put_all(store, facts_of(envelope))
        receiver = scorecard(facts_module.load(store, TENANT, date(2026, 1, 1), date(2026, 12, 31), OTHER), OTHER,
                             parse_period("2026"), TODAY)
        assert "return_slip_overdue" in codes(receiver)  # the receiving branch owes the slip, not the sender


def test_attending_the_activities_the_rules_count_as_study_covers_a_member(history):
    h = History()
    h.versions = dict(history.versions)
    briefing = activity("briefing", date(2026, 10, 20), [M1], hours="1")
    h.record(f"activity-{briefing.activity_id}", briefing, on=briefing.occurred_on)
    october = parse_period("2026-10")
    by_default = card_from([*history.envelopes, *h.envelopes], period=october)
    assert by_default["figures"]["coverage"]["done"] == 1  # the defaults count briefings, as activities does
    hours = {m["member_id"]: m["done"] for m in by_default["figures"]["study_hours"]["members"]}
    assert hours[M1] == "1.0"
    narrower = card_from(_with_rules(History(), coverage_activity_kinds=["study"]) + [*history.envelopes,
                                                                                       *h.envelopes], period=october)
    assert narrower["figures"]["coverage"]["done"] == 0


def test_a_branch_without_a_recorded_term_meets_no_criterion_that_needs_a_secretary(history):
    from services.audit.demonstration import assess
    without_term = [e for e in history.envelopes if e.event_type not in (
        "members.CommitteeTermOpened", "members.PostFilled", "members.ElectionHeld", "members.AllowancePaid")]
    card = card_from(without_term, period=parse_period("2026"))
    assert "no_committee_term" in codes(card)
    committee = next(c for c in assess(card)["criteria"] if c["criterion"] == "committee")
    checks = {c["check"]: c["met"] for c in committee["checks"]}
    assert checks["secretary_in_post"] is False and checks["allowance"] is False


def test_one_branchs_load_reads_of_other_branches_only_what_names_its_own_members(history):
    """A member who moved on is still reached in the new branch; a stranger's records there are not read."""
    h = History()
    h.versions = dict(history.versions)
    h.record("member-m5", M.MemberMoved(member_id=M5, from_branch_id=BRANCH, to_branch_id=OTHER,
                                        moved_on=date(2026, 11, 15), reason="合并"), on=date(2026, 11, 15))
    stranger = "7d2f0c3e-0000-4000-8000-000000000099"
    for name, attendees in (("with-m5", [M5, stranger]), ("strangers", [stranger])):
        recorded = replace(activity("theme_day", date(2026, 11, 20), attendees, hours="2"),
                           activity_id=f"a-other-{name}", branch_id=OTHER)
        h.record(f"activity-a-other-{name}", recorded, on=date(2026, 11, 20), branch_id=OTHER)
    store = MemoryStore()
    for envelope in [*history.envelopes, *h.envelopes]:
        put_all(store, facts_of(envelope))
    start, end = date(2026, 1, 1), date(2026, 11, 30)
    branch = facts_module.load(store, TENANT, start, end, BRANCH)
    bureau = facts_module.load(store, TENANT, start, end)
    others = {row["activity_id"] for row in branch.everywhere("activities") if row["branch_id"] == OTHER}
    assert others == {"a-other-with-m5"}
    assert {row["activity_id"] for row in bureau.everywhere("activities") if row["branch_id"] == OTHER} == \
        {"a-other-with-m5", "a-other-strangers"}
    for period in ("2026-11", "2026-Q4", "2026"):
        assert scorecard(branch, BRANCH, parse_period(period), TODAY) == \
            scorecard(bureau, BRANCH, parse_period(period), TODAY)
