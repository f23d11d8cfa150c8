"""The HTTP plumbing every service shares: app factory, auth, errors, commands, health and metrics."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from collections.abc import Callable, Iterator

import flask
import psycopg
from flask import Flask, g, jsonify, request
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields as ma_fields
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from shared import metrics
from shared.auth import Principal
from shared.bootstrap import Service
from shared.config import Settings
from shared.db import open_pool, set_tenant, transaction_with
from shared.envelope import Actor
from shared.errors import BranchworkError, Forbidden, RequestInvalid, ServiceUnavailable, Unauthenticated
from shared.inputs import check_request
from shared.jsonlog import log_context
from shared.kafka import KafkaProbe
from shared.unit_of_work import CommandContext, UnitOfWork

log = logging.getLogger(__name__)

# Seconds a client is told to wait before retrying while the database is away (a restart takes a few).
RETRY_AFTER_SECONDS = 3


class StrictParser(FlaskParser):
    """Invalid request data is the client's error: 400, not webargs' default 422 (kept for domain rules)."""

    DEFAULT_VALIDATION_STATUS = 400

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, Schema] = {}

    def _get_schema(self, argmap, req) -> Schema:
        """One instance per schema class, not a new one per request: building a schema copies every field,
        and loading keeps no state on the instance (``unknown`` is passed to each ``load``)."""
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas[argmap] = argmap()
            return schema
        return super()._get_schema(argmap, req)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()


class ErrorDetailSchema(Schema):
    code = ma_fields.String(required=True, metadata={"description": "a stable machine-readable code"})
    message = ma_fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    fields_ = ma_fields.Dict(required=True, data_key="fields", metadata={
        "description": "the offending fields: name → messages (nested fields as nested objects)"})


class ErrorBodySchema(Schema):
    """Every error answer of every service: ``{"error": {"code", "message", "fields"}}``."""

    error = ma_fields.Nested(ErrorDetailSchema, required=True)


class ServiceApi(Api):
    """flask-smorest's Api, documenting the error body the services really send."""

    ERROR_SCHEMA = ErrorBodySchema


def _decimal_as_string(self, field, ret, **_kwargs) -> dict:
    """Money and hours are sent as decimal strings ("12.50"), and the documents say so, bounds included."""
    if not isinstance(field, ma_fields.Decimal):
        return {}
    bounds = {name: ret.pop(name) for name in ("minimum", "maximum") if name in ret}
    if not field.as_string:
        return {name: float(value) for name, value in bounds.items()}
    said = ", ".join(f"{name} {value}" for name, value in bounds.items())
    return {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$",
            **({"description": f"a decimal number written as a string; {said}"} if said else {})}


@dataclass
class ServiceRuntime:
    """What a service's views need: the service as its bootstrap built it, its settings, the API's connection
    pool and the clock (which tests may move)."""

    service: Service
    settings: Settings
    pool: ConnectionPool
    clock: Callable[[], datetime]
    kafka_probe: KafkaProbe | None = None


def runtime() -> ServiceRuntime:
    return flask.current_app.extensions["branchwork"]


def create_service_app(service: Service, *, title: str, blueprints: list[Blueprint],
                       pool: ConnectionPool | None = None) -> Flask:
    """Build a service's Flask app from what its bootstrap put together (``create_app`` of every service)."""
    settings = service.settings
    app = Flask(settings.service)
    app.config.update(
        API_TITLE=title, API_VERSION="v1", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json", OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="/docs/static/",
        JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.json.ensure_ascii = False  # Chinese as UTF-8 text, not \u escapes: readable in a terminal or a log
    app.extensions["branchwork"] = ServiceRuntime(
        service=service, settings=settings,
        pool=pool or open_pool(settings.app_dsn, name=settings.service, max_size=settings.http_threads + 2),
        clock=service.clock, kafka_probe=KafkaProbe(settings.kafka_bootstrap))
    api = ServiceApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}, "security": [{"bearer": []}]})
    api.ma_plugin.converter.add_attribute_function(_decimal_as_string)
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    _register_operational_routes(app, settings)
    _register_request_hooks(app, settings)
    _register_error_handlers(app)
    _register_outbox_metrics(settings, app.extensions["branchwork"].pool, tuple(service.gauges))
    return app


