"""The members service's HTTP API, built from its bootstrap."""

from __future__ import annotations

from flask import Flask

from shared.bootstrap import Service
from shared.web import create_service_app
from services.members.api import branches, bureaus, committee, dues, members, transfers
from services.members.bootstrap import MIGRATIONS, bootstrap

__all__ = ["MIGRATIONS", "create_app"]


def create_app(service: Service | None = None) -> Flask:
    blueprints = [module.blueprint for module in (bureaus, branches, members, committee, transfers, dues)]
    return create_service_app(service or bootstrap(), title="Branchwork members", blueprints=blueprints)
