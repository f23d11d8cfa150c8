"""The notify service's own settings (SMTP, retries, scheduling), read once from ``BRANCHWORK_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Mapping

from services.notify.egress import EgressPolicy

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class NotifySettings:
    """Where e-mail goes, how deliveries are retried and how often rules are evaluated (the time zone is the
    platform's ``BRANCHWORK_TIMEZONE``, in the shared settings)."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_sender: str = "branchwork@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0
    webhook_timeout: float = 5.0
    webhook_allow_loopback: bool = False
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    max_attempts: int = 8
    scheduler_interval_seconds: float = 600.0
    scheduler_window_seconds: float = 2.0
    mailbox_enabled: bool = True
    mailbox_dir: Path = REPO_ROOT / ".run" / "mailbox"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotifySettings:
        env = os.environ if environ is None else environ
        run_dir = Path(env.get("BRANCHWORK_RUN_DIR", REPO_ROOT / ".run"))
        mailbox = _flag(env.get("BRANCHWORK_NOTIFY_MAILBOX"), cls.mailbox_enabled)
        return cls(
            smtp_host=env.get("BRANCHWORK_SMTP_HOST", cls.smtp_host),
            smtp_port=int(env.get("BRANCHWORK_SMTP_PORT", cls.smtp_port)),
            smtp_sender=env.get("BRANCHWORK_SMTP_SENDER", cls.smtp_sender),
            smtp_user=env.get("BRANCHWORK_SMTP_USER") or None,
            smtp_password=env.get("BRANCHWORK_SMTP_PASSWORD") or None,
            smtp_starttls=_flag(env.get("BRANCHWORK_SMTP_STARTTLS"), cls.smtp_starttls),
            smtp_timeout=float(env.get("BRANCHWORK_SMTP_TIMEOUT", cls.smtp_timeout)),
            webhook_timeout=float(env.get("BRANCHWORK_NOTIFY_WEBHOOK_TIMEOUT", cls.webhook_timeout)),
            # Loopback receivers only when explicitly allowed (the test stack's own receivers), never implied.
            webhook_allow_loopback=_flag(env.get("BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LOOPBACK"),
                                         cls.webhook_allow_loopback),
            retry_base_seconds=float(env.get("BRANCHWORK_NOTIFY_RETRY_BASE_SECONDS", cls.retry_base_seconds)),
            retry_cap_seconds=float(env.get("BRANCHWORK_NOTIFY_RETRY_CAP_SECONDS", cls.retry_cap_seconds)),
            max_attempts=int(env.get("BRANCHWORK_NOTIFY_MAX_ATTEMPTS", cls.max_attempts)),
            scheduler_interval_seconds=float(env.get("BRANCHWORK_NOTIFY_SCHEDULER_INTERVAL",
                                                     cls.scheduler_interval_seconds)),
            scheduler_window_seconds=float(env.get("BRANCHWORK_NOTIFY_SCHEDULER_WINDOW",
                                                   cls.scheduler_window_seconds)),
            mailbox_enabled=mailbox,
            mailbox_dir=Path(env.get("BRANCHWORK_NOTIFY_MAILBOX_DIR", run_dir / "mailbox")),
        )

    def with_overrides(self, **changes) -> NotifySettings:
        return replace(self, **changes)

    def egress(self) -> EgressPolicy:
        """Which addresses webhooks may be sent to."""
        return EgressPolicy(allow_loopback=self.webhook_allow_loopback)

    def backoff_seconds(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1, 2, …): doubling from the base, never above the cap."""
        return min(self.retry_base_seconds * (2 ** (attempt - 1)), self.retry_cap_seconds)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")
