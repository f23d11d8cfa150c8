"""What the platform told whom, on the member timeline and the branch page; pledges only ever counted;
events from a newer producer than the audit service knows still reach the views."""

from __future__ import annotations

import random
from dataclasses import replace

from services.audit import notices
from services.audit.projections import decode, facts_of
from services.audit.store import MemoryStore, put_all
from services.audit.timeline import describe
from tests.audit_month import BRANCH, M1, M4, NOTICE, NOVEMBER, TENANT, card_from, month_of_work


def _store(envelopes) -> MemoryStore:
    store = MemoryStore()
    for envelope in envelopes:
        put_all(store, facts_of(envelope))
    return store


def _folded(store: MemoryStore) -> dict:
    (notification,) = store.rows("notifications", TENANT)
    outcomes = [r for r in store.tables["notification_deliveries"].values() if r["notification_id"] == NOTICE]
    return notices.fold(notification, outcomes)


def test_each_delivery_shows_whether_it_was_sent_or_failed_whatever_the_arrival_order():
    envelopes = month_of_work().envelopes
    folded = _folded(_store(envelopes))
    status = {d["delivery_id"]: (d["recipient"], d["status"], d["error"]) for d in folded["deliveries"]}
    assert status == {"d1": ("支部书记", "sent", None), "d2": ("刘桂兰", "failed", "550 mailbox unavailable"),
                      "d3": ("局党组织", "sent", None)}
    assert (folded["sent"], folded["failed"], folded["branch_id"]) == (2, 1, BRANCH)
    shuffled = list(envelopes) + envelopes[-3:]
    random.Random(11).shuffle(shuffled)
    assert _folded(_store(shuffled)) == folded


def test_a_webhooks_address_never_reaches_the_views():
    folded = _folded(_store(month_of_work().envelopes))
    webhook = next(d for d in folded["deliveries"] if d["channel"] == "webhook")
    assert webhook["target"] is None and "token" not in str(folded)


def test_the_notification_is_on_the_timeline_of_the_member_it_told_and_concerned():
    store = _store(month_of_work().envelopes)
    rows = [r for r in store.rows("member_events", TENANT, member_id=M4) if r["event_type"].startswith("notify.")]
    assert [(r["role"], r["data"]["title"]) for r in rows] == [("recipient", "刘桂兰已连续6个月未缴党费")]
    assert "body" not in rows[0]["data"]  # the title, not the whole message with other members' details
    assert describe(rows[0]["event_type"], rows[0]["data"], M4) == "平台提醒：刘桂兰已连续6个月未缴党费"


def test_pledges_are_counted_and_never_on_a_timeline():
    history = month_of_work()
    store = _store(history.envelopes)
    assert not [r for r in store.tables["member_events"].values() if "Pledge" in r["event_type"]]
    (pledge,) = store.rows("pledges", TENANT)
    assert set(pledge) <= {"tenant_id", "event_id", "pledge_id", "branch_id", "member_id", "kind", "signed_on"}
    card = card_from(history.envelopes, period=NOVEMBER)
    assert card["figures"]["pledges"] == {"count": 1, "to_date": 1}
    assert M1 not in str(card["figures"]["pledges"])


def test_an_event_with_fields_added_by_a_newer_producer_still_reaches_the_views():
    recorded = next(e for e in month_of_work().envelopes if e.event_type == "activities.ActivityRecorded")
    newer = replace(recorded, data={**recorded.data, "invited": [M1], "some_future_field": {"x": 1}})
    assert decode(newer).activity_id == decode(recorded).activity_id
    assert [f.table for f in facts_of(newer)] == [f.table for f in facts_of(recorded)]


def test_the_timeline_says_what_happened_in_chinese():
    paid = {"months": ["2026-01", "2026-03"], "amount": "136.00", "payer": "relative", "payer_name": "王小红"}
    assert describe("members.DuesPaid", paid, M4) == "缴纳党费2026年1月至2026年3月，共136元（亲属代缴 王小红）"
    visit = {"channel": "home_study", "topic": "送学上门：党章", "hours": "2.00"}
    assert describe("activities.OutreachRecorded", visit, M4) == "送学上门：党章（2学时）"
    phone = {"channel": "phone", "topic": "通报学习内容"}
    assert describe("activities.OutreachRecorded", phone, M4) == "电话沟通：通报学习内容"
    care = {"kind": "holiday_visit", "holiday": "double_ninth", "note": None}
    assert describe("activities.CareRecorded", care, M4) == "重阳节慰问"
    spring = {**care, "holiday": "spring_festival", "note": "春节慰问"}
    assert describe("activities.CareRecorded", spring, M4) == "春节慰问"
    birthday = {"kind": "birthday", "note": "送蛋糕和鲜花"}
    assert describe("activities.CareRecorded", birthday, M4) == "生日关怀：送蛋糕和鲜花"
    absent = {"kind": "party_lecture", "title": "党课", "absentees": [{"member_id": M4, "reason": "住院治疗"}]}
    assert describe("activities.ActivityRecorded", absent, M4) == "党课；缺席原因：住院治疗"
    assert describe("members.SomethingNew", {}, M4) == "members.SomethingNew"


def test_a_title_that_names_its_kind_is_not_prefixed_again_and_teams_and_branches_are_named():
    study = {"kind": "study", "title": "集体学习：党的二十大精神", "hours": "2.5"}
    assert describe("activities.ActivityRecorded", study, M4) == "集体学习：党的二十大精神（2.5学时）"
    general = {"kind": "general_meeting", "title": "第3季度党员大会"}
    assert describe("activities.ActivityRecorded", general, M4) == "第3季度党员大会"
    committee = {"kind": "committee_meeting", "title": "研究走访安排"}
    assert describe("activities.ActivityRecorded", committee, M4) == "支委会：研究走访安排"
    names = {"branches": {"b-2": "第二党支部"}, "teams": {"t-1": "老干部合唱队"}}
    moved = {"member_id": M4, "from_branch_id": "b-1", "to_branch_id": "b-2", "reason": "transfer"}
    assert describe("members.MemberMoved", moved, M4, names) == "调整支部：调入第二党支部（组织关系转接）"
    assert describe("activities.MemberJoinedTeam", {"team_id": "t-1", "member_id": M4}, M4, names) == "加入老干部合唱队"
    performed = {"team_id": "t-1", "title": "国庆演出", "place": "社区广场"}
    assert describe("activities.TeamPerformed", performed, M4, names) == "随老干部合唱队演出：国庆演出（社区广场）"
    assert "transfer" not in describe("members.MemberMoved", moved, M4)
