"""shared/websession.py on a small web front of its own (no database): the shape a second app reuses."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, UTC

import flask
import pytest

from shared import websession
from shared.errors import BranchworkError

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


def front(clock=lambda: NOW, store=None):
    """A web front that keeps the signed-in person's API token server-side and shows only their name."""
    pages = flask.Blueprint("pages", __name__)
    websession.attach(pages)
    dev = websession.DevLogin(enabled=True)

    @pages.get("/")
    def home():
        data = websession.current().data
        return f"who={data and data['name']} csrf={websession.current().csrf_token()}"

    @pages.post("/sign-in")
    def sign_in():
        name = dev.choose(flask.request.form.get("who"), {"li": "李书记"}, "who")
        websession.current().sign_in({"name": name, "api_token": "eyJ.secret.token"})
        return "ok"

    @pages.post("/sign-out")
    def sign_out():
        websession.current().sign_out()
        return "bye"

    app = flask.Flask("front")
    store = store or websession.MemorySessionStore()
    websession.WebSessions(store, "front-secret", websession.SessionPolicy("front", idle_seconds=600),
                           clock=lambda: clock()).init_app(app)
    app.register_blueprint(pages)

    @app.errorhandler(BranchworkError)
    def error(problem):
        return problem.message, problem.status
    return app, store


def csrf(client) -> str:
    return re.search(r"csrf=(\w+)", client.get("/").get_data(as_text=True)).group(1)


def test_a_second_app_keeps_an_api_token_server_side_and_the_browser_sees_only_an_id():
    app, store = front()
    client = app.test_client()
    response = client.post("/sign-in", data={"who": "li", "csrf_token": csrf(client)})
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "eyJ" not in cookie
    assert "who=li" in client.get("/").get_data(as_text=True)
    assert all(b"eyJ" not in sealed for sealed, _ in store.rows.values())


def test_an_unsafe_request_without_the_csrf_token_of_its_own_session_is_refused():
    app, _ = front()
    first, second = app.test_client(), app.test_client()
    csrf(first)
    token_of_second = csrf(second)
    assert first.post("/sign-in", data={"who": "li"}).status_code == 403
    assert first.post("/sign-in", data={"who": "li", "csrf_token": token_of_second}).status_code == 403
    assert first.post("/sign-in", data={"who": "li"}, headers={"X-CSRF-Token": csrf(first)}).status_code == 200


def test_the_development_sign_in_takes_only_an_offered_choice():
    app, _ = front()
    client = app.test_client()
    refused = client.post("/sign-in", data={"who": "wang", "csrf_token": csrf(client)})
    assert refused.status_code == 400 and "不存在" in refused.get_data(as_text=True)


def test_a_session_ends_after_its_idle_time_and_its_lifetime():
    moments = [NOW]
    app, store = front(clock=lambda: moments[0])
    client = app.test_client()
    client.post("/sign-in", data={"who": "li", "csrf_token": csrf(client)})
    moments[0] = NOW + timedelta(minutes=9)
    assert "who=li" in client.get("/").get_data(as_text=True)  # activity slides the idle window
    moments[0] = NOW + timedelta(minutes=18)
    assert "who=li" in client.get("/").get_data(as_text=True)
    moments[0] = NOW + timedelta(minutes=40)
    assert "who=None" in client.get("/").get_data(as_text=True)
    assert store.purge(moments[0]) == 1 and not store.rows


def test_signing_out_forgets_the_session_for_every_copy_of_its_cookie():
    app, _ = front()
    client = app.test_client()
    client.post("/sign-in", data={"who": "li", "csrf_token": csrf(client)})
    stolen = client.get_cookie("front").value
    client.post("/sign-out", data={"csrf_token": csrf(client)})
    thief = app.test_client()
    thief.set_cookie("front", stolen)
    assert "who=None" in thief.get("/").get_data(as_text=True)


@pytest.mark.parametrize("environ", [{"REMOTE_ADDR": "192.168.1.5"}, {"REMOTE_ADDR": "::ffff:10.0.0.1"}])
def test_the_development_sign_in_is_for_loopback_callers_only(environ):
    app, _ = front()
    client = app.test_client()
    token = csrf(client)
    refused = client.post("/sign-in", data={"who": "li", "csrf_token": token}, environ_base=environ)
    assert refused.status_code == 403
