"""Browser tier: the audit dashboard served from a real database, driven by Debian's chromium via Playwright.

Playwright never downloads a browser here: ``/usr/bin/chromium`` (deploy/local/browser.sh installs it).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from services.audit import journal, views_feed
from services.audit.app import create_app
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from shared import db
from tests.fixtures import audit_service, audit_settings, serving  # noqa: F401 — fixtures
from tests.audit_month import TODAY, month_of_work
from datetime import datetime, UTC

CHROMIUM = os.environ.get("BRANCHWORK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def dashboard_url(audit_settings):
    """The audit app on a free local port, over an isolated database holding a month of a branch's work."""
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in month_of_work().envelopes:
                journal.append(conn, envelope)
        while views_feed.catch_up(conn):
            pass
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC)
    with serving(create_app(bootstrap(audit_settings, AuditSettings(dev_login=True))), clock=lambda: now) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_port}"
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run deploy/local/browser.sh (as root) to install Debian's chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the screenshots of the main pages go (kept after the run, to be looked at)."""
    default = Path(__file__).resolve().parents[2] / ".run" / "screenshots"
    folder = Path(os.environ.get("BRANCHWORK_SCREENSHOTS", default))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
