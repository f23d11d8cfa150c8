"""Fixtures for the tiers that run against the real stack: isolated service databases and topics.

Loaded by the conftest files of those tiers, so the unit tier needs no server at all.
"""

from __future__ import annotations

import pytest
from psycopg.conninfo import make_conninfo

from services.audit.app import MIGRATIONS as AUDIT_MIGRATIONS
from services.members.app import MIGRATIONS as MEMBERS_MIGRATIONS
from shared import db
from tests.support import IsolatedService


@pytest.fixture(scope="module")
def members_service(stack_env):
    isolated = IsolatedService("members", [MEMBERS_MIGRATIONS], stack_env)
    isolated.create()
    yield isolated
    isolated.drop()


@pytest.fixture(scope="module")
def members_settings(members_service):
    return members_service.settings


@pytest.fixture(scope="module")
def audit_service(stack_env):
    isolated = IsolatedService("audit", [AUDIT_MIGRATIONS], stack_env)
    isolated.create()
    yield isolated
    isolated.drop()


@pytest.fixture(scope="module")
def audit_settings(audit_service):
    return audit_service.settings


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
