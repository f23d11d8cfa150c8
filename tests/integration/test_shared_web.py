"""The HTTP plumbing of shared/web.py on a small app of its own: limits, content types, idempotency, logs."""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass

import psycopg
import pytest
from marshmallow import Schema, fields

from shared import jsonlog
from shared.bootstrap import Service
from shared.contracts import EventRegistry
from shared.web import ApiBlueprint, create_service_app, current_principal, execute_command, read_transaction
from tests.fixtures import serving
from tests.support import bearer, new_id, token

registry = EventRegistry()


@registry.event("tests.ThingNamed")
@dataclass(frozen=True)
class ThingNamed:
    thing_id: str
    name: str


class ThingBody(Schema):
    name = fields.String(required=True)
    branch = fields.String()


things = ApiBlueprint("things", __name__)


@things.route("/things", methods=["POST"])
@things.arguments(ThingBody)
@things.response(201)
def name_thing(body):
    return _name(body)


def _name(body):
    principal = current_principal()
    thing_id = new_id()

    def handle(uow):
        if "branch" in body:
            principal.require_branch_writer(body["branch"])  # authorised inside the handler, as many are
        uow.record(f"thing-{thing_id}", 0, [ThingNamed(thing_id, body["name"])])
        return {"id": thing_id, "tenant": principal.tenant}
    return execute_command(principal.tenant, handle)


@things.route("/things/copies", methods=["POST"])
@things.arguments(ThingBody)
@things.response(201)
def name_a_copy(body):
    return _name(body)


class SeenSchema(Schema):
    day = fields.Date()


@things.route("/things/seen", methods=["GET"])
@things.response(200, SeenSchema)
def record_a_read():
    """A read that is itself recorded (as reads of sensitive records are): a command behind a GET."""
    principal = current_principal()
    from datetime import date

    def handle(uow):
        uow.record(f"read-{new_id()}", 0, [ThingNamed(new_id(), "read")])
        return {"day": date(2026, 11, 20)}
    return execute_command(principal.tenant, handle)


@things.route("/things", methods=["GET"])
@things.response(200)
def list_things():
    with read_transaction(current_principal().tenant) as conn:
        rows = conn.execute("SELECT stream_id FROM events ORDER BY position").fetchall()
    return {"streams": [row["stream_id"] for row in rows]}


@things.route("/things/in-a-read", methods=["GET"])
@things.response(200)
def what_a_read_transaction_is():
    """What a read transaction is scoped to and what it allows."""
    with read_transaction(current_principal().tenant) as conn:
        found = conn.execute("SELECT current_setting('transaction_read_only') AS read_only,"
                             " current_setting('branchwork.tenant_id') AS tenant").fetchone()
        try:
            conn.execute("INSERT INTO idempotency_keys (tenant_id) VALUES ('x')")
            refused = None
        except psycopg.errors.ReadOnlySqlTransaction as error:
            refused = type(error).__name__
    return {**found, "refused": refused}


@pytest.fixture(scope="module")
def settings(members_settings):
    """A database of its own (the things use only the tables every service has)."""
    return members_settings


@pytest.fixture(scope="module")
def app(settings):
    service = Service(name="things", settings=settings, contracts=registry)
    with serving(create_service_app(service, title="things", blueprints=[things])) as app:
        yield app


def headers_for(settings, tenant: str | None, *roles: str, subject: str = "same-name") -> dict[str, str]:
    return bearer(token(settings, *(roles or ("bureau_admin",)), tenant=tenant, subject=subject))


