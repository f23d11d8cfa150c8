"""The notify API in-process against a real database: the inbox and marking read, recipients and
webhooks, failed notifications made visible, an on-demand rules run, roles and bureau isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.activities import ActivityPlanned
from services.notify.bootstrap import bootstrap
from services.notify.delivery import DeliveryWorker
from services.notify.scheduler import Scheduler
from tests.fixtures import notify_app as app  # noqa: F401 — fixtures
from tests.integration.notify_support import EventFactory, as_records, conn, delivery_settings  # noqa: F401
from tests.integration.test_notify_pipeline import runner
from tests.support import bearer, free_port, new_id, streams_plans, token


@pytest.fixture
def bureau(conn, notify_settings):
    """A bureau whose secretary's birthday is tomorrow (Beijing time), projected from its events."""
    today = Scheduler(bootstrap(notify_settings, delivery_settings(0))).today()
    tomorrow = today + timedelta(days=1)
    factory = EventFactory()
    branch_id, events, member_ids = factory.branch_with_members(
        [("赵国庆", tomorrow.replace(year=1948)),
         ("李淑芬", today.replace(month=1, day=1, year=1950))])
    runner(notify_settings).process(conn, as_records(events))
    tenant = factory.tenant_id
    return {"id": tenant, "branch_id": branch_id, "members": member_ids,
            "admin": bearer(token(notify_settings, "bureau_admin", tenant=tenant, subject="admin-1")),
            "secretary": bearer(token(notify_settings, "secretary", tenant=tenant, branches=[branch_id],
                                      subject="secretary-zhao")),
            "auditor": bearer(token(notify_settings, "auditor", tenant=tenant))}


def run_rules(client, bureau) -> list[str]:
    response = client.post("/api/v1/scheduler/runs", headers=bureau["admin"])
    assert response.status_code == 201, response.json
    return response.json["scheduled"]


def test_a_rules_run_fills_the_secretarys_inbox_and_read_is_recorded_once(client, bureau, conn):
    scheduled = run_rules(client, bureau)
    assert scheduled and run_rules(client, bureau) == []
    runs = client.get("/api/v1/scheduler/runs", headers=bureau["auditor"]).json
    assert [run["scheduled"] for run in runs] == [len(scheduled)]  # the empty second run of the day is not kept
    inbox = client.get("/api/v1/inbox", headers=bureau["secretary"]).json
    birthday = next(item for item in inbox if item["rule"] == "care.birthday")
    assert "赵国庆" in birthday["title"] and birthday["read_at"] is None and birthday["subject"].startswith("member-")

    first = client.post(f"/api/v1/inbox/{birthday['id']}/actions/read", headers=bureau["secretary"])
    again = client.post(f"/api/v1/inbox/{birthday['id']}/actions/read", headers=bureau["secretary"])
    assert first.status_code == again.status_code == 200 and first.json == again.json
    unread = client.get("/api/v1/inbox?unread=true", headers=bureau["secretary"]).json
    assert birthday["id"] not in [item["id"] for item in unread]
    reads = conn.execute("SELECT actor FROM events WHERE stream_id = %s AND event_type = 'notify.NotificationRead'",
                         (f"notification-{birthday['id']}",)).fetchall()
    assert [r["actor"] for r in reads] == [{"user": "secretary-zhao", "role": "secretary"}]


def test_another_bureau_and_another_branch_see_none_of_it(client, bureau, notify_settings):
    scheduled = run_rules(client, bureau) or [row["id"] for row in client.get(
        "/api/v1/notifications", headers=bureau["admin"]).json]
    other = bearer(token(notify_settings, "bureau_admin", tenant=new_id()))
    assert client.get("/api/v1/notifications", headers=other).json == []
    assert client.get(f"/api/v1/notifications/{scheduled[0]}", headers=other).status_code == 404
    stranger = bearer(token(notify_settings, "secretary", tenant=bureau["id"], branches=[new_id()]))
    assert client.get("/api/v1/inbox", headers=stranger).json == []
    assert client.post(f"/api/v1/inbox/{scheduled[0]}/actions/read", headers=stranger).status_code == 404


def test_recipients_are_configured_and_used_for_the_next_notification(client, bureau, conn):
    response = client.put("/api/v1/recipients/bureau", headers=bureau["admin"],
                          json={"name": "局组织部", "emails": ["org@example.org"], "channels": ["inbox", "email"]})
    assert response.status_code == 200 and response.json["channels"] == ["inbox", "email"]
    secretary = client.put(f"/api/v1/recipients/branches/{bureau['branch_id']}/secretary", headers=bureau["secretary"],
                           json={"name": None, "emails": ["zhao@example.org"], "channels": ["email"]})
    assert secretary.status_code == 200
    member = client.put(f"/api/v1/recipients/members/{bureau['members'][1]}", headers=bureau["secretary"],
                        json={"name": None, "emails": ["li@example.org"], "channels": ["email"]})
    assert member.status_code == 200
    listed = {r["audience"]: r for r in client.get("/api/v1/recipients", headers=bureau["admin"]).json}
    assert listed["bureau"]["emails"] == ["org@example.org"] and listed["bureau"]["version"] == 1
    run_rules(client, bureau)
    birthday = client.get("/api/v1/notifications?rule=care.birthday", headers=bureau["admin"]).json[0]
    assert {(d["channel"], d["target"]) for d in birthday["deliveries"]} == {("email", "zhao@example.org")}


