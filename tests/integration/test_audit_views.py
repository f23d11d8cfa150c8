"""The audit service against real PostgreSQL: journal → Merkle tree → views, proofs, scorecards, rebuild, tenancy."""

from __future__ import annotations

import base64
import json
import random
from datetime import date, datetime, UTC
from decimal import Decimal

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from services.audit import formats, journal, views_feed
from services.audit.app import create_app
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from services.audit.signing import verify_tree_head
from shared import db, merkle
from shared.canonical import canonical_json, event_hash
from tests.fixtures import serving
from tests.support import bearer, dashboard_sign_in, dashboard_sign_out, token
from tests.audit_month import BRANCH, M1, M3, M4, NOTICE, TENANT, TODAY, History, card_from, month_of_work

NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def history():
    return month_of_work()


@pytest.fixture(scope="module")
def loaded(audit_settings, history):
    """The month of work journalled in a shuffled arrival order, with some events delivered twice."""
    arrivals = list(history.envelopes)
    random.Random(3).shuffle(arrivals)
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in arrivals + arrivals[:10]:
                journal.append(conn, envelope)
        while views_feed.catch_up(conn, batch_size=7):
            pass
    return arrivals


@pytest.fixture(scope="module")
def client(audit_settings, loaded):
    with serving(create_app(bootstrap(audit_settings, AuditSettings(dev_login=True))), clock=lambda: NOW) as app:
        yield app.test_client()


def auditor(settings, tenant=TENANT, role="auditor"):
    return bearer(token(settings, role, tenant=tenant))


def test_the_views_from_postgresql_equal_those_computed_in_memory(client, audit_settings, history):
    response = client.get(f"/api/v1/branches/{BRANCH}/scorecard?period=2026-11", headers=auditor(audit_settings))
    assert response.status_code == 200
    from services.audit.queries import with_record_count
    assert response.get_json() == json.loads(json.dumps(with_record_count(card_from(history.envelopes))))


def test_the_journal_numbers_each_tenant_without_gaps_and_its_tree_matches_the_rfc(audit_settings, loaded):
    with db.connect(audit_settings.owner_dsn) as conn:
        rows = conn.execute("SELECT seq, envelope, branch_prev_seq, stream_prev_seq FROM journal WHERE tenant_id = %s"
                            " ORDER BY seq", (TENANT,)).fetchall()
        head = conn.execute("SELECT size, tree_size FROM journal_heads WHERE tenant_id = %s", (TENANT,)).fetchone()
    assert [r["seq"] for r in rows] == list(range(1, len(loaded) + 1))
    assert head == {"size": len(loaded), "tree_size": len(loaded)}
    assert views_feed  # the views consumed the same entries
    entries = [formats.entry_leaf_data(formats.entry_header(r["seq"], json.loads(r["envelope"]), r["branch_prev_seq"],
                                                            r["stream_prev_seq"])) for r in rows]
    expected = merkle.reference_root(entries)
    from services.audit.tree import JournalTree
    with db.connect(audit_settings.owner_dsn) as conn:
        assert JournalTree(conn, TENANT).root(len(rows)) == expected


def test_a_signed_tree_head_and_an_inclusion_proof_verify_independently(client, audit_settings, history):
    head = client.get("/api/v1/tree-head", headers=auditor(audit_settings)).get_json()
    assert head["tree_size"] == len(history.envelopes) and head["algorithm"] == "Ed25519"
    assert verify_tree_head(head, base64.b64decode(head["public_key"]))
    assert not verify_tree_head({**head, "tree_size": head["tree_size"] - 1}, base64.b64decode(head["public_key"]))
    event = history.envelopes[5]
    proof = client.get(f"/api/v1/proofs/inclusion?event_id={event.event_id}",
                       headers=auditor(audit_settings)).get_json()
    leaf = merkle.leaf_hash(proof["leaf_data"].encode("utf-8"))
    assert json.loads(proof["leaf_data"])["hash"] == proof["event"]["hash"] == event.hash
    assert merkle.verify_inclusion(leaf, proof["leaf_index"], proof["tree_size"],
                                   [bytes.fromhex(p) for p in proof["audit_path"]], bytes.fromhex(head["root_hash"]))


