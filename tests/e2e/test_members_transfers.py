"""Transfers over HTTP on the running platform: the one-branch invariant under concurrency, and the
cross-bureau saga carried by Kafka alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support import wait_for

MEMBER = {"gender": "female", "birth_date": "1950-08-01", "party_member": True, "party_join_date": "1972-07-01",
          "retirement_kind": "retired", "pension_base": "4800.00", "health": "good", "mobility": "mobile",
          "joined_on": "2020-01-01"}


def created(response):
    assert response.status_code == 201, response.text
    return response.json()["id"]


def branch(platform, bureau, name):
    return created(platform.post("members", "/api/v1/branches", {"name": name, "established_on": "2010-01-01"},
                                 bureau["admin"]))


def roster(platform, bureau, branch_id, on):
    response = platform.get("members", f"/api/v1/branches/{branch_id}/members", bureau["admin"], on=on)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["members"]]


def test_repeated_and_concurrent_transfer_commands_never_leave_a_member_in_zero_or_two_branches(platform):
    bureau = platform.new_bureau()
    branches = [branch(platform, bureau, f"支部{i}") for i in range(3)]
    member = created(platform.post("members", "/api/v1/members", {**MEMBER, "branch_id": branches[0], "name": "林"},
                                   bureau["admin"]))
    for hop in range(4):
        day = f"2026-0{hop + 1}-15"
        here = platform.get("members", f"/api/v1/members/{member}", bureau["admin"]).json()["branch_id"]
        target = branches[(branches.index(here) + 1) % len(branches)]
        letters = [platform.post("members", "/api/v1/transfers",
                                 {"member_id": member, "to_branch_id": target, "issued_on": day},
                                 bureau["admin"]) for _ in range(3)]
        assert sorted(r.status_code for r in letters) == [201, 422, 422], [r.text for r in letters]
        letter = next(r.json()["id"] for r in letters if r.status_code == 201)
        actions = ["receive", "receive", "cancel", "receive", "cancel", "receive"]
        with ThreadPoolExecutor(len(actions)) as pool:
            outcomes = list(pool.map(lambda action, letter=letter, day=day: platform.post(
                "members", f"/api/v1/transfers/{letter}/actions/{action}", {"on": day}, bureau["admin"]), actions))
        assert [r.status_code for r in outcomes].count(200) == 1, [r.text for r in outcomes]
        everywhere = [b for b in branches if member in roster(platform, bureau, b, day)]
        assert len(everywhere) == 1


def test_a_member_crosses_to_another_bureau_through_kafka_and_comes_back_as_the_same_member(platform):
    home, away = platform.new_bureau(), platform.new_bureau()
    home_branch, away_branch = branch(platform, home, "原支部"), branch(platform, away, "新支部")
    member = created(platform.post("members", "/api/v1/members", {**MEMBER, "branch_id": home_branch, "name": "邓"},
                                   home["admin"]))
    letter = created(platform.post("members", "/api/v1/transfers", {
        "member_id": member, "to_branch_id": away_branch, "to_bureau_id": away["id"], "issued_on": "2026-03-01"},
        home["admin"]))
    wait_for(lambda: platform.get("members", f"/api/v1/transfers/{letter}", away["admin"]).status_code == 200,
             message="the receiving bureau sees the incoming letter")
    received = platform.post("members", f"/api/v1/transfers/{letter}/actions/receive", {"on": "2026-03-05"},
                             away["admin"])
    assert received.status_code == 200, received.text
    away_id = received.json()["member_id"]
    wait_for(lambda: platform.get("members", f"/api/v1/members/{member}", home["admin"]).json()["status"]
             == "transferred_out", message="the sending bureau learns of the receipt")
    assert roster(platform, home, home_branch, "2026-03-05") == [] and roster(platform, away, away_branch,
                                                                             "2026-03-05") == [away_id]
    assert platform.get("members", f"/api/v1/members/{away_id}", home["admin"]).status_code == 404

    back = created(platform.post("members", "/api/v1/transfers", {
        "member_id": away_id, "to_branch_id": home_branch, "to_bureau_id": home["id"], "issued_on": "2026-04-01"},
        away["admin"]))
    wait_for(lambda: platform.get("members", f"/api/v1/transfers/{back}", home["admin"]).status_code == 200,
             message="the home bureau sees the letter back")
    returned = platform.post("members", f"/api/v1/transfers/{back}/actions/receive", {"on": "2026-04-02"},
                             home["admin"])
    assert returned.status_code == 200 and returned.json()["member_id"] == member
    assert roster(platform, home, home_branch, "2026-04-02") == [member]
    wait_for(lambda: platform.get("members", f"/api/v1/members/{away_id}", away["admin"]).json()["status"]
             == "transferred_out", message="the other bureau lets the member go")
