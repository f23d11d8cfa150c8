"""The integration tier runs against the real stack: its fixtures are those of tests/fixtures.py."""

from tests.fixtures import (  # noqa: F401 — fixtures are found by name
    admin_conn, audit_service, audit_settings, members_service, members_settings, owner_conn)
