"""Settings of the secretaries' pages, read once from ``BRANCHWORK_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from collections.abc import Mapping

from shared.config import Settings

SERVICES = ("members", "activities", "notify", "audit")


@dataclass(frozen=True)
class WebSettings:
    """Where the four APIs answer (``BRANCHWORK_<SERVICE>_URL``, by default this host's ports), the audit
    dashboard's address for admins and auditors, and the platform's token settings the sign-in checks
    tokens with. The pages listen next to the dashboard (``BRANCHWORK_WEB_PORT``, by default its port + 1)."""

    tokens: Settings = field(default_factory=lambda: Settings(service="web"))
    api_urls: Mapping[str, str] = field(default_factory=dict)
    dashboard_url: str = "http://127.0.0.1:8004"
    http_port: int = 8005
    dev_login: bool = False
    api_timeout: float = 15.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if environ is None else environ
        services = {service: Settings.from_env(service, env) for service in SERVICES}
        return cls(tokens=Settings.from_env("web", env),
                   api_urls={service: settings.base_url for service, settings in services.items()},
                   dashboard_url=env.get("BRANCHWORK_DASHBOARD_URL", services["audit"].base_url).rstrip("/"),
                   http_port=int(env.get("BRANCHWORK_WEB_PORT", services["audit"].http_port + 1)),
                   dev_login=env.get("BRANCHWORK_DEV_LOGIN", "") == "1",
                   api_timeout=float(env.get("BRANCHWORK_WEB_API_TIMEOUT", cls.api_timeout)))