def test_an_idempotency_key_reused_by_a_namesake_in_another_bureau_is_not_replayed(client, settings):
    body = {"name": "shared"}
    first = client.post("/api/v1/things", json=body,
                        headers={**headers_for(settings, "bureau-a"), "Idempotency-Key": "k-1"})
    second = client.post("/api/v1/things", json=body,
                         headers={**headers_for(settings, "bureau-b"), "Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert second.json["tenant"] == "bureau-b" and second.json["id"] != first.json["id"]
    assert "Idempotent-Replayed" not in second.headers
    seen_by_b = client.get("/api/v1/things", headers=headers_for(settings, "bureau-b")).json["streams"]
    assert seen_by_b == [f"thing-{second.json['id']}"]


def test_a_retried_command_with_the_same_key_replays_and_another_body_is_a_422_naming_the_key(client, settings):
    tenant = f"bureau-{new_id()}"
    headers = {**headers_for(settings, tenant, "secretary"), "Idempotency-Key": "k-2"}
    first = client.post("/api/v1/things", json={"name": "once"}, headers=headers)
    again = client.post("/api/v1/things", json={"name": "once"}, headers=headers)
    other = client.post("/api/v1/things", json={"name": "twice"}, headers=headers)
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    assert (other.status_code, other.json["error"]["code"]) == (422, "idempotency_key_reused")
    assert list(other.json["error"]["fields"]) == ["Idempotency-Key"] and first.json["id"] not in other.text
    assert len(client.get("/api/v1/things", headers=headers).json["streams"]) == 1


def test_a_key_of_a_namesake_in_another_bureau_is_neither_replayed_nor_revealed(client, settings):
    subject, key = f"same-{new_id()}", f"k-{new_id()}"
    bureau_a, bureau_b = f"bureau-{new_id()}", f"bureau-{new_id()}"
    recorded = client.post("/api/v1/things", json={"name": "b's"}, headers={
        **headers_for(settings, bureau_b, subject=subject), "Idempotency-Key": key})
    other_body = client.post("/api/v1/things", json={"name": "a's"}, headers={
        **headers_for(settings, bureau_a, subject=subject), "Idempotency-Key": key})
    assert recorded.status_code == other_body.status_code == 201
    assert other_body.json["tenant"] == bureau_a and "Idempotent-Replayed" not in other_body.headers


def test_the_same_key_on_another_path_is_another_operation(client, settings):
    headers = {**headers_for(settings, f"bureau-{new_id()}"), "Idempotency-Key": "k-path"}
    first = client.post("/api/v1/things", json={"name": "x"}, headers=headers)
    other_path = client.post("/api/v1/things/copies", json={"name": "x"}, headers=headers)
    assert first.status_code == other_path.status_code == 201 and first.json["id"] != other_path.json["id"]
    again = client.post("/api/v1/things", json={"name": "x"}, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json == first.json


def test_a_replay_runs_authorisation_again(client, settings):
    tenant, subject, branch_x = f"bureau-{new_id()}", f"sec-{new_id()}", new_id()
    body = {"name": "minutes", "branch": branch_x}
    of_x = bearer(token(settings, "secretary", tenant=tenant, branches=[branch_x], subject=subject))
    of_y = bearer(token(settings, "secretary", tenant=tenant, branches=[new_id()], subject=subject))
    first = client.post("/api/v1/things", json=body, headers={**of_x, "Idempotency-Key": "k-auth"})
    replayed = client.post("/api/v1/things", json=body, headers={**of_y, "Idempotency-Key": "k-auth"})
    assert first.status_code == 201
    assert replayed.status_code == 403 and first.json["id"] not in replayed.text
    assert client.post("/api/v1/things", json=body, headers={**of_x, "Idempotency-Key": "k-auth"}).json == first.json


def test_an_idempotency_key_on_a_read_is_ignored(client, settings):
    headers = {**headers_for(settings, f"bureau-{new_id()}"), "Idempotency-Key": "k-read"}
    first = client.get("/api/v1/things/seen", headers=headers)
    second = client.get("/api/v1/things/seen", headers=headers)
    assert first.status_code == second.status_code == 200 and first.json == {"day": "2026-11-20"}
    assert "Idempotent-Replayed" not in second.headers


def test_keys_are_kept_per_bureau_under_row_level_security_and_expire(client, settings):
    from shared.db import connect, set_tenant
    tenant = f"bureau-{new_id()}"
    headers = {**headers_for(settings, tenant), "Idempotency-Key": "k-old"}
    assert client.post("/api/v1/things", json={"name": "old"}, headers=headers).status_code == 201
    with connect(settings.app_dsn) as conn, conn.transaction():
        set_tenant(conn, f"bureau-{new_id()}")
        assert conn.execute("SELECT count(*) AS n FROM idempotency_keys").fetchone()["n"] == 0
        set_tenant(conn, tenant)
        assert conn.execute("SELECT count(*) AS n FROM idempotency_keys").fetchone()["n"] == 1
    with connect(settings.owner_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT expires_at - created_at AS ttl FROM idempotency_keys WHERE tenant_id = %s",
                           (tenant,)).fetchone()
        assert row["ttl"].total_seconds() == settings.idempotency_ttl_seconds == 24 * 3600
        conn.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE tenant_id = %s",
                     (tenant,))
    fresh = client.post("/api/v1/things", json={"name": "new"}, headers=headers)
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers
    with connect(settings.owner_dsn, autocommit=True) as conn:
        kept = conn.execute("SELECT request_hash FROM idempotency_keys WHERE tenant_id = %s", (tenant,)).fetchall()
    assert len(kept) == 1  # the expired claim was taken over by the new one
    again = client.post("/api/v1/things", json={"name": "new"}, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json == fresh.json


def test_a_bureaus_expired_keys_are_swept_at_most_once_a_minute(client, settings, monkeypatch):
    from shared import web
    from shared.db import connect
    tenant = f"bureau-{new_id()}"
    for key in ("k-1", "k-2"):
        headers = {**headers_for(settings, tenant), "Idempotency-Key": key}
        assert client.post("/api/v1/things", json={"name": key}, headers=headers).status_code == 201

    def keys() -> list[str]:
        with connect(settings.owner_dsn, autocommit=True) as conn:
            return sorted(r["key"] for r in conn.execute("SELECT key FROM idempotency_keys WHERE tenant_id = %s",
                                                         (tenant,)))

    with connect(settings.owner_dsn, autocommit=True) as conn:
        conn.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE tenant_id = %s"
                     " AND key = 'k-1'", (tenant,))
    headers = {**headers_for(settings, tenant), "Idempotency-Key": "k-3"}
    assert client.post("/api/v1/things", json={"name": "k-3"}, headers=headers).status_code == 201
    assert keys() == ["k-1", "k-2", "k-3"]  # swept less than a minute ago: the expired key waits
    monkeypatch.setitem(web._swept, tenant, time.monotonic() - web._SWEEP_SECONDS)
    headers = {**headers_for(settings, tenant), "Idempotency-Key": "k-4"}
    assert client.post("/api/v1/things", json={"name": "k-4"}, headers=headers).status_code == 201
    assert keys() == ["k-2", "k-3", "k-4"]


def test_a_long_or_odd_correlation_id_is_replaced_before_it_reaches_an_event(client, settings):
    from shared.db import connect
    tenant = f"bureau-{new_id()}"
    for sent in ("x" * 7005, "a b<script>", "ok-id_1.2"):
        response = client.post("/api/v1/things", json={"name": "c"},
                               headers={**headers_for(settings, tenant), "X-Correlation-Id": sent,
                                        "X-Request-Id": sent})
        kept = response.headers["X-Correlation-Id"]
        assert (kept == sent) == (sent == "ok-id_1.2") and len(kept) <= 128
        with connect(settings.owner_dsn) as conn:
            event = conn.execute("SELECT correlation_id, causation_id FROM events WHERE stream_id = %s",
                                 (f"thing-{response.json['id']}",)).fetchone()
        assert event == {"correlation_id": kept, "causation_id": response.headers["X-Request-Id"]}


def test_a_body_over_the_limit_is_a_413_json_error(client, settings):
    response = client.post("/api/v1/things", data=json.dumps({"name": "x" * (settings.max_body_bytes + 10)}),
                           content_type="application/json", headers=headers_for(settings, "bureau-a"))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_entity_too_large"


def test_a_body_that_is_not_json_is_a_400_naming_the_fields(client, settings):
    response = client.post("/api/v1/things", data="name=plain", content_type="text/plain",
                           headers=headers_for(settings, "bureau-a"))
    assert response.status_code in (400, 415)
    assert response.json["error"]["code"] in ("invalid_request", "unsupported_media_type")


def test_malformed_json_is_a_400_not_a_500(client, settings):
    response = client.post("/api/v1/things", data=b"{\"name\": ", content_type="application/json",
                           headers=headers_for(settings, "bureau-a"))
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"


def test_an_unknown_route_and_a_wrong_method_answer_json_errors(client, settings):
    missing = client.get("/api/v1/nothing-here", headers=headers_for(settings, "bureau-a"))
    wrong = client.delete("/api/v1/things", headers=headers_for(settings, "bureau-a"))
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "not_found")
    assert (wrong.status_code, wrong.json["error"]["code"]) == (405, "method_not_allowed")


def test_an_ops_token_naming_a_bureau_sees_none_of_its_records(client, settings):
    tenant = f"bureau-{new_id()}"
    client.post("/api/v1/things", json={"name": "private"}, headers=headers_for(settings, tenant))
    assert client.get("/api/v1/things", headers=headers_for(settings, tenant)).json["streams"]
    ops = bearer(token(settings, "ops"))
    forged_scope = client.get("/api/v1/things", headers={
        **ops, "Authorization": "Bearer " + _token_with_tenant(settings, "ops", tenant)})
    assert forged_scope.status_code == 200 and forged_scope.json["streams"] == []


def _token_with_tenant(settings, role: str, tenant: str) -> str:
    """A correctly signed token for a platform role that nonetheless names a bureau."""
    import time

    import jwt
    now = int(time.time())
    return jwt.encode({"sub": "ops-1", "roles": [role], "tenant": tenant, "iss": settings.jwt_issuer,
                       "aud": settings.jwt_audience, "iat": now, "exp": now + 60},
                      settings.jwt_secret, algorithm="HS256")


def test_log_lines_carry_the_request_ids_and_never_the_bearer_token(client, settings):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(jsonlog.JsonFormatter("things"))
    logging.getLogger("shared.web").addHandler(handler)
    logging.getLogger("shared.web").setLevel(logging.INFO)
    secret = token(settings, "bureau_admin", tenant="bureau-a")
    try:
        client.post("/api/v1/things", json={"name": "logged"},
                    headers={**bearer(secret), "X-Request-Id": "req-1", "X-Correlation-Id": "corr-1"})
        client.get("/api/v1/things", headers=bearer(secret + "tampered"))
    finally:
        logging.getLogger("shared.web").removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line["request_id"] == "req-1" and line["correlation_id"] == "corr-1" for line in lines)
    assert secret not in stream.getvalue()


