"""The roster consumer against PostgreSQL: members' events in any order and twice converge to one roster."""

from __future__ import annotations

import random
from datetime import date

from contracts import members as m
from services.activities import queries
from shared import db
from tests.integration.activities_support import NOW, MembersFeed, app  # noqa: F401 — fixtures
from tests.support import new_id

API = "/api/v1"


def register(feed: MembersFeed, branch_a: str, branch_b: str, ids: dict) -> list:
    """A year of one small register's events, in the order the members service wrote them."""
    return [
        *feed.bureau(),
        feed.branch(branch_a), feed.branch(branch_b, "第二支部"),
        feed.member(ids["wang"], branch_a, "王德明"),
        feed.member(ids["zhao"], branch_a, "赵国庆"),
        feed.member(ids["chen"], branch_b, "陈秀英", health="good"),
        feed.on_member(ids["zhao"], m.MemberMoved(ids["zhao"], branch_a, branch_b, date(2024, 3, 15), "transfer")),
        feed.on_member(ids["chen"], m.MemberHealthChanged(ids["chen"], "poor", "homebound", date(2024, 2, 1))),
        feed.on_member(ids["chen"], m.MemberProfileUpdated(ids["chen"], {"name": "陈秀英（改）"})),
        feed.envelope(f"branch-{branch_b}", m.BranchClosed(branch_b, date(2024, 9, 1), "merger", branch_a), branch_b),
        feed.envelope(f"bureau-{feed.tenant}", m.BureauRulesPublished(
            feed.tenant, 2, date(2024, 7, 1), {"late_entry_days": 10, "holiday_visits": ["double_ninth"]})),
        feed.envelope(f"branch-{branch_a}", m.CommitteeTermOpened(branch_a, "term-1", "e-1", date(2023, 1, 1),
                                                                  date(2025, 12, 31), False), branch_a),
        feed.envelope(f"branch-{branch_a}", m.PostFilled(branch_a, "term-1", "secretary", ids["wang"],
                                                         date(2023, 1, 1), "王德明"), branch_a),
        feed.on_member(ids["wang"], m.DuesPaid(ids["wang"], branch_a, ["2024-01"], 25, date(2024, 1, 5), "self")),
    ]


def snapshot(settings, tenant: str, branch_a: str, branch_b: str, ids: dict) -> dict:
    """What the roster says on a few dates, as the API's decisions would see it."""
    with db.connect(settings.owner_dsn) as conn, conn.transaction():
        db.set_tenant(conn, tenant)
        roster = queries.load_roster(conn, ids.values())
        rules = queries.load_rules(conn, tenant)
    return {
        "zhao": [roster.standing(ids["zhao"], day).branch_id for day in (date(2024, 3, 14), date(2024, 3, 15))],
        "chen": (roster.standing(ids["chen"], date(2024, 9, 1)).branch_id, roster.members[ids["chen"]].name,
                 [h.health for h in sorted(roster.members[ids["chen"]].health, key=lambda h: h.changed_on)]),
        "b_in_a": sorted(x.name for x in roster.members_on(branch_a, date(2024, 9, 2))),
        "rules": (rules.on(date(2024, 6, 30))["late_entry_days"], rules.on(date(2024, 7, 1))["late_entry_days"]),
        "posts": [p.post for p in roster.members[ids["wang"]].posts],
    }


def fresh(settings):
    feed = MembersFeed(settings)
    branches = (new_id(), new_id())
    ids = {key: new_id() for key in ("wang", "zhao", "chen")}
    return feed, branches, ids, register(feed, *branches, ids)


def test_in_order_delivery_builds_the_roster(activities_settings):
    feed, (a, b), ids, events = fresh(activities_settings)
    feed.deliver(events)
    got = snapshot(activities_settings, feed.tenant, a, b, ids)
    assert got["zhao"] == [a, b]
    assert got["chen"] == (a, "陈秀英（改）", ["good", "poor"])  # B merged into A on 1 September
    assert got["b_in_a"] == ["王德明", "赵国庆", "陈秀英（改）"]
    assert got["rules"] == (30, 10) and got["posts"] == ["secretary"]


