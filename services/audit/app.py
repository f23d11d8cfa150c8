"""The audit service's HTTP API and dashboard, built from its bootstrap, with the tree-head signing keys."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from shared.bootstrap import Service
from shared.web import create_service_app
from shared.websession import PostgresSessionStore, WebSessions
from services.audit.api import BLUEPRINTS
from services.audit.bootstrap import MIGRATIONS, bootstrap
from services.audit.api.dashboard import SESSION_POLICY, dashboard
from services.audit.settings import AuditSettings
from services.audit.signing import Keyring

__all__ = ["MIGRATIONS", "create_app"]


@dataclass(frozen=True)
class AuditRuntime:
    settings: AuditSettings
    keyring: Keyring


def create_app(service: Service | None = None) -> Flask:
    service = service or bootstrap()
    settings, audit_settings = service.settings, service.own_settings
    app = create_service_app(service, title="Branchwork audit", blueprints=BLUEPRINTS)
    app.extensions["audit"] = AuditRuntime(audit_settings, Keyring(audit_settings.signing_keys))
    # The dashboard's sessions live in the service's own database, sealed with a key derived from the token key.
    WebSessions(PostgresSessionStore(app.extensions["branchwork"].pool), settings.jwt_secret,
                SESSION_POLICY).init_app(app)
    app.register_blueprint(dashboard)
    return app
