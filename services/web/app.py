"""Composition root of the secretaries' pages: settings, sessions, the API client, the pages."""

from __future__ import annotations

from datetime import datetime, UTC
from pathlib import Path
from collections.abc import Callable

import flask
import requests

from contracts.rulebook.calendar import use_timezone
from shared.websession import MemorySessionStore, WebSessions
from services.web import pages, signin
from services.web.settings import WebSettings

HERE = Path(__file__).parent


def create_app(settings: WebSettings | None = None, *, http: requests.Session | None = None,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> flask.Flask:
    settings = settings or WebSettings.from_env()
    use_timezone(settings.tokens.timezone)  # the bureaus' calendar day, as the services judge "today"
    app = flask.Flask("web", template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"),
                      static_url_path="/static/web")
    app.extensions["web"] = pages.WebRuntime(settings=settings, http=http or requests.Session(), clock=clock)
    # Sessions in this process's memory: the pages keep no database; a restart asks people to sign in again.
    WebSessions(MemorySessionStore(), settings.tokens.jwt_secret, signin.SESSION_POLICY, clock=clock).init_app(app)
    pages.install_filters(app)
    app.register_blueprint(signin.blueprint)
    app.register_blueprint(pages.blueprint)
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok", "service": "web"})
    app.add_url_rule("/readyz", "readyz", pages.readyz)
    return app