def test_shuffled_and_duplicated_delivery_converges_to_the_same_roster(activities_settings):
    feed, (a, b), ids, events = fresh(activities_settings)
    feed.deliver(events)
    expected = snapshot(activities_settings, feed.tenant, a, b, ids)

    shuffled_feed, (a2, b2), ids2, events2 = fresh(activities_settings)
    # Envelopes of one stream keep their order (one partition); different streams interleave freely.
    by_stream: dict[str, list] = {}
    for envelope in events2:
        by_stream.setdefault(envelope.stream_id, []).append(envelope)
    rng = random.Random(7)
    interleaved = []
    while by_stream:
        stream = rng.choice(sorted(by_stream))
        interleaved.append(by_stream[stream].pop(0))
        if not by_stream[stream]:
            del by_stream[stream]
    shuffled_feed.deliver(interleaved[: len(interleaved) // 2])
    shuffled_feed.deliver(interleaved)  # a redelivery of the first half, then the rest
    rename = {a2: a, b2: b}
    got = snapshot(activities_settings, shuffled_feed.tenant, a2, b2, ids2)
    got["zhao"] = [rename[x] for x in got["zhao"]]
    got["chen"] = (rename[got["chen"][0]], *got["chen"][1:])
    assert got == expected


def test_a_moved_member_arriving_before_their_registration_becomes_usable_when_it_arrives(activities_settings,
                                                                                          client):
    feed = MembersFeed(activities_settings)
    a, b, member = new_id(), new_id(), new_id()
    registered = feed.member(member, a, "赵国庆")
    moved = feed.on_member(member, m.MemberMoved(member, a, b, date(2024, 3, 15), "transfer"))
    feed.deliver([moved, *feed.bureau(), feed.branch(b)])
    headers = {"Authorization": "Bearer " + _admin(activities_settings, feed.tenant)}
    body = {"branch_id": b, "kind": "study", "occurred_on": "2024-04-02", "title": "学习", "attendees": [member]}
    early = client.post(f"{API}/activities", json=body, headers=headers)
    assert early.status_code == 422 and early.json["error"]["code"] == "unknown_member"
    feed.deliver([registered, feed.branch(a)])
    assert client.post(f"{API}/activities", json=body, headers=headers).status_code == 201


def test_events_the_roster_does_not_need_are_ignored_not_dead_lettered(activities_settings):
    feed = MembersFeed(activities_settings)
    consumer = f"roster-{new_id()}"
    member = new_id()
    feed.deliver([feed.on_member(member, m.DuesAssessed(member, new_id(), 2024, 5000, "0.005", 25))],
                 consumer=consumer)
    with db.connect(activities_settings.owner_dsn) as conn:
        parked = conn.execute("SELECT count(*) AS n FROM dead_letters WHERE consumer = %s", (consumer,)).fetchone()
    assert parked["n"] == 0


def test_a_committee_member_is_held_to_56_hours(activities_settings, client):
    feed, (a, b), ids, events = fresh(activities_settings)
    feed.deliver(events)
    headers = {"Authorization": "Bearer " + _admin(activities_settings, feed.tenant)}
    report = client.get(f"{API}/branches/{a}/study-hours?year=2024", headers=headers).json
    rows = {row["name"]: row for row in report["members"]}
    assert rows["王德明"]["required"] == "56.0" and rows["王德明"]["committee"] is True
    assert rows["陈秀英（改）"]["exempt"] is True  # poor health, merged in from B
    assert report["as_of"] == NOW.date().isoformat()


def _admin(settings, tenant: str) -> str:
    from tests.support import token
    return token(settings, "bureau_admin", tenant=tenant)


def test_a_branchs_roster_is_kept_while_the_bureaus_roster_version_stands_and_read_again_after_a_change(
        activities_settings):
    feed, other = MembersFeed(activities_settings), MembersFeed(activities_settings)
    a, b, wang, zhao, chen, li = new_id(), new_id(), new_id(), new_id(), new_id(), new_id()
    feed.deliver([*feed.bureau(), feed.branch(a), feed.branch(b), feed.member(wang, a, "王德明"),
                  feed.member(chen, b, "陈秀英")])
    other.deliver([*other.bureau(), other.branch(a), other.member(li, a, "李明")])  # the same branch id elsewhere

    def roster(tenant: str, member_ids=(), branch_id=a):
        with db.connect(activities_settings.app_dsn) as conn, conn.transaction():  # as the service reads, under RLS
            db.set_tenant(conn, tenant)
            return queries.load_roster(conn, member_ids, branch_id)

    first = roster(feed.tenant, [wang])
    assert set(first.members) == {wang}
    assert roster(feed.tenant, [wang]) is first  # nothing changed: no table read again
    assert set(roster(other.tenant).members) == {li}  # another bureau's roster is its own
    assert set(roster(feed.tenant, [wang, chen]).members) == {wang, chen}  # a guest from branch B: read afresh
    assert roster(feed.tenant) is first
    feed.deliver([feed.member(zhao, a, "赵国庆")])
    assert set(roster(feed.tenant).members) == {wang, zhao}
    alone = roster(feed.tenant, [zhao], branch_id=None)  # outreach and care read one member's roster
    assert set(alone.members) == {zhao} and roster(feed.tenant, [zhao], branch_id=None) is alone
    feed.deliver([feed.on_member(zhao, m.MemberProfileUpdated(zhao, {"name": "赵国庆（改）"}))])
    assert roster(feed.tenant).members[zhao].name == "赵国庆（改）"
    assert roster(feed.tenant, [zhao], branch_id=None).members[zhao].name == "赵国庆（改）"


def test_a_few_members_roster_stands_while_others_join_and_is_read_again_when_theirs_or_the_bureaus_facts_change(
        activities_settings):
    feed = MembersFeed(activities_settings)
    a, b, wang, zhao, li = new_id(), new_id(), new_id(), new_id(), new_id()
    feed.deliver([*feed.bureau(), feed.branch(a), feed.member(wang, a, "王德明"), feed.member(zhao, a, "赵国庆")])

    def alone(*member_ids):  # outreach and care read the roster of the member they are about
        with db.connect(activities_settings.app_dsn) as conn, conn.transaction():
            db.set_tenant(conn, feed.tenant)
            return queries.load_roster(conn, member_ids)

    first = alone(wang)
    feed.deliver([feed.member(li, a, "李明")])  # someone else joins: Wang's facts are what they were
    assert alone(wang) is first
    feed.deliver([feed.on_member(zhao, m.MemberHealthChanged(zhao, "poor", "homebound", date(2024, 2, 1)))])
    assert alone(wang) is first
    feed.deliver([feed.on_member(wang, m.MemberHealthChanged(wang, "poor", "homebound", date(2024, 3, 1)))])
    second = alone(wang)
    assert second is not first and second.members[wang].health[-1].health == "poor"
    assert alone(wang) is second
    feed.deliver([feed.branch(b, "第二支部")])  # what the bureau shares moved: read again
    third = alone(wang)
    assert third is not second and b in third.branches
    feed.deliver([feed.on_member(wang, m.MemberMoved(wang, a, b, date(2024, 5, 1), "transfer"))])
    assert alone(wang).members[wang].placements[-1].branch_id == b


def test_a_commands_roster_rules_and_closed_periods_are_read_together_as_each_alone_reads_them(activities_settings):
    feed, (a, b), ids, events = fresh(activities_settings)
    feed.deliver(events)
    with db.connect(activities_settings.owner_dsn) as conn, conn.transaction():
        conn.execute("INSERT INTO closed_periods (tenant_id, period, starts_on, ends_on, closed_on, closed_at)"
                     " VALUES (%s, '2024-Q1', '2024-01-01', '2024-03-31', '2024-04-10', now())", (feed.tenant,))
    for member_ids, branch_id in (([ids["wang"]], a), ([ids["chen"]], None), ([], b)):
        with db.connect(activities_settings.app_dsn) as conn, conn.transaction():
            db.set_tenant(conn, feed.tenant)
            roster, rules, periods = queries.load_circumstances(conn, feed.tenant, member_ids, branch_id)
            assert roster is queries.load_roster(conn, member_ids, branch_id)  # kept under the same versions
            assert rules.on(date(2024, 7, 1)) == queries.load_rules(conn, feed.tenant).on(date(2024, 7, 1))
            assert rules.on(date(2024, 7, 1))["late_entry_days"] == 10
            assert periods == queries.closed_periods(conn) and [p.id for p in periods] == ["2024-Q1"]


def test_a_branchs_roster_after_a_member_joins_reads_that_member_alone_again_and_is_what_a_fresh_read_gives(
        activities_settings, monkeypatch):
    feed = MembersFeed(activities_settings)
    a, b, wang, zhao, li = new_id(), new_id(), new_id(), new_id(), new_id()
    feed.deliver([*feed.bureau(), feed.branch(a), feed.member(wang, a, "王德明"), feed.member(zhao, a, "赵国庆")])

    def roster():
        with db.connect(activities_settings.app_dsn) as conn, conn.transaction():
            db.set_tenant(conn, feed.tenant)
            return queries.load_roster(conn, branch_id=a)

    def read_afresh():
        with monkeypatch.context() as patched:
            patched.setattr(queries, "ROSTERS", queries.RosterCache())
            return roster()

    first = roster()
    feed.deliver([feed.member(li, a, "李明")])  # the bureau's version moves, what it shares does not
    second = roster()
    assert set(second.members) == {wang, zhao, li} and second == read_afresh()
    assert second.members[wang] is first.members[wang] and second.members[zhao] is first.members[zhao]
    feed.deliver([feed.on_member(zhao, m.MemberHealthChanged(zhao, "poor", "homebound", date(2024, 2, 1)))])
    third = roster()
    assert third.members[zhao].health[-1].health == "poor" and third == read_afresh()
    assert third.members[wang] is first.members[wang]
    feed.deliver([feed.branch(b, "第二支部")])  # what the bureau shares moved: everyone read again
    fourth = roster()
    assert b in fourth.branches and fourth == read_afresh() and fourth.members[wang] is not first.members[wang]
    feed.deliver([feed.on_member(wang, m.MemberMoved(wang, a, b, date(2024, 5, 1), "transfer"))])
    assert roster().members[wang].placements[-1].branch_id == b and roster() == read_afresh()
