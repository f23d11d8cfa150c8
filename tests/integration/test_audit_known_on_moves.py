"""History as known on a day, for a branch a member joined from another branch: the study that reached them
there, before they moved, counts in the view as known on a day just as it does in today's view."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, UTC

import pytest

from contracts import members as M
from services.audit import journal, views_feed
from services.audit.app import create_app
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from shared import db
from tests.fixtures import serving
from tests.support import bearer, token
from tests.audit_month import BRANCH, OTHER, TENANT, activity, month_of_work, other_branch_with

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
BY_THE_MONTHS_END = datetime(2026, 11, 30, 10, tzinfo=UTC)
NEWCOMER = "7d2f0c3e-0000-4000-8000-000000000009"


@pytest.fixture(scope="module")
def client(audit_settings):
    """November's work, and a member of another branch reached by its study on 5 November, who moved into
    this branch on 10 November."""
    h = month_of_work()
    other_branch_with(h, NEWCOMER)
    study = replace(activity("study", date(2026, 11, 5), [NEWCOMER], hours="2"), activity_id="a-other-study",
                    branch_id=OTHER)
    h.record("activity-a-other-study", study, on=study.occurred_on, branch_id=OTHER)
    h.record(f"member-{NEWCOMER}", M.MemberMoved(member_id=NEWCOMER, from_branch_id=OTHER, to_branch_id=BRANCH,
                                                moved_on=date(2026, 11, 10), reason="工作调整"),
             on=date(2026, 11, 10), branch_id=BRANCH)
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in h.envelopes:
                journal.append(conn, envelope, BY_THE_MONTHS_END)
        while views_feed.catch_up(conn):
            pass
    with serving(create_app(bootstrap(audit_settings, AuditSettings())), clock=lambda: NOW) as app:
        yield app.test_client()


def card(client, **params) -> dict:
    auditor = bearer(token(client.application.extensions["branchwork"].settings, "auditor", tenant=TENANT))
    response = client.get(f"/api/v1/branches/{BRANCH}/scorecard", query_string={"period": "2026-11", **params},
                          headers=auditor)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_study_that_reached_a_newcomer_in_their_old_branch_counts_as_known_on_a_day_as_it_does_now(client):
    now = card(client, as_of="2026-12-05")
    then = card(client, as_of="2026-12-05", known_on="2026-12-01")
    coverage = now["figures"]["coverage"]
    assert NEWCOMER not in {m["member_id"] for p in coverage["periods"] for m in p["not_covered"]}
    assert then["figures"]["coverage"] == coverage
    assert then["known_on"]["same_as_now"] is True and then["known_on"]["changes"] == []
