"""Composition root of the activities service."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from contracts.rulebook.calendar import use_timezone
from shared.config import Settings
from shared.web import create_service_app
from services.activities.api import BLUEPRINTS
from services.activities.events import registry
from services.activities.projections import project

SERVICE = "activities"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    return create_service_app(settings, title="Branchwork activities", registry=registry, project=project,
                              blueprints=BLUEPRINTS)
