"""Composition root of the notify service."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from contracts.rulebook.calendar import use_timezone
from shared.config import Settings
from shared.web import create_service_app
from services.notify.operations import GAUGES
from services.notify import api
from services.notify.events import registry
from services.notify.projections import project
from services.notify.scheduler import Scheduler
from services.notify.settings import NotifySettings

SERVICE = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None, notify_settings: NotifySettings | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    use_timezone(settings.timezone)
    notify_settings = notify_settings or NotifySettings.from_env()
    app = create_service_app(settings, title="Branchwork notify", registry=registry, project=project,
                             blueprints=api.BLUEPRINTS, gauges=GAUGES)
    app.extensions["notify"] = {"settings": notify_settings, "scheduler": Scheduler(settings, notify_settings)}
    return app
