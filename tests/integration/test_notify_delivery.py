"""Delivery against real servers: e-mail to an aiosmtpd SMTP server, webhooks to a local HTTP receiver that
verifies the HMAC signature; transient failures retried with capped exponential backoff, permanent ones
marked failed and kept visible; every outcome recorded as an event of the notification."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.notify.bootstrap import bootstrap
from services.notify.channels import sign, verify_signature
from services.notify.delivery import DeliveryWorker
from services.notify.mailbox import start_mailbox
from services.notify.recipients import Contact, Directory, Webhook
from services.notify.rules.model import Reminder
from tests.integration.notify_support import (  # noqa: F401 — fixtures
    FixedClock, conn, delivery_settings, events_of, receiver_factory, schedule_reminder, smtp_server)
from tests.support import free_port, new_id

START = datetime(2025, 9, 30, 1, 0, tzinfo=UTC)


def reminder(rule: str = "care.birthday", subject: str | None = None) -> Reminder:
    return Reminder(rule=rule, subject=subject or f"member-{new_id()}", period="2025", branch_id="branch-1",
                    audiences=("bureau",), title="生日关怀：明天是李淑芬同志 75 岁生日",
                    body="请准备蛋糕和鲜花。", records=(("member", "m-li"),), due_on=date(2025, 9, 30))


def bureau_directory(emails=("office@example.org",), webhooks=()) -> Directory:
    return Directory(new_id(), {}, {}, {"bureau": Contact("局组织部", tuple(emails))}, tuple(webhooks))


def worker(settings, port, clock, **changes) -> DeliveryWorker:
    return DeliveryWorker(bootstrap(settings, delivery_settings(port, **changes), clock=clock))


def deliveries(conn, notification_id: str) -> dict[str, dict]:
    rows = conn.execute("SELECT * FROM deliveries WHERE notification_id = %s", (notification_id,)).fetchall()
    return {row["channel"]: row for row in rows}


def test_an_email_arrives_at_the_smtp_server_naming_its_rule_and_cause(conn, notify_settings, smtp_server):
    clock = FixedClock(START)
    notification_id = schedule_reminder(conn, notify_settings, reminder(), bureau_directory(), clock)
    assert worker(notify_settings, smtp_server.port, clock).deliver_due(conn) == 1

    [message] = smtp_server.messages()
    assert message["To"] == "office@example.org" and message["Subject"] == "生日关怀：明天是李淑芬同志 75 岁生日"
    assert message["X-Branchwork-Rule"] == "care.birthday" and message["X-Branchwork-Notification"] == notification_id
    text = message.get_content()
    assert "请准备蛋糕和鲜花。" in text and "规则：生日关怀（care.birthday）" in text and "成员 m-li" in text
    sent = deliveries(conn, notification_id)
    assert message["Message-ID"] == f"<{sent['email']['delivery_id']}@branchwork>"
    assert sent["email"]["status"] == "sent" and sent["inbox"]["status"] == "sent"
    assert [e["event_type"] for e in events_of(conn, notification_id)] == [
        "notify.NotificationScheduled", "notify.NotificationSent", "notify.NotificationSent"]
    assert conn.execute("SELECT status FROM notifications WHERE notification_id = %s",
                        (notification_id,)).fetchone()["status"] == "sent"


def test_a_mail_server_that_is_down_is_retried_with_doubling_waits_and_then_delivered(conn, notify_settings, tmp_path):
    port, clock = free_port(), FixedClock(START)
    notification_id = schedule_reminder(conn, notify_settings, reminder(), bureau_directory(), clock)
    sender = worker(notify_settings, port, clock)
    waits = []
    for _ in range(2):
        assert sender.deliver_due(conn) == 1
        row = deliveries(conn, notification_id)["email"]
        waits.append((row["next_attempt_at"] - clock()).total_seconds())
        assert sender.deliver_due(conn) == 0  # not due again before its time
        clock.moment = row["next_attempt_at"]
    assert waits == [0.2, 0.4]
    controller = start_mailbox(tmp_path / "box", "127.0.0.1", port)
    try:
        assert sender.deliver_due(conn) == 1
    finally:
        controller.stop()
    row = deliveries(conn, notification_id)["email"]
    assert row["status"] == "sent" and row["attempts"] == 3
    types = [e["event_type"] for e in events_of(conn, notification_id)]
    assert types.count("notify.DeliveryAttemptFailed") == 2 and types[-1] == "notify.NotificationSent"


def test_after_the_last_attempt_the_delivery_is_failed_and_stays_visible(conn, notify_settings):
    port, clock = free_port(), FixedClock(START)
    notification_id = schedule_reminder(conn, notify_settings, reminder(), bureau_directory(), clock)
    sender = worker(notify_settings, port, clock)
    waits = []
    while deliveries(conn, notification_id)["email"]["status"] == "pending":
        assert sender.deliver_due(conn) == 1
        row = deliveries(conn, notification_id)["email"]
        waits.append((row["next_attempt_at"] - clock()).total_seconds())
        clock.moment = max(clock.moment, row["next_attempt_at"])
    assert waits[:3] == [0.2, 0.4, 0.8]  # doubling, and the cap (0.8 s here) would hold from then on
    row = deliveries(conn, notification_id)["email"]
    assert row["status"] == "failed" and row["attempts"] == 4 and "SMTP unavailable" in row["last_error"]
    failed = events_of(conn, notification_id)[-1]
    assert failed["event_type"] == "notify.DeliveryFailed" and failed["data"]["attempts"] == 4
    assert conn.execute("SELECT status FROM notifications WHERE notification_id = %s",
                        (notification_id,)).fetchone()["status"] == "failed"


def test_a_recipient_refused_by_the_server_fails_at_once_without_retrying(conn, notify_settings, tmp_path):
    from aiosmtpd.controller import Controller

    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 mailbox unavailable"

    port, clock = free_port(), FixedClock(START)
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        notification_id = schedule_reminder(conn, notify_settings, reminder(), bureau_directory(), clock)
        worker(notify_settings, port, clock).deliver_due(conn)
    finally:
        controller.stop()
    row = deliveries(conn, notification_id)["email"]
    assert row["status"] == "failed" and row["attempts"] == 1 and "550" in row["last_error"]


def test_a_webhook_is_signed_and_a_failing_receiver_gets_it_once_it_recovers(conn, notify_settings, receiver_factory):
    secret = "a-shared-secret-of-the-receiver"
    receiver, url = receiver_factory(secret, script=[500, 503])
    directory = bureau_directory(emails=(), webhooks=[Webhook("hook-1", url)])
    clock = FixedClock(datetime.now(UTC))
    with conn.transaction():
        conn.execute("INSERT INTO webhook_secrets (tenant_id, webhook_id, secret) VALUES (%s, 'hook-1', %s)"
                     " ON CONFLICT (webhook_id) DO UPDATE SET secret = EXCLUDED.secret", (directory.tenant_id, secret))
    notification_id = schedule_reminder(conn, notify_settings, reminder(rule="dues.arrears_review"), directory, clock)
    sender = worker(notify_settings, 0, clock)
    for _ in range(3):
        sender.deliver_due(conn)
        clock.moment = max(clock.moment, deliveries(conn, notification_id)["webhook"]["next_attempt_at"])
    row = deliveries(conn, notification_id)["webhook"]
    assert row["status"] == "sent" and row["attempts"] == 3 and receiver.attempts == 3
    [payload] = receiver.accepted
    assert receiver.rejected == []
    assert payload["notification_id"] == notification_id and payload["rule"] == "dues.arrears_review"
    assert payload["cause"]["records"] == [{"type": "member", "id": "m-li"}]
    assert [e["data"]["error"] for e in events_of(conn, notification_id)
            if e["event_type"] == "notify.DeliveryAttemptFailed"] == ["投递失败：接收方返回 HTTP 500",
                                                                      "投递失败：接收方返回 HTTP 503"]


def test_a_receiver_refusing_the_request_fails_it_at_once(conn, notify_settings, receiver_factory):
    receiver, url = receiver_factory("another-shared-secret-123", script=[410])
    directory = bureau_directory(emails=(), webhooks=[Webhook("hook-410", url)])
    with conn.transaction():
        conn.execute("INSERT INTO webhook_secrets (tenant_id, webhook_id, secret) VALUES (%s, 'hook-410', 'x')"
                     " ON CONFLICT (webhook_id) DO NOTHING", (directory.tenant_id,))
    clock = FixedClock(datetime.now(UTC))
    notification_id = schedule_reminder(conn, notify_settings, reminder(), directory, clock)
    worker(notify_settings, 0, clock).deliver_due(conn)
    row = deliveries(conn, notification_id)["webhook"]
    assert row["status"] == "failed" and row["last_error"] == "投递失败：接收方返回 HTTP 410"


def test_a_receiver_can_reject_forged_altered_and_replayed_requests():
    body, now = b'{"rule":"care.birthday"}', 1_760_000_000
    signature = sign("the-secret-shared-with-us", now, body)
    assert verify_signature("the-secret-shared-with-us", str(now), body, signature, now + 10)
    assert not verify_signature("a-guess", str(now), body, signature, now + 10)
    assert not verify_signature("the-secret-shared-with-us", str(now), body + b" ", signature, now + 10)
    assert not verify_signature("the-secret-shared-with-us", str(now), body, signature, now + 301)  # replayed later
    assert not verify_signature("the-secret-shared-with-us", None, body, signature, now)


def test_a_removed_webhook_fails_its_pending_deliveries_instead_of_dropping_them(conn, notify_settings):
    directory = bureau_directory(emails=(), webhooks=[Webhook("hook-gone", "http://127.0.0.1:9/none")])
    clock = FixedClock(datetime.now(UTC))
    notification_id = schedule_reminder(conn, notify_settings, reminder(), directory, clock)
    worker(notify_settings, 0, clock).deliver_due(conn)
    row = deliveries(conn, notification_id)["webhook"]
    assert row["status"] == "failed" and row["last_error"] == "the webhook was removed"
    assert clock() - timedelta(seconds=1) < row["failed_at"] <= clock()


def webhook_notification(conn, settings, webhook_id: str, url: str, secret: str = "a-secret-for-the-egress-tests"):
    directory = bureau_directory(emails=(), webhooks=[Webhook(webhook_id, url)])
    with conn.transaction():
        conn.execute("INSERT INTO webhook_secrets (tenant_id, webhook_id, secret) VALUES (%s, %s, %s)"
                     " ON CONFLICT (webhook_id) DO UPDATE SET secret = EXCLUDED.secret",
                     (directory.tenant_id, webhook_id, secret))
    return schedule_reminder(conn, settings, reminder(), directory, FixedClock(datetime.now(UTC)))


def test_a_webhook_pointing_at_the_cloud_metadata_address_fails_for_good_without_a_connection(conn, notify_settings):
    hook = f"hook-{new_id()}"
    notification_id = webhook_notification(conn, notify_settings, hook, "http://169.254.169.254/latest/meta-data/")
    worker(notify_settings, 0, FixedClock(datetime.now(UTC))).deliver_due(conn)
    row = deliveries(conn, notification_id)["webhook"]
    assert row["status"] == "failed" and row["attempts"] == 1
    assert row["last_error"] == "投递失败"  # the network's answer goes to the log, never to the bureau's admin


def test_the_address_is_checked_when_connecting_so_a_name_for_a_refused_address_is_caught(
        conn, notify_settings, receiver_factory):
    receiver, url = receiver_factory("a-secret-for-the-egress-tests")
    by_name = url.replace("127.0.0.1", "localhost")
    notification_id = webhook_notification(conn, notify_settings, f"hook-{new_id()}", by_name)
    worker(notify_settings, 0, FixedClock(datetime.now(UTC)), webhook_allow_loopback=False).deliver_due(conn)
    row = deliveries(conn, notification_id)["webhook"]
    assert row["status"] == "failed" and row["last_error"] == "投递失败"
    assert receiver.attempts == 0


def test_a_receiver_that_redirects_is_not_followed_and_the_delivery_fails_visibly(conn, notify_settings,
                                                                                 receiver_factory):
    elsewhere, elsewhere_url = receiver_factory("a-secret-for-the-egress-tests")

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(307)
            self.send_header("Location", elsewhere_url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        notification_id = webhook_notification(conn, notify_settings, f"hook-{new_id()}",
                                               f"http://127.0.0.1:{server.server_address[1]}/moved")
        worker(notify_settings, 0, FixedClock(datetime.now(UTC))).deliver_due(conn)
    finally:
        server.shutdown()
        server.server_close()
    row = deliveries(conn, notification_id)["webhook"]
    assert row["status"] == "failed" and row["last_error"] == "投递失败：接收方返回 HTTP 307（不跟随重定向）"
    assert elsewhere.attempts == 0
