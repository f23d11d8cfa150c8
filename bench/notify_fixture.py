"""Notify's share of the benchmark's history, in a database of its own (``bwbench1m_notify``), written once and reused.

The bureaus and branches of ``bench.fixtures`` (their shape; notify keeps ids of its own), each month of its years
a reminder to every branch's secretary — the monthly committee meeting, by e-mail and in the inbox — sent on both
channels and read in the inbox: four events a reminder, on the notification's stream, hash-chained as notify's
store keeps them; and each bureau's two audiences configured. The events are kept apart from the main fixture's
databases (its audit journal stays as it is): they are what ``branchwork rebuild notify`` replays.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, time

from bench import fixtures
from contracts import notify as contracts
from shared import db
from shared.canonical import canonical_json
from shared.config import Settings

RECIPIENTS = ("bureau", "secretaries")


def _templates() -> dict[str, dict]:
    """One valid payload per event type, made by notify's contract (as ``bench.fixtures`` does for the others)."""
    some, day, at = str(uuid.uuid4()), date(fixtures.FIRST_YEAR, 1, 3), datetime(fixtures.FIRST_YEAR, 1, 3, tzinfo=UTC)
    events = [
        contracts.RecipientConfigured(audience="bureau", name="局党委", emails=["bureau@example.org"],
                                      channels=["email", "inbox"]),
        contracts.NotificationScheduled(
            notification_id=some, rule="committee_meeting_due", dedupe_key=some, subject=some, period="2020-01",
            branch_id=some, title="本月支委会尚未召开", body="请按期召开支委会。", cause={"records": [], "as_of": day},
            details={}, deliveries=[], due_on=day),
        contracts.NotificationSent(notification_id=some, delivery_id=some, channel="email", target="a@example.org",
                                   attempt=1, sent_at=at),
        contracts.NotificationRead(notification_id=some, read_by="secretary", read_at=at),
    ]
    templates = {}
    for event in events:
        name, version, data = contracts.registry.serialise(event)
        templates[name] = {"version": version, "data": data}
    return templates


def marker() -> str:
    shape = {"shape": [fixtures.BUREAUS, fixtures.BRANCHES, fixtures.YEARS, fixtures.FIRST_YEAR],
             "templates": _templates()}
    for template in shape["templates"].values():
        template["data"] = sorted(template["data"])
    return hashlib.sha256(canonical_json(shape).encode()).hexdigest()[:16]


class History(fixtures.History):
    def __init__(self) -> None:
        self.templates = _templates()
        self.heads = {}

    def bureau(self, index: int):
        tenant = str(uuid.uuid4())
        for audience in RECIPIENTS:
            yield self.event(tenant, None, "notify.RecipientConfigured", f"recipient-{tenant}-{audience}",
                             date(fixtures.FIRST_YEAR, 1, 1), audience=audience, name=f"基准局{index:02d}",
                             emails=[f"{audience}-{index:02d}@example.org"])
        for _ in range(fixtures.BRANCHES):
            self.heads.clear()  # no stream spans two branches
            branch = str(uuid.uuid4())
            for year in range(fixtures.FIRST_YEAR, fixtures.FIRST_YEAR + fixtures.YEARS):
                for month in range(1, 13):
                    yield from self.reminder(tenant, branch, date(year, month, 20))

    def reminder(self, tenant: str, branch: str, day: date):
        notification = str(uuid.uuid4())
        stream = f"notification-{notification}"
        period = f"{day.year}-{day.month:02d}"
        at = datetime.combine(day, time(9), tzinfo=UTC).isoformat()
        deliveries = [{"delivery_id": str(uuid.uuid4()), "channel": channel, "audience": f"secretary:{branch}",
                       "recipient": "支部书记", "target": target}
                      for channel, target in (("email", f"secretary-{branch[:8]}@example.org"),
                                              ("inbox", f"secretary:{branch}"))]
        yield self.event(tenant, branch, "notify.NotificationScheduled", stream, day, notification_id=notification,
                         dedupe_key=f"committee_meeting_due:{branch}:{period}", subject=branch, period=period,
                         branch_id=branch, cause={"records": [], "as_of": day.isoformat()}, deliveries=deliveries,
                         due_on=day.isoformat())
        for delivery in deliveries:
            yield self.event(tenant, branch, "notify.NotificationSent", stream, day, notification_id=notification,
                             delivery_id=delivery["delivery_id"], channel=delivery["channel"],
                             target=delivery["target"], sent_at=at)
        yield self.event(tenant, branch, "notify.NotificationRead", stream, day, notification_id=notification,
                         read_at=at)


def ensure(base: Settings, migrations, progress=print) -> Settings:
    """Notify's fixture database, made unless already there."""
    settings, wanted = fixtures.fixture_settings(base, "notify"), marker()
    if fixtures.ready(settings, wanted):
        progress(f"fixture: reusing {settings.database} ({wanted})")
        db.migrate(settings, [db.SHARED_MIGRATIONS, migrations])
        return settings
    fixtures.drop(settings)
    db.provision(settings, [migrations])
    history, events = History(), 0
    with db.connect(settings.owner_dsn) as conn:
        for index in range(fixtures.BUREAUS):
            with conn.cursor().copy(fixtures.EVENT_COPY) as store:
                for event in history.bureau(index):
                    store.write_row(fixtures.event_row(event.envelope))
                    events += 1
            conn.commit()
        fixtures.write_heads(conn)
    with db.connect(settings.owner_dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CREATE TABLE bench_fixture (marker text NOT NULL, events bigint NOT NULL)")
        conn.execute("INSERT INTO bench_fixture VALUES (%s, %s)", (wanted, events))
    progress(f"fixture: {settings.database}, {events} events")
    return settings

