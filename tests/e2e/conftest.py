"""End-to-end fixtures: the running platform (started by 'make test'), reached over HTTP only."""

from __future__ import annotations

import pytest
import requests

from shared.config import Settings
from tests.support import bearer, short_id, token


class Platform:
    """HTTP clients for each running service, and tokens signed with the platform's key."""

    def __init__(self, env: dict[str, str]) -> None:
        self.settings = Settings.from_env("members", env)
        self.urls = {service: f"http://127.0.0.1:{Settings.from_env(service, env).http_port}"
                     for service in ("members", "activities", "notify", "audit")}
        self.http = requests.Session()

    def url(self, service: str, path: str) -> str:
        return self.urls[service] + path

    def post(self, service: str, path: str, body: dict, auth: str, **headers) -> requests.Response:
        return self.http.post(self.url(service, path), json=body, headers={**bearer(auth), **headers}, timeout=10)

    def get(self, service: str, path: str, auth: str, **params) -> requests.Response:
        return self.http.get(self.url(service, path), params=params, headers=bearer(auth), timeout=10)

    def token(self, *roles: str, **claims) -> str:
        return token(self.settings, *roles, **claims)

    def new_bureau(self) -> dict:
        """A fresh bureau (tenant) so that tests never see each other's data."""
        code = f"e2e-{short_id()}"
        response = self.post("members", "/api/v1/bureaus", {"name": f"测试局 {code}", "code": code},
                             self.token("platform_admin"))
        assert response.status_code == 201, response.text
        bureau_id = response.json()["id"]
        return {"id": bureau_id, "code": code, "admin": self.token("bureau_admin", tenant=bureau_id),
                "auditor": self.token("auditor", tenant=bureau_id)}


@pytest.fixture(scope="session")
def platform(stack_env) -> Platform:
    platform = Platform(stack_env)
    for service in platform.urls:
        ready = platform.http.get(platform.url(service, "/readyz"), timeout=10)
        assert ready.status_code == 200, f"{service} is not ready: {ready.text}"
    return platform
