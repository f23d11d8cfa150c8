"""The integration tier runs against the real stack: its fixtures are those of tests/fixtures.py."""

from tests.fixtures import (  # noqa: F401 — fixtures are found by name
    activities_service, activities_settings, admin_conn, audit_service, audit_settings, client, members_service,
    members_settings, notify_service, notify_settings, owner_conn, round_trips)
