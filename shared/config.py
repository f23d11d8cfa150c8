"""Settings read once from ``BRANCHWORK_*`` environment variables and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from collections.abc import Mapping

from psycopg.conninfo import make_conninfo

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
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "branchwork"
    http_port: int = 8000
    relay_batch_size: int = 500
    consumer_max_attempts: int = 3
    max_body_bytes: int = 1024 * 1024
    timezone: str = "Asia/Shanghai"   # the bureaus' local time zone: their "today" and every day boundary
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
            jwt_secret=env.get("BRANCHWORK_JWT_SECRET", DEV_JWT_SECRET),
            jwt_issuer=env.get("BRANCHWORK_JWT_ISSUER", cls.jwt_issuer),
            http_port=int(env.get(f"BRANCHWORK_{upper}_PORT", DEFAULT_PORTS.get(service, 8000))),
            relay_batch_size=int(env.get("BRANCHWORK_RELAY_BATCH_SIZE", cls.relay_batch_size)),
            consumer_max_attempts=int(env.get("BRANCHWORK_CONSUMER_MAX_ATTEMPTS", cls.consumer_max_attempts)),
            max_body_bytes=int(env.get("BRANCHWORK_MAX_BODY_BYTES", cls.max_body_bytes)),
            timezone=env.get("BRANCHWORK_TIMEZONE") or cls.timezone,
        )

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