_metric_lock = threading.Lock()


def _register_outbox_metrics(settings: Settings, pool: ConnectionPool, gauges: tuple = ()) -> None:
    with _metric_lock:
        if not metrics.OUTBOX_LAG.pools:
            REGISTRY.register(metrics.OUTBOX_LAG)
        metrics.OUTBOX_LAG.watch(settings.service, pool, gauges)


def _register_operational_routes(app: Flask, settings: Settings) -> None:
    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": settings.service}

    @app.get("/readyz")
    def readyz():
        checks = {"database": _database_ready(), "kafka": runtime().kafka_probe.ready()}
        status = 200 if all(checks.values()) else 503
        return {"status": "ready" if status == 200 else "not_ready", "checks": checks}, status

    @app.get("/metrics")
    def prometheus_metrics():
        return flask.Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/ops/dead-letters")
    def dead_letters():
        """Parked events of this service's consumers, without their payloads (which hold bureaus' data)."""
        current_principal().require_role("ops")
        with runtime().pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, consumer, topic, partition, \"offset\", event_id::text, tenant_id, error, attempts,"
                " recorded_at, replayed_at FROM dead_letters WHERE (%s::text IS NULL OR consumer = %s)"
                " ORDER BY id DESC LIMIT 500", (request.args.get("consumer"),) * 2).fetchall()
        return {"dead_letters": [{**row, "recorded_at": row["recorded_at"].isoformat(),
                                  "replayed_at": row["replayed_at"] and row["replayed_at"].isoformat()}
                                 for row in rows]}

    @app.get("/docs/static/<path:filename>")
    def swagger_assets(filename: str):
        return flask.send_from_directory(swagger_ui_path, filename)


def _database_ready() -> bool:
    try:
        with runtime().pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        log.warning("database not ready", exc_info=True)
        return False