def test_a_consistency_proof_links_an_earlier_signed_head_to_a_later_one(client, audit_settings):
    first = client.get("/api/v1/tree-head", headers=auditor(audit_settings)).get_json()
    second_size = first["tree_size"]
    body = client.get(f"/api/v1/proofs/consistency?first=7&second={second_size}",
                      headers=auditor(audit_settings)).get_json()
    assert merkle.verify_consistency(7, second_size, bytes.fromhex(body["first_root"]),
                                     bytes.fromhex(first["root_hash"]),
                                     [bytes.fromhex(p) for p in body["consistency_path"]])
    too_far = client.get(f"/api/v1/proofs/consistency?first=1&second={second_size + 5}",
                         headers=auditor(audit_settings))
    assert too_far.status_code == 400
    history = client.get("/api/v1/tree-heads", headers=auditor(audit_settings)).get_json()["tree_heads"]
    assert history[0]["root_hash"] == first["root_hash"]


def test_a_journal_entry_changed_behind_the_services_back_no_longer_proves_in(client, audit_settings, history):
    """A DBA who edits an envelope (bypassing the append-only trigger) is caught by the signed root."""
    signed = client.get("/api/v1/tree-head", headers=auditor(audit_settings)).get_json()
    victim = history.envelopes[12]
    tenant = History(tenant="tamper-" + victim.event_id[:8])
    forged = [tenant.record(e.stream_id, _event_of(e)) for e in history.envelopes[:3]]
    with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
        for envelope in forged:
            journal.append(conn, envelope)
    admin_dsn = make_conninfo(audit_settings.admin_dsn, dbname=audit_settings.database)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            admin.execute("UPDATE journal SET envelope = replace(envelope, '周明', '吴明') WHERE tenant_id = %s",
                          (tenant.tenant,))
        admin.execute("SET session_replication_role = replica")  # what only a superuser can do: skip triggers
        changed = admin.execute("UPDATE journal SET envelope = replace(envelope, 'zrzy', 'zrzx') WHERE tenant_id = %s"
                                " AND seq = 1", (tenant.tenant,)).rowcount
        rehashed = json.loads(admin.execute("SELECT envelope FROM journal WHERE tenant_id = %s AND seq = 2",
                                            (tenant.tenant,)).fetchone()[0])
        rehashed["data"]["name"] = "篡改的支部"
        rehashed["hash"] = event_hash(rehashed)  # a careful forger also recomputes the event's own hash
        admin.execute("UPDATE journal SET envelope = %s WHERE tenant_id = %s AND seq = 2",
                      (canonical_json(rehashed), tenant.tenant))
    assert changed == 1
    with db.connect(audit_settings.owner_dsn) as conn:
        from services.audit.tree import verify_journal
        problems = verify_journal(conn, tenant.tenant)
    assert [(p["seq"], p["code"]) for p in problems] == [(1, "hash_mismatch"), (2, "leaf_mismatch")]
    assert signed["tree_size"] == len(history.envelopes)
    assert victim  # the honest tenant is untouched
    with db.connect(audit_settings.owner_dsn) as conn:
        assert verify_journal(conn, TENANT) == []


def _event_of(envelope):
    from services.audit.projections import decode
    return decode(envelope)


def test_scorecard_roll_up_timeline_report_and_csv_over_http(client, audit_settings, history):
    from services.audit import queries
    from contracts.rulebook.calendar import parse_period
    with client.application.app_context():
        body = queries.bureau_scorecard(TENANT, parse_period("2026-11"), TODAY)
        timeline = queries.member_timeline(TENANT, M3)
    assert [b["branch"]["name"] for b in body["branches"]] == ["离退休干部党支部"]
    assert "dues_review_due" in {f["code"] for f in body["branches"][0]["findings"]}
    types = [e["event_type"] for e in timeline["events"]]
    assert types[0] == "members.MemberRegistered" and "activities.TalkGiven" in types
    assert [e["occurred_at"] for e in timeline["events"]] == sorted(e["occurred_at"] for e in timeline["events"])
    # each event with the data it was journalled with, read from the journal, not copied for every member it names
    registered = timeline["events"][0]
    assert registered["data"]["name"] == "张德明"
    assert registered["summary"] == "登记入册：离休，中共党员，健康一般，行动自如"
    talk = next(e for e in timeline["events"] if e["event_type"] == "activities.TalkGiven")
    assert talk["data"]["audience"] == "青年职工" and talk["late"]
    with db.connect(audit_settings.owner_dsn) as conn:
        copied = conn.execute("SELECT count(*) AS n FROM views.member_events WHERE data IS NOT NULL"
                              " AND event_type <> 'notify.NotificationScheduled'").fetchone()["n"]
    assert copied == 0


