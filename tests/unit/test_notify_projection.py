"""Notify's projection folded in memory (``projections.fold``): what a run of events leaves of a notification and its
deliveries, whether the run holds all of its events or they come in runs of their own."""

from __future__ import annotations

from datetime import date, datetime, timedelta, UTC

import pytest

from services.notify.events import (
    DeliveryAttemptFailed, DeliveryFailed, DeliveryRetried, NotificationRead, NotificationScheduled, NotificationSent)
from services.notify.projections import Notification, fold, status_of
from shared.envelope import Actor, Envelope

BUREAU = "bureau-1"
NOTE = "note-1"
START = datetime(2025, 6, 11, 1, tzinfo=UTC)


def envelope(version: int, at: datetime) -> Envelope:
    return Envelope(f"event-{version}", "notify.Any", 1, f"notification-{NOTE}", version, BUREAU, "branch-1", at, at,
                    Actor("notify", "system"), None, None)


def history() -> list[tuple[Envelope, object]]:
    """E-mail and inbox deliveries: the inbox's sent at once, the e-mail failing, failing for good, retried, sent;
    then read. Each event the next version of the notification's stream, a minute apart."""
    deliveries = [{"delivery_id": "d-email", "channel": "email", "audience": "secretary:branch-1",
                   "recipient": "member-1", "target": "zhao@example.org"},
                  {"delivery_id": "d-inbox", "channel": "inbox", "audience": "secretary:branch-1",
                   "recipient": None, "target": "secretary:branch-1", "note": "on behalf"}]
    events = [
        NotificationScheduled(NOTE, "meeting.committee_monthly", "key-1", "branch-1", "2025-06", "branch-1", "提醒",
                              "本月支委会", {"records": [], "as_of": "2025-06-11"}, {}, deliveries, date(2025, 6, 20)),
        NotificationSent(NOTE, "d-inbox", "inbox", "secretary:branch-1", 1, START),
        DeliveryAttemptFailed(NOTE, "d-email", "email", "zhao@example.org", 1, "timeout", START + timedelta(hours=1)),
        DeliveryFailed(NOTE, "d-email", "email", "zhao@example.org", 2, "refused", START + timedelta(hours=2)),
        DeliveryRetried(NOTE, ["d-email", "d-inbox"], "admin"),
        NotificationSent(NOTE, "d-email", "email", "zhao@example.org", 1, START + timedelta(hours=3)),
        NotificationRead(NOTE, "secretary-1", START + timedelta(hours=4)),
    ]
    return [(envelope(version, START + timedelta(minutes=version)), event) for version, event in enumerate(events, 1)]


def stored(note: Notification) -> Notification:
    """The notification as the next run reads it back: its rows, nothing marked changed."""
    row, _changed = note.rows()
    return Notification(dict(row), {key: dict(value) for key, value in note.deliveries.items()})


def replayed(runs: list[list]) -> tuple[dict, dict]:
    notes: dict[str, Notification] = {}
    for run in runs:
        notes = {key: stored(note) for key, note in notes.items()}
        fold(run, notes)
    row, _changed = notes[NOTE].rows()
    return row, notes[NOTE].deliveries


def test_a_notification_is_pending_while_a_delivery_is_failed_if_one_failed_else_sent():
    assert status_of([]) == "sent"
    assert status_of([{"status": "sent"}, {"status": "pending"}, {"status": "failed"}]) == "pending"
    assert status_of([{"status": "sent"}, {"status": "failed"}]) == "failed"
    assert status_of([{"status": "sent"}, {"status": "sent"}]) == "sent"


def test_each_event_moves_the_notification_and_its_deliveries_as_the_commands_recorded_them():
    events = history()
    statuses = []
    for length in range(1, len(events) + 1):
        row, deliveries = replayed([events[:length]])
        statuses.append((row["status"], deliveries["d-email"]["status"], deliveries["d-inbox"]["status"]))
    assert statuses == [("pending", "pending", "pending"), ("pending", "pending", "sent"),
                        ("pending", "pending", "sent"), ("failed", "failed", "sent"), ("pending", "pending", "sent"),
                        ("sent", "sent", "sent"), ("sent", "sent", "sent")]
    row, deliveries = replayed([events])
    assert row["version"] == 7 and row["read_by"] == "secretary-1" and row["read_at"] == START + timedelta(hours=4)
    assert row["scheduled_at"] == START + timedelta(minutes=1)
    email = deliveries["d-email"]
    # The retry reset the attempts and the failure, and left the inbox's delivery, never failed, as it was.
    assert (email["attempts"], email["sent_at"], email["failed_at"], email["last_error"]) == (
        1, START + timedelta(hours=3), None, None)
    assert email["next_attempt_at"] == START + timedelta(minutes=5)
    assert deliveries["d-inbox"] == {
        "tenant_id": BUREAU, "delivery_id": "d-inbox", "notification_id": NOTE, "channel": "inbox",
        "audience": "secretary:branch-1", "recipient": None, "target": "secretary:branch-1", "note": "on behalf",
        "status": "sent", "attempts": 1, "next_attempt_at": START + timedelta(minutes=1), "last_error": None,
        "sent_at": START, "failed_at": None}


@pytest.mark.parametrize("cuts", [(1,), (2, 4), (3, 5, 6), (1, 2, 3, 4, 5, 6)])
def test_a_history_split_between_runs_leaves_the_rows_of_one_run(cuts):
    events = history()
    bounds = (0, *cuts, len(events))
    runs = [events[start:end] for start, end in zip(bounds, bounds[1:])]
    assert replayed(runs) == replayed([events])


def test_a_run_writes_only_the_deliveries_it_changed_and_says_whom_to_wake():
    events = history()
    notes: dict[str, Notification] = {}
    assert fold(events[:2], notes) == NOTE  # scheduled: both deliveries new
    notes = {NOTE: stored(notes[NOTE])}
    assert fold(events[2:4], notes) is None
    _row, changed = notes[NOTE].rows()
    assert [delivery["delivery_id"] for delivery in changed] == ["d-email"]
    notes = {NOTE: stored(notes[NOTE])}
    assert fold(events[4:5], notes) == NOTE  # retried: the workers have a delivery to make again


def test_events_of_a_notification_never_recorded_change_nothing():
    notes: dict[str, Notification] = {}
    assert fold(history()[1:], notes) is None
    assert notes == {}
