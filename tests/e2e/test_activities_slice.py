"""HTTP into members, Kafka across, activities out: members become usable attendees through events alone."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support import wait_for

MEMBER = {"gender": "male", "birth_date": "1948-05-02", "party_member": True, "party_join_date": "1970-07-01",
          "retirement_kind": "retired", "health": "fair", "mobility": "limited"}


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def roster_names(platform, bureau, branch_id, on):
    response = platform.get("activities", f"/api/v1/branches/{branch_id}/roster", bureau["admin"], on=on)
    return sorted(m["name"] for m in response.json()["members"]) if response.status_code == 200 else []


def register_branch_with_members(platform, bureau, name, people):
    branch = platform.post("members", "/api/v1/branches", {"name": name, "established_on": days_ago(400)},
                           bureau["admin"])
    assert branch.status_code == 201, branch.text
    branch_id = branch.json()["id"]
    ids = {}
    for person in people:
        created = platform.post("members", "/api/v1/members",
                                {**MEMBER, "name": person, "branch_id": branch_id, "joined_on": days_ago(300)},
                                bureau["admin"])
        assert created.status_code == 201, created.text
        ids[person] = created.json()["id"]
    return branch_id, ids


def study(branch_id, on, attendees):
    return {"branch_id": branch_id, "kind": "study", "occurred_on": on, "title": "集体学习", "hours": "2",
            "attendees": attendees}


def test_members_registered_in_members_become_attendees_in_activities_through_kafka(platform):
    bureau = platform.new_bureau()
    branch_a, ids = register_branch_with_members(platform, bureau, "一支部", ["张建国", "刘桂兰"])
    names = wait_for(lambda: roster_names(platform, bureau, branch_a, days_ago(1)) == ["刘桂兰", "张建国"],
                     timeout=30, message="the members in the activities roster")
    assert names
    recorded = platform.post("activities", "/api/v1/activities", study(branch_a, days_ago(3), list(ids.values())),
                             bureau["admin"])
    assert recorded.status_code == 201, recorded.text
    read = platform.get("activities", f"/api/v1/activities/{recorded.json()['id']}", bureau["auditor"])
    assert sorted(read.json()["attendees"]) == sorted(ids.values())

    died = platform.post("members", f"/api/v1/members/{ids['刘桂兰']}/actions/record-death", {"died_on": days_ago(10)},
                         bureau["admin"])
    assert died.status_code in (200, 201), died.text
    wait_for(lambda: roster_names(platform, bureau, branch_a, days_ago(1)) == ["张建国"], timeout=30,
             message="the death reaches the activities roster")
    refused = platform.post("activities", "/api/v1/activities", study(branch_a, days_ago(2), [ids["刘桂兰"]]),
                            bureau["admin"])
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "member_deceased"


def test_a_transferred_member_counts_in_the_right_branch_on_each_date(platform):
    bureau = platform.new_bureau()
    branch_a, ids = register_branch_with_members(platform, bureau, "一支部", ["赵国庆"])
    branch_b, _ = register_branch_with_members(platform, bureau, "二支部", ["冯玉兰"])
    zhao = ids["赵国庆"]
    letter = platform.post("members", "/api/v1/transfers", {"member_id": zhao, "to_branch_id": branch_b,
                                                            "issued_on": days_ago(20)}, bureau["admin"])
    assert letter.status_code == 201, letter.text
    received = platform.post("members", f"/api/v1/transfers/{letter.json()['id']}/actions/receive",
                             {"on": days_ago(10)}, bureau["admin"])
    assert received.status_code in (200, 201), received.text
    wait_for(lambda: roster_names(platform, bureau, branch_b, days_ago(5)) == ["冯玉兰", "赵国庆"], timeout=30,
             message="the transfer reaches the activities roster")
    assert roster_names(platform, bureau, branch_a, days_ago(15)) == ["赵国庆"]

    before = platform.post("activities", "/api/v1/activities", study(branch_a, days_ago(15), [zhao]), bureau["admin"])
    assert before.status_code == 201, before.text
    after_in_a = platform.post("activities", "/api/v1/activities", study(branch_a, days_ago(5), [zhao]),
                               bureau["admin"])
    assert after_in_a.status_code == 422 and after_in_a.json()["error"]["code"] == "member_of_another_branch"
    after_in_b = platform.post("activities", "/api/v1/activities", study(branch_b, days_ago(5), [zhao]),
                               bureau["admin"])
    assert after_in_b.status_code == 201, after_in_b.text

    # Coverage of the month of the study after the move: due in B (and covered there), gone from A.
    period = days_ago(5)[:7]
    in_a = platform.get("activities", f"/api/v1/branches/{branch_a}/coverage", bureau["admin"], period=period).json()
    in_b = platform.get("activities", f"/api/v1/branches/{branch_b}/coverage", bureau["admin"], period=period).json()
    assert zhao in [m["member_id"] for m in in_b["covered"]]
    assert zhao not in [m["member_id"] for m in in_a["covered"] + in_a["uncovered"]]
    if days_ago(10)[:7] == period:  # moved during that month: listed apart in A, with the branch moved to
        assert [(m["member_id"], m["branch_id"]) for m in in_a["moved_out"]] == [(zhao, branch_b)]