def test_another_bureau_cannot_see_this_bureaus_views(client, audit_settings):
    other = "11111111-1111-1111-1111-111111111111"
    forbidden = client.get(f"/api/v1/bureaus/{other}/scorecard?period=2026-11", headers=auditor(audit_settings))
    assert forbidden.status_code == 403
    secretary = bearer(token(audit_settings, "secretary", tenant=TENANT))
    assert client.get("/api/v1/tree-head", headers=secretary).status_code == 403
    assert client.get("/api/v1/tree-head").status_code == 401


def test_a_rebuild_replays_the_journal_into_fresh_tables_and_gives_the_same_views(client, audit_settings, history):
    from services.audit import queries
    from contracts.rulebook.calendar import parse_period
    with client.application.app_context():
        before = queries.branch_scorecard(TENANT, BRANCH, parse_period("2026-Q4"), TODAY)
    seen = []
    result = views_feed.rebuild(audit_settings, progress=lambda done, total: seen.append((done, total)), batch_size=9)
    assert result["applied"] >= len(history.envelopes) and seen[-1][0] == result["applied"]
    with client.application.app_context():
        after = queries.branch_scorecard(TENANT, BRANCH, parse_period("2026-Q4"), TODAY)
    assert after == before
    with db.connect(audit_settings.owner_dsn) as conn:
        status = conn.execute("SELECT status, applied, total FROM view_rebuilds ORDER BY id DESC LIMIT 1").fetchone()
        assert status["status"] == "swapped"
        assert not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname IN ('views_next', 'views_old')").fetchone()


def _every_view_row(conn) -> dict[str, list[str]]:
    """Each table's rows as text, and the keys and indexes of the views (a rebuild builds some after its fill)."""
    from services.audit.store import TABLES
    found = {table: [row["row"] for row in conn.execute(f"SELECT t::text AS row FROM views.{table} t ORDER BY 1")]
             for table in TABLES}
    found["keys and indexes"] = [row["definition"] for row in conn.execute(
        "SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'views' ORDER BY 1")]
    return found


@pytest.fixture(scope="module")
def several_payments(audit_settings, loaded):
    """A member's twenty years of monthly payments (enough for a batch to be copied in), journalled in the order
    PostgreSQL does not keep their keys in."""
    from contracts import members as M
    paying = History(tenant="paid-" + NOTICE[-8:])
    for year, month in ((year, month) for year in range(2006, 2026) for month in range(1, 13)):
        paying.record(f"member-{M1}", M.DuesPaid(member_id=M1, branch_id=BRANCH, months=[f"{year}-{month:02d}"],
                                                 amount=Decimal("24.00"), paid_on=date(year, month, 28),
                                                 payer="self"), on=date(year, month, 28))
    with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
        for envelope in sorted(paying.envelopes, key=lambda e: e.event_id, reverse=True):
            journal.append(conn, envelope)


@pytest.mark.parametrize("batch_size", [1, 9, 5000])
def test_a_rebuild_leaves_every_view_row_as_following_the_journal_wrote_it(audit_settings, several_payments,
                                                                            batch_size):
    """Whole rows as text: a member's payments are kept in the same JSON text whichever way they came in."""
    with db.connect(audit_settings.owner_dsn) as conn:
        while views_feed.catch_up(conn, batch_size=7):
            pass
        live = _every_view_row(conn)
    assert live["dues_paid"] and live["member_events"] and live["activities"] and live["keys and indexes"]
    # a member's payments in one row: by event id, and in event-id order without the ids (``paid``)
    assert any(row.count('"24.00"') == 2 * 240 for row in live["dues_paid"])
    views_feed.rebuild(audit_settings, batch_size=batch_size)
    with db.connect(audit_settings.owner_dsn) as conn:
        rebuilt = _every_view_row(conn)
    for table, rows in live.items():
        assert rebuilt[table] == rows, table


