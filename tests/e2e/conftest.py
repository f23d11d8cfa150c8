"""End-to-end fixtures: the running platform (started by 'make test'), reached over HTTP only."""

from __future__ import annotations

import pytest

from tests.support import Platform


@pytest.fixture(scope="session")
def platform(stack_env) -> Platform:
    platform = Platform(stack_env)
    for service in platform.urls:
        ready = platform.http.get(platform.url(service, "/readyz"), timeout=10)
        assert ready.status_code == 200, f"{service} is not ready: {ready.text}"
    return platform
