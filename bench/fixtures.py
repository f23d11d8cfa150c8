"""A million events of branch work, written once with COPY into databases of their own and reused.

BUREAUS bureaus of BRANCHES branches, each with MEMBERS members and YEARS years of the seed's routine:
monthly committee meetings, study and theme days, quarterly general meetings and briefings, outreach
to the two members who cannot come, birthdays, holiday visits and health checks, dues assessed each
year and paid each month. The events are those the services record (each type's data comes from its
contract, through the registry), hash-chained per stream, and land where the platform would keep them:
the members and activities event stores, and the audit journal in arrival order per bureau with its
back-links, chain index and Merkle tree, as the journal consumer leaves them.

A marker row names the shape and the contracts it was made from; a later run finds it and reuses the
databases, a changed shape or contract makes them again.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from collections.abc import Iterator

import psycopg

from contracts import activities as activity_contracts
from contracts import members as member_contracts
from services.audit import formats
from shared import db, merkle
from shared.canonical import canonical_json, event_hash
from shared.config import Settings
from shared.envelope import GENESIS_HASH, format_timestamp, start_of_day

BUREAUS, BRANCHES, MEMBERS, YEARS = 15, 100, 10, 3
FIRST_YEAR = date.today().year - YEARS
RECORDED_AT = format_timestamp(datetime(date.today().year, 1, 1, tzinfo=UTC))
ACTOR = {"role": "bureau_admin", "user": "bench-fixture"}
MONTHLY = ("committee_meeting", "study", "theme_day")
QUARTERLY = ("general_meeting", "briefing")
CARE = (("birthday", 5, None), ("health_check", 10, None), ("holiday_visit", 6, "july_1"))


def _templates() -> dict[str, dict]:
    """One valid payload per event type, made by its contract: each event of the fixture is a copy with
    its own ids and dates, so a contract that changes shape changes the fixture with it."""
    m, a = member_contracts, activity_contracts
    some, day = str(uuid.uuid4()), date(FIRST_YEAR, 1, 10)
    events = [
        m.BureauRegistered(bureau_id=some, name="基准局", code="bench"),
        m.BranchEstablished(branch_id=some, name="基准支部", established_on=day),
        m.MemberRegistered(member_id=some, branch_id=some, name="成员", gender="male", birth_date=date(1950, 5, 4),
                           party_member=True, party_join_date=date(1975, 7, 1), retirement_kind="retired",
                           pension_base=Decimal("4800.00"), health="good", mobility="mobile", phone=None, address=None,
                           joined_on=day),
        m.DuesAssessed(member_id=some, branch_id=some, year=FIRST_YEAR, base=Decimal("4800.00"),
                       rate=Decimal("0.005"), monthly_amount=Decimal("24.00")),
        m.DuesPaid(member_id=some, branch_id=some, months=["2020-01"], amount=Decimal("24.00"), paid_on=day,
                   payer="self", breakdown={"2020-01": "24.00"}),
        a.ActivityRecorded(activity_id=some, branch_id=some, kind="study", occurred_on=day, title="集体学习",
                           place="党员活动中心", topics=["党的二十大精神"], attendees=[], guests=[], absentees=[],
                           minutes=None, hours=Decimal("2"), voting_members=None, voting_present=None, quorate=None,
                           late=False, late_reasons=[]),
        a.OutreachRecorded(outreach_id=some, branch_id=some, member_id=some, channel="home_study", occurred_on=day,
                           topic="送学上门", note=None, late=False, late_reasons=[], hours=Decimal("2")),
        a.CareRecorded(care_id=some, branch_id=some, member_id=some, kind="health_check", occurred_on=day,
                       note="年度体检", holiday=None, holiday_date=None, year=None, late=False, late_reasons=[]),
    ]
    templates = {}
    for event in events:
        registry = m.registry if event.event_type.startswith("members.") else a.registry
        name, version, data = registry.serialise(event)
        templates[name] = {"version": version, "data": data}
    return templates


def marker() -> str:
    """The fixture's shape and the contracts it was made from."""
    shape = {"shape": [BUREAUS, BRANCHES, MEMBERS, YEARS, FIRST_YEAR], "templates": _templates()}
    for template in shape["templates"].values():  # the payload's ids are random: keep its field names only
        template["data"] = sorted(template["data"])
    return hashlib.sha256(canonical_json(shape).encode()).hexdigest()[:16]


