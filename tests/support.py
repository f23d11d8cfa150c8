"""Helpers the tests share: isolated databases and topics on the real stack, ids, tokens, API clients."""

from __future__ import annotations

from contextlib import contextmanager

import os
import socket
import tempfile
import time
import uuid
from pathlib import Path
from collections.abc import Callable

import psycopg
import requests
from kafka.admin import KafkaAdminClient
from psycopg import sql

from shared import auth, db
from shared.config import Settings
from shared.kafka import ensure_topics
from datetime import UTC, datetime

REPO_ROOT = Path(__file__).resolve().parent.parent


def stack_environment() -> dict[str, str]:
    """The running stack's addresses: from the environment, else from the run folder's stack.env."""
    env = dict(os.environ)
    stack_file = Path(env.get("BRANCHWORK_RUN_DIR", REPO_ROOT / ".run")) / "stack.env"
    if "BRANCHWORK_PG_ADMIN_DSN" not in env and stack_file.exists():
        for line in stack_file.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                name, value = line[len("export "):].split("=", 1)
                env.setdefault(name, value.strip().strip("'\""))
    return env


def new_id() -> str:
    return str(uuid.uuid4())


def short_id() -> str:
    return uuid.uuid4().hex[:8]


def free_port() -> int:
    """A local port nothing listens on right now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class IsolatedService:
    """A service's settings pointed at a database and topics of its own, created for one test run."""

    def __init__(self, service: str, migrations: list[Path], environ: dict[str, str]) -> None:
        suffix = short_id()
        base = Settings.from_env(service, environ)
        self.settings = base.with_overrides(database=f"bwtest_{service}_{suffix}", topic_prefix=f"bwtest{suffix}")
        self.migrations = migrations

    def create(self, topic_services: tuple[str, ...] = ("members", "activities", "notify")) -> Settings:
        db.provision(self.settings, self.migrations)
        ensure_topics(self.settings.kafka_bootstrap, [self.settings.topic(s) for s in topic_services])
        return self.settings

    def drop(self) -> None:
        with psycopg.connect(self.settings.admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(self.settings.database)))
            for role in (self.settings.app_role, self.settings.owner_role):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        delete_topics(self.settings.kafka_bootstrap, f"{self.settings.topic_prefix}.")

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """Environment variables that make a subprocess (a relay, a consumer) use this isolation."""
        service = self.settings.service.upper()
        return {**base, f"BRANCHWORK_{service}_DATABASE": self.settings.database,
                "BRANCHWORK_TOPIC_PREFIX": self.settings.topic_prefix}


def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete the topics a test run created: a broker that keeps every run's partitions (thousands after a few
    runs of the suite) spends on them the CPU a benchmark on the same stack then counts against the platform."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        ours = [topic for topic in admin.list_topics() if topic.startswith(prefix)]
        if ours:
            admin.delete_topics(ours, timeout_ms=30000)
    finally:
        admin.close()


def token(settings: Settings, *roles: str, tenant: str | None = None, branches: list[str] | None = None,
          subject: str | None = None) -> str:
    return auth.issue_token(settings.jwt_secret, subject=subject or f"user-{short_id()}", roles=list(roles),
                            tenant=tenant, branches=branches, issuer=settings.jwt_issuer,
                            audience=settings.jwt_audience)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def wait_for(condition: Callable[[], object], timeout: float = 20.0, interval: float = 0.1, message: str = ""):
    """Poll until ``condition()`` is truthy and return its value; fail with ``message`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(interval)


def streams_plans(conn, read: Callable) -> list[dict]:
    """The plan nodes that read ``streams`` in the statements ``read(conn)`` runs, planned with sequential scans
    off (tiny test tables: the planner then uses a key wherever one can be used) in the caller's transaction."""
    statements, nodes = [], []

    class Recording:
        def execute(self, statement, params=None):
            statements.append((statement, params))
            return conn.execute(statement, params)

    read(Recording())
    conn.execute("SET LOCAL enable_seqscan = off")
    for statement, params in statements:
        [[plan]] = conn.execute("EXPLAIN (FORMAT JSON) " + statement, params).fetchone().values()
        pending = [plan["Plan"]]
        while pending:
            node = pending.pop()
            pending.extend(node.get("Plans", []))
            if node.get("Relation Name") == "streams":
                nodes.append(node)
    conn.execute("SET LOCAL enable_seqscan = on")
    return nodes