def test_a_rebuild_records_an_entry_the_database_refuses_and_applies_the_others(audit_settings, loaded, monkeypatch):
    """The first round writes large batches; one the database refuses is written again per bureau, finding the
    entry at fault, which is recorded as a failure as the views worker records it."""
    from services.audit.store import Fact
    with db.connect(audit_settings.owner_dsn) as conn:
        while views_feed.catch_up(conn, batch_size=7):
            pass
        held = conn.execute("SELECT tenant_id, seq, event_id::text AS event_id FROM views.activities a JOIN journal j"
                            " USING (tenant_id, event_id) WHERE a.stream_version = 1 ORDER BY seq LIMIT 1").fetchone()
        count = conn.execute("SELECT count(*) AS n FROM views.activities").fetchone()["n"]
    facts_of = views_feed.facts_of

    def facts_with_a_bad_date(envelope, **given):
        facts = facts_of(envelope, **given)
        if envelope.event_id != held["event_id"]:
            return facts
        return [Fact(f.table, {**f.row, "on_date": "not a date"}) if f.table == "activities" else f for f in facts]
    monkeypatch.setattr(views_feed, "facts_of", facts_with_a_bad_date)
    views_feed.rebuild(audit_settings, batch_size=5000)
    with db.connect(audit_settings.owner_dsn) as conn:
        failed = conn.execute("SELECT tenant_id, seq FROM views.failures").fetchall()
        left = conn.execute("SELECT count(*) AS n FROM views.activities").fetchone()["n"]
    assert [(row["tenant_id"], row["seq"]) for row in failed] == [(held["tenant_id"], held["seq"])]
    assert left == count - 1  # the activity recorded only by the refused entry is the one missing
    monkeypatch.undo()
    views_feed.rebuild(audit_settings)  # fixed: the next rebuild applies it
    with db.connect(audit_settings.owner_dsn) as conn:
        assert conn.execute("SELECT count(*) AS n FROM views.activities").fetchone()["n"] == count
        assert not conn.execute("SELECT 1 FROM views.failures").fetchone()


def test_the_annual_report_fills_the_seeds_numbers_as_html_pdf_and_json(client, audit_settings):
    from services.audit import report
    with client.application.app_context():
        context = report.annual_context(TENANT, BRANCH, 2026, TODAY)
    numbers = context["numbers"]
    assert (numbers["retirees"], numbers["retiree_party_members"]) == (7, 6)
    assert (numbers["deputies_in_service"], numbers["committee_members"]) == (1, 1)
    assert context["election"] == {"when": "去年", "month": 10, "starts_on": "2025-10-20", "ends_on": "2028-10-19"}
    html = report.render_html(context)
    assert "我局现有离退休干部<span class=\"num\" data-figure=\"bureau_retirees\">7</span>名" in html
    assert "*" not in html.split("<body>")[1]
    pdf = report.render_pdf(context)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_the_dashboard_needs_a_login_and_the_dev_login_mints_a_token(client):
    assert client.get("/").status_code == 302
    page = dashboard_sign_in(client, TENANT)
    assert page.status_code == 302
    overview = client.get("/?period=2026-11")
    assert overview.status_code == 200 and "离退休干部党支部" in overview.get_data(as_text=True)
    dashboard_sign_out(client)
    assert client.get("/").status_code == 302


