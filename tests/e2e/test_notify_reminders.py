"""HTTP into members and activities, Kafka across, e-mail and signed webhooks out of notify — once.

Runs against the platform started by ``make up``/``make test``: the notify workers (``notify-sources``,
``notify-scheduler``, ``notify-delivery``) and the local mailbox (``notify-mailbox``, an aiosmtpd server
that stores every message it receives under ``.run/mailbox``).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contracts.rulebook.calendar import local_date

from services.notify.channels import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from services.notify.mailbox import read_mailbox
from services.notify.settings import NotifySettings
from shared.kafka import idempotent_producer
from tests.support import read_topic, short_id, wait_for

MEMBER = {"gender": "female", "party_member": True, "party_join_date": "1975-05-04", "retirement_kind": "retired",
          "health": "fair", "mobility": "limited"}


@pytest.fixture(scope="module")
def notify(stack_env) -> NotifySettings:
    return NotifySettings.from_env(stack_env)


def beijing_today(notify: NotifySettings):
    return local_date(datetime.now(UTC))


def mail_to(notify: NotifySettings, address: str) -> list:
    return [message for message in read_mailbox(notify.mailbox_dir) if message["To"] == address]


def branch_with_member(platform, bureau, name: str, birth_date: str) -> tuple[str, str]:
    branch = platform.post("members", "/api/v1/branches", {"name": "离退休干部党支部", "established_on": "2015-01-01"},
                           bureau["admin"])
    assert branch.status_code == 201, branch.text
    member = platform.post("members", "/api/v1/members", {**MEMBER, "name": name, "birth_date": birth_date,
                                                          "branch_id": branch.json()["id"], "joined_on": "2016-01-01"},
                           bureau["admin"])
    assert member.status_code == 201, member.text
    return branch.json()["id"], member.json()["id"]


def put(platform, path: str, body: dict, auth: str):
    """PUT a recipient once notify knows the branch or member named (it learns of them through Kafka)."""
    def attempt():
        response = platform.http.put(platform.url("notify", path), json=body,
                                     headers={"Authorization": f"Bearer {auth}"}, timeout=10)
        assert response.status_code in (200, 404), response.text
        return response if response.status_code == 200 else None
    return wait_for(attempt, timeout=30, message=f"notify knows the record of {path}").json()


def plan_for_tomorrow(platform, notify, bureau, kind: str, title: str, place: str) -> tuple[str, str]:
    """A branch with one member reached by e-mail, and an activity planned for tomorrow: (activity id, address)."""
    branch_id, member_id = branch_with_member(platform, bureau, "李淑芬", "1950-10-02")
    address = f"li-{short_id()}@example.org"
    put(platform, f"/api/v1/recipients/members/{member_id}",
        {"name": None, "emails": [address], "channels": ["inbox", "email"]}, bureau["admin"])
    body = {"branch_id": branch_id, "kind": kind, "status": "planned", "title": title, "place": place,
            "occurred_on": (beijing_today(notify) + timedelta(days=1)).isoformat()}
    # Activities learns of the new branch from the members' events; until then it refuses (and writes nothing).
    [planned] = wait_for(lambda: (lambda r: [r] if r.status_code != 422 else None)(
        platform.post("activities", "/api/v1/activities", body, bureau["admin"])), timeout=30,
        interval=0.5, message="activities knows the branch")
    assert planned.status_code == 201, planned.text
    return planned.json()["id"], address


def redeliver(platform, topic: str, record_id: str) -> None:
    """Send every record of ``topic`` mentioning ``record_id`` again, as Kafka may after a consumer crash."""
    records = read_topic(platform.settings.kafka_bootstrap, topic,
                         until=lambda rs: any(record_id.encode() in r.value for r in rs), timeout=30)
    producer = idempotent_producer(platform.settings.kafka_bootstrap)
    for record in (r for r in records if record_id.encode() in r.value):
        producer.send(record.topic, key=record.key, value=record.value)
    producer.flush()
    producer.close()


def notifications(platform, bureau, rule: str) -> list[dict]:
    response = platform.get("notify", "/api/v1/notifications", bureau["admin"], rule=rule)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_activity_planned_in_activities_becomes_one_email_despite_redelivery_and_repeated_runs(platform, notify):
    bureau = platform.new_bureau()
    title = f"党课：传承红色基因 {short_id()}"
    activity_id, address = plan_for_tomorrow(platform, notify, bureau, "party_lecture", title, "活动中心三楼")

    mail = wait_for(lambda: mail_to(notify, address), timeout=60, message="the reminder in the SMTP server's mailbox")
    assert mail[0]["X-Branchwork-Rule"] == "meeting.reminder" and title in mail[0]["Subject"]
    assert "活动中心三楼" in mail[0].get_content() and f"activity-{activity_id}" in mail[0].get_content()

    # Kafka delivers the ActivityPlanned event again, and the rules are run twice more by hand.
    redeliver(platform, platform.settings.topic("activities"), activity_id)
    for _ in range(2):
        run = platform.post("notify", "/api/v1/scheduler/runs", {}, bureau["admin"])
        assert run.status_code == 201, run.text
    time.sleep(3)
    assert len(mail_to(notify, address)) == 1
    reminders = notifications(platform, bureau, "meeting.reminder")
    assert len(reminders) == 1 and reminders[0]["subject"] == f"activity-{activity_id}"
    assert reminders[0]["status"] == "sent"


class SignedReceiver:
    """A bureau's own system receiving notify's webhooks, checking each signature and timestamp."""

    def __init__(self, secret: str) -> None:
        self.secret, self.accepted, self.rejected = secret, [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                good = verify_signature(receiver.secret, self.headers.get(TIMESTAMP_HEADER), body,
                                        self.headers.get(SIGNATURE_HEADER), time.time())
                (receiver.accepted if good else receiver.rejected).append(
                    (self.headers.get(DELIVERY_HEADER), json.loads(body)))
                self.send_response(204 if good else 401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/branchwork"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_birthday_tomorrow_reaches_the_bureaus_webhook_signed(platform, notify):
    bureau = platform.new_bureau()
    receiver = SignedReceiver(f"secret-{short_id()}-{short_id()}")
    try:
        # Recipients are resolved when a notification is scheduled, so the webhook comes first.
        created = platform.post("notify", "/api/v1/webhooks", {"url": receiver.url, "secret": receiver.secret,
                                                               "rules": ["care.birthday"]}, bureau["admin"])
        assert created.status_code == 201, created.text
        tomorrow = beijing_today(notify) + timedelta(days=1)
        _branch, member_id = branch_with_member(platform, bureau, "赵国庆", tomorrow.replace(year=1948).isoformat())
        wait_for(lambda: receiver.accepted, timeout=60, message="the signed webhook of the birthday task")
    finally:
        receiver.close()
    assert receiver.rejected == []
    [(_delivery, payload)] = receiver.accepted
    assert payload["rule"] == "care.birthday" and payload["subject"] == f"member-{member_id}"
    assert payload["tenant_id"] == bureau["id"] and "赵国庆" in payload["title"]
