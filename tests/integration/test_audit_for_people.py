"""What the audit service shows people, against real PostgreSQL: a secretary's own branch, exports in full,
Chinese everywhere (the dashboard's words, dates and times in the bureau's zone)."""

from __future__ import annotations

import re
from datetime import datetime, UTC
from urllib.parse import quote

import pytest

from services.audit import journal, views_feed
from services.audit.app import create_app
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from shared import db
from tests.fixtures import serving
from tests.support import bearer, dashboard_sign_in, dashboard_sign_out, sample_envelopes, token
from tests.audit_month import BRANCH, M4, TENANT, TODAY, month_of_work

NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC)
OTHER_BRANCH = "22222222-2222-2222-2222-222222222222"
EXTRA = 150
"""Events beyond the month of work, so that the history runs past a page of 100 and a page of 200."""


@pytest.fixture(scope="module")
def history():
    return month_of_work()


@pytest.fixture(scope="module")
def journalled(history) -> int:
    return len(history.envelopes) + EXTRA


@pytest.fixture(scope="module")
def client(audit_settings, history):
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in history.envelopes + sample_envelopes("member-sample", 1, EXTRA, TENANT):
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


def auditor(settings):
    return bearer(token(settings, "auditor", tenant=TENANT))


def signed_in(client):
    """The dashboard's development sign-in, as an auditor of the bureau."""
    assert dashboard_sign_in(client, TENANT).status_code == 302
    return client


def test_history_exports_hold_every_row_and_json_pages_with_a_cursor_that_says_so(client, audit_settings, journalled):
    lines = client.get("/api/v1/events?format=jsonl", headers=auditor(audit_settings))
    assert len(lines.get_data(as_text=True).splitlines()) == journalled
    table = client.get("/api/v1/events?format=csv&lang=en", headers=auditor(audit_settings)).get_data(as_text=True)
    assert table.startswith("\ufeffseq,event_id") and len(table.strip().splitlines()) == journalled + 1
    page = client.get("/api/v1/events", headers=auditor(audit_settings))
    first = page.get_json()
    assert len(first["events"]) == 100 and first["has_more"] is True and first["next_after_seq"] == 100
    assert first["next"] in page.headers["Link"] and "after_seq=100" in first["next"]
    seen = [e["seq"] for e in first["events"]]
    following = first
    while following["has_more"]:
        following = client.get(following["next"], headers=auditor(audit_settings)).get_json()
        seen += [e["seq"] for e in following["events"]]
    assert seen == list(range(1, journalled + 1)) and following["next"] is None


def test_csv_for_people_speaks_chinese_in_beijing_time_and_lang_en_keeps_the_codes(client, audit_settings):
    path = f"/api/v1/branches/{BRANCH}/roster?format=csv"
    people = client.get(path, headers=auditor(audit_settings)).get_data(as_text=True)
    header = people.splitlines()[0]
    assert people.startswith("\ufeff") and "姓名" in header and "性别" in header and "中共党员" in header
    assert ",男," in people or ",女," in people
    assert ",是," in people and "retired" not in people and "male" not in people
    machines = client.get(path + "&lang=en", headers=auditor(audit_settings)).get_data(as_text=True)
    assert "gender" in machines.splitlines()[0] and ("male" in machines or "female" in machines)
    history = client.get("/api/v1/events?format=csv&event_type=members.DuesPaid",
                         headers=auditor(audit_settings)).get_data(as_text=True)
    assert "记录时间（北京时间）" in history and "缴纳党费" in history and "members.DuesPaid" not in history
    in_utc = client.get("/api/v1/events?format=csv&lang=en&event_type=members.DuesPaid",
                        headers=auditor(audit_settings)).get_data(as_text=True)
    assert "T00:00:00" in in_utc and " 08:00:00" in history and "T00:00:00" not in history


