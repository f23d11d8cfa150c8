"""Concurrent requests against PostgreSQL: writers of one stream conflict as a 409, readers of a pledge never do."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.integration.activities_support import app, bureau, count_events  # noqa: F401 — fixtures

API = "/api/v1"


def at_once(app, requests: list) -> list:
    """Send the requests from as many threads at the same moment, each with its own client."""
    def send(request):
        method, path, body, headers = request
        return getattr(app.test_client(), method)(f"{API}{path}", json=body, headers=headers)
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_concurrent_corrections_of_one_version_one_wins_the_rest_are_409_and_nothing_is_lost(app, client, bureau):
    study = {"branch_id": bureau.branch_a, "kind": "study", "occurred_on": "2024-11-08", "title": "学习",
             "attendees": [bureau.members["wang"]]}
    created = client.post(f"{API}/activities", json=study, headers=bureau.headers()).json
    headers = {**bureau.headers(), "If-Match": '"1"'}
    path = f"/activities/{created['id']}/actions/correct"
    answers = at_once(app, [("post", path, {"reason": "更正", "title": f"学习{n}"}, headers) for n in range(6)])
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert {a.json["error"]["code"] for a in answers if a.status_code == 409} == {"concurrency_conflict"}
    winner = next(a for a in answers if a.status_code == 201)
    read = client.get(f"{API}/activities/{created['id']}", headers=bureau.headers()).json
    assert read["version"] == 2 and read["corrections"] == 1 and winner.json["version"] == 2


def test_people_reading_one_pledge_at_the_same_time_all_get_it_and_every_read_is_recorded(
        app, client, bureau, activities_settings):
    pledge = client.post(f"{API}/pledges", json={"member_id": bureau.members["wang"], "kind": "no_religion",
                                                  "signed_on": "2024-06-28", "statement": "本人承诺"},
                         headers=bureau.headers()).json
    branch_list = f"/pledges?branch_id={bureau.branch_a}"
    reads = [("get", f"/pledges/{pledge['id']}", None, bureau.headers()) for _ in range(5)]
    reads += [("get", branch_list, None, bureau.headers()) for _ in range(3)]
    answers = at_once(app, reads)
    assert [a.status_code for a in answers] == [200] * 8
    recorded = client.get(f"{API}/pledges/{pledge['id']}/reads", headers=bureau.headers("auditor")).json
    assert len(recorded) == 8
    assert count_events(activities_settings, bureau.tenant, "activities.PledgeRead") == 8


def test_teams_centres_and_withdrawals_honour_if_match_and_show_their_current_version(client, bureau,
                                                                                      activities_settings):
    admin, ids = bureau.headers(), bureau.members

    def send(path, body, version=None):
        headers = {**admin, **({"If-Match": f'"{version}"'} if version is not None else {})}
        return client.post(f"{API}{path}", json=body, headers=headers)

    team = send("/teams", {"branch_id": bureau.branch_a, "name": "合唱队", "kind": "choir", "formed_on": "2023-01-10",
                           "members": [ids["wang"]]}).json
    joined = send(f"/teams/{team['id']}/members", {"member_id": ids["li"], "joined_on": "2024-05-01"}, 2)
    assert joined.status_code == 201
    read = client.get(f"{API}/teams/{team['id']}", headers=admin)
    assert read.json["version"] == 3 and read.headers["ETag"] == '"3"'
    performance = {"occurred_on": "2024-06-30", "title": "七一演出", "performers": [ids["wang"]]}
    assert send(f"/teams/{team['id']}/performances", performance, 2).status_code == 409

    centre = f"/branches/{bureau.branch_a}/centre"
    send(centre, {"place": "局三楼", "set_up_on": "2020-01-01"})
    evidence = {"item": "有党旗", "evidenced_on": "2024-10-01", "evidence": "党旗悬挂"}
    assert send(f"{centre}/evidence", evidence, 1).status_code == 201
    read = client.get(f"{API}{centre}", headers=admin)
    assert read.json["version"] == 2 and read.headers["ETag"] == '"2"'
    assert send(f"{centre}/actions/move", {"to_place": "局六楼", "moved_on": "2024-10-10"}, 1).status_code == 409

    visit = send("/outreach", {"member_id": ids["li"], "channel": "visit", "occurred_on": "2024-11-02",
                               "topic": "走访"}).json
    before = count_events(activities_settings, bureau.tenant)
    stale = send(f"/outreach/{visit['id']}/actions/withdraw", {"reason": "误录"}, 2)
    assert stale.status_code == 409 and stale.json["error"]["code"] == "concurrency_conflict"
    assert count_events(activities_settings, bureau.tenant) == before
    assert send(f"/outreach/{visit['id']}/actions/withdraw", {"reason": "误录"}, 1).status_code == 201
