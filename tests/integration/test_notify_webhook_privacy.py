"""A webhook's URL is configuration, not a fact: credentials in it are refused, events and views carry only its
scheme, host and path (old events upcast the same way), the delivery still reaches the whole URL, and the
secret's fingerprint is an HMAC under the platform's key."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import datetime, UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contracts.notify import registry
from services.notify import projections
from services.notify.recipients import Webhook
from shared.rebuild import ReadModel, StoreFeed, rebuild
from tests.integration.test_notify_delivery import bureau_directory, deliveries, reminder, worker
from tests.fixtures import notify_app as app  # noqa: F401 — fixtures
from tests.integration.notify_support import (  # noqa: F401 — fixtures
    FixedClock, conn, delivery_settings, events_of, schedule_reminder)
from tests.support import bearer, new_id, sample_envelopes, token

SECRET = "a-secret-of-the-receiver-16"


@pytest.fixture
def admin(notify_settings):
    return bearer(token(notify_settings, "bureau_admin", tenant=new_id()))


@pytest.fixture
def receiver():
    """A receiver that notes the path and query of every request it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_a_webhook_url_with_credentials_is_refused_naming_the_field(app, admin):
    client = app.test_client()
    for url in ("http://user:pass@receiver.example.org/hook", "https://token@receiver.example.org/hook"):
        refused = client.post("/api/v1/webhooks", headers=admin, json={"url": url, "secret": SECRET})
        assert refused.status_code == 400 and "url" in refused.json["error"]["fields"]
        assert "pass" not in refused.text


def test_events_and_views_carry_scheme_host_and_path_while_the_delivery_reaches_the_whole_url(
        app, admin, conn, notify_settings, receiver):
    base, seen = receiver
    client = app.test_client()
    created = client.post("/api/v1/webhooks", headers=admin,
                          json={"url": f"{base}/hooks/in?token=s3cr3t#frag", "secret": SECRET})
    assert created.status_code == 201 and created.json["url"] == f"{base}/hooks/in"
    webhook_id = created.json["id"]
    (listed,) = client.get("/api/v1/webhooks", headers=admin).json
    assert listed["url"] == f"{base}/hooks/in" and "s3cr3t" not in str(listed)
    key = notify_settings.derived_key("webhook-secret-fingerprint")
    assert listed["secret_fingerprint"] == hmac.new(key, SECRET.encode(), hashlib.sha256).hexdigest()[:16]
    assert listed["secret_fingerprint"] != hashlib.sha256(SECRET.encode()).hexdigest()[:16]
    configured = conn.execute("SELECT schema_version, data FROM events WHERE stream_id = %s",
                              (f"webhook-{webhook_id}",)).fetchone()
    assert configured["schema_version"] == 2 and configured["data"]["url"] == f"{base}/hooks/in"
    assert "secret_fingerprint" not in configured["data"]

    clock = FixedClock(datetime.now(UTC))
    directory = bureau_directory(emails=(), webhooks=[Webhook(webhook_id, listed["url"])])
    notification_id = schedule_reminder(conn, notify_settings, reminder(), directory, clock)
    worker(notify_settings, 0, clock).deliver_due(conn)
    assert deliveries(conn, notification_id)["webhook"]["status"] == "sent"
    assert seen == ["/hooks/in?token=s3cr3t"]
    history = events_of(conn, notification_id)
    assert "s3cr3t" not in str(history)
    assert [e["data"]["target"] for e in history if e["event_type"] == "notify.NotificationSent"
            and e["data"]["channel"] == "webhook"] == [f"{base}/hooks/in"]


def test_old_events_stay_as_recorded_but_no_view_shows_their_userinfo_or_query(conn, notify_settings):
    webhook_id, tenant = new_id(), new_id()
    recorded = "http://alice:pa55@receiver.example.org:8443/in?key=k1"
    (envelope,) = sample_envelopes(f"webhook-{webhook_id}", 1, 1, tenant, event_type="notify.WebhookConfigured")
    from dataclasses import replace

    from shared import eventstore
    old = replace(envelope, schema_version=1, data={"webhook_id": webhook_id, "url": recorded, "rules": [],
                                                    "secret_fingerprint": "0123456789abcdef"})
    with conn.transaction():
        eventstore.append(conn, old.stream_id, 0, [old], notify_settings.topic())
    rebuild(notify_settings.owner_dsn, ReadModel(tables=projections.TABLES), StoreFeed(registry, projections.project))
    stored = conn.execute("SELECT data FROM events WHERE stream_id = %s", (f"webhook-{webhook_id}",)).fetchone()
    assert stored["data"]["url"] == recorded  # a recorded fact is never rewritten
    view = conn.execute("SELECT * FROM webhooks WHERE webhook_id = %s", (webhook_id,)).fetchone()
    assert view["url"] == "http://receiver.example.org:8443/in" and "secret_fingerprint" not in view


def test_the_upcasters_strip_userinfo_and_query_from_every_notify_event_of_version_1():
    url = "https://bob:pw@hooks.example.org/a/b?sig=1"
    configured = registry.upcast("notify.WebhookConfigured", 1, {"webhook_id": "w", "url": url, "rules": [],
                                                                 "secret_fingerprint": "ff"})
    assert configured == {"webhook_id": "w", "url": "https://hooks.example.org/a/b", "rules": []}
    scheduled = registry.upcast("notify.NotificationScheduled", 1, {"deliveries": [
        {"channel": "webhook", "target": url}, {"channel": "email", "target": "li@example.org"}]})
    assert [d["target"] for d in scheduled["deliveries"]] == ["https://hooks.example.org/a/b", "li@example.org"]
    for name in ("notify.NotificationSent", "notify.DeliveryAttemptFailed", "notify.DeliveryFailed"):
        assert registry.upcast(name, 1, {"channel": "webhook", "target": url})["target"] == \
            "https://hooks.example.org/a/b"
