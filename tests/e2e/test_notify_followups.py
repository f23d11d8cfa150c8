"""On the running platform: a meeting cancelled in activities after its reminder went out becomes one cancellation
e-mail to those reminded (despite Kafka redelivery and repeated runs); a bureau's rule set changed with PUT
/bureaus/{id}/rules on members changes what notify sends; a webhook aimed at the cloud metadata address is refused."""

from __future__ import annotations

import time
from datetime import timedelta

from tests.e2e.test_notify_reminders import (  # noqa: F401 — the notify fixture
    SignedReceiver, beijing_today, branch_with_member, mail_to, notifications, notify, plan_for_tomorrow, put,
    redeliver)
from tests.support import short_id, wait_for


def test_a_cancelled_meeting_already_reminded_is_announced_once_to_those_reminded(platform, notify):
    bureau = platform.new_bureau()
    title = f"支部党员大会 {short_id()}"
    activity_id, address = plan_for_tomorrow(platform, notify, bureau, "general_meeting", title, "活动中心")
    wait_for(lambda: mail_to(notify, address), timeout=60, message="the reminder")

    cancelled = platform.post("activities", f"/api/v1/activities/{activity_id}/actions/cancel",
                              {"reason": "会场维修，改期另行通知"}, bureau["admin"])
    assert cancelled.status_code == 201, cancelled.text
    notice = wait_for(lambda: [m for m in mail_to(notify, address) if m["X-Branchwork-Rule"] == "meeting.cancelled"],
                      timeout=60, message="the cancellation notice")
    assert title in notice[0]["Subject"] and "会场维修" in notice[0].get_content()

    redeliver(platform, platform.settings.topic("activities"), activity_id)
    for _ in range(2):
        assert platform.post("notify", "/api/v1/scheduler/runs", {}, bureau["admin"]).status_code == 201
    time.sleep(3)
    assert [m["X-Branchwork-Rule"] for m in mail_to(notify, address)] == ["meeting.reminder", "meeting.cancelled"]
    [row] = notifications(platform, bureau, "meeting.cancelled")
    assert row["subject"] == f"activity-{activity_id}" and row["status"] == "sent"


def test_a_rule_set_published_on_members_changes_what_notify_sends(platform, notify):
    bureau = platform.new_bureau()
    receiver = SignedReceiver(f"secret-{short_id()}-{short_id()}")
    try:
        created = platform.post("notify", "/api/v1/webhooks", {"url": receiver.url, "secret": receiver.secret,
                                                               "rules": ["care.birthday"]}, bureau["admin"])
        assert created.status_code == 201, created.text
        today = beijing_today(notify)
        _branch, member_id = branch_with_member(platform, bureau, "孙志刚",
                                                (today + timedelta(days=3)).replace(year=1951).isoformat())
        wait_for(lambda: platform.get("notify", "/api/v1/scheduler/runs", bureau["admin"]).json(), timeout=30,
                 message="notify has judged the new bureau")
        assert platform.post("notify", "/api/v1/scheduler/runs", {}, bureau["admin"]).json()["scheduled"] == []
        assert notifications(platform, bureau, "care.birthday") == []  # three days ahead: not yet, by default

        published = platform.http.put(platform.url("members", f"/api/v1/bureaus/{bureau['id']}/rules"),
                                      json={"effective_from": today.isoformat(), "rules": {"birthday_days_ahead": 3}},
                                      headers={"Authorization": f"Bearer {bureau['admin']}"}, timeout=10)
        assert published.status_code == 201, published.text
        wait_for(lambda: receiver.accepted, timeout=60, message="the birthday task under the new rule set")
    finally:
        receiver.close()
    [(_delivery, payload)] = receiver.accepted
    assert payload["rule"] == "care.birthday" and payload["subject"] == f"member-{member_id}"
    assert payload["due_on"] == today.isoformat()


def test_a_webhook_aimed_at_the_cloud_metadata_address_is_refused(platform):
    bureau = platform.new_bureau()
    refused = platform.post("notify", "/api/v1/webhooks", {"url": "http://169.254.169.254/latest/meta-data/",
                                                           "secret": "a-secret-of-sixteen+"}, bureau["admin"])
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "webhook_address_refused"
    assert platform.get("notify", "/api/v1/webhooks", bureau["admin"]).json() == []
