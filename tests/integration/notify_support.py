"""What the notify integration tests share: members/activities events as their relays would publish
them, a real SMTP server (aiosmtpd) and a real HTTP receiver that verifies webhook signatures."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from contracts import activities as activity_contracts
from contracts import members as member_contracts
from shared import db
from shared.consumer import Delivery
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_event_id
from services.notify.channels import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from services.notify.mailbox import read_mailbox, start_mailbox
from services.notify.settings import NotifySettings
from tests.support import free_port, new_id


@pytest.fixture
def conn(notify_settings):
    with db.connect(notify_settings.owner_dsn, autocommit=True) as connection:
        yield connection


@pytest.fixture
def smtp_server(tmp_path):
    """A real SMTP server on a free localhost port; ``.messages()`` reads what arrived."""
    port = free_port()
    controller = start_mailbox(tmp_path / "mailbox", "127.0.0.1", port)
    yield SmtpServer(port, tmp_path / "mailbox")
    controller.stop()


@dataclass
class SmtpServer:
    port: int
    folder: Path

    def messages(self) -> list:
        return read_mailbox(self.folder)


def delivery_settings(smtp_port: int, **changes) -> NotifySettings:
    base = NotifySettings(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_timeout=5, webhook_timeout=2,
                          retry_base_seconds=0.2, retry_cap_seconds=0.8, max_attempts=4,
                          webhook_allow_loopback=True)  # the tests' receivers listen on loopback
    return base.with_overrides(**changes)


# --- a webhook receiver ---------------------------------------------------------------------------

@dataclass
class Receiver:
    """A local HTTP receiver: answers the statuses in ``script`` first, then 204; verifies every request."""
    secret: str
    script: list[int] = field(default_factory=list)
    accepted: list[dict] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    attempts: int = 0
    seen: set[str] = field(default_factory=set)

    def handle(self, headers, body: bytes) -> int:
        self.attempts += 1
        if self.script:
            return self.script.pop(0)
        if not verify_signature(self.secret, headers.get(TIMESTAMP_HEADER), body, headers.get(SIGNATURE_HEADER),
                                time.time()):
            self.rejected.append("bad signature or stale timestamp")
            return 401
        delivery = headers.get(DELIVERY_HEADER)
        if delivery in self.seen:
            self.rejected.append(f"replay of {delivery}")
            return 200  # already have it: acknowledge without acting again
        self.seen.add(delivery)
        self.accepted.append(json.loads(body))
        return 204


@pytest.fixture
def receiver_factory():
    servers = []

    def start(secret: str, script: list[int] | None = None) -> tuple[Receiver, str]:
        receiver = Receiver(secret, list(script or []))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.handle(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return receiver, f"http://127.0.0.1:{server.server_address[1]}/hooks/branchwork"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- events as the members and activities relays publish them ----------------------------------------

class EventFactory:
    """Envelopes of other services' events for one bureau, numbered per stream as their stores would."""

    def __init__(self, tenant_id: str | None = None) -> None:
        self.tenant_id = tenant_id or new_id()
        self.versions: dict[str, int] = {}

    def envelope(self, stream_id: str, event, branch_id: str | None = None) -> Envelope:
        registry = (member_contracts.registry if event.event_type.startswith("members.")
                    else activity_contracts.registry)
        name, version, data = registry.serialise(event)
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        now = datetime.now(UTC)
        return Envelope(event_id=new_event_id(), event_type=name, schema_version=version, stream_id=stream_id,
                        stream_version=self.versions[stream_id], tenant_id=self.tenant_id, branch_id=branch_id,
                        occurred_at=now, recorded_at=now, actor=Actor("tester", "bureau_admin"),
                        correlation_id=new_id(), causation_id=None, data=data).sealed(GENESIS_HASH)

    def branch_with_members(self, members: list[tuple[str, date]], secretary: int = 0) -> tuple[str, list, list[str]]:
        """A bureau, a branch, its members (name, birth date) and a term whose secretary is members[secretary]."""
        branch_id, term_id = new_id(), new_id()
        m = member_contracts
        events = [self.envelope(f"bureau-{self.tenant_id}", m.BureauRegistered(self.tenant_id, "测试局", "t")),
                  self.envelope(f"branch-{branch_id}", m.BranchEstablished(branch_id, "离退休干部党支部",
                                                                          date(2010, 1, 1)), branch_id)]
        member_ids = []
        for name, birth in members:
            member_id = new_id()
            member_ids.append(member_id)
            events.append(self.envelope(f"member-{member_id}", m.MemberRegistered(
                member_id, branch_id, name, "female", birth, True, date(1970, 7, 1), "retired", None, "fair",
                "limited", None, None, date(2015, 1, 1)), branch_id))
        events.append(self.envelope(f"branch-{branch_id}", m.CommitteeTermOpened(
            branch_id, term_id, new_id(), date(2024, 1, 1), date(2026, 12, 31), True), branch_id))
        events.append(self.envelope(f"branch-{branch_id}", m.PostFilled(
            branch_id=branch_id, term_id=term_id, post="secretary", member_id=member_ids[secretary],
            filled_on=date(2024, 1, 1), person_name=members[secretary][0]), branch_id))
        return branch_id, events, member_ids


def as_records(envelopes: list[Envelope], topic: str = "branchwork.members.events") -> list[Delivery]:
    return [Delivery(topic, 0, offset, envelope.to_json().encode("utf-8")) for offset, envelope in enumerate(envelopes)]


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def set_day(self, day: date, hour: int = 1) -> None:
        self.moment = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def schedule_reminder(conn, settings, reminder, directory, clock=None) -> str | None:
    """Record one notification as the scheduler would, in its own transaction."""
    from services.notify import handlers
    from services.notify.bootstrap import bootstrap
    from services.notify.commands import ScheduleReminder
    from shared.unit_of_work import CommandContext

    recorded_at = (clock or (lambda: datetime.now(UTC)))()
    context = CommandContext(Actor("notify-scheduler", "system"), directory.tenant_id, new_id(), None, recorded_at)
    with conn.transaction():
        uow = bootstrap(settings, delivery_settings(0)).unit_of_work(conn, context)
        return handlers.schedule(uow, ScheduleReminder(reminder, directory, recorded_at.date()))


def events_of(conn, notification_id: str) -> list[dict]:
    return conn.execute("SELECT event_type, stream_version, data, recorded_at FROM events WHERE stream_id = %s"
                        " ORDER BY stream_version", (f"notification-{notification_id}",)).fetchall()