def sample_envelopes(stream_id: str, first_version: int, count: int, tenant_id: str,
                     event_type: str = "members.SampleRecorded") -> list:
    """Envelopes ready to append: ``count`` events of one stream from ``first_version`` on."""
    from datetime import datetime

    from shared.envelope import Actor, Envelope, new_event_id

    now = datetime.now(UTC)
    return [Envelope(event_id=new_event_id(), event_type=event_type, schema_version=1, stream_id=stream_id,
                     stream_version=first_version + index, tenant_id=tenant_id, branch_id=None, occurred_at=now,
                     recorded_at=now, actor=Actor("tester", "bureau_admin"), correlation_id=new_id(),
                     causation_id=None, data={"n": first_version + index, "text": "学习 · ünïcode"})
            for index in range(count)]


def read_topic(bootstrap: str, topic: str, until: Callable[[list], bool], timeout: float = 60.0) -> list:
    """Read a topic from the beginning (no consumer group) until ``until(records)`` or the timeout."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list = []
        deadline = time.monotonic() + timeout
        while not until(records) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def envelopes_of(records: list) -> list:
    """Decode Kafka records into envelopes, keeping wire order."""
    from shared.envelope import envelope_from_wire

    return [envelope_from_wire(record.value) for record in records]


def assert_stream_order(envelopes: list) -> None:
    """Within each stream, the first delivery of each version comes in version order."""
    first_seen: dict[str, list[int]] = {}
    seen: set[str] = set()
    for envelope in envelopes:
        if envelope.event_id in seen:
            continue
        seen.add(envelope.event_id)
        first_seen.setdefault(envelope.stream_id, []).append(envelope.stream_version)
    for stream, versions in first_seen.items():
        assert versions == sorted(versions), f"{stream} out of order: {versions}"


class ApiClient:
    """A Flask test client that speaks for one bureau: JSON in, (status, body) out, with a token."""

    def __init__(self, client, settings, tenant: str, role: str = "bureau_admin", branches: list[str] | None = None):
        self.client = client
        self.headers = bearer(token(settings, role, tenant=tenant, branches=branches))
        self.tenant = tenant

    def post(self, path: str, body: dict | None = None, **headers):
        response = self.client.post(f"/api/v1{path}", json=body or {}, headers={**self.headers, **headers})
        return response.status_code, response.get_json()

    def patch(self, path: str, body: dict, **headers):
        response = self.client.patch(f"/api/v1{path}", json=body, headers={**self.headers, **headers})
        return response.status_code, response.get_json()

    def put(self, path: str, body: dict):
        response = self.client.put(f"/api/v1{path}", json=body, headers=self.headers)
        return response.status_code, response.get_json()

    def get(self, path: str, **params):
        response = self.client.get(f"/api/v1{path}", query_string=params, headers=self.headers)
        return response.status_code, response.get_json()

    def created(self, path: str, body: dict) -> str:
        status, reply = self.post(path, body)
        assert status == 201, reply
        return reply["id"]


@contextmanager
def clock_at(flask_app, moment: datetime):
    """Run the block with the service's clock stopped at ``moment`` (an injected clock, as in production)."""
    runtime = flask_app.extensions["branchwork"]
    before = runtime.clock
    runtime.clock = lambda: moment
    try:
        yield
    finally:
        runtime.clock = before


def csrf_token_of(page: str) -> str:
    """The CSRF token a server-rendered page put in its forms."""
    import re
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def dashboard_sign_in(client, bureau_id: str, role: str = "auditor"):
    """Sign a Flask test client in to the audit dashboard through its development login."""
    csrf = csrf_token_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"mode": "dev", "bureau_id": bureau_id, "role": role, "csrf_token": csrf})


def dashboard_sign_out(client):
    csrf = csrf_token_of(client.get("/login").get_data(as_text=True))
    return client.post("/logout", data={"csrf_token": csrf})


