"""The activities service's HTTP API, built from its bootstrap."""

from __future__ import annotations

from flask import Flask

from shared.bootstrap import Service
from shared.web import create_service_app
from services.activities.api import BLUEPRINTS
from services.activities.bootstrap import MIGRATIONS, bootstrap

__all__ = ["MIGRATIONS", "create_app"]


def create_app(service: Service | None = None) -> Flask:
    return create_service_app(service or bootstrap(), title="Branchwork activities", blueprints=BLUEPRINTS)
