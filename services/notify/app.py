"""The notify service's HTTP API, built from its bootstrap."""

from __future__ import annotations

from flask import Flask

from shared.bootstrap import Service
from shared.web import create_service_app
from services.notify import api
from services.notify.bootstrap import MIGRATIONS, bootstrap
from services.notify.scheduler import Scheduler

__all__ = ["MIGRATIONS", "create_app"]


def create_app(service: Service | None = None) -> Flask:
    service = service or bootstrap()
    app = create_service_app(service, title="Branchwork notify", blueprints=api.BLUEPRINTS)
    app.extensions["notify"] = {"settings": service.own_settings, "scheduler": Scheduler(service)}
    return app
