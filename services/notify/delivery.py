"""The delivery worker: sends pending e-mails and webhooks, retries with capped exponential backoff,
and records every outcome as an event of the notification.

Each delivery is sent inside a transaction that holds its row (``FOR UPDATE SKIP LOCKED``, so two
workers never send the same one) and its notification's stream head (so the outcome is appended
at the right version), and records the outcome before committing. A crash after the server
accepted a message but before the commit sends it again: e-mails carry the delivery id as their
Message-ID and webhooks in a header, so a receiver can drop that copy.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import psycopg

from shared.bootstrap import Service
from shared.envelope import Actor
from shared.unit_of_work import CommandContext, UnitOfWork
from shared.worker import WorkerLoop
from services.notify import commands as c, handlers, queries
from services.notify.channels import DeliveryError, EmailSender, WebhookSender
from services.notify.projections import DELIVERIES_CHANNEL

log = logging.getLogger(__name__)

DELIVERY_ACTOR = Actor(user="notify-delivery", role="system")
CLAIM = ("SELECT d.*, n.rule, n.dedupe_key, n.subject, n.period, n.branch_id, n.title, n.body, n.cause, n.details,"
         " n.due_on FROM deliveries d JOIN notifications n USING (notification_id)"
         " WHERE d.status = 'pending' AND d.next_attempt_at <= %s ORDER BY d.next_attempt_at LIMIT 1"
         " FOR UPDATE OF d SKIP LOCKED")


class DeliveryWorker:
    def __init__(self, service: Service, *, dsn: str | None = None, email: EmailSender | None = None,
                 webhook: WebhookSender | None = None) -> None:
        self.service = service
        self.settings, self.notify, self.clock = service.settings, service.own_settings, service.clock
        self.dsn = dsn or self.settings.owner_dsn
        self.email = email or EmailSender(self.notify)
        self.webhook = webhook or WebhookSender(self.notify)

    def deliver_due(self, conn: psycopg.Connection, limit: int = 1000) -> int:
        """Send every delivery that is due, one transaction each; return how many were attempted."""
        attempted = 0
        while attempted < limit:
            with conn.transaction():
                row = conn.execute(CLAIM, (self.clock(),)).fetchone()
                if row is None:
                    return attempted
                self._deliver(conn, row)
            attempted += 1
        return attempted

    def _deliver(self, conn: psycopg.Connection, row: dict) -> None:
        uow = self.service.unit_of_work(conn, CommandContext(
            actor=DELIVERY_ACTOR, tenant_id=row["tenant_id"], correlation_id=row["notification_id"],
            causation_id=row["delivery_id"], recorded_at=self.clock()))
        # The stream head lock, held while sending, serialises the outcomes of one notification's deliveries.
        handlers.locked(uow, handlers.notification_stream(row["notification_id"]))
        try:
            self._send(conn, row)
        except DeliveryError as error:
            self._record_failure(uow, row, error)
            return
        except psycopg.Error:
            raise
        except Exception as error:  # a fault of ours must not stop the queue: count it as an attempt
            log.exception("delivery %s raised", row["delivery_id"])
            self._record_failure(uow, row, DeliveryError(f"{type(error).__name__}: {error}", permanent=False))
            return
        handlers.record_delivery(uow, c.RecordDelivery(row, "sent", self.clock()))
        log.info("delivered %s %s", row["channel"], row["delivery_id"])

    def _send(self, conn: psycopg.Connection, row: dict) -> None:
        if row["channel"] == "email":
            self.email.send(row, row["target"])
        elif row["channel"] == "webhook":
            # The whole URL (its query, say) lives only beside the secret; events and views hold its public part.
            hook = queries.webhook_secret(conn, row["recipient"])
            if hook is None:
                raise DeliveryError("the webhook was removed", permanent=True)
            self.webhook.send(row, hook["url"] or row["target"], hook["secret"], self.clock().timestamp())
        else:
            raise DeliveryError(f"no sender for channel {row['channel']}", permanent=True)

    def _record_failure(self, uow: UnitOfWork, row: dict, error: DeliveryError) -> None:
        attempt = row["attempts"] + 1
        now = self.clock()
        if error.permanent or attempt >= self.notify.max_attempts:
            handlers.record_delivery(uow, c.RecordDelivery(row, "failed", now, str(error)))
            log.warning("delivery %s failed for good after %d attempt(s): %s", row["delivery_id"], attempt, error)
            return
        retry_at = now + timedelta(seconds=self.notify.backoff_seconds(attempt))
        handlers.record_delivery(uow, c.RecordDelivery(row, "retry", now, str(error), retry_at))
        log.info("delivery %s attempt %d failed (%s); next at %s", row["delivery_id"], attempt, error, retry_at)

    def next_due_in(self, conn: psycopg.Connection) -> float | None:
        row = conn.execute("SELECT min(next_attempt_at) AS due FROM deliveries WHERE status = 'pending'").fetchone()
        if row["due"] is None:
            return None
        return max((row["due"] - self.clock()).total_seconds(), 0.0)

    def run(self, stop: threading.Event) -> None:
        """Deliver until stopped, woken by new notifications or by the next retry falling due."""
        # psycopg.Error, not only OperationalError: on a fresh stack the schema may not be migrated yet.
        WorkerLoop("notify-delivery", self.dsn, self._step, channels=(DELIVERIES_CHANNEL,),
                   errors=(psycopg.Error,)).run(stop)

    def _step(self, conn: psycopg.Connection, _woken: set[str]) -> float:
        self.deliver_due(conn)
        wait = self.next_due_in(conn)
        return min(wait if wait is not None else 1.0, 1.0)
