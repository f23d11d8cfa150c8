"""Builders for the activities integration tests: the roster fed with members' events, a seeded bureau.

The roster is fed as in production, through ``ConsumerRunner.process`` with hand-made members
envelopes, so out-of-order and duplicate delivery can be staged exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, UTC

import pytest

from contracts import members as m
from services.activities import sources
from shared import db
from shared.consumer import ConsumerRunner, Delivery
from shared.envelope import Actor, Envelope, new_event_id
from tests.fixtures import ACTIVITIES_NOW as NOW, activities_app as app  # noqa: F401 — the app tested
from tests.support import bearer, new_id, token

@dataclass
class MembersFeed:
    """Builds the members service's envelopes for one bureau and delivers them to the roster consumer."""

    settings: object
    tenant: str = field(default_factory=new_id)
    versions: dict = field(default_factory=dict)
    offset: int = 0

    def envelope(self, stream: str, event, branch_id: str | None = None) -> Envelope:
        name, schema_version, data = m.registry.serialise(event)
        self.versions[stream] = self.versions.get(stream, 0) + 1
        now = datetime.now(UTC)
        return Envelope(event_id=new_event_id(), event_type=name, schema_version=schema_version, stream_id=stream,
                        stream_version=self.versions[stream], tenant_id=self.tenant, branch_id=branch_id,
                        occurred_at=now, recorded_at=now, actor=Actor("members-admin", "bureau_admin"),
                        correlation_id=new_id(), causation_id=None, data=data).sealed("0" * 64)

    def deliver(self, envelopes: list[Envelope], consumer: str = "activities-roster") -> None:
        topic = self.settings.topic("members")
        records = []
        for envelope in envelopes:
            self.offset += 1
            records.append(Delivery(topic, 0, self.offset, envelope.to_json().encode()))
        runner = ConsumerRunner(self.settings, consumer, [topic], sources.apply)
        with db.connect(self.settings.owner_dsn) as conn:
            runner.process(conn, records)

    # --- the events of a small register -----------------------------------------------------------

    def bureau(self) -> list[Envelope]:
        return [self.envelope(f"bureau-{self.tenant}", m.BureauRegistered(self.tenant, "测试局", "cs"))]

    def branch(self, branch_id: str, name: str = "离退休干部党支部", established_on: date = date(2010, 1, 1)):
        return self.envelope(f"branch-{branch_id}", m.BranchEstablished(branch_id, name, established_on), branch_id)

    def member(self, member_id: str, branch_id: str, name: str, *, joined_on: date = date(2019, 1, 1),
               party_member: bool = True, health: str = "good", mobility: str = "mobile",
               birth_date: date = date(1950, 5, 10)):
        event = m.MemberRegistered(member_id=member_id, branch_id=branch_id, name=name, gender="male",
                                   birth_date=birth_date, party_member=party_member,
                                   party_join_date=date(1975, 7, 1) if party_member else None,
                                   retirement_kind="retired", pension_base=None, health=health, mobility=mobility,
                                   phone=None, address=None, joined_on=joined_on)
        return self.envelope(f"member-{member_id}", event, branch_id)

    def on_member(self, member_id: str, event, branch_id: str | None = None):
        return self.envelope(f"member-{member_id}", event, branch_id)


@dataclass
class Bureau:
    """A bureau with two branches and a few members, fed to the roster; tokens for its roles."""

    feed: MembersFeed
    settings: object
    branch_a: str = field(default_factory=new_id)
    branch_b: str = field(default_factory=new_id)
    members: dict = field(default_factory=dict)

    @property
    def tenant(self) -> str:
        return self.feed.tenant

    def headers(self, role: str = "bureau_admin", branches: list[str] | None = None, subject: str | None = None):
        return bearer(token(self.settings, role, tenant=self.tenant, branches=branches, subject=subject))

    def secretary(self, branch_id: str | None = None):
        return self.headers("secretary", [branch_id or self.branch_a])


def seed_bureau(settings) -> Bureau:
    """王 李 赵 陈 in branch A; 陈 died in March 2024, 赵 moved to B on 15 March 2024; 孙 is not a full member."""
    bureau = Bureau(MembersFeed(settings), settings)
    feed = bureau.feed
    names = {"wang": "王德明", "li": "李淑芬", "zhao": "赵国庆", "chen": "陈秀英", "sun": "孙志刚"}
    bureau.members = {key: new_id() for key in names}
    ids = bureau.members
    events = [*feed.bureau(), feed.branch(bureau.branch_a), feed.branch(bureau.branch_b, "第二支部")]
    for key, name in names.items():
        events.append(feed.member(ids[key], bureau.branch_a, name, party_member=key != "sun",
                                  health="poor" if key == "li" else "good"))
    events.append(feed.on_member(ids["zhao"], m.MemberMoved(ids["zhao"], bureau.branch_a, bureau.branch_b,
                                                             date(2024, 3, 15), "transfer")))
    events.append(feed.on_member(ids["chen"], m.MemberDied(ids["chen"], bureau.branch_a, date(2024, 3, 10))))
    feed.deliver(events)
    return bureau


@pytest.fixture
def bureau(activities_settings) -> Bureau:
    return seed_bureau(activities_settings)


def count_events(settings, tenant: str, event_type: str | None = None) -> int:
    with db.connect(settings.owner_dsn) as conn:
        return conn.execute("SELECT count(*) AS n FROM events WHERE tenant_id = %s"
                            " AND (%s::text IS NULL OR event_type = %s)", (tenant, event_type, event_type)
                            ).fetchone()["n"]