def test_the_views_worker_follows_new_journal_entries(audit_settings, history):
    import threading
    worker = views_feed.ViewsWorker(audit_settings, batch_size=50)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        extra = History()
        extra.versions = dict(history.versions)
        from contracts import activities as A
        from tests.audit_month import activity
        record = activity("briefing", date(2026, 11, 27), ["m1"], activity_id="brief-1")
        envelope = extra.record("activity-brief-1", record, on=record.occurred_on)
        assert A
        with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
            journal.append(conn, envelope)
        from tests.support import wait_for
        with db.connect(audit_settings.owner_dsn, autocommit=True) as conn:
            wait_for(lambda: conn.execute("SELECT 1 FROM views.activities WHERE activity_id = 'brief-1'").fetchone(),
                     timeout=10, message="the briefing reaches the views")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_migrating_again_applies_nothing_and_leaves_new_tables_in_public(audit_settings, loaded):
    from services.audit.app import MIGRATIONS
    assert db.migrate(audit_settings, [db.SHARED_MIGRATIONS, MIGRATIONS]) == []
    with db.connect(audit_settings.owner_dsn) as conn:
        assert conn.execute("SHOW search_path").fetchone()["search_path"] == "public, views"
        migrations = conn.execute("SELECT count(*) AS n FROM pg_tables WHERE tablename = 'schema_migrations'")
        assert migrations.fetchone()["n"] == 1


def test_what_the_platform_told_whom_shows_on_the_branch_and_the_members_timeline(client, audit_settings):
    told = client.get(f"/api/v1/branches/{BRANCH}/notifications?period=2026-11", headers=auditor(audit_settings))
    assert told.status_code == 200
    body = told.get_json()
    assert (body["count"], body["sent"], body["failed"]) == (1, 2, 1)
    (notice,) = body["notifications"]
    assert notice["notification_id"] == NOTICE and notice["title"] == "刘桂兰已连续6个月未缴党费"
    timeline = client.get(f"/api/v1/members/{M4}/timeline", headers=auditor(audit_settings)).get_json()
    (entry,) = [e for e in timeline["events"] if e["event_type"] == "notify.NotificationScheduled"]
    failed = next(d for d in entry["notification"]["deliveries"] if d["status"] == "failed")
    assert (entry["role"], failed["recipient"], failed["error"]) == ("recipient", "刘桂兰", "550 mailbox unavailable")
    csv = client.get(f"/api/v1/branches/{BRANCH}/notifications?period=2026-11&format=csv",
                     headers=auditor(audit_settings))
    assert csv.mimetype == "text/csv" and "550 mailbox unavailable" in csv.get_data(as_text=True)
    october = client.get(f"/api/v1/branches/{BRANCH}/notifications?period=2026-10", headers=auditor(audit_settings))
    assert october.get_json()["count"] == 0


def test_a_pledge_is_counted_but_its_signer_is_shown_nowhere_in_the_dashboard(client, audit_settings):
    dashboard_sign_in(client, TENANT)
    page = client.get("/events?event_type=activities.PledgeSigned").get_data(as_text=True)
    assert "仅计数" in page and M1 not in page and "no_religion" not in page
    member = client.get(f"/members/{M1}").get_data(as_text=True)
    assert "签订承诺书" not in member
    branch = client.get(f"/branches/{BRANCH}?period=2026-11").get_data(as_text=True)
    assert "承诺书（份）</td><td>1</td>" in branch
    dashboard_sign_out(client)


def test_entries_the_views_could_not_apply_are_applied_again_on_retry(audit_settings):
    extra = History(tenant="retry-" + NOTICE[-8:])
    from tests.audit_month import activity
    record = activity("study", date(2026, 11, 3), [M1], activity_id="retry-study")
    envelope = extra.record("activity-retry-study", record, on=record.occurred_on)
    with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
        journal.append(conn, envelope)
        # as if a view had failed on it: the position moved past it and the failure was recorded
        conn.execute("INSERT INTO positions (tenant_id, seq) VALUES (%s, 1)", (extra.tenant,))
        conn.execute("INSERT INTO failures (tenant_id, seq, event_id, event_type, error) VALUES (%s, 1, %s, %s, 'x')",
                     (extra.tenant, envelope.event_id, envelope.event_type))
    with db.connect(audit_settings.owner_dsn, autocommit=True) as conn:
        assert views_feed.retry_failures(conn)["applied"] >= 1
        assert conn.execute("SELECT 1 FROM views.activities WHERE activity_id = 'retry-study'").fetchone()
        assert not conn.execute("SELECT 1 FROM failures WHERE tenant_id = %s", (extra.tenant,)).fetchone()


