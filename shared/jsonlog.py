"""JSON log lines carrying the request and correlation ids of the work in hand; never secrets."""

from __future__ import annotations

import contextvars
import json
import logging
import re
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
            secret = any(word in key.lower() for word in SECRET_WORDS)
            line[key] = "[redacted]" if secret else _redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = _redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), r"\1 [redacted]"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), "[redacted-jwt]"),  # a JWT, with or without 'Bearer'
    (re.compile(r"(?i)\b(password|passwd|pwd|secret|token)(\s*=\s*|[\'\"]\s*:\s*)('[^']*'|\"[^\"]*\"|[^\s,;&]+)"),
     r"\1\2[redacted]"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/\s@]*):[^@\s/]+@"), r"\1:[redacted]@"),  # user:password@host
)


def _redact(message: str) -> str:
    """Blank out bearer tokens, JWTs, and passwords in connection strings, URLs and key=value pairs."""
    for pattern, replacement in _SECRET_PATTERNS:
        message = pattern.sub(replacement, message)
    return message


def configure(service: str, level: str = "INFO") -> None:
    """Send this process's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(logging.WARNING)
