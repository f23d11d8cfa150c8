"""Long-running worker processes (relays, consumers): JSON logs and a clean stop on SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from shared import jsonlog

log = logging.getLogger(__name__)


def run_until_signalled(service: str, name: str, work: Callable[[threading.Event], None]) -> None:
    """Run ``work(stop)``; SIGTERM or SIGINT sets ``stop`` and ``work`` finishes what it holds, then returns."""
    jsonlog.configure(service)
    stop = threading.Event()

    def request_stop(signum, _frame):
        log.info("%s: signal %s, finishing the work in hand", name, signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.info("%s started", name)
    work(stop)
    log.info("%s stopped", name)
