"""Composition root of the audit service: the API, the dashboard, the tree-head signer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from contracts.rulebook.calendar import use_timezone
from shared.config import Settings
from shared.contracts import EventRegistry
from shared.web import create_service_app
from services.audit import api, views_api
from services.audit.dashboard import dashboard
from services.audit.settings import AuditSettings
from services.audit.signing import TreeHeadSigner

SERVICE = "audit"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class AuditRuntime:
    settings: AuditSettings
    signer: TreeHeadSigner


def create_app(settings: Settings | None = None, audit_settings: AuditSettings | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    audit_settings = audit_settings or AuditSettings.from_env()
    app = create_service_app(settings, title="Branchwork audit", registry=EventRegistry(),
                             blueprints=[api.events, api.proofs, views_api.views])
    app.extensions["audit"] = AuditRuntime(audit_settings, TreeHeadSigner(audit_settings.signing_seed))
    # The dashboard's session cookie is signed with a key derived from the token key: one secret to manage.
    app.secret_key = hashlib.sha256(b"branchwork-dashboard|" + settings.jwt_secret.encode()).digest()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="branchwork_audit")
    app.register_blueprint(dashboard)
    return app
