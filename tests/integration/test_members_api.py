"""The members API in-process against a real PostgreSQL database: validation, auth, idempotency, tenancy."""

from __future__ import annotations

import threading

import pytest

from shared import db
from tests.fixtures import members_app as app  # noqa: F401 — the app tested
from tests.support import bearer, streams_plans, token

MEMBER = {"name": "张建国", "gender": "male", "birth_date": "1948-05-02", "party_member": True,
          "party_join_date": "1970-07-01", "retirement_kind": "retired", "pension_base": "5200.00",
          "health": "fair", "mobility": "limited", "joined_on": "2020-01-01"}


@pytest.fixture
def admin(members_settings):
    return bearer(token(members_settings, "platform_admin"))


def register_bureau(client, admin, code):
    response = client.post("/api/v1/bureaus", json={"name": f"局 {code}", "code": code}, headers=admin)
    assert response.status_code == 201, response.json
    return response.json["id"]


@pytest.fixture
def bureau(client, admin, members_settings):
    from tests.support import short_id
    bureau_id = register_bureau(client, admin, f"b-{short_id()}")
    headers = bearer(token(members_settings, "bureau_admin", tenant=bureau_id))
    branch = client.post("/api/v1/branches", json={"name": "离退休干部党支部", "established_on": "2010-01-01"},
                         headers=headers)
    assert branch.status_code == 201, branch.json
    return {"id": bureau_id, "headers": headers, "branch_id": branch.json["id"]}


def test_a_bureau_branch_and_member_are_created_and_read_back(client, bureau):
    created = client.post("/api/v1/members", json={**MEMBER, "branch_id": bureau["branch_id"]},
                          headers=bureau["headers"])
    assert created.status_code == 201 and created.json["version"] == 1
    member = client.get(f"/api/v1/members/{created.json['id']}", headers=bureau["headers"]).json
    assert (member["name"] == "张建国" and member["pension_base"] == "5200.00"
            and member["branch_id"] == bureau["branch_id"])


def test_a_missing_field_is_a_400_naming_the_field(client, bureau):
    body = {k: v for k, v in MEMBER.items() if k != "birth_date"} | {"branch_id": bureau["branch_id"]}
    response = client.post("/api/v1/members", json=body, headers=bureau["headers"])
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_request"
    assert "birth_date" in response.json["error"]["fields"]


def test_an_unknown_field_is_a_400_naming_the_field(client, bureau):
    response = client.post("/api/v1/members", json={**MEMBER, "branch_id": bureau["branch_id"], "rank": "x"},
                           headers=bureau["headers"])
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"rank": ["不认识这个字段"]}


def test_malformed_json_is_a_400(client, bureau):
    response = client.post("/api/v1/branches", data="{not json", content_type="application/json",
                           headers=bureau["headers"])
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"


def test_no_token_is_a_401_and_a_forged_token_too(client, members_settings):
    assert client.post("/api/v1/bureaus", json={"name": "x", "code": "xx"}).status_code == 401
    forged = bearer(token(members_settings.with_overrides(jwt_secret="another-key"), "platform_admin"))
    response = client.post("/api/v1/bureaus", json={"name": "x", "code": "xx"}, headers=forged)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthenticated"


def test_a_secretary_creating_a_bureau_is_a_403(client, bureau, members_settings):
    secretary = bearer(token(members_settings, "secretary", tenant=bureau["id"], branches=[bureau["branch_id"]]))
    response = client.post("/api/v1/bureaus", json={"name": "x", "code": "sneaky"}, headers=secretary)
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_a_secretary_of_another_branch_cannot_register_members_here(client, bureau, members_settings):
    secretary = bearer(token(members_settings, "secretary", tenant=bureau["id"], branches=["some-other-branch"]))
    response = client.post("/api/v1/members", json={**MEMBER, "branch_id": bureau["branch_id"]}, headers=secretary)
    assert response.status_code == 403


def test_another_bureaus_branch_and_member_are_not_found(client, admin, bureau, members_settings):
    from tests.support import short_id
    other_id = register_bureau(client, admin, f"o-{short_id()}")
    other = bearer(token(members_settings, "bureau_admin", tenant=other_id))
    response = client.post("/api/v1/members", json={**MEMBER, "branch_id": bureau["branch_id"]}, headers=other)
    assert response.status_code == 404 and "branch_id" in response.json["error"]["fields"]
    assert client.get(f"/api/v1/branches/{bureau['branch_id']}", headers=other).status_code == 404


def test_a_duplicate_bureau_code_is_a_409_that_names_the_bureau_holding_it(client, admin):
    from tests.support import short_id
    code = f"d-{short_id()}"
    first = register_bureau(client, admin, code)
    response = client.post("/api/v1/bureaus", json={"name": "again", "code": code}, headers=admin)
    assert response.status_code == 409 and response.json["error"]["fields"] == {"code": ["已被使用"]}
    assert response.json["error"]["existing_id"] == first and first in response.json["error"]["message"]


def test_a_platform_admin_lists_every_bureau_and_reads_any_by_id(client, admin):
    from tests.support import short_id
    codes = [f"l-{short_id()}", f"l-{short_id()}"]
    ids = [register_bureau(client, admin, code) for code in codes]
    listed = client.get("/api/v1/bureaus", headers=admin)
    assert listed.status_code == 200
    found = {b["code"]: b["id"] for b in listed.json}
    assert all(found[code] == bureau_id for code, bureau_id in zip(codes, ids))
    one = client.get(f"/api/v1/bureaus/{ids[1]}", headers=admin)
    assert one.status_code == 200 and one.json == {"id": ids[1], "name": f"局 {codes[1]}", "code": codes[1]}
    assert client.get(f"/api/v1/bureaus/{'00000000-0000-0000-0000-000000000000'}",
                      headers=admin).status_code == 404


