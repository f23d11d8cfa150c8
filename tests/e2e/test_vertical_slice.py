"""HTTP in, Kafka across, audit history out: the first slice through every layer of the platform."""

from __future__ import annotations

from shared.chain import check_chain
from shared.envelope import Envelope
from tests.support import wait_for

MEMBER = {"name": "刘桂兰", "gender": "female", "birth_date": "1942-09-09", "party_member": True,
          "party_join_date": "1965-07-01", "retirement_kind": "lixiu", "health": "poor", "mobility": "homebound"}


def history(platform, auditor, **filters):
    response = platform.get("audit", "/api/v1/events", auditor, **filters)
    assert response.status_code == 200, response.text
    return response.json()


def test_commands_on_members_reach_the_audit_journal_in_order_with_a_valid_chain(platform):
    bureau = platform.new_bureau()
    branch = platform.post("members", "/api/v1/branches", {"name": "离退休干部党支部"}, bureau["admin"])
    assert branch.status_code == 201
    branch_id = branch.json()["id"]
    member = platform.post("members", "/api/v1/members", {**MEMBER, "branch_id": branch_id}, bureau["admin"])
    assert member.status_code == 201
    stream_id = f"member-{member.json()['id']}"

    found = wait_for(lambda: history(platform, bureau["auditor"], stream_id=stream_id)["events"], timeout=20,
                     message="the member's event in the audit journal")
    assert [e["event_type"] for e in found] == ["members.MemberRegistered"]
    assert found[0]["data"]["name"] == "刘桂兰" and found[0]["tenant_id"] == bureau["id"]
    assert history(platform, bureau["auditor"], stream_id=stream_id)["chain"] == {
        "valid": True, "length": 1, "problems": []}

    everything = wait_for(lambda: (lambda events: events if len(events) == 4 else None)(
        history(platform, bureau["auditor"])["events"]), message="four events of the bureau")
    # Events of different streams travel on different partitions: the journal keeps arrival order.
    assert sorted(e["event_type"] for e in everything) == [
        "members.BranchEstablished", "members.BureauRegistered", "members.BureauRulesPublished",
        "members.MemberRegistered"]
    assert [e["seq"] for e in everything] == [1, 2, 3, 4]
    streams: dict[str, list[Envelope]] = {}
    for event in everything:
        envelope = Envelope.from_dict({k: v for k, v in event.items() if k != "seq"})
        streams.setdefault(envelope.stream_id, []).append(envelope)
    for stream_id, envelopes in streams.items():
        assert check_chain(stream_id, sorted(envelopes, key=lambda e: e.stream_version)) == []


def test_an_auditor_sees_only_their_own_bureaus_history(platform):
    mine, theirs = platform.new_bureau(), platform.new_bureau()
    wait_for(lambda: history(platform, theirs["auditor"])["events"], message="their bureau journalled")
    seen = history(platform, mine["auditor"])["events"]
    assert seen and {e["tenant_id"] for e in seen} == {mine["id"]}
    secretary = platform.token("secretary", tenant=mine["id"])
    assert platform.get("audit", "/api/v1/events", secretary).status_code == 403
    assert platform.get("audit", "/api/v1/events", "not-a-token").status_code == 401


def test_bad_input_over_http_is_a_clear_400_and_nothing_is_written(platform):
    bureau = platform.new_bureau()
    response = platform.post("members", "/api/v1/branches", {"name": "支部", "colour": "red"}, bureau["admin"])
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"colour": ["不认识这个字段"]}
    wait_for(lambda: len(history(platform, bureau["auditor"])["events"]) == 2, message="the bureau journalled")
    types = sorted(e["event_type"] for e in history(platform, bureau["auditor"])["events"])
    assert types == ["members.BureauRegistered", "members.BureauRulesPublished"]
