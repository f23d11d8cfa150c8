"""The checkpoint worker: every bureau's journal gets a signed checkpoint at least once a day, even when
nobody asks for one, so that each day ends with a head on record (what was journalled by then, and the
lower bound a bundle of any later period starts from).

One worker signs at a time (a session advisory lock); it looks every ``checkpoint_interval`` seconds and
signs for each bureau whose newest checkpoint is older than the start of the bureaus' today.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, UTC

import psycopg

from contracts.rulebook.calendar import day_start, local_date
from shared.config import Settings
from shared.db import tenant_snapshot
from shared.worker import WorkerLoop
from services.audit import heads
from services.audit.settings import AuditSettings
from services.audit.signing import Keyring

log = logging.getLogger(__name__)

LEADER_LOCK = 0x6175_6469_7463  # one active checkpoint worker per database


class CheckpointWorker:
    def __init__(self, settings: Settings, audit: AuditSettings,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.audit = audit
        self.keyring = Keyring(audit.signing_keys)
        self.clock = clock

    def run(self, stop: threading.Event) -> None:
        """Sign the day's checkpoints until ``stop``; stand by while another worker holds the lock."""
        interval = self.audit.checkpoint_interval
        WorkerLoop("audit-checkpoints", self.settings.owner_dsn, lambda conn, _woken: self._step(conn, interval),
                   leader_lock=LEADER_LOCK, standby_seconds=interval).run(stop)

    def _step(self, conn: psycopg.Connection, interval: float) -> float:
        self.sign_due(conn)
        return interval

    def sign_due(self, conn: psycopg.Connection) -> list[str]:
        """Sign a checkpoint for every bureau without one since today began; return those bureaus."""
        now = self.clock()
        today = day_start(local_date(now))
        due = [row["tenant_id"] for row in conn.execute(
            "SELECT tenant_id FROM journal_heads j WHERE NOT EXISTS (SELECT 1 FROM tree_heads t"
            " WHERE t.tenant_id = j.tenant_id AND t.checkpoint IS NOT NULL AND t.signed_at >= %s)"
            " ORDER BY tenant_id", (today,))]
        for tenant_id in due:
            with tenant_snapshot(conn, tenant_id):
                head = heads.sign_and_keep(conn, tenant_id, self.keyring, self.audit.log_origin, now)
            log.info("audit-checkpoints: signed %s at size %s", tenant_id, head["tree_size"])
        return due
