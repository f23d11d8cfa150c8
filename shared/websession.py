"""Browser sessions for the platform's web pages: an opaque cookie, the session itself kept server-side.

The cookie holds only a random session id. What the session knows (who signed in, a token a web front
uses on the person's behalf) stays on the server, encrypted at rest, under the SHA-256 of the id — so
neither the browser nor a copy of the table yields a bearer token. Every form POST carries a CSRF
token bound to the session id; cookies are ``HttpOnly``, ``SameSite=Strict`` and ``Secure`` over TLS.
Signing in issues a new id (a session fixed beforehand by someone else is worthless) and signing out
deletes the server-side row, so a copied cookie dies with it.

A web app wires it in three lines: ``WebSessions(store, secret, policy).init_app(app)`` in its
composition root, and ``attach(blueprint)`` on the blueprint whose pages need it. ``DevLogin`` guards
a development sign-in: off unless enabled, loopback only, and only among the choices offered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from typing import Any, Protocol
from collections.abc import Callable, Mapping

import flask
from cryptography.fernet import Fernet, InvalidToken
from psycopg_pool import ConnectionPool

from shared.errors import Forbidden, RequestInvalid

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-Ip")


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives and how its cookie is set. ``secure=None``: Secure when served over TLS."""

    cookie_name: str
    idle_seconds: int = 30 * 60
    lifetime_seconds: int = 8 * 3600
    secure: bool | None = None


class SessionStore(Protocol):
    """Where sealed sessions live, keyed by the hash of their id."""

    def save(self, id_hash: str, sealed: bytes, expires_at: datetime) -> None: ...

    def load(self, id_hash: str, now: datetime) -> bytes | None: ...

    def delete(self, id_hash: str) -> None: ...

    def purge(self, now: datetime) -> int: ...


class MemorySessionStore:
    """A store in this process's memory: for tests and single-process tools."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[bytes, datetime]] = {}
        self._lock = threading.Lock()

    def save(self, id_hash: str, sealed: bytes, expires_at: datetime) -> None:
        with self._lock:
            self.rows[id_hash] = (sealed, expires_at)

    def load(self, id_hash: str, now: datetime) -> bytes | None:
        row = self.rows.get(id_hash)
        return row[0] if row and row[1] > now else None

    def delete(self, id_hash: str) -> None:
        with self._lock:
            self.rows.pop(id_hash, None)

    def purge(self, now: datetime) -> int:
        with self._lock:
            expired = [key for key, (_, until) in self.rows.items() if until <= now]
            for key in expired:
                del self.rows[key]
        return len(expired)


class PostgresSessionStore:
    """Sessions in the ``web_sessions`` table (shared migration 003), shared by every process of the app."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def save(self, id_hash: str, sealed: bytes, expires_at: datetime) -> None:
        with self.pool.connection() as conn:
            conn.execute("INSERT INTO web_sessions (id_hash, sealed, expires_at) VALUES (%s, %s, %s)"
                         " ON CONFLICT (id_hash) DO UPDATE SET sealed = EXCLUDED.sealed,"
                         " expires_at = EXCLUDED.expires_at", (id_hash, sealed, expires_at))

    def load(self, id_hash: str, now: datetime) -> bytes | None:
        with self.pool.connection() as conn:
            row = conn.execute("SELECT sealed FROM web_sessions WHERE id_hash = %s AND expires_at > %s",
                               (id_hash, now)).fetchone()
        return bytes(row["sealed"]) if row else None

    def delete(self, id_hash: str) -> None:
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM web_sessions WHERE id_hash = %s", (id_hash,))

    def purge(self, now: datetime) -> int:
        with self.pool.connection() as conn:
            return conn.execute("DELETE FROM web_sessions WHERE expires_at <= %s", (now,)).rowcount


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the platform's secret (one secret to manage)."""
    return hmac.new(secret.encode("utf-8"), f"branchwork-web|{purpose}".encode(), hashlib.sha256).digest()


