"""Every command handler of the activities service on the in-memory unit of work: what it records, what it refuses."""

from __future__ import annotations

from datetime import date, datetime, UTC
from decimal import Decimal

import pytest

from contracts.rulebook.rules import RuleBook, RuleVersion
from services.activities import handlers
from services.activities.commands import (
    CancelActivity, ClosePeriod, CorrectActivity, EvidenceChecklistItem, FormTeam, JoinTeam, LeaveTeam, MoveCentre,
    PlanActivity, RecordCare, RecordOutreach, RecordPerformance, RecordPlannedActivity, RecordTalk, SetUpCentre,
    SignPledge, WithdrawRecord)
from services.activities.domain import ActivitiesConflict, ActivitiesRuleBroken
from shared.errors import ConcurrencyError, Forbidden, NotFound
from shared.memory import MemoryEventStore
from tests.unit.fakes import activities_unit_of_work
from tests.unit.test_activities_domain import A, B, ROSTER, record

BUREAU = "bureau-0001"
NOW = datetime(2024, 11, 20, 2, 30, tzinfo=UTC)
RULES = RuleBook([RuleVersion(1, date(2019, 1, 1), {"pledge_readers": ["bureau_admin"]})])


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


@pytest.fixture
def pledges() -> dict:
    return {}


def uow(store, pledges=None, tenant=BUREAU, at=NOW, **options):
    return activities_unit_of_work(store, tenant, ROSTER, RULES, pledges, at=at, **options)


def anyone(_branch_id: str) -> None:
    """The API's authorisation, for a caller who may write in every branch."""


def only(branch_id: str):
    def authorise(asked: str) -> None:
        if asked != branch_id:
            raise Forbidden("这个令牌无权这样做")
    return authorise


def types(unit) -> list[str]:
    return [envelope.event_type for envelope in unit.recorded]


# --- activities --------------------------------------------------------------------------------------------

def test_a_recorded_activity_names_its_late_flags_and_its_version(store):
    unit = uow(store)
    reply = handlers.record_activity(unit, record())
    assert reply["version"] == 1 and reply["late"] is False and types(unit) == ["activities.ActivityRecorded"]
    late = handlers.record_activity(uow(store), record(occurred_on=date(2024, 9, 2)))
    assert late["late"] is True and late["late_reasons"]


def test_a_planned_meeting_is_recorded_when_held_and_cancelling_it_twice_is_refused(store):
    planned = handlers.plan_activity(uow(store), PlanActivity(A, "committee_meeting", date(2024, 11, 25), "支委会"))
    assert planned["status"] == "planned"
    unit = uow(store, at=datetime(2024, 11, 26, 9, tzinfo=UTC))
    held = handlers.record_planned(unit, planned["id"], RecordPlannedActivity(date(2024, 11, 26), ("wang",)), anyone)
    assert held["version"] == 2 and types(unit) == ["activities.ActivityRecorded"]
    cancelled = handlers.plan_activity(uow(store), PlanActivity(A, "study", date(2024, 12, 2), "学习"))
    handlers.cancel_activity(uow(store), cancelled["id"], CancelActivity("改期"), anyone)
    with pytest.raises(ActivitiesRuleBroken):
        handlers.cancel_activity(uow(store), cancelled["id"], CancelActivity("again"), anyone)


def test_a_correction_needs_the_version_the_caller_saw_and_a_branch_it_may_write_in(store):
    activity_id = handlers.record_activity(uow(store), record())["id"]
    change = CorrectActivity({"hours": Decimal("3.0")}, "学时记错")
    with pytest.raises(ConcurrencyError):
        handlers.correct_activity(uow(store), activity_id, change, anyone, expected_version=5)
    with pytest.raises(Forbidden):
        handlers.correct_activity(uow(store), activity_id, change, only(B), expected_version=1)
    unit = uow(store)
    assert handlers.correct_activity(unit, activity_id, change, only(A), expected_version=1)["version"] == 2
    assert types(unit) == ["activities.ActivityCorrected"]


def test_an_activity_of_another_bureau_is_not_found(store):
    activity_id = handlers.record_activity(uow(store), record())["id"]
    with pytest.raises(NotFound):
        handlers.cancel_activity(uow(store, tenant="bureau-0002"), activity_id, CancelActivity("x"), anyone)


def test_a_talk_is_recorded_with_its_speakers(store):
    unit = uow(store)
    handlers.record_talk(unit, RecordTalk(A, ("wang",), "局机关青年干部", "亲历", date(2024, 11, 1)))
    assert types(unit) == ["activities.ActivityRecorded", "activities.TalkGiven"]


# --- outreach and care ---------------------------------------------------------------------------------------

