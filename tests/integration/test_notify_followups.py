"""Against PostgreSQL with real servers: a reminded meeting that is cancelled reaches everyone reminded (e-mail,
the secretary on behalf of members without one, the webhooks that had the reminder) once, however often the
event is redelivered; a bureau's new rule set changes what is decided; a scheduler back from downtime catches up
what is still open and leaves what closed meanwhile; notify's own read models rebuild from its store as they were."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, UTC

from contracts import activities as a
from contracts import members as m
from services.notify import handlers
from services.notify.bootstrap import bootstrap
from services.notify.commands import ConfigureWebhook, MarkRead, RetryFailed
from services.notify.delivery import DeliveryWorker
from services.notify.events import registry
from services.notify.projections import TABLES, project, project_batch
from services.notify.scheduler import Scheduler
from shared.envelope import Actor
from shared.rebuild import ReadModel, StoreFeed, rebuild
from shared.unit_of_work import CommandContext
from tests.integration.notify_support import (  # noqa: F401 — fixtures
    EventFactory, FixedClock, as_records, conn, delivery_settings, receiver_factory, smtp_server)
from tests.integration.test_notify_pipeline import BIRTHDAYS, give_email, notifications, runner
from tests.support import new_id, wait_for

ACTIVITIES = "branchwork.activities.events"


def add_webhook(conn, settings, tenant_id: str, url: str, secret: str, rules: list[str]) -> str:
    webhook_id = new_id()
    context = CommandContext(Actor("admin", "bureau_admin"), tenant_id, new_id(), None, datetime.now(UTC))
    with conn.transaction():
        uow = bootstrap(settings, delivery_settings(0)).unit_of_work(conn, context)
        handlers.configure_webhook(uow, ConfigureWebhook(webhook_id, url, secret, rules))
    return webhook_id


def mail(smtp_server, rule: str) -> list[tuple[str, str]]:
    return sorted((message["To"], message.get_content()) for message in smtp_server.messages()
                  if message["X-Branchwork-Rule"] == rule)


def test_a_reminded_meeting_that_is_cancelled_is_announced_once_to_everyone_reminded(
        conn, notify_settings, smtp_server, receiver_factory):
    factory = EventFactory()
    branch_id, events, (zhao, li, _wang) = factory.branch_with_members(BIRTHDAYS)
    consumer = runner(notify_settings)
    consumer.process(conn, as_records(events))
    give_email(conn, notify_settings, factory.tenant_id, f"member:{zhao}", "zhao@example.org")
    give_email(conn, notify_settings, factory.tenant_id, f"member:{li}", "li@example.org")
    secret = "the-bureaus-own-receiver-secret"
    receiver, url = receiver_factory(secret)
    add_webhook(conn, notify_settings, factory.tenant_id, url, secret, ["meeting.reminder"])
    activity_id = new_id()
    planned = factory.envelope(f"activity-{activity_id}", a.ActivityPlanned(
        activity_id, branch_id, "general_meeting", date(2025, 6, 12), "支部党员大会：学习七一讲话", "活动中心", []),
        branch_id)
    consumer.process(conn, as_records([planned], ACTIVITIES))

    clock = FixedClock(datetime(2025, 6, 11, 1, tzinfo=UTC))
    settings = delivery_settings(smtp_server.port)
    scheduler = Scheduler(bootstrap(notify_settings, settings, clock=clock))
    delivery = DeliveryWorker(bootstrap(notify_settings, settings))  # the real clock: receivers refuse stale times
    assert scheduler.run_once(conn, [factory.tenant_id])
    delivery.deliver_due(conn)
    assert [to for to, _ in mail(smtp_server, "meeting.reminder")] == ["li@example.org", "zhao@example.org"]

    cancelled = factory.envelope(f"activity-{activity_id}", a.ActivityCancelled(
        activity_id, branch_id, "general_meeting", date(2025, 6, 11), "书记住院，改期另行通知"), branch_id)
    consumer.process(conn, as_records([cancelled], ACTIVITIES))
    consumer.process(conn, as_records([cancelled], ACTIVITIES))  # redelivered
    for _ in range(2):  # and the rules run twice
        scheduler.run_once(conn, [factory.tenant_id])
        delivery.deliver_due(conn)

    notices = mail(smtp_server, "meeting.cancelled")
    assert [to for to, _ in notices] == ["li@example.org", "zhao@example.org"]
    zhao_text = dict(notices)["zhao@example.org"]
    assert "请代为通知：王德明" in zhao_text and "书记住院" in zhao_text
    assert "规则：会议取消（meeting.cancelled）" in zhao_text
    [reminder] = notifications(conn, factory.tenant_id, "meeting.reminder")
    [notice] = notifications(conn, factory.tenant_id, "meeting.cancelled")
    assert notice["cause"]["records"] == [{"type": "activity", "id": activity_id},
                                          {"type": "notification", "id": reminder["notification_id"]}]
    assert [payload["rule"] for payload in receiver.accepted] == ["meeting.reminder", "meeting.cancelled"]


def test_a_bureaus_new_rule_set_changes_what_the_scheduler_decides(conn, notify_settings):
    factory = EventFactory()
    _branch, events, (zhao, _li, _wang) = factory.branch_with_members(BIRTHDAYS)
    consumer = runner(notify_settings)
    consumer.process(conn, as_records(events))
    clock = FixedClock(datetime(2025, 9, 28, 1, tzinfo=UTC))
    scheduler = Scheduler(bootstrap(notify_settings, delivery_settings(0), clock=clock))
    scheduler.run_once(conn, [factory.tenant_id])
    assert notifications(conn, factory.tenant_id, "care.birthday") == []  # 1 October is three days away

    published = factory.envelope(f"bureau-{factory.tenant_id}", m.BureauRulesPublished(
        factory.tenant_id, 2, date(2025, 9, 1), {**m.DEFAULT_RULES, "birthday_days_ahead": 3}))
    consumer.process(conn, as_records([published]))
    scheduler.run_once(conn, [factory.tenant_id])
    [birthday] = notifications(conn, factory.tenant_id, "care.birthday")
    assert birthday["subject"] == f"member-{zhao}" and birthday["due_on"] == date(2025, 9, 28)


def test_a_scheduler_back_from_downtime_catches_up_what_is_open_and_not_what_closed(conn, notify_settings):
    """Down from 10 to 25 March: 王德明's birthday (12 March) is over, the committee meeting alert (from the 20th)
    is still open — the start-up run sends the one and not the other."""
    factory = EventFactory()
    _branch, events, _ids = factory.branch_with_members(BIRTHDAYS)
    runner(notify_settings).process(conn, as_records(events))
    clock = FixedClock(datetime(2025, 3, 25, 1, tzinfo=UTC))
    service = bootstrap(notify_settings, delivery_settings(0, scheduler_interval_seconds=3600), clock=clock)
    scheduler = Scheduler(service, sources_behind=lambda: 0)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    thread.start()
    try:
        caught_up = wait_for(lambda: notifications(conn, factory.tenant_id, "meeting.committee_monthly"), timeout=30,
                             message="the start-up run's catch-up")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert [row["period"] for row in caught_up] == ["2025-03"] and caught_up[0]["due_on"] == date(2025, 3, 20)
    assert notifications(conn, factory.tenant_id, "care.birthday") == []
    assert {row["rule"] for row in notifications(conn, factory.tenant_id)} == {
        "meeting.committee_monthly", "coverage.unreached", "meeting.general_quarterly", "meeting.lecture_quota"}


def test_notifys_own_read_models_are_rebuilt_from_its_event_store_as_they_were(
        conn, notify_settings, smtp_server):
    factory = EventFactory()
    _branch, events, (zhao, _li, _wang) = factory.branch_with_members(BIRTHDAYS)
    runner(notify_settings).process(conn, as_records(events))
    give_email(conn, notify_settings, factory.tenant_id, f"member:{zhao}", "zhao@example.org")
    add_webhook(conn, notify_settings, factory.tenant_id, "http://127.0.0.1:9/gone", "a-secret-for-rebuilding", [])
    clock = FixedClock(datetime(2025, 9, 30, 1, tzinfo=UTC))
    Scheduler(bootstrap(notify_settings, delivery_settings(0), clock=clock)).run_once(conn, [factory.tenant_id])
    sender = bootstrap(notify_settings, delivery_settings(smtp_server.port, max_attempts=1), clock=clock)
    DeliveryWorker(sender).deliver_due(conn)
    # Later events of recorded notifications: a retry that fails again, and a notification read in an inbox.
    failed = conn.execute("SELECT DISTINCT notification_id FROM deliveries WHERE status = 'failed' AND tenant_id = %s",
                          (factory.tenant_id,)).fetchall()
    inbox = conn.execute("SELECT notification_id, audience FROM deliveries WHERE channel = 'inbox' AND tenant_id = %s",
                         (factory.tenant_id,)).fetchall()
    assert failed and inbox
    context = CommandContext(Actor("admin", "bureau_admin"), factory.tenant_id, new_id(), None, clock())
    with conn.transaction():
        uow = sender.unit_of_work(conn, context)
        handlers.retry_failed(uow, RetryFailed(failed[0]["notification_id"]), lambda notification: None)
        handlers.mark_read(uow, MarkRead(inbox[0]["notification_id"], (inbox[0]["audience"],)))
    DeliveryWorker(sender).deliver_due(conn)

    def state():
        return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in TABLES}

    before = state()
    assert {row["status"] for row in before["deliveries"]} == {"sent", "failed"}
    assert any(row["read_at"] for row in before["notifications"])
    # Batches of one event, of a few (a notification's events split between them) and of all at once all
    # leave the rows the commands left, one event at a time.
    for batch in (1, 3, 2000):
        rebuild(notify_settings.owner_dsn, ReadModel(tables=TABLES), StoreFeed(registry, project, project_batch),
                batch=batch)
        assert state() == before, batch


def test_committee_events_become_election_reminders_at_90_and_30_days_and_a_vacancy_alert(conn, notify_settings):
    """The term of ``branch_with_members`` ends 2026-12-31; the secretary's post is vacated on 2026-08-01."""
    factory = EventFactory()
    branch_id, events, (zhao, _li, _wang) = factory.branch_with_members(BIRTHDAYS)
    term_id = next(e.data["term_id"] for e in events if e.event_type == "members.CommitteeTermOpened")
    events.append(factory.envelope(f"branch-{branch_id}", m.PostVacated(
        branch_id, term_id, "secretary", zhao, date(2026, 8, 1), "病故"), branch_id))
    runner(notify_settings).process(conn, as_records(events))
    clock = FixedClock(datetime(2026, 8, 30, 1, tzinfo=UTC))
    scheduler = Scheduler(bootstrap(notify_settings, delivery_settings(0), clock=clock))
    decided: dict[str, date] = {}
    for day in (date(2026, 8, 30), date(2026, 8, 31), date(2026, 10, 1), date(2026, 10, 2), date(2026, 11, 30),
                date(2026, 12, 1)):
        clock.set_day(day)
        scheduler.run_once(conn, [factory.tenant_id])
        for row in notifications(conn, factory.tenant_id):
            if row["rule"].startswith("committee."):
                decided.setdefault(row["dedupe_key"], day)
    assert decided == {f"committee.post_vacant:post-{term_id}-secretary-{zhao}:2026-08-01": date(2026, 8, 31),
                       f"committee.term_ending:term-{term_id}:90d": date(2026, 10, 2),
                       f"committee.term_ending:term-{term_id}:30d": date(2026, 12, 1)}
    audiences = {row["audience"] for row in conn.execute(
        "SELECT d.audience FROM deliveries d JOIN notifications n USING (notification_id)"
        " WHERE n.tenant_id = %s AND n.rule LIKE 'committee.%%'", (factory.tenant_id,))}
    assert audiences == {"bureau"}


