"""The activities service's rules, pure: the roster on a date, attendees, quorum, corrections, late flags."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.activities.commands import (CancelActivity, ClosePeriod, CorrectActivity, EvidenceChecklistItem,
                                          FormTeam, JoinTeam, MoveCentre, PlanActivity, RecordActivity, RecordCare,
                                          RecordOutreach, RecordPerformance, RecordPlannedActivity, RecordTalk,
                                          SetUpCentre, SignPledge)
from services.activities.domain import ActivitiesConflict, ActivitiesRuleBroken
from services.activities.domain import activities as domain
from services.activities.domain import records
from services.activities.domain.activities import Circumstances, evolve_activity
from contracts.rulebook.calendar import parse_period
from services.activities.domain.roster import (BranchRecord, HealthRecord, Placement, RosterMember, health_on,
                                               roster_of)
from contracts.rulebook.rules import RuleBook, RuleVersion
from services.activities.events import ActivityCorrected, ActivityRecorded, PledgeSigned, TalkGiven


TODAY = date(2024, 11, 20)
A, B, C = "branch-a", "branch-b", "branch-c"
BRANCHES = [BranchRecord(A, "一支部", date(2010, 1, 1)), BranchRecord(B, "二支部", date(2010, 1, 1)),
            BranchRecord(C, "三支部", date(2010, 1, 1), closed_on=date(2024, 6, 1), merged_into=A)]


def member(member_id, *placements, party_member=True, birth_date=date(1950, 5, 10), health=()):
    return RosterMember(member_id, f"姓名{member_id}", birth_date, party_member,
                        placements=tuple(Placement(*p) for p in placements), health=tuple(health))


JOINED = ("joined", date(2019, 1, 1), A)
MEMBERS = [
    member("wang", JOINED),
    member("li", JOINED),
    member("zhao", JOINED, ("moved", date(2024, 3, 15), B)),                      # transferred mid-month
    member("chen", JOINED, ("died", date(2024, 2, 1))),
    member("sun", JOINED, ("transferred_out", date(2024, 4, 1))),
    member("zhou", ("joined", date(2020, 1, 1), C)),                              # C merged into A on 1 June
    member("wu", JOINED, party_member=False),                                     # not a full Party member
    member("zheng", ("joined", date(2024, 11, 15), A)),
]
ROSTER = roster_of(MEMBERS, BRANCHES)


def circumstances(today=TODAY, closed=(), rules=()):
    return Circumstances(today, ROSTER, RuleBook(rules), tuple(closed))


def record(**changes):
    values = dict(branch_id=A, kind="study", occurred_on=date(2024, 11, 8), title="学习二十届三中全会精神",
                  attendees=("wang", "li"), hours=Decimal("2.5"))
    return RecordActivity(**{**values, **changes})


# --- the roster ---------------------------------------------------------------------------------

def test_a_member_transferred_mid_month_is_in_each_branch_on_the_right_dates():
    assert ROSTER.standing("zhao", date(2024, 3, 14)).branch_id == A
    assert ROSTER.standing("zhao", date(2024, 3, 15)).branch_id == B
    assert ROSTER.is_member_of("zhao", B, date(2024, 3, 31)) and not ROSTER.is_member_of("zhao", A, date(2024, 3, 31))
    assert ROSTER.branch_ids_in("zhao", date(2024, 3, 1), date(2024, 3, 31)) == {A, B}


def test_departures_and_joining_dates_are_reasons_not_to_be_a_member():
    day = date(2024, 5, 1)
    assert ROSTER.why_not_member("chen", A, day) == "member_deceased"
    assert ROSTER.why_not_member("sun", A, day) == "member_transferred_out"
    assert ROSTER.why_not_member("sun", A, date(2024, 3, 31)) is None
    assert ROSTER.why_not_member("zheng", A, day) == "member_not_yet_joined"
    assert ROSTER.why_not_member("nobody", A, day) == "unknown_member"
    assert ROSTER.why_not_member("zhao", A, day) == "member_of_another_branch"


def test_members_of_a_merged_branch_belong_to_the_branch_it_merged_into():
    assert ROSTER.standing("zhou", date(2024, 5, 31)).branch_id == C
    assert ROSTER.standing("zhou", date(2024, 6, 1)).branch_id == A
    assert ROSTER.branch_open_on(C, date(2024, 6, 1)) == "branch_closed"
    assert ROSTER.branch_open_on("elsewhere", date(2024, 6, 1)) == "unknown_branch"


def test_facts_arriving_in_any_order_fold_to_the_same_standing():
    shuffled = member("zhao", ("moved", date(2024, 3, 15), B), JOINED)
    assert roster_of([shuffled], BRANCHES).standing("zhao", date(2024, 4, 1)).branch_id == B


def test_health_on_a_date_is_the_last_change_before_it():
    m = member("x", JOINED, health=[HealthRecord(date(2019, 1, 1), "good", "mobile"),
                                    HealthRecord(date(2024, 2, 1), "poor", "homebound")])
    assert health_on(m, date(2024, 1, 31)).health == "good"
    assert health_on(m, date(2024, 2, 1)).mobility == "homebound"


# --- recording activities ---------------------------------------------------------------------------

def test_a_recorded_activity_carries_its_attendees_and_no_late_flag():
    [event] = domain.record_activity("a1", None, record(), circumstances())
    assert isinstance(event, ActivityRecorded) and event.attendees == ["wang", "li"] and event.late is False
    assert event.quorate is None


@pytest.mark.parametrize("attendee, code", [
    ("chen", "member_deceased"), ("sun", "member_transferred_out"), ("zhao", "member_of_another_branch"),
    ("zheng", "member_not_yet_joined"), ("nobody", "unknown_member")])
def test_an_attendee_who_was_not_a_member_that_day_is_refused_with_a_reason(attendee, code):
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.record_activity("a1", None, record(attendees=("wang", attendee)), circumstances())
    assert refused.value.code == code and refused.value.status == 422
    assert refused.value.fields == {"attendees": [f"{attendee}: {code}"]}


def test_outsiders_come_as_guests_and_a_member_cannot_be_a_guest():
    guest = {"name": "市委组织部 刘处长", "member_id": None, "unit": "市委组织部"}
    [event] = domain.record_activity("a1", None, record(guests=(guest,)), circumstances())
    assert event.guests == [guest]
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.record_activity("a1", None, record(guests=({"name": "李", "member_id": "li"},)), circumstances())
    assert refused.value.code == "guest_is_member"


def test_duplicates_and_present_absentees_are_refused():
    with pytest.raises(ActivitiesRuleBroken, match="两次"):
        domain.record_activity("a1", None, record(attendees=("wang", "wang")), circumstances())
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.record_activity("a1", None, record(absentees=({"member_id": "wang", "reason": "病"},)),
                               circumstances())
    assert refused.value.code == "attendee_also_absent"


def test_a_date_in_the_future_and_a_closed_branch_are_refused():
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.record_activity("a1", None, record(occurred_on=date(2024, 11, 21)), circumstances())
    assert refused.value.code == "date_in_future" and "occurred_on" in refused.value.fields
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.record_activity("a1", None, record(branch_id=C, attendees=()), circumstances())
    assert refused.value.code == "branch_closed"


def test_a_general_meeting_records_its_quorum_over_full_party_members():
    # On 2024-11-08 branch A has wang, li, zhou (merged in) as voting members; wu is not a full member.
    [event] = domain.record_activity("a1", None, record(kind="general_meeting", attendees=("wang", "li", "wu")),
                                     circumstances())
    assert (event.voting_members, event.voting_present, event.quorate) == (3, 2, True)
    [event] = domain.record_activity("a1", None, record(kind="general_meeting", attendees=("wang", "wu")),
                                     circumstances())
    assert (event.voting_members, event.voting_present, event.quorate) == (3, 1, False)


def test_exactly_half_present_is_not_a_quorum():
    roster = roster_of([member("p", JOINED), member("q", JOINED)], BRANCHES)
    assert domain.general_meeting_quorum(roster, A, date(2024, 1, 5), ["p"]) == (2, 1, False)


def test_late_flags_come_from_closed_periods_and_the_rules_late_entry_days():
    closed = [parse_period("2024-11")]
    [event] = domain.record_activity("a1", None, record(), circumstances(closed=closed))
    assert event.late and event.late_reasons == ["period_closed"]
    strict = [RuleVersion(1, date(2024, 1, 1), {"late_entry_days": 7})]
    [event] = domain.record_activity("a1", None, record(), circumstances(rules=strict))
    assert event.late_reasons == ["entered_after_days"]


def test_a_planned_activity_is_recorded_later_keeping_its_kind_and_plan_date():
    [planned] = domain.plan_activity("a1", None, PlanActivity(A, "committee_meeting", date(2024, 11, 25), "支委会"),
                                     circumstances())
    state = evolve_activity(None, planned)
    [recorded] = domain.record_planned(state, RecordPlannedActivity(date(2024, 11, 26), ("wang",)),
                                       circumstances(today=date(2024, 11, 27)))
    assert recorded.kind == "committee_meeting" and recorded.planned_on == date(2024, 11, 25)
    assert recorded.title == "支委会" and recorded.occurred_on == date(2024, 11, 26)
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.record_planned(evolve_activity(state, recorded), RecordPlannedActivity(date(2024, 11, 26), ()),
                              circumstances())
    assert refused.value.code == "activity_not_planned"


def test_planning_in_the_past_is_refused():
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.plan_activity("a1", None, PlanActivity(A, "study", date(2024, 11, 1), "学习"), circumstances())
    assert refused.value.code == "planned_in_past"


def test_a_correction_is_a_complete_new_record_naming_what_changed():
    state = evolve_activity(None, domain.record_activity("a1", None, record(), circumstances())[0])
    [corrected] = domain.correct_activity(state, CorrectActivity({"attendees": ("wang",), "hours": Decimal("2.5")},
                                                                 "李同志未到会"), circumstances())
    assert isinstance(corrected, ActivityCorrected) and corrected.corrected_fields == ["attendees"]
    assert corrected.attendees == ["wang"] and corrected.title == state.record["title"]
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.correct_activity(state, CorrectActivity({"hours": Decimal("2.5")}, "无变化"), circumstances())
    assert refused.value.code == "nothing_to_correct"
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.correct_activity(state, CorrectActivity({"attendees": ("chen",)}, "x"), circumstances())
    assert refused.value.code == "member_deceased"


def test_a_cancelled_activity_cannot_be_corrected_or_cancelled_again():
    state = evolve_activity(None, domain.record_activity("a1", None, record(), circumstances())[0])
    cancelled = evolve_activity(state, domain.cancel_activity(state, CancelActivity("误录"), TODAY)[0])
    assert cancelled.status == "cancelled"
    with pytest.raises(ActivitiesRuleBroken):
        domain.cancel_activity(cancelled, CancelActivity("again"), TODAY)
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.correct_activity(cancelled, CorrectActivity({"title": "x"}, "x"), circumstances())
    assert refused.value.code == "activity_not_recorded"


def test_a_talk_is_a_talk_given_activity_with_its_audience_and_topic():
    recorded, talk = domain.record_talk("t1", RecordTalk(A, ("wang",), "局机关青年干部", "解放金积侯桥战役亲历",
                                                         date(2024, 7, 1)), circumstances())
    assert recorded.kind == "talk_given" and recorded.attendees == ["wang"]
    assert isinstance(talk, TalkGiven) and talk.audience == "局机关青年干部"
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.record_talk("t1", RecordTalk(A, ("chen",), "青年", "x", date(2024, 7, 1)), circumstances())
    assert "speakers" in refused.value.fields


# --- outreach, care, pledges, teams, centre, periods ---------------------------------------------

def test_outreach_goes_to_the_branch_the_member_was_in_that_day():
    [event] = records.record_outreach("o1", RecordOutreach("zhao", "visit", date(2024, 3, 20), "送学上门"),
                                      circumstances())
    assert event.branch_id == B
    with pytest.raises(ActivitiesRuleBroken) as refused:
        records.record_outreach("o1", RecordOutreach("zhao", "visit", date(2024, 3, 20), "x", branch_id=A),
                                circumstances())
    assert refused.value.code == "member_not_in_branch"
    with pytest.raises(ActivitiesRuleBroken) as refused:
        records.record_outreach("o1", RecordOutreach("chen", "phone", date(2024, 3, 20), "x"), circumstances())
    assert refused.value.code == "member_deceased"


def test_a_holiday_visit_is_linked_to_its_holiday_and_must_be_near_it():
    [event] = records.record_care("c1", RecordCare("wang", "holiday_visit", date(2024, 2, 2)), circumstances())
    assert (event.holiday, event.holiday_date) == ("spring_festival", date(2024, 2, 10))
    [event] = records.record_care("c1", RecordCare("wang", "holiday_visit", date(2024, 10, 9), holiday="double_ninth"),
                                  circumstances())
    assert event.holiday_date == date(2024, 10, 11)
    with pytest.raises(ActivitiesRuleBroken) as refused:
        records.record_care("c1", RecordCare("wang", "holiday_visit", date(2024, 5, 1)), circumstances())
    assert refused.value.code == "no_holiday_near_date"


def test_birthday_newspaper_and_condolence_care_rules():
    [event] = records.record_care("c1", RecordCare("wang", "birthday", date(2024, 5, 10)), circumstances())
    assert event.kind == "birthday"
    with pytest.raises(ActivitiesRuleBroken, match="生日"):
        records.record_care("c1", RecordCare("wang", "birthday", date(2024, 8, 10)), circumstances())
    [event] = records.record_care("c1", RecordCare("wang", "newspaper", date(2023, 12, 10), year=2024),
                                  circumstances())
    assert event.year == 2024
    [event] = records.record_care("c1", RecordCare("chen", "condolence", date(2024, 2, 3)), circumstances())
    assert event.branch_id == A
    with pytest.raises(ActivitiesConflict):
        records.require_no_newspaper(True, 2024)


def test_a_pledge_event_carries_ids_kind_and_date_only():
    [event] = records.sign_pledge("p1", SignPledge("wang", "no_religion", date(2024, 6, 28), statement="本人承诺……"),
                                  circumstances())
    assert isinstance(event, PledgeSigned)
    assert set(vars(event)) == {"pledge_id", "branch_id", "member_id", "kind", "signed_on"}
    assert records.may_read_pledges(frozenset({"bureau_admin"}), {"pledge_readers": ["bureau_admin"]})
    assert not records.may_read_pledges(frozenset({"secretary"}), {"pledge_readers": ["bureau_admin"]})


def test_a_team_performs_with_its_members_only():
    events = records.form_team("t1", FormTeam(A, "夕阳红合唱队", "choir", date(2023, 3, 1), members=("wang", "li")),
                               circumstances())
    team = None
    for event in events:
        team = records.evolve_team(team, event)
    team = records.evolve_team(team, records.join_team(team, JoinTeam("zheng", date(2024, 11, 16)), circumstances())[0])
    [performed] = records.record_performance(team, "p1", RecordPerformance(date(2024, 11, 18), "社区演出",
                                                                           ("wang", "zheng")), circumstances())
    assert performed.performers == ["wang", "zheng"]
    with pytest.raises(ActivitiesRuleBroken) as refused:
        records.record_performance(team, "p2", RecordPerformance(date(2024, 11, 15), "x", ("zheng",)), circumstances())
    assert refused.value.code == "performer_not_in_team"


def test_a_team_member_who_has_since_died_or_transferred_out_cannot_perform():
    events = records.form_team("t1", FormTeam(A, "舞蹈队", "dance", date(2023, 3, 1), members=("wang", "chen", "sun")),
                               circumstances())
    team = None
    for event in events:
        team = records.evolve_team(team, event)
    [performed] = records.record_performance(team, "p1", RecordPerformance(date(2024, 1, 20), "迎春演出",
                                                                           ("wang", "chen")), circumstances())
    assert performed.performers == ["wang", "chen"]
    with pytest.raises(ActivitiesRuleBroken) as refused:
        records.record_performance(team, "p2", RecordPerformance(date(2024, 5, 1), "x", ("wang", "chen", "sun")),
                                   circumstances())
    assert refused.value.code == "member_deceased"
    assert refused.value.fields == {"performers": ["chen: member_deceased", "sun: member_transferred_out"]}


def test_the_centre_checklist_comes_from_the_rules_and_evidence_before_a_move_is_stale():
    [set_up] = records.set_up_centre(A, None, SetUpCentre("局六楼活动室", date(2022, 1, 1)), circumstances())
    assert set_up.checklist[0] == "有场所" and len(set_up.checklist) == 6
    centre = records.evolve_centre(None, set_up)
    with pytest.raises(ActivitiesRuleBroken) as refused:
        records.evidence_item(centre, EvidenceChecklistItem("有电梯", date(2022, 2, 1), "x"), circumstances())
    assert refused.value.code == "not_a_checklist_item"
    [moved] = records.move_centre(centre, MoveCentre("局三楼活动中心", date(2023, 5, 1)), circumstances())
    evidence = [{"item": "有场所", "on_date": date(2022, 2, 1), "seq": 2, "evidence": "旧址", "photo_ref": None},
                {"item": "有党旗", "on_date": date(2023, 5, 2), "seq": 4, "evidence": "党旗上墙", "photo_ref": "p.jpg"}]
    status = {s["item"]: s for s in records.checklist_status(set_up.checklist, evidence, moved.moved_on)}
    assert status["有党旗"]["met"] and status["有场所"]["stale"] and not status["有书报"]["met"]


def test_a_period_is_closed_once_and_only_after_it_ended():
    [closed] = records.close_period("bureau", False, ClosePeriod("2024-Q3"), circumstances())
    assert (closed.starts_on, closed.ends_on, closed.closed_on) == (date(2024, 7, 1), date(2024, 9, 30), TODAY)
    with pytest.raises(ActivitiesConflict):
        records.close_period("bureau", True, ClosePeriod("2024-Q3"), circumstances())
    with pytest.raises(ActivitiesRuleBroken) as refused:
        records.close_period("bureau", False, ClosePeriod("2024-11"), circumstances())
    assert refused.value.code == "period_not_ended"


def test_the_rules_in_force_change_on_their_effective_date_and_keep_defaults_for_missing_keys():
    book = RuleBook([RuleVersion(0, None, {}), RuleVersion(2, date(2024, 7, 1), {"late_entry_days": 10})])
    assert book.on(date(2024, 6, 30))["late_entry_days"] == 30
    assert book.on(date(2024, 7, 1))["late_entry_days"] == 10
    assert book.on(date(2024, 7, 1))["centre_checklist"][0] == "有场所"
