"""What the audit service shows people, against real PostgreSQL: a secretary's own branch, exports in full,
Chinese everywhere (the dashboard's words, dates and times in the bureau's zone)."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest

from services.audit import journal, views_feed
from services.audit.app import create_app
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from shared import db
from tests.fixtures import serving
from tests.support import bearer, token
from tests.unit.test_audit_scorecard import BRANCH, TENANT, TODAY, month_of_work

NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC)
OTHER_BRANCH = "22222222-2222-2222-2222-222222222222"


@pytest.fixture(scope="module")
def history():
    return month_of_work()


@pytest.fixture(scope="module")
def client(audit_settings, history):
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in history.envelopes:
                journal.append(conn, envelope)
        while views_feed.catch_up(conn):
            pass
    with serving(create_app(bootstrap(audit_settings, AuditSettings(dev_login=True))), clock=lambda: NOW) as app:
        yield app.test_client()


def secretary(settings, branches):
    return bearer(token(settings, "secretary", tenant=TENANT, branches=branches))


def test_a_secretary_reads_the_figures_of_their_own_branch_and_no_other(client, audit_settings):
    own = secretary(audit_settings, [BRANCH])
    card = client.get(f"/api/v1/branches/{BRANCH}/scorecard?period=2026-11", headers=own)
    assert card.status_code == 200 and card.get_json()["branch"]["id"] == BRANCH and card.get_json()["records"] > 0
    assert client.get(f"/api/v1/branches/{BRANCH}/reports/annual?year=2026&format=json", headers=own).status_code == 200
    other = secretary(audit_settings, [OTHER_BRANCH])
    refused = client.get(f"/api/v1/branches/{BRANCH}/scorecard?period=2026-11", headers=other)
    assert refused.status_code == 404 and "支部" in refused.get_json()["error"]["message"]
    assert client.get(f"/api/v1/branches/{BRANCH}/reports/annual.pdf?year=2026", headers=other).status_code == 404
    assert client.get(f"/api/v1/bureaus/{TENANT}/scorecard?period=2026-11", headers=own).status_code == 403
    assert client.get("/api/v1/events", headers=own).status_code == 403