def test_every_export_link_of_the_dashboard_works_with_its_session(client, audit_settings):
    signed_in(client)
    for path in ("/exports/bureau.csv?period=2026-11", f"/branches/{BRANCH}/scorecard.csv?period=2026-11",
                 f"/members/{M4}/timeline.csv", "/events.csv", "/events.jsonl?event_type=members.DuesPaid"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
        assert answer.get_data(as_text=True).strip(), path
    scorecard = client.get(f"/branches/{BRANCH}/scorecard.csv?period=2026-11").get_data(as_text=True)
    assert scorecard.startswith("\ufeff支部,期间,项目") and "支委会" in scorecard
    dashboard_sign_out(client)
    assert client.get("/events.csv").status_code == 302


def test_the_report_page_has_the_dashboards_header_a_way_back_and_a_pdf_named_for_branch_and_year(client):
    signed_in(client)
    page = client.get(f"/branches/{BRANCH}/report?year=2026").get_data(as_text=True)
    assert "党建工作审计" in page and f'href="/branches/{BRANCH}?period=2026"' in page and "下载 PDF" in page
    pdf = client.get(f"/branches/{BRANCH}/report?year=2026&format=pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    disposition = pdf.headers["Content-Disposition"]
    assert "annual-report-2026.pdf" in disposition
    assert "filename*=UTF-8''" in disposition and quote("离退休干部党支部2026年度工作报告.pdf") in disposition
    api = client.get(f"/api/v1/branches/{BRANCH}/reports/annual.pdf?year=2026",
                     headers=bearer(token(client.application.extensions["branchwork"].settings, "auditor",
                                          tenant=TENANT)))
    assert api.headers["Content-Disposition"] == disposition


def test_pages_that_cannot_be_shown_say_why_in_chinese(client):
    signed_in(client)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "没有这个页面" in missing.get_data(as_text=True)
    other = client.get(f"/branches/{OTHER_BRANCH}?period=2026-11")
    assert other.status_code == 404 and "本局没有这个支部" in other.get_data(as_text=True)
    settings = client.application.extensions["branchwork"].settings
    api = client.get("/api/v1/no/such/thing", headers=auditor(settings))
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_the_event_search_offers_branches_and_kinds_in_words_and_pages_beyond_two_hundred(client, journalled):
    signed_in(client)
    page = client.get("/events").get_data(as_text=True)
    assert '<option value="' + BRANCH + '"' in page and "离退休干部党支部</option>" in page
    assert ">缴纳党费</option>" in page and "（members.DuesPaid）" not in page
    assert page.count('<tr data-type=') == 200 and 'id="earlier"' in page
    earlier = re.search(r'id="earlier" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    rest = client.get(earlier).get_data(as_text=True)
    assert rest.count('<tr data-type=') == journalled - 200 and 'id="earlier"' not in rest
    one_kind = client.get("/events?event_type=members.DuesPaid").get_data(as_text=True)
    assert one_kind.count('<tr data-type="members.DuesPaid"') == one_kind.count('<tr data-type=') == 7


def test_the_branch_page_judges_figures_and_the_six_goods_on_one_period_and_reds_only_findings(client):
    signed_in(client)
    page = client.get(f"/branches/{BRANCH}?period=2026-11").get_data(as_text=True)
    assert "党建示范点对照（2026年11月）" in page
    reds = re.findall(r'<tr data-figure="([^"]+)">(?:(?!</tr>).)*class="bad"', page, flags=re.S)
    flagged = {"dues", "general_meeting_quorum", "coverage", "care.holiday_visits", "centre"}
    assert set(reds) <= flagged | {"meetings.committee_meeting", "committee", "care.newspapers", "care.birthdays"}
    assert "符合规定" not in page or "存在" not in page
    empty = client.get(f"/branches/{BRANCH}?period=2019").get_data(as_text=True)
    assert "本期无记录" in empty and "符合规定" not in empty and 'class="finding"' not in empty
