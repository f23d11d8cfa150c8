"""Audit views from hand-written event sequences: a month of a branch's work, delivered in order,
out of order and twice, gives one scorecard with the expected figures and findings."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, UTC
from decimal import Decimal

import pytest

from contracts import activities as A
from contracts import members as M
from contracts import notify as N
from services.audit import facts as facts_module
from contracts.rulebook.calendar import parse_period
from services.audit.projections import facts_of
from services.audit.domain import scorecard
from services.audit.store import MemoryStore, put_all
from shared.envelope import Actor, Envelope

ID_PREFIX = "7d2f0c3e-0000-4000-8000-"
TENANT = ID_PREFIX + "00000000b001"
BRANCH = ID_PREFIX + "00000000b101"
GROUP = ID_PREFIX + "00000000b201"
M1, M2, M3, M4, M5, M6, M7, M8 = (f"{ID_PREFIX}{n:012d}" for n in range(1, 9))
OTHER = ID_PREFIX + "00000000b102"
TODAY = date(2026, 12, 5)
NOVEMBER = parse_period("2026-11")


class History:
    """Builds sealed envelopes from contract events, one stream at a time, as the services would record them."""

    def __init__(self, tenant: str = TENANT) -> None:
        self.tenant = tenant
        self.versions: dict[str, int] = {}
        self.hashes: dict[str, str] = {}
        self.envelopes: list[Envelope] = []

    def record(self, stream: str, event, *, on: date | None = None, branch_id: str | None = BRANCH,
               recorded: date | None = None) -> Envelope:
        registry = {"members": M.registry, "activities": A.registry, "notify": N.registry}[
            type(event).__module__.rsplit(".", 1)[-1]]
        name, version, data = registry.serialise(event)
        self.versions[stream] = self.versions.get(stream, 0) + 1
        day = on or TODAY
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        recorded_day = recorded or day
        envelope = Envelope(event_id=str(uuid.uuid4()), event_type=name, schema_version=version, stream_id=stream,
                            stream_version=self.versions[stream], tenant_id=self.tenant, branch_id=branch_id,
                            occurred_at=moment, recorded_at=datetime(recorded_day.year, recorded_day.month,
                                                                     recorded_day.day, 12, tzinfo=UTC),
                            actor=Actor("secretary-1", "secretary"), correlation_id=None, causation_id=None,
                            data=data).sealed(self.hashes.get(stream, "0" * 64))
        self.hashes[stream] = envelope.hash
        self.envelopes.append(envelope)
        return envelope


MEMBERS = [  # id, name, birth, party, kind, health
    (M1, "王建国", date(1950, 3, 14), True, "retired", "good"),
    (M2, "李秀英", date(1948, 11, 3), True, "retired", "good"),
    (M3, "张德明", date(1939, 7, 1), True, "lixiu", "fair"),
    (M4, "刘桂兰", date(1942, 9, 9), True, "lixiu", "poor"),
    (M5, "陈志强", date(1955, 1, 20), True, "retired", "good"),
    (M6, "赵淑芬", date(1951, 5, 5), True, "retired", "fair"),
    (M7, "孙永福", date(1953, 2, 2), False, "retired", "good"),
    (M8, "周明", date(1980, 6, 6), True, "in_service", "good"),
]


def month_of_work() -> History:
    """The branch of the seed, small: eight members, a committee, and its November 2026."""
    h = History()
    h.record(f"bureau-{TENANT}", M.BureauRegistered(bureau_id=TENANT, name="市自然资源局", code="zrzy"),
             on=date(2020, 1, 1), branch_id=None)
    h.record(f"branch-{BRANCH}", M.BranchEstablished(branch_id=BRANCH, name="离退休干部党支部",
                                                      established_on=date(2020, 1, 1)), on=date(2020, 1, 1))
    h.record(f"branch-{BRANCH}", M.PartyGroupFormed(branch_id=BRANCH, group_id=GROUP, name="第一党小组"),
             on=date(2020, 1, 2))
    for member_id, name, born, party, kind, health in MEMBERS:
        h.record(f"member-{member_id}", M.MemberRegistered(
            member_id=member_id, branch_id=BRANCH, name=name, gender="male", birth_date=born, party_member=party,
            party_join_date=date(born.year + 25, 7, 1) if party else None, retirement_kind=kind,
            pension_base=Decimal("4800.00"), health=health, mobility="mobile", phone=None, address=None,
            joined_on=date(2020, 1, 1)), on=date(2020, 1, 1))
    _committee(h)
    _meetings_and_study(h)
    _care_dues_centre(h)
    h.record("pledge-p1", A.PledgeSigned(pledge_id="p1", branch_id=BRANCH, member_id=M1, kind="no_religion",
                                         signed_on=date(2026, 11, 15)), on=date(2026, 11, 15))
    _notifications(h)
    return h


def _committee(h: History) -> None:
    h.record(f"branch-{BRANCH}", M.ElectionHeld(branch_id=BRANCH, election_id="e1", held_on=date(2025, 10, 20),
                                                eligible_voters=7, attendees=7, seats=3,
                                                candidates=[{"member_id": m} for m in (M1, M2, M5, M8)],
                                                elected=[M1, M2, M8]), on=date(2025, 10, 20))
    h.record(f"branch-{BRANCH}", M.CommitteeTermOpened(branch_id=BRANCH, term_id="t1", election_id="e1",
                                                       starts_on=date(2025, 10, 20), ends_on=date(2028, 10, 19),
                                                       committee=True), on=date(2025, 10, 20))
    for post, member_id, name in (("secretary", M1, "王建国"), ("deputy_secretary", M8, "周明"),
                                  ("member", M2, "李秀英")):
        h.record(f"branch-{BRANCH}", M.PostFilled(branch_id=BRANCH, term_id="t1", post=post, member_id=member_id,
                                                  filled_on=date(2025, 10, 20), person_name=name,
                                                  unit="规划科" if member_id == M8 else None), on=date(2025, 10, 20))
    h.record(f"branch-{BRANCH}", M.AllowancePaid(branch_id=BRANCH, term_id="t1", member_id=M1, post="secretary",
                                                 month="2026-11", amount=Decimal("300.00")), on=date(2026, 11, 28))


def activity(kind: str, day: date, attendees: list[str], *, hours: str | None = None, activity_id: str | None = None,
             group_id: str | None = None, voting: tuple[int, int] | None = None, late: bool = False):
    return A.ActivityRecorded(
        activity_id=activity_id or f"a-{kind}-{day.isoformat()}", branch_id=BRANCH, kind=kind, occurred_on=day,
        title=f"{kind} {day.isoformat()}", place="活动室", topics=["学习"], attendees=attendees, guests=[],
        absentees=[], minutes=None, hours=Decimal(hours) if hours else None,
        voting_members=voting[0] if voting else None, voting_present=voting[1] if voting else None,
        quorate=(voting[1] * 2 > voting[0]) if voting else None, late=late,
        late_reasons=["entered_after_days"] if late else [], group_id=group_id)


def _meetings_and_study(h: History) -> None:
    everyone = [M1, M2, M3, M5, M6, M8]
    for record in (activity("committee_meeting", date(2026, 11, 10), [M1, M2, M8]),
                   activity("study", date(2026, 11, 12), [M1, M2, M3, M5], hours="3"),
                   activity("theme_day", date(2026, 11, 20), everyone, hours="4"),
                   activity("group_meeting", date(2026, 11, 21), [M1, M2, M3], group_id=GROUP),
                   activity("general_meeting", date(2026, 11, 25), [M1, M2, M3], voting=(7, 3)),
                   activity("talk_given", date(2026, 11, 26), [M3], late=True)):
        h.record(f"activity-{record.activity_id}", record, on=record.occurred_on)
    h.record("activity-a-talk_given-2026-11-26", A.TalkGiven(
        activity_id="a-talk_given-2026-11-26", branch_id=BRANCH, speakers=[M3], audience="青年职工",
        topic="解放金积侯桥战役", occurred_on=date(2026, 11, 26), audience_size=40, late=True,
        late_reasons=["entered_after_days"]), on=date(2026, 11, 26))
    h.record("outreach-o1", A.OutreachRecorded(outreach_id="o1", branch_id=BRANCH, member_id=M4, channel="home_study",
                                               occurred_on=date(2026, 11, 16), topic="送学上门", note=None, late=False,
                                               late_reasons=[], hours=Decimal("2")), on=date(2026, 11, 16))


def _care_dues_centre(h: History) -> None:
    h.record("care-c1", A.CareRecorded(care_id="c1", branch_id=BRANCH, member_id=M2, kind="birthday",
                                       occurred_on=date(2026, 11, 3), note="蛋糕和鲜花", holiday=None,
                                       holiday_date=None, year=None, late=False, late_reasons=[]), on=date(2026, 11, 3))
    for member_id, *_ in MEMBERS:
        if member_id == M7:
            continue
        h.record(f"member-{member_id}", M.DuesAssessed(member_id=member_id, branch_id=BRANCH, year=2026,
                                                       base=Decimal("4800.00"), rate=Decimal("0.005"),
                                                       monthly_amount=Decimal("24.00")), on=date(2026, 1, 5))
        months = [f"2026-{m:02d}" for m in range(1, 6 if member_id == M4 else 12)]
        h.record(f"member-{member_id}", M.DuesPaid(member_id=member_id, branch_id=BRANCH, months=months,
                                                   amount=Decimal("24.00") * len(months), paid_on=date(2026, 11, 28),
                                                   payer="self"), on=date(2026, 11, 28))
    h.record(f"centre-{BRANCH}", A.CentreSetUp(branch_id=BRANCH, place="局三楼活动室", set_up_on=date(2025, 3, 1),
                                               checklist=list(M.DEFAULT_RULES["centre_checklist"])),
             on=date(2025, 3, 1))
    for item in M.DEFAULT_RULES["centre_checklist"][:5]:
        h.record(f"centre-{BRANCH}", A.CentreChecklistItemEvidenced(branch_id=BRANCH, item=item,
                                                                    evidenced_on=date(2025, 3, 2), evidence="照片",
                                                                    photo_ref=None), on=date(2025, 3, 2))


NOTICE = "7d2f0c3e-0000-4000-8000-0000000000a1"
WEBHOOK_URL = "https://hooks.example.org/branchwork?token=s3cret"


def _notifications(h: History) -> None:
    """The platform told the secretary (in-app) and 刘桂兰 (by e-mail, which bounced) about her dues."""
    stream = f"notification-{NOTICE}"
    deliveries = [{"delivery_id": "d1", "channel": "inbox", "audience": f"secretary:{BRANCH}", "recipient": "支部书记",
                   "target": f"secretary:{BRANCH}"},
                  {"delivery_id": "d2", "channel": "email", "audience": f"member:{M4}", "recipient": "刘桂兰",
                   "target": "liu@example.org"},
                  {"delivery_id": "d3", "channel": "webhook", "audience": "bureau", "recipient": "局党组织",
                   "target": WEBHOOK_URL}]
    h.record(stream, N.NotificationScheduled(
        notification_id=NOTICE, rule="dues.arrears", dedupe_key=f"dues.arrears:member-{M4}:2026-11",
        subject=f"member-{M4}", period="2026-11", branch_id=BRANCH, title="刘桂兰已连续6个月未缴党费",
        body="请支部了解情况", cause={"records": [{"type": "member", "id": M4}], "as_of": "2026-11-28"},
        details={"members": [{"member_id": M4, "name": "刘桂兰"}]}, deliveries=deliveries, due_on=date(2026, 11, 28)),
        on=date(2026, 11, 28))
    sent_at = datetime(2026, 11, 28, 1, tzinfo=UTC)
    h.record(stream, N.NotificationSent(notification_id=NOTICE, delivery_id="d1", channel="inbox",
                                        target=f"secretary:{BRANCH}", attempt=1, sent_at=sent_at),
             on=date(2026, 11, 28))
    h.record(stream, N.DeliveryAttemptFailed(notification_id=NOTICE, delivery_id="d2", channel="email",
                                             target="liu@example.org", attempt=1, error="450 try later",
                                             retry_at=sent_at), on=date(2026, 11, 28))
    h.record(stream, N.DeliveryFailed(notification_id=NOTICE, delivery_id="d2", channel="email",
                                      target="liu@example.org", attempts=3, error="550 mailbox unavailable",
                                      failed_at=sent_at), on=date(2026, 11, 28))
    h.record(stream, N.NotificationSent(notification_id=NOTICE, delivery_id="d3", channel="webhook",
                                        target=WEBHOOK_URL, attempt=1, sent_at=sent_at), on=date(2026, 11, 28))


def card_from(envelopes, period=NOVEMBER, today=TODAY) -> dict:
    store = MemoryStore()
    for envelope in envelopes:
        put_all(store, facts_of(envelope))
    loaded = facts_module.load(store, TENANT, date(period.year, 1, 1), period.end)
    return scorecard(loaded, BRANCH, period, today)


def codes(card: dict) -> set[str]:
    return {f["code"] for f in card["findings"]}


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