def chained_events(tenant_id: str, plan: list[tuple], moment=None) -> list:
    """Sealed envelopes for (stream, branch[, occurred_at]) in order, each stream's versions and hash chain
    counted from 1, as the services would record them."""
    from datetime import datetime

    from shared.envelope import GENESIS_HASH, Actor, Envelope, new_event_id

    moment = moment or datetime.now(UTC)
    versions: dict[str, int] = {}
    hashes: dict[str, str] = {}
    made = []
    for stream, branch, *occurred in plan:
        versions[stream] = versions.get(stream, 0) + 1
        envelope = Envelope(event_id=new_event_id(), event_type="members.SampleRecorded", schema_version=1,
                            stream_id=stream, stream_version=versions[stream], tenant_id=tenant_id, branch_id=branch,
                            occurred_at=occurred[0] if occurred else moment, recorded_at=moment,
                            actor=Actor("tester", "secretary"),
                            correlation_id=None, causation_id=None, data={"n": len(made), "text": "学习 · ünïcode"})
        sealed = envelope.sealed(hashes.get(stream, GENESIS_HASH))
        hashes[stream] = sealed.hash
        made.append(sealed)
    return made


class Platform:
    """HTTP clients for each running service, and tokens signed with the platform's key."""

    def __init__(self, env: dict[str, str]) -> None:
        self.settings = Settings.from_env("members", env)
        self.urls = {service: f"http://127.0.0.1:{Settings.from_env(service, env).http_port}"
                     for service in ("members", "activities", "notify", "audit")}
        self.http = requests.Session()

    def url(self, service: str, path: str) -> str:
        return self.urls[service] + path

    def post(self, service: str, path: str, body: dict, auth: str, **headers) -> requests.Response:
        return self.http.post(self.url(service, path), json=body, headers={**bearer(auth), **headers}, timeout=10)

    def get(self, service: str, path: str, auth: str, **params) -> requests.Response:
        return self.http.get(self.url(service, path), params=params, headers=bearer(auth), timeout=10)

    def token(self, *roles: str, **claims) -> str:
        return token(self.settings, *roles, **claims)

    def new_bureau(self) -> dict:
        """A fresh bureau (tenant) so that tests never see each other's data."""
        code = f"e2e-{short_id()}"
        response = self.post("members", "/api/v1/bureaus", {"name": f"测试局 {code}", "code": code},
                             self.token("platform_admin"))
        assert response.status_code == 201, response.text
        bureau_id = response.json()["id"]
        return {"id": bureau_id, "code": code, "admin": self.token("bureau_admin", tenant=bureau_id),
                "auditor": self.token("auditor", tenant=bureau_id)}



class RoundTrips:
    """The client's round trips to PostgreSQL, read from libpq's trace of every connection that talks to the
    server while it counts: each time the client, having sent, reads the server's answer. What a round-trip lever
    is judged by — the same count however the answers happen to arrive."""

    def __init__(self) -> None:
        self.traces: dict[int, tuple] = {}
        self.base = 0

    def watch(self, conn: psycopg.Connection) -> None:
        if id(conn.pgconn) not in self.traces:
            trace = tempfile.TemporaryFile()
            self.traces[id(conn.pgconn)] = (trace, conn.pgconn)
            self._trace(trace, conn.pgconn)

    @staticmethod
    def _trace(trace, pgconn) -> None:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)

    def total(self) -> int:
        trips = 0
        for trace, pgconn in self.traces.values():
            live = pgconn.status == psycopg.pq.ConnStatus.OK
            if live:
                pgconn.untrace()  # libpq writes the trace through a buffer: untracing flushes it
            trace.seek(0)
            text = trace.read()
            if live:
                self._trace(trace, pgconn)  # on from the end of what was read
            last = ""
            for line in text.decode("utf-8", "replace").splitlines():
                side = line[:1]
                if side == "B" and last == "F":
                    trips += 1
                if side in ("F", "B"):
                    last = side
        return trips

    def __len__(self) -> int:
        return self.total() - self.base

    def clear(self) -> None:
        self.base = self.total()

    def stop(self) -> None:
        for trace, pgconn in self.traces.values():
            if pgconn.status == psycopg.pq.ConnStatus.OK:
                pgconn.untrace()
            trace.close()