def test_outreach_is_recorded_in_the_branch_the_member_was_in_that_day_and_withdrawn_once(store):
    unit = uow(store)
    reply = handlers.record_outreach(unit, RecordOutreach("zhao", "visit", date(2024, 3, 20), "送学上门"), anyone)
    assert unit.recorded[0].branch_id == B and reply["version"] == 1  # 赵 moved to B on 15 March
    handlers.withdraw_record(uow(store), "outreach", reply["id"], WithdrawRecord("录错了"), anyone)
    with pytest.raises(ActivitiesRuleBroken):
        handlers.withdraw_record(uow(store), "outreach", reply["id"], WithdrawRecord("again"), anyone)


def test_a_newspaper_subscription_is_one_a_year_until_it_is_withdrawn(store):
    newspaper = RecordCare("wang", "newspaper", date(2023, 12, 10), year=2024)
    first = handlers.record_care(uow(store), newspaper, anyone)
    with pytest.raises(ActivitiesConflict):
        handlers.record_care(uow(store), newspaper, anyone)
    handlers.withdraw_record(uow(store), "care", first["id"], WithdrawRecord("重复订阅"), anyone)
    assert handlers.record_care(uow(store), newspaper, anyone)["version"] == 1


def test_a_holiday_visit_names_its_holiday(store):
    reply = handlers.record_care(uow(store), RecordCare("wang", "holiday_visit", date(2024, 2, 2)), anyone)
    assert reply["holiday"] and reply["holiday_date"]


# --- teams ---------------------------------------------------------------------------------------------------

def test_a_team_takes_members_who_leave_and_performs_with_its_members_only(store):
    formed = FormTeam(A, "夕阳红合唱队", "choir", date(2023, 3, 1), members=("wang", "li"))
    team = handlers.form_team(uow(store), formed)
    unit = uow(store)
    handlers.change_team(unit, team["id"], JoinTeam("zheng", date(2024, 11, 16)), anyone)
    handlers.change_team(unit, team["id"], LeaveTeam("li", date(2024, 11, 17)), anyone)
    performed = handlers.change_team(unit, team["id"], RecordPerformance(date(2024, 11, 18), "社区演出",
                                                                         ("wang", "zheng")), anyone)
    assert types(unit) == ["activities.MemberJoinedTeam", "activities.MemberLeftTeam", "activities.TeamPerformed"]
    assert performed["id"] != team["id"]
    with pytest.raises(ActivitiesRuleBroken):
        handlers.change_team(uow(store), team["id"], RecordPerformance(date(2024, 11, 19), "x", ("li",)), anyone)


# --- pledges -------------------------------------------------------------------------------------------------

def test_a_pledges_statement_is_kept_apart_and_each_permitted_reading_is_recorded(store, pledges):
    signed = handlers.sign_pledge(uow(store, pledges), SignPledge("wang", "no_religion", date(2024, 6, 28),
                                                                  statement="本人承诺……"), anyone)
    assert store.read_stream(f"pledge-{signed['id']}")[0].data.get("statement") is None
    assert pledges[signed["id"]]["statement"] == "本人承诺……"
    with pytest.raises(Forbidden):
        handlers.read_pledges(uow(store, pledges, role="secretary"), None, None, frozenset({"secretary"}))
    reader = uow(store, pledges, role="bureau_admin")
    [row] = handlers.read_pledges(reader, None, A, frozenset({"bureau_admin"}))
    assert row["statement"] == "本人承诺……" and types(reader) == ["activities.PledgeRead"]


# --- the centre and periods ----------------------------------------------------------------------------------

def test_a_centre_is_set_up_once_moved_and_evidenced_against_the_rules_checklist(store):
    handlers.set_up_centre(uow(store), A, SetUpCentre("局六楼活动室", date(2022, 1, 1)))
    with pytest.raises(ActivitiesConflict):
        handlers.set_up_centre(uow(store), A, SetUpCentre("又一处", date(2022, 2, 1)))
    unit = uow(store)
    handlers.change_centre(unit, A, MoveCentre("局三楼活动中心", date(2023, 5, 1)))
    handlers.change_centre(unit, A, EvidenceChecklistItem("有党旗", date(2023, 5, 2), "党旗上墙"))
    assert types(unit) == ["activities.CentreMoved", "activities.CentreChecklistItemEvidenced"]
    with pytest.raises(NotFound):
        handlers.change_centre(uow(store), B, MoveCentre("x", date(2023, 5, 1)))


def test_a_period_is_closed_once(store):
    unit = uow(store)
    assert handlers.close_period(unit, ClosePeriod("2024-Q3"))["id"] == "2024-Q3"
    assert types(unit) == ["activities.PeriodClosed"]
    with pytest.raises(ActivitiesConflict):
        handlers.close_period(uow(store), ClosePeriod("2024-Q3"))
    in_closed = handlers.record_activity(uow(store), record(occurred_on=date(2024, 8, 8)))
    assert "period_closed" in in_closed["late_reasons"]
