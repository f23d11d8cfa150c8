"""Composition root of the members service."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from contracts.rulebook.calendar import use_timezone
from shared.config import Settings
from shared.web import create_service_app
from services.members.api import branches, bureaus, committee, dues, members, transfers
from services.members.events import registry
from services.members.projections import project

SERVICE = "members"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    blueprints = [module.blueprint for module in (bureaus, branches, members, committee, transfers, dues)]
    return create_service_app(settings, title="Branchwork members", registry=registry, project=project,
                              blueprints=blueprints)
