"""The four services' public APIs, called with the signed-in person's own token.

The pages hold no database and no rule of their own: what a person records goes through the same API,
checks and events as any other client's, and what the service refuses comes back as ``Refused`` with
the service's reason and the fields it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from services.web.settings import WebSettings


@dataclass
class Refused(Exception):
    """A command or read the service turned down (4xx): its code, its Chinese message and the fields it names."""

    status: int
    code: str
    message: str
    fields: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class Unavailable(Exception):
    """The service did not answer, or failed (5xx): nothing the person typed was wrong."""


class SignedOut(Exception):
    """The service no longer accepts the person's token (expired or revoked): they sign in again."""


class Api:
    """One person's view of the platform, for the length of one page request."""

    def __init__(self, settings: WebSettings, http: requests.Session, token: str, correlation_id: str = "") -> None:
        self.settings = settings
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if correlation_id:
            self.headers["X-Correlation-Id"] = correlation_id

    def get(self, service: str, path: str, **params) -> Any:
        query = {name: value for name, value in params.items() if value is not None}
        return self._send("GET", service, path, params=query)

    def post(self, service: str, path: str, body: dict, *, idempotency_key: str | None = None,
             if_match: int | None = None) -> dict:
        """A command; the same ``idempotency_key`` twice records once (a double click, a retried send)."""
        headers = {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if if_match is not None:
            headers["If-Match"] = str(if_match)
        return self._send("POST", service, path, json=body, headers=headers)

    def raw(self, service: str, path: str, **params) -> requests.Response:
        """A non-JSON answer (a PDF), streamed back to the browser as it is."""
        response = self._request("GET", service, path, params=params, headers={"Accept": "*/*"}, stream=True)
        self._raise_for(response)
        return response

    def _send(self, method: str, service: str, path: str, headers: dict | None = None, **kwargs) -> Any:
        response = self._request(method, service, path, headers=headers or {}, **kwargs)
        self._raise_for(response)
        return response.json() if response.content else {}

    def _request(self, method: str, service: str, path: str, headers: dict, **kwargs) -> requests.Response:
        url = f"{self.settings.api_urls[service]}/api/v1{path}"
        try:
            return self.http.request(method, url, headers={**self.headers, **headers},
                                     timeout=self.settings.api_timeout, **kwargs)
        except requests.RequestException as problem:
            raise Unavailable(f"{service}: {problem.__class__.__name__}") from None

    @staticmethod
    def _raise_for(response: requests.Response) -> None:
        if response.status_code < 400:
            return
        if response.status_code == 401:
            raise SignedOut()
        if response.status_code >= 500 or response.status_code == 429:
            raise Unavailable(f"HTTP {response.status_code}")
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {}
        raise Refused(response.status_code, error.get("code") or "refused", error.get("message") or "请求未被接受",
                      error.get("fields") or {})
