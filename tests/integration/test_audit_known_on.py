"""History as known on a day, against real PostgreSQL: views with ``known_on`` see only what the journal had
received by the end of that day; where that differs from what is known now, the scorecard names each figure
that changed and the later-entered records that changed it."""

from __future__ import annotations

from datetime import date, datetime, UTC

import pytest

from contracts import activities as A
from services.audit import journal, queries, views_feed
from services.audit.app import create_app
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from services.audit.store import MemoryStore, SqlStore
from shared import db
from shared.web import read_transaction
from tests.fixtures import serving
from tests.support import bearer, token
from tests.audit_month import BRANCH, M2, TENANT, History, activity, month_of_work

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
BY_THE_MONTHS_END = datetime(2026, 11, 30, 10, tzinfo=UTC)   # 18:00 in the bureaus' time zone
AFTER = datetime(2026, 12, 2, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def later(audit_settings):
    """November's work journalled by the month's end; then, on 2 December, a briefing held on 27 November and
    the withdrawal of a birthday visit recorded by mistake."""
    history = month_of_work()
    extra = History()
    extra.versions, extra.hashes = dict(history.versions), dict(history.hashes)
    briefing = activity("briefing", date(2026, 11, 27), ["m1"], activity_id="brief-late")
    late = [extra.record("activity-brief-late", briefing, on=briefing.occurred_on),
            extra.record("care-c1", A.CareWithdrawn(care_id="c1", branch_id=BRANCH, member_id=M2, kind="birthday",
                                                   withdrawn_on=date(2026, 12, 2), reason="记错了人"))]
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in history.envelopes:
                journal.append(conn, envelope, BY_THE_MONTHS_END)
            for envelope in late:
                journal.append(conn, envelope, AFTER)
        while views_feed.catch_up(conn):
            pass
    return {envelope.event_type: envelope.event_id for envelope in late}


@pytest.fixture(scope="module")
def client(audit_settings, later):
    with serving(create_app(bootstrap(audit_settings, AuditSettings())), clock=lambda: NOW) as app:
        yield app.test_client()


@pytest.fixture(scope="module")
def auditor(audit_settings):
    return bearer(token(audit_settings, "auditor", tenant=TENANT))


def card(client, auditor, **params) -> dict:
    response = client.get(f"/api/v1/branches/{BRANCH}/scorecard", query_string={"period": "2026-11", **params},
                          headers=auditor)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_scorecard_as_known_on_a_day_leaves_out_what_came_later_and_says_what_changed(client, auditor, later):
    assert card(client, auditor, known_on="2026-11-30")["as_of"] == "2026-11-30"  # judged on the day it was known
    now = card(client, auditor, as_of="2026-12-05")
    then = card(client, auditor, as_of="2026-12-05", known_on="2026-11-30")
    assert "known_on" not in now
    assert (then["figures"]["briefings"]["done"], now["figures"]["briefings"]["done"]) == (0, 1)
    assert (then["figures"]["care"]["birthdays"]["done"], now["figures"]["care"]["birthdays"]["done"]) == (1, 0)
    known = then["known_on"]
    assert known["date"] == "2026-11-30" and known["same_as_now"] is False
    changes = {c["figure"]: c for c in known["changes"]}
    briefing = changes["briefings"]
    assert (briefing["then"]["done"], briefing["now"]["done"]) == (0, 1)
    assert [r["event_id"] for r in briefing["records"]] == [later["activities.ActivityRecorded"]]
    assert briefing["records"][0]["journalled_at"].startswith("2026-12-02")
    care = changes["care"]
    assert later["activities.CareWithdrawn"] in [r["event_id"] for r in care["records"]]
    assert "birthday_care_missed" in {f["code"] for f in known["findings_raised_since"]}
    assert [r["event_id"] for r in known["entered_since"]] == [later["activities.ActivityRecorded"]]


def test_known_on_a_day_after_everything_was_journalled_is_the_same_as_now(client, auditor):
    then = card(client, auditor, known_on="2026-12-03")
    assert then["known_on"]["same_as_now"] is True and then["known_on"]["changes"] == []


def test_every_view_takes_known_on(client, auditor, later):
    views = {"bureau": f"/api/v1/bureaus/{TENANT}/scorecard?period=2026-11",
             "demonstration": f"/api/v1/branches/{BRANCH}/demonstration?year=2026",
             "trend": f"/api/v1/branches/{BRANCH}/trend", "roster": f"/api/v1/branches/{BRANCH}/roster",
             "notifications": f"/api/v1/branches/{BRANCH}/notifications?period=2026-11",
             "report": f"/api/v1/branches/{BRANCH}/reports/annual?year=2026&format=json"}
    for name, path in views.items():
        response = client.get(f"{path}{'&' if '?' in path else '?'}known_on=2026-11-30", headers=auditor)
        assert response.status_code == 200, (name, response.get_json())
    events = client.get("/api/v1/events?limit=1000&known_on=2026-11-30", headers=auditor).get_json()["events"]
    assert later["activities.ActivityRecorded"] not in {e["event_id"] for e in events}
    everything = client.get("/api/v1/events?limit=1000", headers=auditor).get_json()["events"]
    assert len(everything) == len(events) + 2
    trend = client.get(f"/api/v1/branches/{BRANCH}/trend?known_on=2026-11-30", headers=auditor).get_json()
    assert [m for m in trend["months"] if m["month"] == "2026-11"][0]["care"] >= 1


def test_known_on_before_anything_was_journalled_shows_no_branch(client, auditor):
    response = client.get(f"/api/v1/branches/{BRANCH}/scorecard?period=2026-11&known_on=2026-11-01", headers=auditor)
    assert response.status_code == 404
    for query, field in (("known_on=yesterday", "known_on"), ("known_on=9999-12-31", "known_on"),
                         ("as_of=0123-05-24", "as_of")):
        bad = client.get(f"/api/v1/branches/{BRANCH}/scorecard?{query}", headers=auditor)
        assert bad.status_code == 400 and field in bad.get_json()["error"]["fields"], query


@pytest.mark.parametrize("known_on", [None, "2026-11-30"])
def test_the_roster_reads_the_register_alone_and_lists_whom_the_full_facts_list(client, auditor, monkeypatch,
                                                                                known_on):
    day, known = date(2026, 11, 20), (date.fromisoformat(known_on) if known_on else None)
    with client.application.app_context(), read_transaction(TENANT) as conn:
        full = queries.load_facts(conn, TENANT, day, day, BRANCH, known)
    expected = [m.member_id for m in full.register.in_branch(BRANCH, day)]
    tables: list[str] = []
    for store in (SqlStore, MemoryStore):
        monkeypatch.setattr(store, "read", _noting_tables(store.read, tables))
    query = {"as_of": day.isoformat(), **({"known_on": known_on} if known_on else {})}
    response = client.get(f"/api/v1/branches/{BRANCH}/roster", query_string=query, headers=auditor)
    assert response.status_code == 200, response.get_json()
    assert sorted(tables) == ["branches", "member_changes", "members"]
    assert [m["member_id"] for m in response.get_json()["members"]] == expected and expected


def _noting_tables(read, tables: list[str]):
    def noting(self, reads):
        tables.extend(r.table for r in reads)
        return read(self, reads)
    return noting
