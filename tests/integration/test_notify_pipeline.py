"""From other services' events to e-mails: the ``notify-sources`` consumer builds notify's projections, the
scheduler (with an injected clock) decides, the delivery worker sends — and each cause is notified once,
however often events are redelivered or the scheduler runs, also by two instances at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, UTC

from contracts import activities as a
from contracts import members as m
from shared import db
from shared.consumer import ConsumerRunner
from shared.kafka import idempotent_producer
from services.notify import sources
from services.notify.bootstrap import bootstrap
from services.notify.delivery import DeliveryWorker
from services.notify import scheduler as scheduler_module
from services.notify.scheduler import Scheduler
from tests.integration.notify_support import (  # noqa: F401 — fixtures
    EventFactory, FixedClock, as_records, conn, delivery_settings, smtp_server)
from tests.support import new_id, wait_for

BIRTHDAYS = [("赵国庆", date(1949, 10, 1)), ("李淑芬", date(1950, 10, 2)), ("王德明", date(1941, 3, 12))]


def runner(settings) -> ConsumerRunner:
    return ConsumerRunner(settings, "notify-sources", [settings.topic("members"), settings.topic("activities")],
                          sources.apply)


def give_email(conn, settings, tenant_id: str, audience: str, email: str) -> None:
    from services.notify import handlers
    from services.notify.commands import ConfigureRecipient
    from shared.envelope import Actor
    from shared.unit_of_work import CommandContext

    context = CommandContext(Actor("admin", "bureau_admin"), tenant_id, new_id(), None, datetime.now(UTC))
    with conn.transaction():
        uow = bootstrap(settings, delivery_settings(0)).unit_of_work(conn, context)
        handlers.configure_recipient(uow, ConfigureRecipient(audience, None, [email], ["inbox", "email"]))


def notifications(conn, tenant_id: str, rule: str | None = None) -> list[dict]:
    return conn.execute("SELECT * FROM notifications WHERE tenant_id = %s AND (%s::text IS NULL OR rule = %s)"
                        " ORDER BY dedupe_key", (tenant_id, rule, rule)).fetchall()


def test_a_birthday_is_emailed_once_despite_redelivered_events_and_a_second_scheduler_run(
        conn, notify_settings, smtp_server):
    factory = EventFactory()
    branch_id, events, member_ids = factory.branch_with_members(BIRTHDAYS)
    consumer = runner(notify_settings)
    consumer.process(conn, as_records(events))
    consumer.process(conn, as_records(events))  # Kafka redelivers the whole batch
    give_email(conn, notify_settings, factory.tenant_id, f"member:{member_ids[0]}", "zhao@example.org")

    clock = FixedClock(datetime(2025, 9, 29, 20, 0, tzinfo=UTC))  # 30 September, 04:00 in Beijing
    scheduler = Scheduler(bootstrap(notify_settings, delivery_settings(smtp_server.port), clock=clock))
    first = scheduler.run_once(conn, [factory.tenant_id])
    assert first and scheduler.run_once(conn, [factory.tenant_id]) == []
    DeliveryWorker(bootstrap(notify_settings, delivery_settings(smtp_server.port), clock=clock)).deliver_due(conn)

    birthday = [msg for msg in smtp_server.messages() if msg["X-Branchwork-Rule"] == "care.birthday"]
    assert [msg["Subject"] for msg in birthday] == ["生日关怀：明天是赵国庆同志 76 岁生日"]
    assert birthday[0]["To"] == "zhao@example.org"  # the secretary is 赵国庆 himself, reached by his own e-mail
    assert len(notifications(conn, factory.tenant_id, "care.birthday")) == 1

    consumer.process(conn, as_records(events))  # and once more, after the e-mail went out
    assert scheduler.run_once(conn, [factory.tenant_id]) == []
    DeliveryWorker(bootstrap(notify_settings, delivery_settings(smtp_server.port), clock=clock)).deliver_due(conn)
    assert len([msg for msg in smtp_server.messages() if msg["X-Branchwork-Rule"] == "care.birthday"]) == 1


def test_two_schedulers_at_once_notify_each_cause_once(notify_settings, conn):
    factory = EventFactory()
    _branch, events, _ids = factory.branch_with_members(BIRTHDAYS)
    runner(notify_settings).process(conn, as_records(events))
    clock = FixedClock(datetime(2025, 9, 30, 2, 0, tzinfo=UTC))
    barrier, results, errors = threading.Barrier(4), [], []

    def run():
        try:
            with db.connect(notify_settings.owner_dsn, autocommit=True) as own:
                scheduler = Scheduler(bootstrap(notify_settings, delivery_settings(0), clock=clock))
                barrier.wait()
                results.append(scheduler.run_once(own, [factory.tenant_id]))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    scheduled = [notification_id for result in results for notification_id in result]
    assert len(scheduled) == len(set(scheduled)) == len(notifications(conn, factory.tenant_id)) > 0
    keys = Counter(row["dedupe_key"] for row in notifications(conn, factory.tenant_id))
    assert set(keys.values()) == {1}


def test_a_year_of_rules_runs_in_seconds_against_the_database(notify_settings, conn):
    factory = EventFactory()
    branch_id, events, member_ids = factory.branch_with_members(BIRTHDAYS)
    events.append(factory.envelope(f"member-{member_ids[1]}", m.DuesAssessed(
        member_ids[1], branch_id, 2025, "5000", "0.005", "25.00"), branch_id))
    events.append(factory.envelope(f"member-{member_ids[1]}", m.DuesPaid(
        member_ids[1], branch_id, ["2025-01", "2025-02"], "50.00", date(2025, 2, 3), "self"), branch_id))
    runner(notify_settings).process(conn, as_records(events))
    clock = FixedClock(datetime(2025, 1, 1, 1, tzinfo=UTC))
    scheduler = Scheduler(bootstrap(notify_settings, delivery_settings(0), clock=clock))
    started = time.monotonic()
    for offset in range(365):
        clock.set_day(date(2025, 1, 1) + timedelta(days=offset))
        scheduler.run_once(conn, [factory.tenant_id])
        scheduler.run_once(conn, [factory.tenant_id])  # a doubled daily run changes nothing
    elapsed = time.monotonic() - started
    by_rule = Counter(row["rule"] for row in notifications(conn, factory.tenant_id))
    assert by_rule == {"meeting.committee_monthly": 12, "coverage.unreached": 12, "meeting.general_quarterly": 4,
                       "meeting.lecture_quota": 4, "care.birthday": 3, "care.holiday_visit": 2,
                       "care.health_check": 1, "dues.arrears_reminder": 1, "dues.arrears_review": 1}
    review = notifications(conn, factory.tenant_id, "dues.arrears_review")[0]
    assert review["due_on"] == date(2025, 9, 1) and review["details"]["months_unpaid"][0] == "2025-03"
    assert elapsed < 60, f"a year took {elapsed:.1f}s"


def test_kafka_to_inbox_the_running_workers_turn_a_planned_meeting_into_a_reminder(notify_settings, conn, smtp_server):
    """The consumer reads real topics, wakes the scheduler, and the delivery worker e-mails the invitee."""
    factory = EventFactory()
    branch_id, events, member_ids = factory.branch_with_members(BIRTHDAYS[:2])
    give_email(conn, notify_settings, factory.tenant_id, f"member:{member_ids[1]}", "li@example.org")
    today = Scheduler(bootstrap(notify_settings, delivery_settings(0))).today()
    activity_id = new_id()
    planned = factory.envelope(f"activity-{activity_id}", a.ActivityPlanned(
        activity_id=activity_id, branch_id=branch_id, kind="party_lecture", planned_on=today + timedelta(days=1),
        title="党课：传承红色基因", place="活动中心三楼", topics=[]),
        branch_id)
    producer = idempotent_producer(notify_settings.kafka_bootstrap)
    for envelope in events:
        producer.send(notify_settings.topic("members"), key=envelope.stream_id.encode(),
                      value=envelope.to_json().encode())
    producer.send(notify_settings.topic("activities"), key=planned.stream_id.encode(), value=planned.to_json().encode())
    producer.flush()
    producer.close()

    stop = threading.Event()
    settings = delivery_settings(smtp_server.port, scheduler_interval_seconds=3600)
    service = bootstrap(notify_settings, settings)  # the workers as `branchwork worker notify …` builds them
    workers = [service.worker(name).run for name in ("notify-sources", "notify-scheduler", "notify-delivery")]
    threads = [threading.Thread(target=work, args=(stop,)) for work in workers]
    for thread in threads:
        thread.start()
    try:
        mail = wait_for(lambda: [msg for msg in smtp_server.messages() if msg["To"] == "li@example.org"],
                        timeout=60, message="the meeting reminder e-mailed to the invitee")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert mail[0]["X-Branchwork-Rule"] == "meeting.reminder" and "党课：传承红色基因" in mail[0]["Subject"]
    reminder = notifications(conn, factory.tenant_id, "meeting.reminder")
    assert len(reminder) == 1 and reminder[0]["subject"] == f"activity-{activity_id}"


def test_the_scheduler_waits_for_the_sources_consumer_to_catch_up_before_deciding(notify_settings, conn):
    """Half-replayed projections must not be judged: nothing is decided while the consumer is behind."""
    factory = EventFactory()
    _branch, events, _ids = factory.branch_with_members(BIRTHDAYS)
    behind, asked = {"events": 42}, []
    clock = FixedClock(datetime(2025, 9, 30, 2, 0, tzinfo=UTC))

    def sources_behind() -> int:
        asked.append(time.monotonic())
        return behind["events"]

    scheduler = Scheduler(bootstrap(notify_settings, delivery_settings(0), clock=clock), sources_behind=sources_behind)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    thread.start()
    try:
        runner(notify_settings).process(conn, as_records(events))  # wakes the scheduler for this bureau
        time.sleep(3.0)
        assert notifications(conn, factory.tenant_id) == []
        # Asked again every tenth of a second while it is behind, not at every wake-up of the loop.
        gaps = [later - earlier for earlier, later in zip(asked, asked[1:])]
        assert len(asked) >= 3 and min(gaps) >= scheduler_module.LAG_RECHECK_SECONDS * 0.9, gaps
        behind["events"] = 0
        wait_for(lambda: notifications(conn, factory.tenant_id, "care.birthday"), timeout=10,
                 message="the decision once the consumer caught up")
    finally:
        stop.set()
        thread.join(timeout=10)
