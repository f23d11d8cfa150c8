"""The holes found by probing the running platform, each closed: tried again over HTTP against the stack.

Tokens, correlation ids, text PostgreSQL cannot store, years outside the calendar, bodies nested too
deep, a merge into something that is not a branch id, an ops token on a bureau's rules run, a pledge
read with an Idempotency-Key, and the dashboard's development login and year.
"""

from __future__ import annotations

import json
import re
import time

import jwt
import pytest
import requests

from tests.e2e.test_activities_slice import days_ago, register_branch_with_members, roster_names
from tests.support import bearer, new_id, wait_for

SERVICES = ("members", "activities", "notify", "audit")


def signed(platform, **claims) -> str:
    now = int(time.time())
    settings = platform.settings
    base = {"sub": "probe", "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now, "exp": now + 600}
    return jwt.encode({**base, **claims}, settings.jwt_secret, algorithm="HS256")


def test_a_century_token_a_mixed_one_and_a_tenantless_bureau_role_are_401_everywhere(platform):
    bureau = platform.new_bureau()
    now = int(time.time())
    tokens = {
        "century": signed(platform, roles=["bureau_admin"], tenant=bureau["id"], exp=now + 100 * 365 * 86400),
        "mixed": signed(platform, roles=["ops", "auditor"], tenant=bureau["id"]),
        "empty tenant": signed(platform, roles=["bureau_admin"], tenant=""),
        "no tenant": signed(platform, roles=["bureau_admin"]),
        "no audience": signed(platform, roles=["auditor"], tenant=bureau["id"], aud=None),
        "other issuer": signed(platform, roles=["auditor"], tenant=bureau["id"], iss="elsewhere"),
    }
    paths = {"members": "/api/v1/branches", "activities": "/api/v1/activities", "notify": "/api/v1/notifications",
             "audit": "/api/v1/events"}
    for name, value in tokens.items():
        for service, path in paths.items():
            response = platform.get(service, path, value)
            assert response.status_code == 401, (name, service, response.text)
    ghost = platform.post("members", "/api/v1/branches", {"name": "幽灵支部", "established_on": "2020-01-01"},
                          tokens["empty tenant"])
    assert ghost.status_code == 401


def test_a_long_or_odd_correlation_id_is_replaced(platform):
    bureau = platform.new_bureau()
    for sent in ("c" * 7005, "a b;c"):
        response = platform.post("members", "/api/v1/branches", {"name": "一支部", "established_on": "2020-01-01"},
                                 bureau["admin"], **{"X-Correlation-Id": sent})
        assert response.status_code == 201 and response.headers["X-Correlation-Id"] != sent
        assert len(response.headers["X-Correlation-Id"]) <= 128
    kept = platform.post("members", "/api/v1/branches", {"name": "二支部", "established_on": "2020-01-01"},
                         bureau["admin"], **{"X-Correlation-Id": "trace-42.a_b"})
    assert kept.headers["X-Correlation-Id"] == "trace-42.a_b"


def test_nul_bytes_in_query_strings_are_a_400_naming_the_field(platform):
    bureau = platform.new_bureau()
    probes = [("members", "/api/v1/transfers", "status"), ("members", "/api/v1/members", "name"),
              ("notify", "/api/v1/notifications", "rule"), ("audit", "/api/v1/events", "stream_id")]
    for service, path, field in probes:
        response = platform.http.get(platform.url(service, f"{path}?{field}=%00"), headers=bearer(bureau["admin"]),
                                     timeout=10)
        assert response.status_code == 400, (service, path, response.text)
        assert field in response.json()["error"]["fields"]


def test_nul_bytes_and_lone_surrogates_in_json_strings_are_a_400_naming_the_field(platform):
    bureau = platform.new_bureau()
    for raw in ('{"name": "一\\u0000支部", "established_on": "2020-01-01"}',
                '{"name": "\\ud800", "established_on": "2020-01-01"}'):
        response = platform.http.post(platform.url("members", "/api/v1/branches"), data=raw.encode(),
                                      headers={**bearer(bureau["admin"]), "Content-Type": "application/json"},
                                      timeout=10)
        assert response.status_code == 400 and "name" in response.json()["error"]["fields"], response.text
    nested = {"branch_id": new_id(), "kind": "study", "occurred_on": days_ago(1), "title": "学习",
              "guests": ["\u0000"]}
    response = platform.post("activities", "/api/v1/activities", nested, bureau["admin"])
    assert response.status_code == 400 and "guests.0" in response.json()["error"]["fields"]


def test_deeply_nested_json_is_a_400_on_every_service(platform):
    bureau = platform.new_bureau()
    body = ("[" * 50_000 + "]" * 50_000).encode()
    paths = {"members": "/api/v1/branches", "activities": "/api/v1/activities", "notify": "/api/v1/webhooks",
             "audit": "/api/v1/events"}
    for service, path in paths.items():
        response = platform.http.post(platform.url(service, path), data=body, timeout=10,
                                      headers={**bearer(bureau["admin"]), "Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["error"]["code"] == "json_too_deep", service


def test_years_the_calendar_cannot_judge_are_a_400_everywhere(platform):
    bureau = platform.new_bureau()
    branch = platform.post("members", "/api/v1/branches", {"name": "一支部", "established_on": "2020-01-01"},
                           bureau["admin"]).json()["id"]
    probes = [("activities", f"/api/v1/branches/{branch}/coverage", {"period": "0000-01"}, "period"),
              ("audit", f"/api/v1/branches/{branch}/scorecard", {"period": "9999-Q4"}, "period"),
              ("audit", f"/api/v1/branches/{branch}/scorecard", {"period": "2199-12"}, "period"),
              ("activities", "/api/v1/holidays", {"year": "2100"}, "year"),
              ("activities", f"/api/v1/branches/{branch}/care", {"year": "2150"}, "year"),
              ("members", f"/api/v1/branches/{branch}/dues/summary", {"year": "1899"}, "year")]
    for service, path, params, field in probes:
        response = platform.get(service, path, bureau["admin"], **params)
        assert response.status_code == 400, (service, path, params, response.text)
        assert field in response.json()["error"]["fields"]
    inside = platform.get("activities", "/api/v1/holidays", bureau["admin"], year="2099")
    assert inside.status_code == 200


def test_a_merge_into_something_that_is_not_a_branch_id_is_a_400(platform):
    bureau = platform.new_bureau()
    branch = platform.post("members", "/api/v1/branches", {"name": "一支部", "established_on": "2020-01-01"},
                           bureau["admin"]).json()["id"]
    response = platform.post("members", f"/api/v1/branches/{branch}/actions/merge",
                             {"into_branch_id": "x" * 36, "merged_on": days_ago(1)}, bureau["admin"])
    assert response.status_code == 400 and "into_branch_id" in response.json()["error"]["fields"]


def test_an_ops_token_may_not_run_a_bureaus_rules(platform):
    response = platform.post("notify", "/api/v1/scheduler/runs", {}, platform.token("ops"))
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_a_pledge_read_with_an_idempotency_key_is_answered_not_stored(platform):
    bureau = platform.new_bureau()
    branch, ids = register_branch_with_members(platform, bureau, "一支部", ["张建国"])
    wait_for(lambda: roster_names(platform, bureau, branch, days_ago(1)) == ["张建国"], timeout=30,
             message="the member in the activities roster")
    pledge = platform.post("activities", "/api/v1/pledges", {
        "member_id": ids["张建国"], "kind": "no_religion", "signed_on": days_ago(5), "statement": "本人承诺"},
        bureau["admin"])
    assert pledge.status_code == 201, pledge.text
    path = f"/api/v1/pledges/{pledge.json()['id']}"
    for _ in range(2):
        read = platform.http.get(platform.url("activities", path), timeout=10,
                                 headers={**bearer(bureau["admin"]), "Idempotency-Key": "read-once"})
        assert read.status_code == 200 and read.json()["statement"] == "本人承诺"
        assert "Idempotent-Replayed" not in read.headers


def dashboard(platform) -> requests.Session:
    session = requests.Session()
    session.get(platform.url("audit", "/login"), timeout=10)
    return session


def csrf_of(session: requests.Session, platform) -> str:
    page = session.get(platform.url("audit", "/login"), timeout=10).text
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)


def test_the_running_dashboard_has_no_development_login_unless_enabled(platform, stack_env):
    if stack_env.get("BRANCHWORK_DEV_LOGIN") == "1":
        pytest.skip("this stack was started with the development login on")
    bureau = platform.new_bureau()
    session = dashboard(platform)
    assert 'id="dev-login"' not in session.get(platform.url("audit", "/login"), timeout=10).text
    response = session.post(platform.url("audit", "/login"), timeout=10, allow_redirects=False, data={
        "mode": "dev", "role": "bureau_admin", "bureau_id": bureau["id"], "csrf_token": csrf_of(session, platform)})
    assert response.status_code == 403 and "eyJ" not in json.dumps(dict(response.headers))
    assert session.get(platform.url("audit", "/"), timeout=10, allow_redirects=False).status_code == 302


def test_the_dashboards_report_with_a_bad_year_is_a_chinese_400_page(platform):
    bureau = platform.new_bureau()
    session = dashboard(platform)
    signed_in = session.post(platform.url("audit", "/login"), timeout=10, allow_redirects=False, data={
        "mode": "token", "token": bureau["auditor"], "csrf_token": csrf_of(session, platform)})
    assert signed_in.status_code == 302
    for year in ("abc", "2150", "0"):
        page = session.get(platform.url("audit", f"/branches/{new_id()}/report"), params={"year": year}, timeout=10)
        assert page.status_code == 400 and "年份应为" in page.text, year
    search = session.get(platform.url("audit", "/events"), params={"stream_id": "\u0000"}, timeout=10)
    assert search.status_code == 400 and "不允许的字符" in search.text