def test_health_readiness_metrics_openapi_and_docs_answer(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json["checks"] == {"database": True, "kafka": True}
    assert b"branchwork_outbox_unpublished" in client.get("/metrics").data
    assert "/api/v1/things" in client.get("/openapi.json").json["paths"]
    assert client.get("/docs").status_code == 200


def test_a_read_transaction_is_read_only_and_one_bureaus_and_set_up_in_one_statement(client, settings, monkeypatch):
    sent: list[str] = []
    execute = psycopg.Connection.execute

    def noting(self, query, *args, **kwargs):
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)
    monkeypatch.setattr(psycopg.Connection, "execute", noting)
    response = client.get("/api/v1/things/in-a-read", headers=headers_for(settings, "bureau-r"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"read_only": "on", "tenant": "bureau-r", "refused": "ReadOnlySqlTransaction"}
    own = [q for q in sent if "current_setting(" in q or "INSERT INTO idempotency_keys (tenant_id)" in q]
    setup = [q for q in sent if q not in own]
    assert len(own) == 2, sent  # the route's two statements; one to set it up, between BEGIN and COMMIT
    assert setup[0] == "BEGIN" and setup[-1] == "COMMIT" and len(setup) == 3 and "set_config" in setup[1], sent


def test_a_read_transaction_sends_its_begin_with_its_set_up(client, settings, round_trips):
    """BEGIN and the bureau's scope go out together: a read of one statement waits for the server three times
    (the set-up, the read, the commit), not four — the least of five reads, as psycopg's preparing a statement (its
    fifth use on a connection) costs a wait once."""
    waits = []
    for _ in range(5):
        round_trips.clear()
        response = client.get("/api/v1/things", headers=headers_for(settings, "bureau-r"))
        assert response.status_code == 200
        waits.append(len(round_trips))
    assert min(waits) == 3, waits


def _keep_names(copies: int):
    """A projection writing ``copies`` rows for each thing named, one statement each."""
    def project(conn, envelope, event):
        for copy in range(copies):
            conn.execute("INSERT INTO kept_names (tenant_id, name) VALUES (%s, %s)",
                         (envelope.tenant_id, f"{event.name}/{copy}"))
    return project


@pytest.fixture(scope="module")
def keeping(settings):
    """Two apps whose projections keep each name, one in two rows, the other in five (names are unique)."""
    with psycopg.connect(settings.owner_dsn, autocommit=True) as owner:
        owner.execute("CREATE TABLE IF NOT EXISTS kept_names (tenant_id text, name text PRIMARY KEY)")
        owner.execute("GRANT SELECT, INSERT ON kept_names TO PUBLIC")

        def app_keeping(copies: int):
            service = Service(name="things", settings=settings, contracts=registry, project=_keep_names(copies))
            return serving(create_service_app(service, title="things", blueprints=[things]))
        with app_keeping(2) as two, app_keeping(5) as five:
            yield {2: two.test_client(), 5: five.test_client()}
        owner.execute("DROP TABLE kept_names")


def test_a_commands_projection_writes_go_in_one_round_trip_and_a_unique_rule_it_breaks_is_a_409(keeping, settings,
                                                                                                round_trips):
    waits = round_trips
    used = {}
    for copies, client in keeping.items():
        client.post("/api/v1/things", json={"name": f"first{copies}"},
                    headers={**headers_for(settings, "bureau-k"), "Idempotency-Key": new_id()})
        waits.clear()  # counted from the second command: the first of a minute sweeps the expired keys too
        response = client.post("/api/v1/things", json={"name": f"n{copies}"},
                               headers={**headers_for(settings, "bureau-k"), "Idempotency-Key": new_id()})
        assert response.status_code == 201, response.get_json()
        used[copies] = len(waits)
    assert used[2] == used[5], used  # three more rows, not three more waits
    again = keeping[2].post("/api/v1/things", json={"name": "n2"}, headers=headers_for(settings, "bureau-k"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate_record"


def test_an_idempotency_key_costs_a_command_no_round_trip(client, settings, round_trips):
    """The key's claim goes out with the transaction's BEGIN and the caller's bureau, the answer kept for it with
    the COMMIT: a command with a key waits for the server as often as one without, and the commit is one wait."""
    waits = {}
    # The first keyed command of a minute sweeps the expired keys as well (in the same round trip); the least of
    # five is counted, as psycopg's preparing a statement (its fifth use on a connection) costs a wait once.
    for keyed in (False, True) * 5:
        key = {"Idempotency-Key": new_id()} if keyed else {}
        round_trips.clear()
        response = client.post("/api/v1/things", json={"name": "claimed"},
                               headers={**headers_for(settings, "bureau-c"), **key})
        assert response.status_code == 201, response.get_json()
        waits.setdefault(keyed, []).append(len(round_trips))
    # BEGIN with the bureau (and the claim), the append (a new stream's head and its event), COMMIT (and answer)
    assert min(waits[True]) == min(waits[False]) == 3, waits
