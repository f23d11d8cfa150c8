"""The SMTP server (the local aiosmtpd mailbox) down for a while under load: deliveries are retried with a
doubling backoff, and once it is back every e-mail arrives exactly once (by its Message-ID)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, UTC

import requests

from services.notify.mailbox import read_mailbox
from tests.faults.load import Command, bureau_tomorrow, send
from tests.support import short_id, wait_for

MAILBOX = "notify-mailbox"
LEAST_DOWN_SECONDS, MOST_DOWN_SECONDS = 12.0, 30.0
FAILED_ATTEMPTS_WANTED = 4  # retried at +1, +2, +4 s: the backoff doubles


def failed_attempts(platform, since: datetime) -> list[dict]:
    with platform.owner("notify") as conn:
        return conn.execute("SELECT data FROM events WHERE event_type = 'notify.DeliveryAttemptFailed'"
                            " AND recorded_at >= %s AND data->>'channel' = 'email' ORDER BY position", (since,)
                            ).fetchall()


def email_deliveries(platform, since: datetime) -> list[dict]:
    with platform.owner("notify") as conn:
        return conn.execute("SELECT d.delivery_id, d.status, d.attempts FROM deliveries d JOIN notifications n"
                            " USING (notification_id) WHERE d.channel = 'email' AND n.scheduled_at >= %s",
                            (since,)).fetchall()


def test_the_smtp_server_down_for_a_while_delays_e_mail_with_backoff_and_loses_or_doubles_none(
        platform, scenario, bureaus):
    started = datetime.now(UTC)
    with scenario.under_load() as load:
        platform.script("services", "stop", MAILBOX)  # on purpose: the supervisor leaves it stopped
        stopped_at, stopped_wall = time.monotonic(), datetime.now(UTC)
        meeting = Command("activities", "plan meeting", "POST", "/activities", {
            "branch_id": bureaus[0].branches[0], "kind": "party_lecture", "status": "planned",
            "occurred_on": bureau_tomorrow().isoformat(), "title": f"党课 {short_id()}", "place": "活动中心三楼"})
        send(requests.Session(), platform, bureaus[0].admin, meeting)  # a reminder due while the server is away
        load.clients[0].done.append(meeting)
        wait_for(lambda: any(row["data"]["attempt"] >= FAILED_ATTEMPTS_WANTED
                             for row in failed_attempts(platform, stopped_wall)),
                 timeout=MOST_DOWN_SECONDS, interval=0.5, message="an e-mail retried while the server is away")
        time.sleep(max(0.0, LEAST_DOWN_SECONDS - (time.monotonic() - stopped_at)))
        assert platform.pid(MAILBOX) is None, "a process stopped on purpose stays stopped"
        back_at = time.monotonic()
        platform.script("services", "start")
        down_for = time.monotonic() - stopped_at
        wait_for(lambda: all(d["status"] != "pending" for d in email_deliveries(platform, started)), timeout=120,
                 interval=0.5, message="every e-mail sent once the server is back")
        recovery = time.monotonic() - back_at
    scenario.census.settle()
    deliveries = email_deliveries(platform, started)
    received = Counter(str(message["Message-ID"]) for message in read_mailbox(platform.notify.mailbox_dir))
    assert deliveries and all(d["status"] == "sent" for d in deliveries), deliveries
    lost = [d["delivery_id"] for d in deliveries if received[f"<{d['delivery_id']}@branchwork>"] == 0]
    doubled = [d["delivery_id"] for d in deliveries if received[f"<{d['delivery_id']}@branchwork>"] > 1]
    attempts = failed_attempts(platform, stopped_wall)
    assert_backoff_doubles(attempts, platform.notify)
    retried = len({row["data"]["delivery_id"] for row in attempts})
    scenario.finish(6, f"SMTP server down {down_for:.0f} s (aiosmtpd stopped)", recovery,
                    note=f"{len(deliveries)} e-mails, {retried} of them retried ({len(attempts)} failed attempts,"
                         f" backoff doubling from 1 s); {len(lost)} lost, {len(doubled)} received twice;"
                         f" {recovery:.1f} s from starting the server again until every e-mail was sent")
    assert not lost and not doubled, (lost, doubled)


def assert_backoff_doubles(attempts: list[dict], notify) -> None:
    """Each failed attempt n sets the next one ``backoff_seconds(n)`` later — 1, 2, 4, 8 s, then the cap."""
    retry_at: dict[str, dict[int, datetime]] = {}
    for row in attempts:
        data = row["data"]
        retry_at.setdefault(data["delivery_id"], {})[data["attempt"]] = datetime.fromisoformat(data["retry_at"])
    longest = max(retry_at.values(), key=len)
    assert len(longest) >= FAILED_ATTEMPTS_WANTED
    numbers = sorted(longest)
    # retry_at(n+1) − retry_at(n) = how late attempt n+1 ran + its own wait, backoff_seconds(n+1).
    gaps = [(longest[later] - longest[earlier]).total_seconds() for earlier, later in zip(numbers, numbers[1:])]
    waits = [notify.backoff_seconds(n) for n in numbers[1:]]
    assert all(gap >= wait - 0.2 for gap, wait in zip(gaps, waits)), (gaps, waits)