def test_a_transfer_between_bureaus_alerts_both_sides_of_an_expiring_letter_and_an_overdue_slip(
        conn, notify_settings):
    sending, receiving = EventFactory(), EventFactory()
    from_branch, sent_events, (_zhao, li, _wang) = sending.branch_with_members(BIRTHDAYS)
    to_branch, received_events, _ids = receiving.branch_with_members(BIRTHDAYS[:1])
    transfer_id = new_id()
    issued, valid_until = date(2025, 1, 10), date(2025, 4, 10)
    sent_events.append(sending.envelope(f"transfer-{transfer_id}", m.TransferLetterIssued(
        transfer_id, li, "李淑芬", from_branch, receiving.tenant_id, to_branch, "2024-12", issued, valid_until),
        from_branch))
    received_events.append(receiving.envelope(f"transfer-{transfer_id}", m.IncomingTransferAnnounced(
        transfer_id, sending.tenant_id, from_branch, to_branch, {"name": "李淑芬"}, "2024-12", issued, valid_until),
        to_branch))
    consumer = runner(notify_settings)
    consumer.process(conn, as_records(sent_events + received_events))
    clock = FixedClock(datetime(2025, 3, 27, 1, tzinfo=UTC))
    scheduler = Scheduler(bootstrap(notify_settings, delivery_settings(0), clock=clock))
    both = [sending.tenant_id, receiving.tenant_id]

    def alerted(rule: str) -> dict[str, set[str]]:
        return {tenant: {row["audience"] for row in conn.execute(
            "SELECT d.audience FROM deliveries d JOIN notifications n USING (notification_id) WHERE n.tenant_id = %s"
            " AND n.rule = %s AND n.subject = %s AND d.channel = 'inbox'", (tenant, rule, f"transfer-{transfer_id}"))}
            for tenant in both}

    scheduler.run_once(conn, both)
    assert alerted("transfer.letter_expiring") == {sending.tenant_id: {f"secretary:{from_branch}"},
                                                   receiving.tenant_id: {f"secretary:{to_branch}"}}
    consumer.process(conn, as_records([receiving.envelope(f"transfer-{transfer_id}", m.TransferReceived(
        transfer_id, to_branch, new_id(), date(2025, 4, 1)), to_branch)]))
    clock.set_day(date(2025, 5, 1))  # day 30 after the receipt: the slip is not late yet
    scheduler.run_once(conn, both)
    assert alerted("transfer.return_slip_overdue") == {sending.tenant_id: set(), receiving.tenant_id: set()}
    clock.set_day(date(2025, 5, 2))
    scheduler.run_once(conn, both)
    assert alerted("transfer.return_slip_overdue") == {sending.tenant_id: {f"secretary:{from_branch}"},
                                                       receiving.tenant_id: {f"secretary:{to_branch}"}}


