"""The dashboard's sign-in through shared/websession.py, on real PostgreSQL: the development login is guarded,
the session stays server-side, every form POST needs its CSRF token, cookies are HttpOnly and SameSite=Strict."""

from __future__ import annotations

import re
from datetime import datetime, UTC

import pytest

from services.audit import journal, views_feed
from services.audit.app import create_app
from services.audit.bootstrap import bootstrap
from services.audit.api.dashboard import DASHBOARD_AUDIENCE
from services.audit.settings import AuditSettings
from shared import db, websession
from shared.errors import Unauthenticated
from tests.fixtures import serving
from tests.support import bearer, csrf_token_of, dashboard_sign_in, new_id, token
from tests.audit_month import TENANT, TODAY, month_of_work

NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def loaded(audit_settings):
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in month_of_work().envelopes:
                journal.append(conn, envelope)
        while views_feed.catch_up(conn):
            pass


def make_app(audit_settings, dev_login: bool):
    return serving(create_app(bootstrap(audit_settings, AuditSettings(dev_login=dev_login))), clock=lambda: NOW)


@pytest.fixture(scope="module")
def app(audit_settings, loaded):
    with make_app(audit_settings, dev_login=True) as app:
        yield app


def session_cookie(response) -> str:
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("branchwork_audit=")]
    return header


def test_the_development_login_is_off_unless_enabled(audit_settings, loaded):
    with make_app(audit_settings, dev_login=False) as app:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        assert 'id="dev-login"' not in page and TENANT not in page
        refused = dashboard_sign_in_raw(client, TENANT)
        assert refused.status_code == 403 and "开发登录未开启" in refused.get_data(as_text=True)
        assert client.get("/").status_code == 302


def dashboard_sign_in_raw(client, bureau_id: str, role: str = "auditor", **environ):
    csrf = csrf_token_of(client.get("/login", **environ).get_data(as_text=True))
    return client.post("/login", data={"mode": "dev", "bureau_id": bureau_id, "role": role, "csrf_token": csrf},
                       **environ)


def test_the_development_login_refuses_a_caller_that_is_not_on_loopback(client):
    remote = client.get("/login", environ_base={"REMOTE_ADDR": "10.1.2.3"}).get_data(as_text=True)
    assert 'id="dev-login"' not in remote
    for environ in ({"environ_base": {"REMOTE_ADDR": "10.1.2.3"}},
                    {"headers": {"X-Forwarded-For": "203.0.113.9"}}):
        refused = dashboard_sign_in_raw(client, TENANT, **environ)
        assert refused.status_code == 403 and "只能从本机使用" in refused.get_data(as_text=True)
        assert client.get("/").status_code == 302


def test_the_development_login_offers_existing_bureaus_only_and_refuses_a_made_up_one(client):
    page = client.get("/login").get_data(as_text=True)
    offered = re.findall(r'<option value="([^"]+)">', page)
    assert TENANT in offered and set(offered) - {TENANT} <= {"auditor", "bureau_admin"}
    for made_up in (new_id(), "", "ghost"):
        refused = dashboard_sign_in_raw(client, made_up, role="bureau_admin")
        assert refused.status_code == 400 and "所选项目不存在" in refused.get_data(as_text=True)
        assert "Set-Cookie" not in refused.headers or "eyJ" not in refused.headers["Set-Cookie"]
        assert client.get("/").status_code == 302


def test_the_session_cookie_is_opaque_httponly_strict_and_holds_no_bearer_token(client, audit_settings):
    signed_in = dashboard_sign_in(client, TENANT, role="bureau_admin")
    assert signed_in.status_code == 302
    cookie = session_cookie(signed_in)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "eyJ" not in value and "." not in value and len(value) == 43
    with db.connect(audit_settings.owner_dsn) as conn:
        rows = conn.execute("SELECT id_hash, sealed FROM web_sessions").fetchall()
    assert rows and all(b"eyJ" not in bytes(row["sealed"]) and value not in row["id_hash"] for row in rows)


def test_the_token_behind_a_dashboard_session_is_refused_by_the_apis(app, client, audit_settings):
    dashboard_sign_in(client, TENANT, role="bureau_admin")
    cookie = client.get_cookie("branchwork_audit").value
    with app.test_request_context("/", headers={"Cookie": f"branchwork_audit={cookie}"}):
        websession.current().load()
        minted = websession.current().data["token"]
    assert audit_settings.verify_token(minted, audience=DASHBOARD_AUDIENCE).tenant == TENANT
    with pytest.raises(Unauthenticated):
        audit_settings.verify_token(minted)
    api = client.get("/api/v1/events", headers=bearer(minted))
    assert api.status_code == 401


def test_the_session_cookie_is_secure_over_tls(client):
    page = client.get("/login", base_url="https://localhost")
    assert "Secure" in session_cookie(page)
    behind_a_proxy = client.application.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in session_cookie(behind_a_proxy)


def test_every_form_post_needs_its_csrf_token(client):
    client.get("/login")
    without = client.post("/login", data={"mode": "dev", "bureau_id": TENANT, "role": "auditor"})
    forged = client.post("/login", data={"mode": "dev", "bureau_id": TENANT, "role": "auditor",
                                         "csrf_token": "0" * 64})
    for response in (without, forged):
        assert response.status_code == 403 and "请刷新页面后重试" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert dashboard_sign_in(client, TENANT).status_code == 302
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200


def test_a_post_from_another_origin_is_refused_even_with_a_token(client):
    csrf = csrf_token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"mode": "dev", "bureau_id": TENANT, "role": "auditor", "csrf_token": csrf},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and "其他网站" in response.get_data(as_text=True)


def test_signing_in_gives_a_new_session_id_and_signing_out_kills_the_old_one(app, client):
    client.get("/login")
    before = client.get_cookie("branchwork_audit").value
    dashboard_sign_in(client, TENANT)
    after = client.get_cookie("branchwork_audit").value
    assert before != after
    csrf = csrf_token_of(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("branchwork_audit", after)
    assert replay.get("/").status_code == 302


def test_a_pasted_api_token_signs_in_but_the_session_keeps_only_a_dashboard_token(client, audit_settings):
    csrf = csrf_token_of(client.get("/login").get_data(as_text=True))
    pasted = token(audit_settings, "auditor", tenant=TENANT)
    response = client.post("/login", data={"mode": "token", "token": pasted, "csrf_token": csrf})
    assert response.status_code == 302 and client.get("/").status_code == 200
    with db.connect(audit_settings.owner_dsn) as conn:
        sealed = [bytes(r["sealed"]) for r in conn.execute("SELECT sealed FROM web_sessions")]
    assert all(pasted.encode() not in blob for blob in sealed)


def test_sessions_expire_and_are_purged(audit_settings, loaded):
    from datetime import timedelta
    store = websession.PostgresSessionStore(db.open_pool(audit_settings.app_dsn, max_size=2))
    try:
        store.save("a" * 64, b"sealed", NOW - timedelta(seconds=1))
        store.save("b" * 64, b"sealed", NOW + timedelta(hours=1))
        assert store.load("a" * 64, NOW) is None and store.load("b" * 64, NOW) == b"sealed"
        assert store.purge(NOW) >= 1
        with db.connect(audit_settings.owner_dsn) as conn:
            assert not conn.execute("SELECT 1 FROM web_sessions WHERE id_hash = %s", ("a" * 64,)).fetchone()
    finally:
        store.pool.close()
