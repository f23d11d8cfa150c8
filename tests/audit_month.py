"""A month of one branch's work, written by hand as the services would have recorded it: eight members of
every kind, a committee, meetings, study, care, dues, the centre and what notify told whom — sealed into
envelopes (``History``) for the audit's projections, and the scorecard they give (``card_from``).

Used by the audit's tests of every tier: the unit tests of the scorecard and the views, and the
integration and browser tests that journal the same month into a real database.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, UTC
from decimal import Decimal

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


def month_of_work(tenant: str = TENANT) -> History:
    """The branch of the seed, small: eight members, a committee, and its November 2026 (in ``tenant``)."""
    h = History(tenant)
    h.record(f"bureau-{tenant}", M.BureauRegistered(bureau_id=tenant, name="市自然资源局", code="zrzy"),
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


def other_branch_with(h: History, member_id: str, name: str = "吴国华") -> None:
    """A second branch of the bureau, and a Party member in it since 2020."""
    h.record(f"branch-{OTHER}", M.BranchEstablished(branch_id=OTHER, name="第二支部", established_on=date(2020, 1, 1)),
             on=date(2020, 1, 1), branch_id=OTHER)
    h.record(f"member-{member_id}", M.MemberRegistered(
        member_id=member_id, branch_id=OTHER, name=name, gender="male", birth_date=date(1952, 4, 4),
        party_member=True, party_join_date=date(1977, 7, 1), retirement_kind="retired",
        pension_base=Decimal("4800.00"), health="good", mobility="mobile", phone=None, address=None,
        joined_on=date(2020, 1, 1)), on=date(2020, 1, 1), branch_id=OTHER)


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
