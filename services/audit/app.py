"""Composition root of the audit service."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from shared.config import Settings
from shared.contracts import EventRegistry
from shared.web import create_service_app
from services.audit import api

SERVICE = "audit"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    return create_service_app(settings, title="Branchwork audit", registry=EventRegistry(),
                              blueprints=[api.events])