def test_recipient_input_is_checked_and_roles_enforced(client, bureau, notify_settings):
    bad = client.put("/api/v1/recipients/bureau", headers=bureau["admin"],
                     json={"name": None, "emails": ["not-an-address"], "channels": ["email"]})
    assert bad.status_code == 400 and "emails" in bad.json["error"]["fields"]
    unknown = client.put("/api/v1/recipients/bureau", headers=bureau["admin"], json={"phone": "1"})
    assert unknown.status_code == 400 and unknown.json["error"]["fields"]["phone"] == ["不认识这个字段"]
    assert client.put("/api/v1/recipients/bureau", headers=bureau["secretary"], json={
        "name": None, "emails": [], "channels": ["inbox"]}).status_code == 403
    assert client.get("/api/v1/inbox").status_code == 401
    assert client.get("/api/v1/inbox", headers=bureau["auditor"]).status_code == 403
    assert client.post("/api/v1/scheduler/runs", headers=bureau["secretary"]).status_code == 403


def test_a_put_takes_its_whole_body_and_never_wipes_the_list_on_an_empty_one(client, bureau):
    whole = {"name": "局组织部", "emails": ["org@example.org"], "channels": ["inbox", "email"]}
    assert client.put("/api/v1/recipients/bureau", headers=bureau["admin"], json=whole).status_code == 200
    for body in ({}, {"emails": []}, {"name": None, "channels": ["email"]}):
        response = client.put("/api/v1/recipients/bureau", headers=bureau["admin"], json=body)
        assert response.status_code == 400 and set(response.json["error"]["fields"]) == set(whole) - set(body)
    for raw, kind in ((b"", "application/json"), (b"emails=x", "application/x-www-form-urlencoded")):
        response = client.put("/api/v1/recipients/bureau", headers=bureau["admin"], data=raw, content_type=kind)
        assert response.status_code in (400, 415)
    listed = {r["audience"]: r for r in client.get("/api/v1/recipients", headers=bureau["admin"]).json}
    assert listed["bureau"]["emails"] == ["org@example.org"]


def test_writes_naming_another_bureaus_branch_or_member_answer_404(client, bureau, notify_settings):
    other = bearer(token(notify_settings, "bureau_admin", tenant=new_id()))
    whole = {"name": None, "emails": ["x@example.org"], "channels": ["email"]}
    secretary = client.put(f"/api/v1/recipients/branches/{bureau['branch_id']}/secretary", headers=other, json=whole)
    member = client.put(f"/api/v1/recipients/members/{bureau['members'][1]}", headers=other, json=whole)
    assert secretary.status_code == member.status_code == 404


def test_webhooks_are_added_listed_changed_and_removed_without_showing_their_secret(client, bureau):
    created = client.post("/api/v1/webhooks", headers=bureau["admin"], json={
        "url": "http://127.0.0.1:9/hook", "secret": "a-secret-of-sixteen+", "rules": ["dues", "care.birthday"]})
    assert created.status_code == 201 and "secret" not in created.json and created.json["secret_fingerprint"]
    webhook_id = created.json["id"]
    listed = client.get("/api/v1/webhooks", headers=bureau["admin"]).json
    assert [(w["id"], w["rules"]) for w in listed] == [(webhook_id, ["dues", "care.birthday"])]
    changed = client.put(f"/api/v1/webhooks/{webhook_id}", headers=bureau["admin"], json={
        "url": "https://receiver.example.org/hook", "secret": "another-secret-16chars"})
    assert changed.status_code == 200 and changed.json["version"] == 2
    assert changed.json["secret_fingerprint"] != created.json["secret_fingerprint"]
    assert client.post("/api/v1/webhooks", headers=bureau["admin"], json={
        "url": "ftp://x", "secret": "short"}).status_code == 400
    assert client.delete(f"/api/v1/webhooks/{webhook_id}", headers=bureau["admin"]).status_code == 200
    assert client.get("/api/v1/webhooks", headers=bureau["admin"]).json == []
    assert client.delete(f"/api/v1/webhooks/{webhook_id}", headers=bureau["admin"]).status_code == 404


