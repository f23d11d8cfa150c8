"""A local SMTP mailbox (aiosmtpd) for the development stack and the tests: every message it receives
is stored as one ``.eml`` file, so what the platform e-mailed can be read back.

Not for production: point ``BRANCHWORK_SMTP_HOST``/``PORT`` at the bureau's mail relay and set
``BRANCHWORK_NOTIFY_MAILBOX=0``.
"""

from __future__ import annotations

import email
import email.policy
import logging
import os
import threading
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from services.notify.settings import NotifySettings

log = logging.getLogger(__name__)


class MailboxHandler:
    """aiosmtpd handler: write each message atomically to the mailbox folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.folder / f".{name}.tmp"
        temporary.write_bytes(envelope.original_content or envelope.content)
        os.replace(temporary, self.folder / name)
        return "250 Message accepted for delivery"


def start_mailbox(folder: Path, host: str, port: int):
    """Start an SMTP server on ``host:port`` storing into ``folder``; return its controller (``.stop()``)."""
    from aiosmtpd.controller import Controller  # a development dependency, imported only when used

    controller = Controller(MailboxHandler(folder), hostname=host, port=port)
    controller.start()
    return controller


def read_mailbox(folder: Path) -> list[EmailMessage]:
    """Every message in the mailbox, oldest first."""
    if not folder.exists():
        return []
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))]


class Mailbox:
    def __init__(self, notify: NotifySettings) -> None:
        self.notify = notify

    def run(self, stop: threading.Event) -> None:
        if not self.notify.mailbox_enabled:
            log.info("local mailbox disabled (BRANCHWORK_NOTIFY_MAILBOX=0)")
            stop.wait()
            return
        controller = start_mailbox(self.notify.mailbox_dir, self.notify.smtp_host, self.notify.smtp_port)
        log.info("local mailbox on %s:%s storing into %s", self.notify.smtp_host, self.notify.smtp_port,
                 self.notify.mailbox_dir)
        try:
            stop.wait()
        finally:
            controller.stop()
