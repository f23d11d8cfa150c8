"""Fixtures for the tiers that run against the real stack: each service on a database and topics of its own,
and its app answering in-process requests.

Loaded by those tiers' conftest files, so the unit tier needs no server at all. A test module names the
app it talks to ``app`` (``from tests.fixtures import members_app as app``); ``client`` is that app's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
import pytest
from flask import Flask
from psycopg.conninfo import make_conninfo

from services.activities.app import create_app as create_activities_app
from services.members.app import create_app as create_members_app
from services.notify.app import create_app as create_notify_app
from services.registry import SERVICES
from shared import db
from tests.support import IsolatedService, RoundTrips, free_port

ACTIVITIES_NOW = datetime.fromisoformat("2024-11-20T02:30:00+00:00")
"""The activities service's clock in its tests: records of 2024 are then mostly on time."""


def _isolated(service: str):
    @pytest.fixture(scope="module", name=f"{service}_service")
    def isolated(stack_env) -> Iterator[IsolatedService]:
        """The service's migrations applied to a database of its own, with topics of its own."""
        service_db = IsolatedService(service, [SERVICES.service(service).migrations], stack_env)
        service_db.create()
        yield service_db
        service_db.drop()

    @pytest.fixture(scope="module", name=f"{service}_settings")
    def settings(request):
        return request.getfixturevalue(f"{service}_service").settings

    return isolated, settings


members_service, members_settings = _isolated("members")
activities_service, activities_settings = _isolated("activities")
notify_service, notify_settings = _isolated("notify")
audit_service, audit_settings = _isolated("audit")


@contextmanager
def serving(app: Flask, *, clock: Callable[[], datetime] | None = None) -> Iterator[Flask]:
    """``app`` ready for in-process requests, its clock set if given; its connection pool closed afterwards."""
    app.config["TESTING"] = True
    if clock is not None:
        app.extensions["branchwork"].clock = clock
    try:
        yield app
    finally:
        app.extensions["branchwork"].pool.close()


@pytest.fixture(scope="module")
def members_app(members_settings) -> Iterator[Flask]:
    with serving(create_members_app(SERVICES.service("members", members_settings))) as app:
        yield app


@pytest.fixture(scope="module")
def activities_app(activities_settings) -> Iterator[Flask]:
    service = SERVICES.service("activities", activities_settings)
    with serving(create_activities_app(service), clock=lambda: ACTIVITIES_NOW) as app:
        yield app


@pytest.fixture(scope="module")
def notify_app(notify_settings) -> Iterator[Flask]:
    """Notify's app; its mail goes to a port where nothing listens (delivery is tested with a real server)."""
    from tests.integration.notify_support import delivery_settings
    service = SERVICES.bootstrap("notify")(notify_settings, delivery_settings(free_port()))
    with serving(create_notify_app(service)) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def owner_conn(members_settings):
    with db.connect(members_settings.owner_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def admin_conn(members_settings):
    """A superuser session on the members test database: what a tampering DBA could do."""
    with db.connect(make_conninfo(members_settings.admin_dsn, dbname=members_settings.database),
                    autocommit=True) as conn:
        yield conn


@pytest.fixture
def round_trips(monkeypatch):
    """Counts the round trips to PostgreSQL of every connection used from now on (``tests.support.RoundTrips``)."""
    trips = RoundTrips()
    wait = psycopg.Connection.wait

    def watching(self, *args, **kwargs):
        trips.watch(self)
        return wait(self, *args, **kwargs)
    monkeypatch.setattr(psycopg.Connection, "wait", watching)
    yield trips
    monkeypatch.undo()
    trips.stop()
