"""Committee and party-group meetings against PostgreSQL: the body's members come from the roster (posts and
group assignments received as members' events); others from the branch are recorded as invited (列席)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from contracts import members as m
from shared import db
from tests.integration.activities_support import app, bureau, count_events, seed_bureau  # noqa: F401 — fixtures
from tests.support import new_id

API = "/api/v1"


def assigned(feed, member_id, branch_id, group_id, on: date):
    """A group assignment the register recorded on ``on`` (its envelope's time is the only date it has)."""
    envelope = feed.on_member(member_id, m.MemberAssignedToGroup(member_id, branch_id, group_id), branch_id)
    return replace(envelope, occurred_at=datetime(on.year, on.month, on.day, 2, tzinfo=UTC)).sealed("0" * 64)


@pytest.fixture
def organised(bureau):
    """Branch A with a committee (王 secretary, 李 member from 2023) and two party groups (李 moved to group 2)."""
    feed, a, ids = bureau.feed, bureau.branch_a, bureau.members
    bureau.groups = {"one": new_id(), "two": new_id()}
    branch, term = f"branch-{a}", new_id()
    feed.deliver([
        feed.envelope(branch, m.CommitteeTermOpened(a, term, new_id(), date(2023, 1, 1), date(2025, 12, 31), True), a),
        feed.envelope(branch, m.PostFilled(a, term, "secretary", ids["wang"], date(2023, 1, 1), "王德明"), a),
        feed.envelope(branch, m.PostFilled(a, term, "member", ids["li"], date(2023, 1, 1), "李淑芬"), a),
        feed.envelope(branch, m.PartyGroupFormed(a, bureau.groups["one"], "第一党小组"), a),
        assigned(feed, ids["wang"], a, bureau.groups["one"], date(2024, 1, 5)),
        assigned(feed, ids["sun"], a, bureau.groups["one"], date(2024, 1, 5)),
        assigned(feed, ids["li"], a, bureau.groups["one"], date(2024, 1, 5)),
        assigned(feed, ids["li"], a, bureau.groups["two"], date(2024, 9, 1)),  # before PartyGroupFormed arrives
        feed.envelope(branch, m.PartyGroupFormed(a, bureau.groups["two"], "第二党小组"), a),
    ])
    return bureau


def meeting(bureau, kind, attendees, on="2024-11-08", **extra):
    return {"branch_id": bureau.branch_a, "kind": kind, "occurred_on": on, "title": "会议",
            "attendees": [bureau.members[name] for name in attendees], **extra}


def post(client, body, bureau):
    return client.post(f"{API}/activities", json=body, headers=bureau.headers())


def test_a_committee_meeting_records_a_member_without_a_post_as_invited(client, organised):
    ids = organised.members
    created = post(client, meeting(organised, "committee_meeting", ["wang", "li", "sun"]), organised)
    assert created.status_code == 201, created.json
    assert created.json["invited"] == [ids["sun"]]
    read = client.get(f"{API}/activities/{created.json['id']}", headers=organised.headers("auditor")).json
    assert sorted(read["attendees"]) == sorted([ids["wang"], ids["li"], ids["sun"]])
    assert read["invited"] == [ids["sun"]]
    listed = client.get(f"{API}/activities?branch_id={organised.branch_a}&kind=committee_meeting",
                        headers=organised.headers()).json
    assert [row["invited"] for row in listed] == [[ids["sun"]]]


def test_a_group_meeting_records_members_of_other_groups_as_invited_by_the_assignments_dates(client, organised):
    ids, groups = organised.members, organised.groups
    before = post(client, meeting(organised, "group_meeting", ["wang", "li"], "2024-08-20", group_id=groups["one"]),
                  organised)
    after = post(client, meeting(organised, "group_meeting", ["wang", "li"], "2024-11-08", group_id=groups["one"]),
                 organised)
    assert before.status_code == after.status_code == 201, (before.json, after.json)
    assert before.json["invited"] == [] and after.json["invited"] == [ids["li"]]
    second = post(client, meeting(organised, "group_meeting", ["li"], group_id=groups["two"]), organised)
    assert second.status_code == 201 and second.json["invited"] == []


def test_a_group_meeting_without_its_group_or_of_another_branch_is_refused_and_nothing_is_written(
        client, organised, activities_settings):
    missing = post(client, meeting(organised, "group_meeting", ["wang"]), organised)
    assert missing.status_code == 422 and missing.json["error"]["code"] == "group_required"
    assert sorted(missing.json["error"]["fields"]["group_id"]) == sorted(organised.groups.values())
    other = seed_bureau(activities_settings)
    foreign_group = new_id()
    other.feed.deliver([other.feed.envelope(f"branch-{other.branch_a}",
                                            m.PartyGroupFormed(other.branch_a, foreign_group, "外局小组"))])
    for group_id in (foreign_group, new_id()):
        refused = post(client, meeting(organised, "group_meeting", ["wang"], group_id=group_id), organised)
        assert refused.status_code == 422 and refused.json["error"]["code"] == "unknown_group"
        assert "group_id" in refused.json["error"]["fields"]
    assert count_events(activities_settings, organised.tenant) == 0


def test_the_roster_shows_each_members_post_and_group_on_the_day(client, organised):
    def roster(on):
        body = client.get(f"{API}/branches/{organised.branch_a}/roster?on={on}", headers=organised.headers()).json
        return {m["name"]: (m["post"], m["group_id"]) for m in body["members"]}
    one, two = organised.groups["one"], organised.groups["two"]
    assert roster("2024-08-31") == {"王德明": ("secretary", one), "李淑芬": ("member", one), "孙志刚": (None, one)}
    assert roster("2024-09-01")["李淑芬"] == ("member", two)
    assert roster("2026-01-01")["王德明"] == (None, one)  # the term ended


def test_a_correction_to_a_committee_meeting_judges_the_invited_again(client, organised):
    ids = organised.members
    created = post(client, meeting(organised, "study", ["wang", "sun"]), organised).json
    assert created["invited"] == []
    corrected = client.post(f"{API}/activities/{created['id']}/actions/correct",
                            json={"reason": "实为支委会", "kind": "committee_meeting"},
                            headers={**organised.headers(), "If-Match": '"1"'})
    assert corrected.status_code == 201 and corrected.json["invited"] == [ids["sun"]]


def test_the_invited_survive_a_rebuild_from_the_event_store(client, organised, activities_settings):
    from services.activities.events import registry
    from services.activities.projections import TABLES, project
    from shared.rebuild import ReadModel, StoreFeed, rebuild

    created = post(client, meeting(organised, "committee_meeting", ["wang", "sun"]), organised).json

    def participants(conn):
        return conn.execute("SELECT member_id, presence, invited FROM activity_participants WHERE activity_id = %s"
                            " ORDER BY member_id", (created["id"],)).fetchall()

    with db.connect(activities_settings.owner_dsn, autocommit=True) as conn:
        before = participants(conn)
        rebuild(activities_settings.owner_dsn, ReadModel(tables=TABLES), StoreFeed(registry, project))
        assert participants(conn) == before
    assert sorted(row["invited"] for row in before) == [False, True]
