"""Fixtures for every tier. Those that need the real stack live in the tiers' own conftest files."""

from __future__ import annotations

import os

import pytest

from tests.support import stack_environment

# The fault tier runs on a platform of its own (`make test-faults`), never inside `make test`.
collect_ignore = [] if os.environ.get("BRANCHWORK_FAULT_TIER") else ["faults"]


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    env = stack_environment()
    if "BRANCHWORK_PG_ADMIN_DSN" not in env:
        pytest.fail("the stack is not running: use 'make test', which starts PostgreSQL and Kafka")
    return env