class WebSessions:
    """Server-side sessions of one Flask app: load on each request, CSRF on each unsafe one, cookie on reply."""

    def __init__(self, store: SessionStore, secret: str, policy: SessionPolicy,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret, "session-seal")))
        self._csrf_key = derive_key(secret, "csrf")

    def init_app(self, app: flask.Flask) -> WebSessions:
        app.extensions["websession"] = self
        return self

    # --- the request's session --------------------------------------------------------------------

    def load(self) -> None:
        """Read the cookie, find its server-side session and refuse an unsafe request without a valid CSRF token."""
        session_id = flask.request.cookies.get(self.policy.cookie_name, "")
        if len(session_id) != 43:  # token_urlsafe(32); anything else is not one of ours
            session_id = ""
        flask.g.web_session_id = session_id or secrets.token_urlsafe(32)
        flask.g.web_session = self._open(session_id) if session_id else None
        flask.g.web_session_dirty = not session_id
        if flask.request.method in UNSAFE_METHODS:
            self._require_same_origin()
            self._require_csrf(session_id)

    def _open(self, session_id: str) -> dict | None:
        now = self.clock()
        sealed = self.store.load(_hash(session_id), now)
        if sealed is None:
            return None
        try:
            data = json.loads(self._fernet.decrypt(sealed))
        except (InvalidToken, ValueError):
            return None
        if datetime.fromisoformat(data["_ends_at"]) <= now:
            self.store.delete(_hash(session_id))
            return None
        if datetime.fromisoformat(data["_idle_until"]) - now < timedelta(seconds=self.policy.idle_seconds / 2):
            self._save(session_id, data)  # slide the idle window, at most once per half window
        return data

    def _require_same_origin(self) -> None:
        origin = flask.request.headers.get("Origin")
        if origin and origin != "null" and origin.rstrip("/") != flask.request.host_url.rstrip("/"):
            raise Forbidden("请求来自其他网站，已拒绝", code="cross_origin_refused")

    def _require_csrf(self, session_id: str) -> None:
        sent = flask.request.form.get(CSRF_FIELD) or flask.request.headers.get(CSRF_HEADER) or ""
        if not session_id or not hmac.compare_digest(sent, self._csrf_for(session_id)):
            raise Forbidden("页面已过期或来源不明，请刷新页面后重试", code="csrf_token_invalid",
                            fields={CSRF_FIELD: ["缺少或不匹配"]})

    def _csrf_for(self, session_id: str) -> str:
        return hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_token(self) -> str:
        """The token every form of this page sends back as ``csrf_token`` ('' if refused before the session loaded)."""
        session_id = flask.g.get("web_session_id")
        return self._csrf_for(session_id) if session_id else ""

    @property
    def data(self) -> dict | None:
        """What the signed-in session holds, or None when nobody is signed in."""
        session = flask.g.get("web_session")
        return None if session is None else {k: v for k, v in session.items() if not k.startswith("_")}

    def sign_in(self, data: Mapping[str, Any], ends_at: datetime | None = None) -> None:
        """Start a session holding ``data`` under a new id; it ends at ``ends_at`` or the policy's lifetime."""
        now = self.clock()
        self.sign_out()
        self.store.purge(now)
        lifetime_end = now + timedelta(seconds=self.policy.lifetime_seconds)
        session = {**data, "_ends_at": min(ends_at or lifetime_end, lifetime_end).isoformat()}
        flask.g.web_session_id = secrets.token_urlsafe(32)
        flask.g.web_session = session
        flask.g.web_session_dirty = True
        self._save(flask.g.web_session_id, session)

    def sign_out(self) -> None:
        """Forget the session server-side; the cookie gets a fresh id that holds nothing."""
        if flask.g.get("web_session") is not None:
            self.store.delete(_hash(flask.g.web_session_id))
        flask.g.web_session = None
        flask.g.web_session_id = secrets.token_urlsafe(32)
        flask.g.web_session_dirty = True

    def _save(self, session_id: str, session: dict) -> None:
        now = self.clock()
        idle_until = min(now + timedelta(seconds=self.policy.idle_seconds), datetime.fromisoformat(session["_ends_at"]))
        session["_idle_until"] = idle_until.isoformat()
        sealed = self._fernet.encrypt(json.dumps(session, ensure_ascii=False).encode("utf-8"))
        self.store.save(_hash(session_id), sealed, idle_until)

    def set_cookie(self, response: flask.Response) -> flask.Response:
        """Send the session id back when it is new; pages that may show a session are never cached."""
        response.headers["Cache-Control"] = "no-store"
        if flask.g.get("web_session_dirty"):
            # Behind a proxy that ends TLS, its X-Forwarded-Proto says so; believing it can only add the flag.
            over_tls = flask.request.is_secure or flask.request.headers.get("X-Forwarded-Proto", "").lower() == "https"
            secure = over_tls if self.policy.secure is None else self.policy.secure
            response.set_cookie(self.policy.cookie_name, flask.g.web_session_id, httponly=True, samesite="Strict",
                                secure=secure, path="/")
        return response


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def current() -> WebSessions:
    return flask.current_app.extensions["websession"]


def attach(blueprint: flask.Blueprint) -> None:
    """Give every page of ``blueprint`` the app's sessions: loaded before, cookie set after."""
    blueprint.before_request(lambda: current().load())
    blueprint.after_request(lambda response: current().set_cookie(response))


@dataclass(frozen=True)
class DevLogin:
    """A sign-in without credentials for a developer's own machine: enabled explicitly, from loopback only."""

    enabled: bool = False

    def available(self) -> bool:
        """Whether this request may see and use the development sign-in."""
        if not self.enabled or any(flask.request.headers.get(name) for name in PROXY_HEADERS):
            return False  # behind a proxy every caller looks like loopback
        try:
            return ipaddress.ip_address(flask.request.remote_addr or "").is_loopback
        except ValueError:
            return False

    def require(self) -> None:
        if not self.available():
            raise Forbidden("开发登录未开启，或只能从本机使用", code="dev_login_refused")

    def choose(self, chosen: str | None, offered: Mapping[str, str], field: str) -> str:
        """``chosen`` if it is one of the ``offered`` ids, else a 400 that names the field."""
        self.require()
        if not chosen or chosen not in offered:
            raise RequestInvalid("所选项目不存在，请从列表中选择", code="unknown_choice", fields={field: ["不存在"]})
        return chosen