@dataclass
class Event:
    service: str
    envelope: dict
    text: str


class History:
    """Builds the events of the fixture, chaining each stream's hashes as the event store does."""

    def __init__(self) -> None:
        self.templates = _templates()
        self.heads: dict[str, tuple[int, str]] = {}

    def event(self, tenant: str, branch: str | None, event_type: str, stream: str, day: date, **data) -> Event:
        version, prev = self.heads.get(stream, (0, GENESIS_HASH))
        template = self.templates[event_type]
        body = {"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": template["version"],
                "stream_id": stream, "stream_version": version + 1, "tenant_id": tenant, "branch_id": branch,
                "occurred_at": format_timestamp(start_of_day(day)), "recorded_at": RECORDED_AT, "actor": ACTOR,
                "correlation_id": None, "causation_id": None, "data": {**template["data"], **data},
                "prev_hash": prev}
        body["hash"] = event_hash(body)
        self.heads[stream] = (version + 1, body["hash"])
        return Event(event_type.split(".", 1)[0], body, canonical_json(body))

    def bureau(self, index: int) -> Iterator[Event]:
        tenant = str(uuid.uuid4())
        yield self.event(tenant, None, "members.BureauRegistered", f"bureau-{tenant}", date(FIRST_YEAR, 1, 1),
                         bureau_id=tenant, name=f"基准局{index:02d}", code=f"bench-{index:02d}")
        for number in range(BRANCHES):
            yield from self.branch(tenant, number)

    def branch(self, tenant: str, number: int) -> Iterator[Event]:
        self.heads.clear()  # no stream of the fixture spans two branches: keep memory flat
        branch = str(uuid.uuid4())
        start = date(FIRST_YEAR, 1, 1)
        yield self.event(tenant, branch, "members.BranchEstablished", f"branch-{branch}", start, branch_id=branch,
                         name=f"第{number:03d}支部", established_on=start.isoformat())
        members = [str(uuid.uuid4()) for _ in range(MEMBERS)]
        for index, member in enumerate(members):
            yield self.event(tenant, branch, "members.MemberRegistered", f"member-{member}", start, member_id=member,
                             branch_id=branch, name=f"成员{number}-{index}", joined_on=start.isoformat(),
                             mobility="homebound" if index < 2 else "mobile")
        for year in range(FIRST_YEAR, FIRST_YEAR + YEARS):
            yield from self.year(tenant, branch, members, year)

    def year(self, tenant: str, branch: str, members: list[str], year: int) -> Iterator[Event]:
        for member in members:
            yield self.event(tenant, branch, "members.DuesAssessed", f"member-{member}", date(year, 1, 2),
                             member_id=member, branch_id=branch, year=year)
        for month in range(1, 13):
            yield from self.month(tenant, branch, members, year, month)
        for member in members:
            for kind, month, holiday in CARE:
                yield self.care(tenant, branch, member, kind, date(year, month, 15), holiday)

    def month(self, tenant: str, branch: str, members: list[str], year: int, month: int) -> Iterator[Event]:
        kinds = MONTHLY + (QUARTERLY if month % 3 == 0 else ())
        for offset, kind in enumerate(kinds):
            yield self.activity(tenant, branch, kind, date(year, month, 5 + 4 * offset), members[2:])
        for member in members[:2]:
            outreach = str(uuid.uuid4())
            yield self.event(tenant, branch, "activities.OutreachRecorded", f"outreach-{outreach}",
                             date(year, month, 12), outreach_id=outreach, branch_id=branch, member_id=member,
                             occurred_on=date(year, month, 12).isoformat())
        for member in members:
            paid = f"{year}-{month:02d}"
            yield self.event(tenant, branch, "members.DuesPaid", f"member-{member}", date(year, month, 10),
                             member_id=member, branch_id=branch, months=[paid], breakdown={paid: "24.00"},
                             paid_on=date(year, month, 10).isoformat())

    def activity(self, tenant: str, branch: str, kind: str, day: date, attendees: list[str]) -> Event:
        activity = str(uuid.uuid4())
        general = kind == "general_meeting"
        return self.event(tenant, branch, "activities.ActivityRecorded", f"activity-{activity}", day,
                          activity_id=activity, branch_id=branch, kind=kind, occurred_on=day.isoformat(),
                          attendees=attendees, voting_members=len(attendees) + 2 if general else None,
                          voting_present=len(attendees) if general else None, quorate=True if general else None)

    def care(self, tenant: str, branch: str, member: str, kind: str, day: date, holiday: str | None) -> Event:
        care = str(uuid.uuid4())
        return self.event(tenant, branch, "activities.CareRecorded", f"care-{care}", day, care_id=care,
                          branch_id=branch, member_id=member, kind=kind, occurred_on=day.isoformat(),
                          holiday=holiday, holiday_date=day.isoformat() if holiday else None)


