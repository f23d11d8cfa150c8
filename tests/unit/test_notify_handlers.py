"""Every command handler of the notify service on the in-memory unit of work: what it records, what it refuses."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import pytest

from services.notify import commands as c, handlers
from services.notify.domain import NotifyRuleBroken, notification_id_for
from services.notify.recipients import Contact
from shared.errors import NotFound
from services.notify.events import registry
from shared.memory import MemoryEventStore, MemoryUnitOfWork
from shared.unit_of_work import DuplicateRecord
from tests.unit.fakes import NotifyQueries, context, notify_unit_of_work
from tests.unit.test_notify_recipients import TODAY, directory, reminder
from tests.unit.test_notify_rules import BRANCH, ZHAO

BUREAU = directory().tenant_id
NOW = datetime(2025, 6, 11, 1, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


def uow(store, tenant=BUREAU, **options):
    return notify_unit_of_work(store, tenant, at=NOW, **options)


def types(unit) -> list[str]:
    return [envelope.event_type for envelope in unit.recorded]


def scheduled(store, *audiences: str) -> str:
    contacts = {f"member:{ZHAO.member_id}": Contact(None, ("zhao@example.org",))}
    command = c.ScheduleReminder(reminder(*audiences or (f"secretary:{BRANCH}",)), directory(contacts=contacts), TODAY)
    return handlers.schedule(uow(store, None), command)


# --- scheduling -------------------------------------------------------------------------------------------------

def test_a_due_reminder_is_notified_once_per_cause_and_its_inbox_copy_is_sent_as_recorded(store):
    notification_id = scheduled(store)
    assert notification_id == notification_id_for(BUREAU, reminder(f"secretary:{BRANCH}").dedupe_key)
    [envelope, *sent] = store.read_stream(f"notification-{notification_id}")
    assert envelope.event_type == "notify.NotificationScheduled" and envelope.tenant_id == BUREAU
    assert [e.event_type for e in sent] == ["notify.NotificationSent"]
    assert scheduled(store) is None
    assert len(store.read_stream(f"notification-{notification_id}")) == 2


def test_a_concurrent_scheduler_that_lost_the_race_records_nothing_and_goes_on(store):
    def taken_meanwhile(_envelope, _event):
        raise DuplicateRecord("notifications_tenant_id_dedupe_key_key")

    # The projection's unique rule, as the PostgreSQL unit of work reports a lost race.
    unit = MemoryUnitOfWork(registry, context(None, at=NOW), store=store, queries=NotifyQueries(store),
                            project=taken_meanwhile)
    command = c.ScheduleReminder(reminder(f"secretary:{BRANCH}"), directory(), TODAY)
    assert handlers.schedule(unit, command) is None
    assert store.read_all() == []


# --- outcomes of deliveries ---------------------------------------------------------------------------------

def a_delivery(store) -> tuple[str, dict]:
    notification_id = scheduled(store)
    email = next(d for d in uow(store).queries.notification(notification_id)["deliveries"] if d["channel"] == "email")
    return notification_id, {**email, "notification_id": notification_id, "attempts": 0, "branch_id": BRANCH,
                             "tenant_id": BUREAU}


def test_delivery_outcomes_are_recorded_on_the_notification_in_turn(store):
    notification_id, delivery = a_delivery(store)
    worker = uow(store, None)
    handlers.record_delivery(worker, c.RecordDelivery(delivery, "retry", NOW, "451 try later", NOW + timedelta(1)))
    handlers.record_delivery(worker, c.RecordDelivery({**delivery, "attempts": 1}, "failed", NOW, "550 no mailbox"))
    assert types(worker) == ["notify.DeliveryAttemptFailed", "notify.DeliveryFailed"]
    assert worker.queries.failed_deliveries(notification_id) == [delivery["delivery_id"]]
    handlers.record_delivery(worker, c.RecordDelivery({**delivery, "attempts": 2}, "sent", NOW))
    assert types(worker)[-1] == "notify.NotificationSent"


def test_an_outcome_for_a_notification_never_recorded_is_not_found(store):
    with pytest.raises(NotFound):
        handlers.record_delivery(uow(store, None), c.RecordDelivery(
            {"notification_id": "nothing", "delivery_id": "d", "channel": "email", "target": "x", "attempts": 0,
             "branch_id": BRANCH, "tenant_id": BUREAU}, "sent", NOW))


# --- the inbox and retries ---------------------------------------------------------------------------------

def test_a_notification_is_marked_read_once_and_only_from_an_inbox_it_reached(store):
    notification_id = scheduled(store)
    with pytest.raises(NotFound):
        handlers.mark_read(uow(store), c.MarkRead(notification_id, ("bureau",)))
    reader = uow(store, user="secretary-zhao", role="secretary")
    first = handlers.mark_read(reader, c.MarkRead(notification_id, (f"secretary:{BRANCH}",)))
    assert types(reader) == ["notify.NotificationRead"]
    again = uow(store)
    assert handlers.mark_read(again, c.MarkRead(notification_id, (f"secretary:{BRANCH}",))) == first
    assert again.recorded == []


def test_only_failed_deliveries_are_retried_and_by_whom_is_recorded(store):
    notification_id, delivery = a_delivery(store)
    with pytest.raises(NotifyRuleBroken) as nothing:
        handlers.retry_failed(uow(store), c.RetryFailed(notification_id), lambda row: None)
    assert nothing.value.code == "nothing_failed"
    handlers.record_delivery(uow(store, None), c.RecordDelivery(delivery, "failed", NOW, "550 no mailbox"))
    admin = uow(store, user="admin-7")
    handlers.retry_failed(admin, c.RetryFailed(notification_id), lambda row: None)
    [retried] = admin.recorded
    assert retried.event_type == "notify.DeliveryRetried" and retried.data["requested_by"] == "admin-7"
    assert admin.queries.failed_deliveries(notification_id) == []


def test_a_retry_the_caller_may_not_see_is_refused_before_anything_is_recorded(store):
    notification_id, _ = a_delivery(store)

    def another_branchs_secretary(row):
        raise NotFound("本局没有这条提醒")

    unit = uow(store, role="secretary")
    with pytest.raises(NotFound):
        handlers.retry_failed(unit, c.RetryFailed(notification_id), another_branchs_secretary)
    assert unit.recorded == []


def test_a_notification_of_another_bureau_is_not_found(store):
    notification_id = scheduled(store)
    with pytest.raises(NotFound):
        handlers.retry_failed(uow(store, "another-bureau"), c.RetryFailed(notification_id), lambda row: None)


# --- recipients and webhooks -------------------------------------------------------------------------------

def test_a_recipient_is_configured_as_a_whole_each_time(store):
    unit = uow(store)
    first = handlers.configure_recipient(unit, c.ConfigureRecipient("bureau", "组织部", ["org@example.org"], ["email"]))
    second = handlers.configure_recipient(unit, c.ConfigureRecipient(f"secretary:{BRANCH}", None, [], ["inbox"]))
    again = handlers.configure_recipient(unit, c.ConfigureRecipient("bureau", None, [], ["inbox"]))
    assert (first["version"], second["version"], again["version"]) == (1, 1, 2)
    assert [e.branch_id for e in unit.recorded] == [None, BRANCH, None]


def test_a_webhook_is_recorded_by_its_public_address_and_its_secret_kept_apart_until_removed(store):
    secrets: dict = {}
    unit = uow(store, secrets=secrets)
    url = "https://receiver.example.org/in?key=k1"
    reply = handlers.configure_webhook(unit, c.ConfigureWebhook("hook-1", url, "a-secret-of-16-chars", ["care"]))
    assert reply["url"] == "https://receiver.example.org/in"
    assert unit.recorded[0].data["url"] == "https://receiver.example.org/in" and "secret" not in unit.recorded[0].data
    assert secrets["hook-1"] == {"tenant_id": BUREAU, "secret": "a-secret-of-16-chars", "url": url}
    handlers.remove_webhook(unit, c.RemoveWebhook("hook-1"))
    assert types(unit) == ["notify.WebhookConfigured", "notify.WebhookRemoved"] and secrets == {}
    with pytest.raises(NotFound):
        handlers.remove_webhook(uow(store), c.RemoveWebhook("hook-2"))
