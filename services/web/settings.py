"""Settings of the secretaries' pages, read once from ``BRANCHWORK_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from collections.abc import Mapping

from shared.config import Settings

SERVICES = ("members", "activities", "notify", "audit")


@dataclass(frozen=True)
class WebSettings:
    """Where the four APIs answer (``BRANCHWORK_<SERVICE>_URL``, by default the local ports), the audit
    dashboard's address for admins and auditors, and the token key the sign-in checks tokens with."""

    api_urls: Mapping[str, str] = field(default_factory=dict)
    dashboard_url: str = "http://127.0.0.1:8004"
    http_port: int = 8005
    jwt_secret: str = ""
    jwt_issuer: str = "branchwork"
    dev_login: bool = False
    api_timeout: float = 15.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if environ is None else environ
        ports = {service: Settings.from_env(service, env).http_port for service in SERVICES}
        urls = {service: env.get(f"BRANCHWORK_{service.upper()}_URL", f"http://127.0.0.1:{port}").rstrip("/")
                for service, port in ports.items()}
        shared = Settings.from_env("web", env)
        return cls(api_urls=urls, dashboard_url=env.get("BRANCHWORK_DASHBOARD_URL", urls["audit"]).rstrip("/"),
                   http_port=int(env.get("BRANCHWORK_WEB_PORT", ports["audit"] + 1)),
                   jwt_secret=shared.jwt_secret, jwt_issuer=shared.jwt_issuer,
                   dev_login=env.get("BRANCHWORK_DEV_LOGIN", "") == "1",
                   api_timeout=float(env.get("BRANCHWORK_WEB_API_TIMEOUT", cls.api_timeout)))
