"""Entry points: the audit service's consumers, one process each."""

from __future__ import annotations

import sys

from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.process import run_until_signalled
from services.audit import journal

SERVICE = "audit"
SOURCES = ("members", "activities", "notify")


def consumers(settings: Settings) -> dict[str, ConsumerRunner]:
    topics = [settings.topic(source) for source in SOURCES]
    return {"audit-journal": ConsumerRunner(settings, "audit-journal", topics, journal.append)}


def main(argv: list[str] | None = None) -> None:
    name = (argv or sys.argv[1:] or ["audit-journal"])[0]
    runner = consumers(Settings.from_env(SERVICE))[name]
    run_until_signalled(SERVICE, name, runner.run)
