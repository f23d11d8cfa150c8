"""Composition root of the members service."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from shared.config import Settings
from shared.web import create_service_app
from services.members import api
from services.members.events import registry
from services.members.projections import project

SERVICE = "members"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    return create_service_app(settings, title="Branchwork members", registry=registry, project=project,
                              blueprints=[api.bureaus, api.branches, api.members])
