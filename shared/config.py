"""Settings read once from ``BRANCHWORK_*`` environment variables and passed down."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field, replace
from collections.abc import Mapping

from psycopg.conninfo import make_conninfo

from shared.auth import Principal, verify_token

DEFAULT_PORTS = {"members": 8001, "activities": 8002, "notify": 8003, "audit": 8004}
DEV_JWT_SECRET = "branchwork-local-development-secret-not-for-production"


@dataclass(frozen=True)
class Settings:
    """Everything a service process needs to know about its surroundings."""

    service: str
    admin_dsn: str = "postgresql://postgres@127.0.0.1:55432/postgres"
    database: str = ""
    db_password: str = "branchwork"
    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = "branchwork"
    topic_partitions: int = 6
    topic_replication: int = 1
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "branchwork"
    jwt_audience: str = "branchwork-api"
    jwt_max_lifetime_seconds: int = 24 * 3600
    idempotency_ttl_seconds: int = 24 * 3600
    http_port: int = 8000
    base_url: str = ""
    relay_batch_size: int = 500
    relay_linger_ms: int = 5
    relay_quiet_ms: int = 250
    consumer_max_attempts: int = 3
    consumer_linger_ms: int = 50
    consumer_commit_every_ms: int = 500  # the longest a busy consumer's applied offsets wait for a commit
    max_body_bytes: int = 1024 * 1024
    timezone: str = "Asia/Shanghai"   # the bureaus' local time zone: their "today" and every day boundary
    http_workers: int = 2
    http_threads: int = 8
    metrics_port: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings of ``service`` from the environment (or a given mapping)."""
        env = os.environ if environ is None else environ
        upper = service.upper()
        return cls(
            service=service,
            admin_dsn=env.get("BRANCHWORK_PG_ADMIN_DSN", cls.admin_dsn),
            database=env.get(f"BRANCHWORK_{upper}_DATABASE", f"branchwork_{service}"),
            db_password=env.get("BRANCHWORK_DB_PASSWORD", cls.db_password),
            kafka_bootstrap=env.get("BRANCHWORK_KAFKA_BOOTSTRAP", cls.kafka_bootstrap),
            topic_prefix=env.get("BRANCHWORK_TOPIC_PREFIX", cls.topic_prefix),
            # What ``branchwork setup`` creates topics with: 3 replicas in a cluster (min.insync.replicas=2).
            topic_partitions=int(env.get("BRANCHWORK_TOPIC_PARTITIONS", cls.topic_partitions)),
            topic_replication=int(env.get("BRANCHWORK_TOPIC_REPLICATION", cls.topic_replication)),
            jwt_secret=env.get("BRANCHWORK_JWT_SECRET", DEV_JWT_SECRET),
            jwt_issuer=env.get("BRANCHWORK_JWT_ISSUER", cls.jwt_issuer),
            jwt_audience=env.get("BRANCHWORK_JWT_AUDIENCE", cls.jwt_audience),
            jwt_max_lifetime_seconds=int(env.get("BRANCHWORK_JWT_MAX_LIFETIME_SECONDS", cls.jwt_max_lifetime_seconds)),
            idempotency_ttl_seconds=int(env.get("BRANCHWORK_IDEMPOTENCY_TTL_SECONDS", cls.idempotency_ttl_seconds)),
            http_port=(port := int(env.get(f"BRANCHWORK_{upper}_PORT", DEFAULT_PORTS.get(service, 8000)))),
            # Where operators' commands reach the service (its Kubernetes Service, say); this host by default.
            base_url=env.get(f"BRANCHWORK_{upper}_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            relay_batch_size=int(env.get("BRANCHWORK_RELAY_BATCH_SIZE", cls.relay_batch_size)),
            relay_linger_ms=int(env.get("BRANCHWORK_RELAY_LINGER_MS", cls.relay_linger_ms)),
            relay_quiet_ms=int(env.get("BRANCHWORK_RELAY_QUIET_MS", cls.relay_quiet_ms)),
            consumer_max_attempts=int(env.get("BRANCHWORK_CONSUMER_MAX_ATTEMPTS", cls.consumer_max_attempts)),
            consumer_linger_ms=int(env.get("BRANCHWORK_CONSUMER_LINGER_MS", cls.consumer_linger_ms)),
            consumer_commit_every_ms=int(env.get("BRANCHWORK_CONSUMER_COMMIT_EVERY_MS",
                                                 cls.consumer_commit_every_ms)),
            max_body_bytes=int(env.get("BRANCHWORK_MAX_BODY_BYTES", cls.max_body_bytes)),
            timezone=env.get("BRANCHWORK_TIMEZONE") or cls.timezone,
            # gunicorn processes and threads of an HTTP service; each process sizes its pool to its threads.
            http_workers=int(env.get("BRANCHWORK_HTTP_WORKERS", cls.http_workers)),
            http_threads=int(env.get("BRANCHWORK_HTTP_THREADS", cls.http_threads)),
            # A relay or worker serves /metrics on this port when set (HTTP services serve theirs anyway).
            metrics_port=int(env.get("BRANCHWORK_METRICS_PORT", cls.metrics_port)),
        )

    def verify_token(self, token: str, audience: str | None = None) -> Principal:
        """The principal of a bearer token under these settings (key, issuer, audience, lifetime)."""
        return verify_token(self.jwt_secret, token, issuer=self.jwt_issuer, audience=audience or self.jwt_audience,
                            max_lifetime_seconds=self.jwt_max_lifetime_seconds)

    def derived_key(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (fingerprints, sealing), derived from the token key: one secret to manage."""
        return hmac.new(self.jwt_secret.encode("utf-8"), f"branchwork|{purpose}".encode(), hashlib.sha256).digest()

    def with_overrides(self, **changes) -> Settings:
        """Return a copy with some fields changed (tests point a service at their own database)."""
        return replace(self, **changes)

    @property
    def owner_role(self) -> str:
        """The role that owns the service's tables; workers use it and bypass row-level security."""
        return self.database

    @property
    def app_role(self) -> str:
        """The non-owner role the HTTP API uses, so row-level security always applies to it."""
        return f"{self.database}_app"

    @property
    def owner_dsn(self) -> str:
        return make_conninfo(self.admin_dsn, user=self.owner_role, password=self.db_password, dbname=self.database)

    @property
    def app_dsn(self) -> str:
        return make_conninfo(self.admin_dsn, user=self.app_role, password=self.db_password, dbname=self.database)

    def topic(self, service: str | None = None) -> str:
        """The events topic of ``service`` (this one by default)."""
        return f"{self.topic_prefix}.{service or self.service}.events"

    def dlq_topic(self, topic: str) -> str:
        return f"{topic}.dlq"