def _register_request_hooks(app: Flask, settings: Settings) -> None:
    @app.before_request
    def start_request():
        g.started = time.perf_counter()
        g.request_id = _plain_id(request.headers.get("X-Request-Id")) or str(uuid.uuid4())
        g.correlation_id = _plain_id(request.headers.get("X-Correlation-Id")) or g.request_id
        log_context.set({"request_id": g.request_id, "correlation_id": g.correlation_id})
        if request.path.startswith("/api/"):
            current_principal()  # authenticate before the body is parsed: no token is a 401, not a 400
        check_request(request)

    @app.after_request
    def finish_request(response: flask.Response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.REQUESTS.labels(settings.service, request.method, endpoint, response.status_code).inc()
        metrics.LATENCY.labels(settings.service, endpoint).observe(elapsed)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers["X-Correlation-Id"] = g.get("correlation_id", "")
        if g.get("idempotent_replay"):
            response.headers["Idempotent-Replayed"] = "true"
        if not request.path.startswith(("/healthz", "/metrics", "/docs/static")):
            log.info("%s %s -> %s", request.method, request.path, response.status_code,
                     extra={"fields": {"status": response.status_code, "ms": round(elapsed * 1000, 1)}})
        return response


PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _plain_id(value: str | None) -> str | None:
    """A client's request or correlation id, kept only if short and plain: it goes into immutable envelopes."""
    return value if value and PLAIN_ID.fullmatch(value) else None


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(BranchworkError)
    def branchwork_error(error: BranchworkError):
        return jsonify(error.to_body()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = (getattr(error, "data", None) or {}).get("messages")
        if messages is not None:
            return jsonify(RequestInvalid(_describe(messages), fields=_flatten(messages)).to_body()), 400
        code = (error.name or "error").lower().replace(" ", "_")
        message = HTTP_MESSAGES.get(error.code or 0, "请求未被接受")
        return jsonify({"error": {"code": code, "message": message, "fields": {}}}), error.code

    @app.errorhandler(psycopg.OperationalError)
    def database_unavailable(error: psycopg.OperationalError):
        """PostgreSQL restarting, or no pooled connection in time: a moment's trouble the client retries."""
        log.warning("database unavailable: %s: %s", type(error).__name__, error)
        body = ServiceUnavailable("数据库暂时不可用，请稍后重试").to_body()
        return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error")
        return jsonify(BranchworkError("服务内部出错，请稍后重试；如仍出错请联系运维人员").to_body()), 500


HTTP_MESSAGES = {404: "没有这个地址", 405: "这个地址不支持这种请求方式", 406: "无法按所要的格式回答",
                 413: "请求内容太大", 415: "请求内容的类型不对（请发送 JSON）", 429: "请求太频繁，请稍后再试"}
"""What an HTTP refusal that comes from routing rather than from a service's rules says, in Chinese."""


def _flatten(messages: dict) -> dict:
    """webargs nests errors under the location (json, query, …); clients want the field names."""
    fields: dict[str, Any] = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            fields.update(errors)
        else:
            fields[location] = errors
    return fields


def _describe(messages: dict) -> str:
    names = sorted(_flatten(messages))
    return "以下字段有误：" + "、".join(names) if names else "请求内容有误"


def current_principal() -> Principal:
    """The verified caller; the tenant, roles and branches come from the token, never the body."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthenticated("请在请求头中发送访问令牌：Authorization: Bearer <令牌>")
        g.principal = runtime().settings.verify_token(header[len("Bearer "):].strip())
    return g.principal


def command_context(principal: Principal, tenant_id: str | None) -> CommandContext:
    return CommandContext(actor=Actor(user=principal.subject, role=principal.primary_role), tenant_id=tenant_id,
                          correlation_id=g.correlation_id, causation_id=g.request_id,
                          recorded_at=runtime().clock())


def execute_command(tenant_id: str | None, handler: Callable[[UnitOfWork], dict]) -> dict:
    """Run ``handler`` in one transaction scoped to ``tenant_id``, honouring ``Idempotency-Key``.

    A retried request with the same key and body returns the first response; the same key with
    another body is a 422. A key belongs to one caller and one operation — the token's bureau and
    subject, the method and the path — and is forgotten after ``idempotency_ttl_seconds``. The key is
    claimed in the command's own transaction, so a failed command leaves no claim behind.
    """
    principal = current_principal()
    service = runtime()
    key = _idempotency_key()
    scoped_elsewhere = (tenant_id or "") != (principal.tenant or "")
    ttl = service.settings.idempotency_ttl_seconds

    def opening() -> psycopg.Cursor | None:
        """The key claimed (in the caller's bureau), or the bureau set: sent with the transaction's BEGIN."""
        if key:
            return _claim_idempotency_key(conn, principal, key, ttl)
        set_tenant(conn, tenant_id)
        return None

    with service.pool.connection() as conn, transaction_with(conn, opening) as begun:
        if key:
            replay = _claimed_or_replay(conn, principal, key, begun.first)
            if replay is not None:
                _authorise_again(conn, tenant_id, principal, handler)
                g.idempotent_replay = True
                return replay
            if scoped_elsewhere:
                set_tenant(conn, tenant_id)
        uow = _unit_of_work(conn, tenant_id, principal)
        body = handler(uow)
        if key:
            # Handlers return JSON-ready bodies, so a replay answers exactly what the first call did. The answer
            # kept for the key goes out with the COMMIT.
            with conn.pipeline():
                if scoped_elsewhere:  # the key is the caller's: back to its bureau (handlers never move the scope)
                    set_tenant(conn, principal.tenant)
                conn.execute("UPDATE idempotency_keys SET response = %s, status_code = 200 WHERE tenant_id = %s"
                             " AND subject = %s AND method = %s AND path = %s AND key = %s",
                             (Jsonb(body), *_key_scope(principal), key))
                begun.commit()
    metrics.EVENTS_APPENDED.labels(service.settings.service).inc(len(uow.recorded))
    return body


def _unit_of_work(conn: psycopg.Connection, tenant_id: str | None, principal: Principal) -> UnitOfWork:
    return runtime().service.unit_of_work(conn, command_context(principal, tenant_id))


def _idempotency_key() -> str | None:
    """The request's key; reads (GET, HEAD) ignore it — only a command is worth replaying."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200 and key.isprintable()):
        raise RequestInvalid("Idempotency-Key 须为 1 到 200 个可打印字符",
                             fields={"Idempotency-Key": ["须为 1 到 200 个可打印字符"]})
    return key


def _key_scope(principal: Principal) -> tuple[str, str, str, str]:
    """Whose key and for what: the bureau ('' for the platform), the subject, the method and the path."""
    return principal.tenant or "", principal.subject, request.method, request.path


def _claim_idempotency_key(conn: psycopg.Connection, principal: Principal, key: str,
                           ttl_seconds: int) -> psycopg.Cursor:
    """Claim ``key`` for this request: sent in pipeline mode with the transaction's BEGIN, the caller's bureau set
    and expired keys swept, one round trip for all (on a busy server each wait is a turn for a core). A concurrent
    request with the same key waits here until the first one commits or rolls back. An expired claim is taken
    over: the key may be used again once it is forgotten."""
    set_tenant(conn, principal.tenant)
    _sweep_expired_keys(conn, principal.tenant or "")
    return conn.execute(
        "INSERT INTO idempotency_keys (tenant_id, subject, method, path, key, request_hash, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s)) ON CONFLICT (tenant_id, subject,"
        " method, path, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, expires_at = EXCLUDED.expires_at,"
        " created_at = now(), status_code = NULL, response = NULL WHERE idempotency_keys.expires_at <= now()",
        (*_key_scope(principal), key, _request_hash(), ttl_seconds))


def _claimed_or_replay(conn: psycopg.Connection, principal: Principal, key: str, claim: psycopg.Cursor) -> dict | None:
    """None if the claim took the key (go ahead and run), else the response recorded under it."""
    if claim.rowcount:
        return None
    stored = conn.execute("SELECT request_hash, response FROM idempotency_keys WHERE tenant_id = %s AND subject = %s"
                          " AND method = %s AND path = %s AND key = %s", (*_key_scope(principal), key)).fetchone()
    if stored["request_hash"] != _request_hash():
        raise IdempotencyKeyReused()
    return stored["response"]


def _request_hash() -> str:
    return hashlib.sha256(request.method.encode() + request.path.encode() + request.get_data()).hexdigest()


_SWEEP_SECONDS = 60.0
_swept: dict[str, float] = {}


def _sweep_expired_keys(conn: psycopg.Connection, tenant: str) -> None:
    """Delete a bureau's expired keys, at most once a minute per process: the table stays small without a
    delete in every command (an expired key in the way of a new claim is taken over by the claim itself)."""
    now = time.monotonic()
    if now - _swept.get(tenant, -_SWEEP_SECONDS) < _SWEEP_SECONDS:
        return
    _swept[tenant] = now
    conn.execute("DELETE FROM idempotency_keys WHERE tenant_id = %s AND expires_at <= now()", (tenant,))


class IdempotencyKeyReused(BranchworkError):
    """This Idempotency-Key was already used for a different request; send a new key."""

    status = 422
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(fields={"Idempotency-Key": ["已用于另一个请求"]})


def _authorise_again(conn: psycopg.Connection, tenant_id: str | None, principal: Principal,
                     handler: Callable[[UnitOfWork], dict]) -> None:
    """Before a replay, run the command again in a savepoint that is always undone: if this caller may no
    longer do it (a branch taken from their token), the refusal stands instead of the recorded answer.

    Other outcomes — success, or a rule the first run's own effect now breaks — are dropped.
    """
    try:
        with conn.transaction():
            set_tenant(conn, tenant_id)
            handler(_unit_of_work(conn, tenant_id, principal))
            raise _Undo()
    except _Undo:
        pass
    except (Unauthenticated, Forbidden):
        raise
    except (BranchworkError, psycopg.Error):
        pass


class _Undo(Exception):
    """Rolls the authorisation re-run's savepoint back."""


@contextmanager
def read_transaction(tenant_id: str | None) -> Iterator[psycopg.Connection]:
    """A read-only transaction that sees one bureau's rows only."""
    with runtime().pool.connection() as conn, transaction_with(conn, lambda: set_tenant(conn, tenant_id,
                                                                                        read_only=True)):
        yield conn
