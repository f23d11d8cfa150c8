"""Composition root of the audit service: the API, the dashboard, the tree-head signing keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from contracts.rulebook.calendar import use_timezone
from shared.config import Settings
from shared.contracts import EventRegistry
from shared.web import create_service_app
from shared.websession import PostgresSessionStore, WebSessions
from services.audit.operations import GAUGES
from services.audit import api, views_api
from services.audit.dashboard import SESSION_POLICY, dashboard
from services.audit.settings import AuditSettings
from services.audit.signing import Keyring

SERVICE = "audit"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class AuditRuntime:
    settings: AuditSettings
    keyring: Keyring


def create_app(settings: Settings | None = None, audit_settings: AuditSettings | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    audit_settings = audit_settings or AuditSettings.from_env()
    app = create_service_app(settings, title="Branchwork audit", registry=EventRegistry(),
                             blueprints=[api.events, api.proofs, views_api.views], gauges=GAUGES)
    app.extensions["audit"] = AuditRuntime(audit_settings, Keyring(audit_settings.signing_keys))
    # The dashboard's sessions live in the service's own database, sealed with a key derived from the token key.
    WebSessions(PostgresSessionStore(app.extensions["branchwork"].pool), settings.jwt_secret,
                SESSION_POLICY).init_app(app)
    app.register_blueprint(dashboard)
    return app