def test_the_event_history_exports_as_json_lines_and_csv(client, audit_settings, history):
    lines = client.get("/api/v1/events?limit=1000&format=jsonl", headers=auditor(audit_settings))
    assert lines.mimetype == "application/x-ndjson"
    envelopes = [json.loads(line) for line in lines.get_data(as_text=True).splitlines()]
    assert {e.event_id for e in history.envelopes} <= {e["event_id"] for e in envelopes}
    table = client.get("/api/v1/events?event_type=members.DuesPaid&format=csv&lang=en", headers=auditor(audit_settings))
    assert table.mimetype == "text/csv" and table.get_data(as_text=True).count("members.DuesPaid") == 7


def test_an_old_webhook_event_keeps_its_bytes_but_no_view_shows_its_credentials(client, audit_settings):
    from dataclasses import replace

    from shared.envelope import GENESIS_HASH
    from tests.support import new_id, sample_envelopes
    (envelope,) = sample_envelopes(f"webhook-{new_id()}", 1, 1, TENANT, event_type="notify.WebhookConfigured")
    recorded = "https://alice:pa55@hooks.example.org/in?key=k1"
    old = replace(envelope, schema_version=1, data={"webhook_id": "w-1", "url": recorded, "rules": [],
                                                    "secret_fingerprint": "0123456789abcdef"}).sealed(GENESIS_HASH)
    with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
        journal.append(conn, old)
    headers = auditor(audit_settings)
    listed = client.get("/api/v1/events?event_type=notify.WebhookConfigured", headers=headers).get_json()["events"]
    (entry,) = [e for e in listed if e["event_id"] == old.event_id]
    assert entry["data"]["url"] == "https://hooks.example.org/in" and "secret_fingerprint" not in entry["data"]
    table = client.get("/api/v1/events?event_type=notify.WebhookConfigured&format=csv", headers=headers)
    assert "pa55" not in table.get_data(as_text=True) and "key=k1" not in table.get_data(as_text=True)
    lines = client.get("/api/v1/events?event_type=notify.WebhookConfigured&format=jsonl", headers=headers)
    assert recorded in lines.get_data(as_text=True)  # the evidence export keeps the bytes the hash covers
    dashboard_sign_in(client, TENANT)
    page = client.get("/events?event_type=notify.WebhookConfigured").get_data(as_text=True)
    assert "pa55" not in page and "key=k1" not in page
    dashboard_sign_out(client)


def test_an_entry_the_database_refuses_is_found_by_splitting_the_batch_and_the_others_are_applied(
        audit_settings, monkeypatch):
    from services.audit.store import Fact
    from tests.audit_month import activity
    extra = History(tenant="split-" + NOTICE[-8:])
    records = [activity("study", date(2026, 11, day), [M1], activity_id=f"split-{day}") for day in range(1, 10)]
    envelopes = [extra.record(f"activity-split-{day}", record, on=record.occurred_on)
                 for day, record in enumerate(records, start=1)]
    refused = envelopes[5].event_id
    facts_of = views_feed.facts_of

    def facts_with_a_bad_date(envelope, **given):
        facts = facts_of(envelope, **given)
        if envelope.event_id != refused:
            return facts
        # a value only PostgreSQL rejects, when the pipeline syncs: the batch is split to find it
        return [Fact(f.table, {**f.row, "on_date": "not a date"}) if f.table == "activities" else f for f in facts]

    monkeypatch.setattr(views_feed, "facts_of", facts_with_a_bad_date)
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in envelopes:
                journal.append(conn, envelope)
        while views_feed.catch_up(conn, batch_size=50):
            pass
        applied = {row["activity_id"] for row in conn.execute(
            "SELECT activity_id FROM views.activities WHERE tenant_id = %s", (extra.tenant,))}
        failed = conn.execute("SELECT seq, event_id::text AS event_id FROM failures WHERE tenant_id = %s",
                              (extra.tenant,)).fetchall()
    assert applied == {f"split-{day}" for day in range(1, 10)} - {"split-6"}
    assert [(row["seq"], row["event_id"]) for row in failed] == [(6, refused)]
