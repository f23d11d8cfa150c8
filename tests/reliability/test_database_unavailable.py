"""Faults: an API whose database is out of reach answers 503 with Retry-After — never a 500 — and writes nothing."""

from __future__ import annotations

from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool
from psycopg.rows import dict_row

from services.members.api import bureaus
from services.members.bootstrap import bootstrap
from shared import db
from shared.web import RETRY_AFTER_SECONDS, create_service_app
from tests.fixtures import members_app  # noqa: F401 — a fixture
from tests.support import bearer, free_port, new_id, short_id, token


def _terminate_api_sessions(settings) -> int:
    """What the API's pool sees of a PostgreSQL restart: every session it holds is gone."""
    with db.connect(settings.admin_dsn, autocommit=True) as admin:
        return admin.execute("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
                             " WHERE datname = %s AND usename = %s", (settings.database, settings.app_role)
                             ).fetchone()["n"]


def _bureaus_named(settings, code: str) -> int:
    with db.connect(settings.owner_dsn) as conn:
        return conn.execute("SELECT count(*) AS n FROM events WHERE event_type = 'members.BureauRegistered'"
                            " AND data->>'code' = %s", (code,)).fetchone()["n"]


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.get_json()["error"]["code"] == "service_unavailable"


def test_a_command_on_lost_database_sessions_is_a_503_and_its_retry_with_the_same_key_writes_once(
        members_app, members_settings):
    client = members_app.test_client()
    headers = bearer(token(members_settings, "platform_admin"))
    warm = client.post("/api/v1/bureaus", json={"name": "预热局", "code": f"w-{short_id()}"}, headers=headers)
    assert warm.status_code == 201, warm.get_json()
    assert _terminate_api_sessions(members_settings) >= 1

    code, key = f"r-{short_id()}", new_id()
    body = {"name": "市档案局", "code": code}
    statuses = []
    for _ in range(5):  # a client honouring Retry-After would wait; the pool reconnects meanwhile
        response = client.post("/api/v1/bureaus", json=body, headers={**headers, "Idempotency-Key": key})
        statuses.append(response.status_code)
        if response.status_code != 503:
            break
        _assert_unavailable(response)
    assert statuses[0] == 503 and statuses[-1] == 201, statuses
    assert _bureaus_named(members_settings, code) == 1
    again = client.post("/api/v1/bureaus", json=body, headers={**headers, "Idempotency-Key": key})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert _bureaus_named(members_settings, code) == 1


def test_reads_and_writes_without_any_database_connection_are_503s(members_settings):
    unreachable = make_conninfo(members_settings.app_dsn, host="127.0.0.1", port=free_port())
    pool = ConnectionPool(unreachable, min_size=0, max_size=1, timeout=1, kwargs={"row_factory": dict_row},
                          open=True)
    app = create_service_app(bootstrap(members_settings), title="members without a database",
                             blueprints=[bureaus.blueprint], pool=pool)
    client = app.test_client()
    try:
        headers = bearer(token(members_settings, "platform_admin"))
        code = f"n-{short_id()}"
        _assert_unavailable(client.post("/api/v1/bureaus", json={"name": "无库局", "code": code}, headers=headers))
        _assert_unavailable(client.get(f"/api/v1/bureaus/{new_id()}", headers=headers))
        assert _bureaus_named(members_settings, code) == 0
    finally:
        pool.close()