def test_the_bureau_directory_is_for_platform_admins_only(client, bureau, members_settings):
    own = bearer(token(members_settings, "bureau_admin", tenant=bureau["id"]))
    assert client.get("/api/v1/bureaus", headers=own).status_code == 403
    assert client.get(f"/api/v1/bureaus/{bureau['id']}", headers=own).json["id"] == bureau["id"]
    ops = bearer(token(members_settings, "ops"))
    assert client.get("/api/v1/bureaus", headers=ops).status_code == 403
    assert client.get(f"/api/v1/bureaus/{bureau['id']}", headers=ops).status_code == 404


def test_a_domain_rule_broken_is_a_422_with_a_reason_code(client, bureau):
    body = {**MEMBER, "branch_id": bureau["branch_id"], "birth_date": "2999-01-01"}
    response = client.post("/api/v1/members", json=body, headers=bureau["headers"])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "date_in_future" and "birth_date" in response.json["error"]["fields"]


def test_a_retried_command_with_the_same_idempotency_key_is_written_once(client, bureau, members_settings):
    headers = {**bureau["headers"], "Idempotency-Key": "register-zhang-1"}
    body = {**MEMBER, "branch_id": bureau["branch_id"]}
    first = client.post("/api/v1/members", json=body, headers=headers)
    again = client.post("/api/v1/members", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    other_body = client.post("/api/v1/members", json={**body, "name": "李四"}, headers=headers)
    assert other_body.status_code == 422 and other_body.json["error"]["code"] == "idempotency_key_reused"
    with db.connect(members_settings.owner_dsn) as conn:
        count = conn.execute("SELECT count(*) AS n FROM events WHERE event_type = 'members.MemberRegistered'"
                             " AND data->>'branch_id' = %s", (bureau["branch_id"],)).fetchone()["n"]
    assert count == 1


def test_concurrent_retries_with_one_idempotency_key_write_once(app, bureau, members_settings):
    headers = {**bureau["headers"], "Idempotency-Key": "concurrent-key"}
    body = {**MEMBER, "branch_id": bureau["branch_id"], "name": "王五"}
    results = []
    barrier = threading.Barrier(4)

    def post():
        client = app.test_client()
        barrier.wait()
        results.append(client.post("/api/v1/members", json=body, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status_code for r in results} == {201}
    assert len({r.json["id"] for r in results}) == 1


def test_the_actor_comes_from_the_token_not_the_body(client, bureau, members_settings):
    headers = bearer(token(members_settings, "bureau_admin", tenant=bureau["id"], subject="secretary-li"))
    created = client.post("/api/v1/members", json={**MEMBER, "branch_id": bureau["branch_id"]}, headers=headers)
    with db.connect(members_settings.owner_dsn) as conn:
        actor = conn.execute("SELECT actor, tenant_id FROM events WHERE stream_id = %s",
                             (f"member-{created.json['id']}",)).fetchone()
    assert actor["actor"] == {"user": "secretary-li", "role": "bureau_admin"} and actor["tenant_id"] == bureau["id"]


def test_health_readiness_metrics_and_openapi(client):
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"database": True, "kafka": True}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "branchwork_outbox_unpublished" in metrics and "branchwork_http_requests_total" in metrics
    spec = client.get("/openapi.json").json
    assert "/api/v1/members" in spec["paths"] and "/api/v1/bureaus" in spec["paths"]
    assert client.get("/docs").status_code == 200
    asset = client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and b"SwaggerUIBundle" in asset.get_data()
    asset.close()


def test_writes_naming_another_bureaus_branch_answer_404_like_reads(client, admin, bureau, members_settings):
    from tests.support import short_id
    other = bearer(token(members_settings, "bureau_admin", tenant=register_bureau(client, admin, f"o-{short_id()}")))
    branch = bureau["branch_id"]
    for path, body in ((f"/api/v1/branches/{branch}/dues/actions/review-arrears", {}),
                       (f"/api/v1/branches/{branch}/dues/assessments", {"year": 2026}),
                       (f"/api/v1/branches/{branch}/groups", {"name": "第一党小组"})):
        response = client.post(path, json=body, headers=other)
        assert response.status_code == 404, (path, response.json)
        assert client.get(f"/api/v1/branches/{branch}", headers=other).status_code == 404
    assert client.post(f"/api/v1/branches/{branch}/dues/actions/review-arrears", json={},
                       headers=bureau["headers"]).status_code == 200


def test_a_member_and_a_list_of_members_read_their_streams_by_key_under_row_level_security(
        client, bureau, members_settings):
    """Joined on 'member-' || member_id, PostgreSQL may not use the streams' key under row-level security
    (|| is not leakproof) and reads every bureau's streams for each member read; the reads pass the ids."""
    from services.members import queries
    member = client.post("/api/v1/members", json={**MEMBER, "branch_id": bureau["branch_id"]},
                         headers=bureau["headers"])
    assert member.status_code == 201, member.json
    with db.connect(members_settings.app_dsn) as conn, conn.transaction():
        db.set_tenant(conn, bureau["id"])
        assert queries.member(conn, member.json["id"])["version"] == 1
        listed = queries.members(conn, {"branch_id": bureau["branch_id"]})
        assert [row["member_id"] for row in listed] == [member.json["id"]] and listed[0]["version"] == 1
        scans = streams_plans(conn, lambda recording: (queries.member(recording, member.json["id"]),
                                                       queries.members(recording, {"branch_id": bureau["branch_id"]})))
    assert len(scans) == 2 and all("Index Cond" in node for node in scans), scans