def test_a_failed_delivery_is_listed_as_failed_and_can_be_retried(client, bureau, conn, notify_settings):
    client.put("/api/v1/recipients/bureau", headers=bureau["admin"],
               json={"name": None, "emails": ["org@example.org"], "channels": ["inbox", "email"]})
    client.put(f"/api/v1/recipients/branches/{bureau['branch_id']}/secretary", headers=bureau["admin"],
               json={"name": None, "emails": ["nobody-listens@example.org"], "channels": ["inbox", "email"]})
    run_rules(client, bureau)
    DeliveryWorker(bootstrap(notify_settings, delivery_settings(free_port(), max_attempts=1))).deliver_due(conn)
    failed = client.get("/api/v1/notifications?status=failed", headers=bureau["auditor"]).json
    assert failed and {n["status"] for n in failed} == {"failed"}
    email = next(d for d in failed[0]["deliveries"] if d["channel"] == "email")
    assert email["status"] == "failed" and "SMTP unavailable" in email["last_error"]

    retried = client.post(f"/api/v1/notifications/{failed[0]['id']}/actions/retry", headers=bureau["admin"])
    assert retried.status_code == 200
    assert client.get(f"/api/v1/notifications/{failed[0]['id']}", headers=bureau["admin"]).json["status"] == "pending"
    again = client.post(f"/api/v1/notifications/{failed[0]['id']}/actions/retry", headers=bureau["admin"])
    assert again.status_code == 422 and again.json["error"]["code"] == "nothing_failed"
    assert client.get("/api/v1/notifications?status=bogus", headers=bureau["admin"]).status_code == 400


def test_health_readiness_and_openapi(client):
    assert client.get("/healthz").json["status"] == "ok"
    assert client.get("/readyz").status_code == 200
    spec = client.get("/openapi.json").json
    assert ({"/api/v1/inbox", "/api/v1/notifications", "/api/v1/webhooks", "/api/v1/scheduler/runs"}
            <= set(spec["paths"]))


def test_a_webhook_to_a_link_local_or_metadata_address_is_refused_and_loopback_follows_the_setting(
        client, bureau, app):
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook", "http://2852039166/",
                "http://100.100.100.200/"):
        refused = client.post("/api/v1/webhooks", headers=bureau["admin"],
                              json={"url": url, "secret": "a-secret-of-sixteen+"})
        assert refused.status_code == 422 and refused.json["error"]["code"] == "webhook_address_refused", url
        assert "url" in refused.json["error"]["fields"]
    assert client.post("/api/v1/webhooks", headers=bureau["admin"], json={
        "url": "gopher://127.0.0.1:6379/_x", "secret": "a-secret-of-sixteen+"}).status_code == 400
    created = client.post("/api/v1/webhooks", headers=bureau["admin"],
                          json={"url": "http://127.0.0.1:9/hook", "secret": "a-secret-of-sixteen+"})
    assert created.status_code == 201  # loopback allowed here (the test's settings), for local receivers
    moved = client.put(f"/api/v1/webhooks/{created.json['id']}", headers=bureau["admin"],
                       json={"url": "http://169.254.169.254/", "secret": "a-secret-of-sixteen+"})
    assert moved.status_code == 422
    settings = app.extensions["notify"]["settings"]
    app.extensions["notify"]["settings"] = settings.with_overrides(webhook_allow_loopback=False)
    try:
        assert client.post("/api/v1/webhooks", headers=bureau["admin"], json={
            "url": "http://localhost:9/hook", "secret": "a-secret-of-sixteen+"}).status_code == 422
    finally:
        app.extensions["notify"]["settings"] = settings
    client.delete(f"/api/v1/webhooks/{created.json['id']}", headers=bureau["admin"])


def test_the_secretarys_inbox_says_whom_to_tell_in_person(client, bureau, conn, notify_settings):
    planned_on = Scheduler(bootstrap(notify_settings, delivery_settings(0))).today()
    factory = EventFactory(bureau["id"])
    activity_id = new_id()
    runner(notify_settings).process(conn, as_records([factory.envelope(f"activity-{activity_id}", ActivityPlanned(
        activity_id, bureau["branch_id"], "party_lecture", planned_on + timedelta(days=1), "党课", "活动中心", []),
        bureau["branch_id"])], "branchwork.activities.events"))
    run_rules(client, bureau)
    inbox = client.get("/api/v1/inbox", headers=bureau["secretary"]).json
    lecture = next(item for item in inbox if item["rule"] == "meeting.reminder")
    assert lecture["note"].startswith("请代为通知：") and "李淑芬" in lecture["note"]


def test_recipients_and_webhooks_read_their_streams_by_key_under_row_level_security(client, bureau, notify_settings):
    """As members' reads do (tests/integration/test_members_api.py): the stream ids are passed, not made in SQL."""
    from services.notify import queries
    from shared import db
    assert client.put("/api/v1/recipients/bureau", headers=bureau["admin"], json={
        "name": "局组织部", "emails": ["org@example.org"], "channels": ["inbox"]}).status_code == 200
    assert client.post("/api/v1/webhooks", headers=bureau["admin"], json={
        "url": "http://127.0.0.1:9/hook", "secret": "a-secret-of-sixteen+", "rules": ["dues"]}).status_code == 201
    with db.connect(notify_settings.app_dsn) as conn, conn.transaction():
        db.set_tenant(conn, bureau["id"])
        assert [(r["audience"], r["version"]) for r in queries.recipients(conn)] == [("bureau", 1)]
        assert [w["version"] for w in queries.webhooks(conn)] == [1]
        scans = streams_plans(conn, lambda recording: (queries.recipients(recording), queries.webhooks(recording)))
    assert len(scans) == 2 and all("Index Cond" in node for node in scans), scans