def test_a_field_a_producer_added_does_not_park_the_event_but_a_malformed_one_still_does(conn, notify_settings):
    factory = EventFactory()
    branch_id, events, _ids = factory.branch_with_members(BIRTHDAYS[:1])
    consumer = runner(notify_settings)
    consumer.process(conn, as_records(events))
    newer, broken = new_id(), new_id()
    planned = [factory.envelope(f"activity-{activity_id}", a.ActivityPlanned(
        activity_id, branch_id, "party_lecture", date(2025, 6, 12), "党课", "活动中心", []), branch_id)
        for activity_id in (newer, broken)]
    consumer.process(conn, as_records([replace(planned[0], data={**planned[0].data, "agenda": ["新增字段"]}),
                                       replace(planned[1], data={**planned[1].data, "planned_on": "someday"})],
                                      ACTIVITIES))
    assert conn.execute("SELECT status FROM src_activities WHERE activity_id = %s", (newer,)).fetchone() == {
        "status": "planned"}
    parked = conn.execute("SELECT event_id::text AS event_id FROM dead_letters WHERE event_id = ANY(%s::uuid[])",
                          ([p.event_id for p in planned],)).fetchall()
    assert parked == [{"event_id": planned[1].event_id}]


def test_a_commands_events_are_projected_together_and_leave_the_rows_one_after_another_would(conn, notify_settings):
    """The scheduler records a notification with its inbox delivery already sent: one projection of both, whose
    rows are those of each event projected in turn."""
    from services.notify.commands import ScheduleReminder
    from services.notify.recipients import Contact, Directory
    from services.notify.rules.model import Branch, BureauSnapshot, Member, PostHolding, Reminder, Term

    today, branch = date(2025, 6, 11), "branch-1"
    zhao = Member("m-zhao", branch, "赵国庆", date(1949, 10, 1), phone="13800000003")
    snapshot = BureauSnapshot(tenant_id=new_id(), branches=(Branch(branch, "离退休干部党支部"),), members=(zhao,),
                              terms=(Term("t-1", branch, date(2023, 7, 1), date(2026, 6, 30)),),
                              posts=(PostHolding("t-1", branch, "secretary", zhao.member_id, zhao.name,
                                                 date(2023, 7, 1)),))
    book = Directory.build(snapshot, today, {f"member:{zhao.member_id}": Contact(None, ("zhao@example.org",))}, ())
    runs = []

    def counted(connection, events):
        runs.append([type(event).__name__ for _, event in events])
        project_batch(connection, events)

    def schedule(service, subject: str) -> dict:
        reminder = Reminder(rule="care.birthday", subject=subject, period="2025", branch_id=branch,
                            audiences=(f"secretary:{branch}", f"member:{zhao.member_id}"), title="生日", body="祝福",
                            records=(("member", zhao.member_id),), due_on=today)
        context = CommandContext(Actor("scheduler", "system"), book.tenant_id, new_id(), None, datetime.now(UTC))
        with conn.transaction():
            notification_id = handlers.schedule(service.unit_of_work(conn, context), ScheduleReminder(reminder, book,
                                                                                                      today))
        return {"notifications": conn.execute("SELECT * FROM notifications WHERE notification_id = %s",
                                              (notification_id,)).fetchall(),
                "deliveries": conn.execute("SELECT * FROM deliveries WHERE notification_id = %s ORDER BY channel",
                                           (notification_id,)).fetchall()}

    service = bootstrap(notify_settings, delivery_settings(0))
    together = schedule(service.with_changes(project_batch=counted), f"member-{new_id()}")
    assert runs == [["NotificationScheduled", "NotificationSent"]]
    one_by_one = schedule(service.with_changes(project_batch=None), f"member-{new_id()}")

    def comparable(rows: dict) -> dict:  # what differs between two notifications: their ids and causes
        ids = ("notification_id", "delivery_id", "dedupe_key", "subject", "scheduled_at", "next_attempt_at", "sent_at",
               "cause", "tenant_id")
        return {table: [{key: value for key, value in row.items() if key not in ids} for row in table_rows]
                for table, table_rows in rows.items()}

    assert comparable(together) == comparable(one_by_one)
    assert together["notifications"][0]["status"] == "pending"  # the e-mail is still to send
    assert [(d["channel"], d["status"]) for d in together["deliveries"]] == [("email", "pending"), ("inbox", "sent")]