# --- the databases -------------------------------------------------------------------------------------

EVENT_COPY = ("COPY events (event_id, event_type, schema_version, stream_id, stream_version, tenant_id, branch_id,"
              " occurred_at, recorded_at, actor, correlation_id, causation_id, data, prev_hash, hash) FROM STDIN")
JOURNAL_COPY = ("COPY journal (tenant_id, seq, event_id, event_type, stream_id, stream_version, branch_id, actor_user,"
                " occurred_at, recorded_at, hash, envelope, entry_format, branch_prev_seq, stream_prev_seq) FROM STDIN")
NODES_COPY = "COPY journal_nodes (tenant_id, level, idx, hash) FROM STDIN"
KEYS_COPY = "COPY journal_keys (tenant_id, kind, key, last_seq) FROM STDIN"


class BureauJournal:
    """One bureau's journal as the journal consumer would leave it: entries numbered in arrival order, each
    naming the previous entry of its branch and stream inside its leaf, and the Merkle tree over the leaves."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.size = 0
        self.last: dict[tuple[str, str], int] = {}
        self.nodes: dict[tuple[int, int], bytes] = {}

    def entry(self, envelope: dict, text: str) -> tuple:
        self.size += 1
        branch, stream = formats.chain_keys(envelope)
        links = (self.last.get(branch, 0), self.last.get(stream, 0))
        self.last[branch] = self.last[stream] = self.size
        leaf = merkle.leaf_hash(formats.entry_leaf_data(formats.entry_header(self.size, envelope, *links)))
        for level, index, value in merkle.nodes_after_append(self.size - 1, leaf,
                                                             lambda lv, ix: self.nodes[(lv, ix)]):
            self.nodes[(level, index)] = value
        return (self.tenant, self.size, envelope["event_id"], envelope["event_type"], envelope["stream_id"],
                envelope["stream_version"], envelope["branch_id"], ACTOR["user"], envelope["occurred_at"],
                envelope["recorded_at"], envelope["hash"], text, formats.ENTRY_FORMAT, *links)

    def write_rest(self, conn: psycopg.Connection) -> None:
        """The tree's nodes, the chains' last entries and the head, after the entries."""
        with conn.cursor().copy(NODES_COPY) as nodes:
            for (level, index), value in self.nodes.items():
                nodes.write_row((self.tenant, level, index, value))
        with conn.cursor().copy(KEYS_COPY) as keys:
            for (kind, key), last_seq in self.last.items():
                keys.write_row((self.tenant, kind, key, last_seq))
        conn.execute("INSERT INTO journal_heads (tenant_id, size, tree_size) VALUES (%s, %s, %s)",
                     (self.tenant, self.size, self.size))


def fixture_settings(base: Settings, service: str) -> Settings:
    return Settings.from_env(service, {}).with_overrides(
        admin_dsn=base.admin_dsn, db_password=base.db_password, kafka_bootstrap=base.kafka_bootstrap,
        database=f"bwbench1m_{service}")


def ready(settings: Settings, wanted: str) -> bool:
    try:
        with db.connect(settings.owner_dsn) as conn:
            row = conn.execute("SELECT marker, events, (SELECT datcollate FROM pg_database"
                               " WHERE datname = current_database()) AS collation FROM bench_fixture").fetchone()
            return row is not None and row["marker"] == wanted and row["collation"] == db.COLLATION
    except psycopg.Error:
        return False


def drop(settings: Settings) -> None:
    with psycopg.connect(settings.admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{settings.database}" WITH (FORCE)')


def ensure(base: Settings, migrations: dict, progress=print) -> dict[str, Settings]:
    """The fixture's databases by service (members, activities, audit), made unless already there."""
    wanted = marker()
    settings = {service: fixture_settings(base, service) for service in ("members", "activities", "audit")}
    if all(ready(s, wanted) for s in settings.values()):
        progress(f"fixture: reusing {', '.join(s.database for s in settings.values())} ({wanted})")
        for service, service_settings in settings.items():
            db.migrate(service_settings, [db.SHARED_MIGRATIONS, migrations[service]])  # what the code now expects
        return settings
    for service, service_settings in settings.items():
        drop(service_settings)
        db.provision(service_settings, [migrations[service]])
    progress(f"fixture: writing {BUREAUS * (1 + BRANCHES * (1 + MEMBERS))}+ events of {BUREAUS} bureaus …")
    counts = _write(settings)
    for service, service_settings in settings.items():
        with db.connect(service_settings.owner_dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            conn.execute("CREATE TABLE bench_fixture (marker text NOT NULL, events bigint NOT NULL)")
            conn.execute("INSERT INTO bench_fixture VALUES (%s, %s)", (wanted, counts[service]))
    progress(f"fixture: {counts}")
    return settings


def _write(settings: dict[str, Settings]) -> dict[str, int]:
    history = History()
    counts = {"members": 0, "activities": 0, "audit": 0}
    conns = {service: db.connect(s.owner_dsn) for service, s in settings.items()}
    try:
        for index in range(BUREAUS):
            bureau = None
            with conns["members"].cursor().copy(EVENT_COPY) as members, \
                    conns["activities"].cursor().copy(EVENT_COPY) as activities, \
                    conns["audit"].cursor().copy(JOURNAL_COPY) as entries:
                stores = {"members": members, "activities": activities}
                for event in history.bureau(index):
                    bureau = bureau or BureauJournal(event.envelope["tenant_id"])
                    stores[event.service].write_row(event_row(event.envelope))
                    entries.write_row(bureau.entry(event.envelope, event.text))
                    counts[event.service] += 1
            bureau.write_rest(conns["audit"])
            counts["audit"] += bureau.size
            for conn in conns.values():
                conn.commit()
        for service in ("members", "activities"):
            write_heads(conns[service])
    finally:
        for conn in conns.values():
            conn.close()
    return counts


def event_row(envelope: dict) -> tuple:
    return (envelope["event_id"], envelope["event_type"], envelope["schema_version"], envelope["stream_id"],
            envelope["stream_version"], envelope["tenant_id"], envelope["branch_id"], envelope["occurred_at"],
            envelope["recorded_at"], canonical_json(envelope["actor"]), envelope["correlation_id"],
            envelope["causation_id"], canonical_json(envelope["data"]), envelope["prev_hash"], envelope["hash"])


def write_heads(conn: psycopg.Connection) -> None:
    """Each stream's head row, from the stored events (so a verify finds the chains whole)."""
    conn.execute("INSERT INTO streams (stream_id, tenant_id, version, head_hash)"
                 " SELECT DISTINCT ON (stream_id) stream_id, tenant_id, stream_version, hash FROM events"
                 " ORDER BY stream_id, stream_version DESC")
    conn.commit()
