"""The running platform: a committee elected and party groups formed in members reach activities through Kafka
and decide who sat in (列席) at committee and group meetings; bad input and stale versions write nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.e2e.test_activities_slice import days_ago, register_branch_with_members
from tests.support import wait_for

PEOPLE = ["王建华", "李桂英", "张德明", "刘秀兰", "陈志强", "杨玉珍", "赵文斌", "黄淑芳"]


def organised_branch(platform):
    """A branch of eight: 王 secretary, 李 deputy, 张 member (elected 200 days ago); two party groups."""
    bureau = platform.new_bureau()
    branch_id, ids = register_branch_with_members(platform, bureau, "离退休干部党支部", PEOPLE)
    candidates = [{"member_id": ids[name], "name": name, "votes": votes}
                  for name, votes in zip(PEOPLE[:4], (6, 6, 6, 5))]
    posts = [{"post": post, "member_id": ids[name]}
             for post, name in (("secretary", "王建华"), ("deputy_secretary", "李桂英"), ("member", "张德明"))]
    elected = platform.post("members", f"/api/v1/branches/{branch_id}/elections",
                            {"held_on": days_ago(200), "eligible_voters": 8, "attendees": 8, "seats": 3,
                             "candidates": candidates, "posts": posts}, bureau["admin"])
    assert elected.status_code == 201, elected.text
    groups = {}
    for name, members in (("第一党小组", PEOPLE[:4]), ("第二党小组", PEOPLE[4:])):
        formed = platform.post("members", f"/api/v1/branches/{branch_id}/groups", {"name": name}, bureau["admin"])
        assert formed.status_code == 201, formed.text
        groups[name] = formed.json()["id"]
        for person in members:
            assigned = platform.post("members", f"/api/v1/members/{ids[person]}/actions/assign-group",
                                     {"group_id": groups[name]}, bureau["admin"])
            assert assigned.status_code in (200, 201), assigned.text
    wait_for(lambda: organisation(platform, bureau, branch_id) == (3, 8), timeout=30,
             message="the committee and the groups in the activities roster")
    return bureau, branch_id, ids, groups


def organisation(platform, bureau, branch_id) -> tuple[int, int]:
    """(post holders, members in a party group) yesterday, as the activities roster knows them."""
    response = platform.get("activities", f"/api/v1/branches/{branch_id}/roster", bureau["admin"], on=days_ago(1))
    members = response.json()["members"] if response.status_code == 200 else []
    return sum(1 for m in members if m["post"]), sum(1 for m in members if m["group_id"])


def meeting(branch_id, kind, attendees, **extra):
    return {"branch_id": branch_id, "kind": kind, "occurred_on": days_ago(2), "title": "会议", "attendees": attendees,
            **extra}


def record(platform, bureau, body):
    response = platform.post("activities", "/api/v1/activities", body, bureau["admin"])
    assert response.status_code == 201, response.text
    return response


def activity_count(platform, bureau, branch_id) -> int:
    return len(platform.get("activities", "/api/v1/activities", bureau["admin"], branch_id=branch_id).json())


def test_committee_and_group_meetings_record_who_sat_in_from_members_events(platform):
    bureau, branch_id, ids, groups = organised_branch(platform)
    committee = record(platform, bureau, meeting(branch_id, "committee_meeting",
                                                            [ids[n] for n in ("王建华", "李桂英", "张德明", "陈志强")]))
    assert committee.json()["invited"] == [ids["陈志强"]]
    group = record(platform, bureau, meeting(branch_id, "group_meeting",
                                                        [ids[n] for n in ("王建华", "刘秀兰", "陈志强")],
                                                        group_id=groups["第一党小组"]))
    assert group.json()["invited"] == [ids["陈志强"]]
    read = platform.get("activities", f"/api/v1/activities/{group.json()['id']}", bureau["auditor"]).json()
    assert read["group_id"] == groups["第一党小组"] and read["invited"] == [ids["陈志强"]]
    assert len(read["attendees"]) == 3

    before = activity_count(platform, bureau, branch_id)
    no_group = platform.post("activities", "/api/v1/activities", meeting(branch_id, "group_meeting", [ids["王建华"]]),
                             bureau["admin"])
    assert no_group.status_code == 422 and no_group.json()["error"]["code"] == "group_required"
    assert sorted(no_group.json()["error"]["fields"]["group_id"]) == sorted(groups.values())
    assert activity_count(platform, bureau, branch_id) == before


def test_a_stale_if_match_is_a_409_and_concurrent_pledge_reads_all_succeed(platform):
    bureau, branch_id, ids, _ = organised_branch(platform)
    study = platform.post("activities", "/api/v1/activities",
                          meeting(branch_id, "study", [ids["王建华"]], hours="2"), bureau["admin"])
    assert study.status_code == 201, study.text
    path = f"/api/v1/activities/{study.json()['id']}/actions/correct"
    first = platform.post("activities", path, {"reason": "补记", "attendees": [ids["王建华"], ids["李桂英"]]},
                          bureau["admin"], **{"If-Match": '"1"'})
    stale = platform.post("activities", path, {"reason": "再补", "title": "学习"}, bureau["admin"],
                          **{"If-Match": '"1"'})
    assert first.status_code == 201 and stale.status_code == 409
    assert stale.json()["error"]["code"] == "concurrency_conflict"

    pledge = platform.post("activities", "/api/v1/pledges", {"member_id": ids["王建华"], "kind": "no_religion",
                                                             "signed_on": days_ago(5), "statement": "本人承诺"},
                           bureau["admin"])
    assert pledge.status_code == 201, pledge.text
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: platform.get("activities", f"/api/v1/pledges/{pledge.json()['id']}",
                                                       bureau["admin"]), range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    reads = platform.get("activities", f"/api/v1/pledges/{pledge.json()['id']}/reads", bureau["auditor"]).json()
    assert len(reads) == 6
    refused = platform.get("activities", f"/api/v1/pledges/{pledge.json()['id']}", bureau["auditor"])
    assert refused.status_code == 403  # the default rules let only the bureau's admin read pledges
