"""JSON log lines carrying the request and correlation ids of the work in hand; never secrets."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import datetime, UTC

log_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)
SECRET_WORDS = ("password", "token", "secret", "authorization")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": _redact(record.getMessage()),
            **(log_context.get() or {}),
        }
        for key, value in getattr(record, "fields", {}).items():
            line[key] = "[redacted]" if any(word in key.lower() for word in SECRET_WORDS) else value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def _redact(message: str) -> str:
    """Blank out anything that looks like a bearer token or a password in a connection string."""
    if "Bearer " in message:
        message = message.split("Bearer ")[0] + "Bearer [redacted]"
    if "password=" in message:
        message = " ".join("password=[redacted]" if part.startswith("password=") else part
                           for part in message.split(" "))
    return message


def configure(service: str, level: str = "INFO") -> None:
    """Send this process's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(logging.WARNING)
