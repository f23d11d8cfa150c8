"""The member register over HTTP against real PostgreSQL: rules, groups, rosters by date, life events, merger."""

from __future__ import annotations

import threading

import pytest

from tests.integration.members_fixtures import MEMBER, add_branch, add_member, app, bureau, roster_names  # noqa: F401
from tests.integration.test_local_today import BEIJING_TODAY, EVENINGS_IN_UTC
from tests.support import clock_at


def test_a_new_bureau_has_the_default_rules_and_publishes_new_versions(bureau):
    status, versions = bureau.get(f"/bureaus/{bureau.tenant}/rules")
    assert status == 200 and [v["version"] for v in versions] == [1]
    assert versions[0]["rules"]["centre_checklist"] == ["有场所", "有标志", "有书报", "有制度", "有宣传", "有党旗"]
    status, reply = bureau.put(f"/bureaus/{bureau.tenant}/rules", {
        "effective_from": "2030-01-01", "rules": {"holiday_visits": ["spring_festival", "july_1", "double_ninth"]}})
    assert status == 201 and reply["version"] == 3  # registered, first rules, second rules
    status, in_force = bureau.get(f"/bureaus/{bureau.tenant}/rules", on="2030-02-01")
    assert in_force[0]["rules"]["holiday_visits"][-1] == "double_ninth"
    assert in_force[0]["rules"]["briefing_per_year"] == 4
    status, earlier = bureau.get(f"/bureaus/{bureau.tenant}/rules", on="2029-12-31")
    assert earlier[0]["version"] == 1


def test_an_age_exemption_from_the_study_hours_can_be_set(bureau):
    status, _ = bureau.put(f"/bureaus/{bureau.tenant}/rules",
                           {"effective_from": "2031-01-01", "rules": {"study_exempt_age": 80}})
    assert status == 201
    assert bureau.get(f"/bureaus/{bureau.tenant}/rules", on="2031-06-01")[1][0]["rules"]["study_exempt_age"] == 80
    assert bureau.get(f"/bureaus/{bureau.tenant}/rules", on="2030-06-01")[1][0]["rules"]["study_exempt_age"] is None


def test_a_rule_of_the_wrong_type_or_name_is_a_400_naming_it(bureau):
    status, reply = bureau.put(f"/bureaus/{bureau.tenant}/rules",
                               {"effective_from": "2030-01-01", "rules": {"briefing_per_year": "often"}})
    assert status == 400 and "rules" in reply["error"]["fields"]
    status, reply = bureau.put(f"/bureaus/{bureau.tenant}/rules",
                               {"effective_from": "2030-01-01", "rules": {"points_per_checkin": 5}})
    assert status == 400 and "points_per_checkin" in str(reply["error"]["fields"])


def test_rules_of_another_bureau_are_forbidden(bureau, app, members_settings):
    from tests.integration.members_fixtures import new_bureau
    other = new_bureau(app, members_settings)
    assert other.get(f"/bureaus/{bureau.tenant}/rules")[0] == 403


def test_the_roster_on_a_date_follows_joining_death_and_leaving(bureau):
    branch = add_branch(bureau)
    zhang = add_member(bureau, branch, "张", joined_on="2015-01-01")
    add_member(bureau, branch, "李", joined_on="2021-06-01")
    wang = add_member(bureau, branch, "王", joined_on="2015-01-01")
    assert bureau.post(f"/members/{zhang}/actions/record-death", {"died_on": "2024-03-05"})[0] == 200
    assert bureau.post(f"/members/{wang}/actions/remove-from-party",
                       {"left_on": "2025-01-10", "decision": "支部大会决议"})[0] == 200
    assert roster_names(bureau, branch, "2020-01-01") == ["张", "王"]
    assert roster_names(bureau, branch, "2024-03-04") == ["张", "李", "王"]
    assert roster_names(bureau, branch, "2024-03-05") == ["李", "王"]
    assert roster_names(bureau, branch, "2025-06-01") == ["李"]
    status, reply = bureau.post(f"/members/{zhang}/actions/change-health",
                                {"health": "poor", "mobility": "homebound", "changed_on": "2024-04-01"})
    assert status == 422 and reply["error"]["code"] == "member_not_active"


def test_a_stale_if_match_is_a_409_and_a_missing_one_a_428(bureau):
    branch = add_branch(bureau)
    member = add_member(bureau, branch, "赵")
    status, current = bureau.get(f"/members/{member}")
    assert current["version"] == 1
    assert bureau.patch(f"/members/{member}", {"phone": "13900000000"})[0] == 428
    status, reply = bureau.patch(f"/members/{member}", {"phone": "13900000000"}, **{"If-Match": '"1"'})
    assert status == 200 and reply["version"] == 2
    status, reply = bureau.patch(f"/members/{member}", {"address": "三楼"}, **{"If-Match": "1"})
    assert status == 409 and reply["error"]["code"] == "concurrency_conflict"
    assert bureau.get(f"/members/{member}")[1]["phone"] == "13900000000"


def test_concurrent_profile_changes_at_one_version_lose_no_update(bureau, app, members_settings):
    from tests.support import ApiClient
    branch = add_branch(bureau)
    member = add_member(bureau, branch, "钱")
    barrier, outcomes = threading.Barrier(4), []

    def change(n):
        api = ApiClient(app.test_client(), members_settings, bureau.tenant)
        barrier.wait()
        outcomes.append(api.patch(f"/members/{member}", {"address": f"地址{n}"}, **{"If-Match": "1"})[0])

    threads = [threading.Thread(target=change, args=(n,)) for n in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == [200, 409, 409, 409]
    assert bureau.get(f"/members/{member}")[1]["version"] == 2


def test_party_groups_and_assignment(bureau):
    branch = add_branch(bureau)
    member = add_member(bureau, branch, "孙")
    group = bureau.created(f"/branches/{branch}/groups", {"name": "第一党小组"})
    assert bureau.post(f"/branches/{branch}/groups", {"name": "第一党小组"})[1]["error"]["code"] == "group_exists"
    assert bureau.post(f"/members/{member}/actions/assign-group", {"group_id": group})[0] == 200
    assert bureau.get(f"/members/{member}")[1]["group_id"] == group
    status, reply = bureau.post(f"/members/{member}/actions/assign-group", {"group_id": "nope"})
    assert status == 422 and reply["error"]["code"] == "unknown_group"


def test_a_merger_moves_every_member_on_the_day_and_no_one_is_lost(bureau):
    old, new = add_branch(bureau, "旧支部"), add_branch(bureau, "新支部")
    names = [f"成员{i}" for i in range(5)]
    for name in names:
        add_member(bureau, old, name)
    add_member(bureau, new, "原有成员")
    status, reply = bureau.post(f"/branches/{old}/actions/close", {"closed_on": "2026-01-01", "reason": "机构改革"})
    assert status == 422 and reply["error"]["code"] == "branch_has_members"
    status, reply = bureau.post(f"/branches/{old}/actions/merge", {"into_branch_id": new, "merged_on": "2026-01-01"})
    assert status == 200 and len(reply["moved"]) == 5
    assert roster_names(bureau, old, "2025-12-31") == sorted(names)
    assert roster_names(bureau, old, "2026-01-01") == []
    assert roster_names(bureau, new, "2026-01-01") == sorted(names + ["原有成员"])
    assert bureau.get(f"/branches/{old}")[1]["merged_into"] == new
    status, reply = bureau.post("/members", {"branch_id": old, "name": "迟到者", "gender": "male",
                                             "birth_date": "1950-01-01", "party_member": False, "retirement_kind":
                                             "retired", "health": "good", "mobility": "mobile"})
    assert status == 422 and reply["error"]["code"] == "branch_closed"


def test_an_election_breaking_a_rule_is_a_422_and_writes_nothing(bureau):
    branch = add_branch(bureau)
    ids = [add_member(bureau, branch, f"党员{i}") for i in range(8)]
    ballot = {"held_on": "2025-11-20", "eligible_voters": 8, "attendees": 6, "seats": 3,
              "candidates": [{"member_id": m, "name": f"党员{i}", "votes": 6 if i < 3 else 1}
                             for i, m in enumerate(ids[:4])],
              "posts": [{"post": "secretary", "member_id": ids[0]}, {"post": "deputy_secretary", "member_id": ids[1]},
                        {"post": "member", "member_id": ids[2]}]}
    status, reply = bureau.post(f"/branches/{branch}/elections", ballot)
    assert status == 422 and reply["error"]["code"] == "quorum_not_met" and "attendees" in reply["error"]["fields"]
    assert bureau.get(f"/branches/{branch}/committee")[1]["term"] is None
    status, reply = bureau.post(f"/branches/{branch}/elections", {**ballot, "attendees": 7})
    assert status == 201 and sorted(reply["elected"]) == sorted(ids[:3])
    status, committee = bureau.get(f"/branches/{branch}/committee")
    assert committee["term"]["ends_on"] == "2028-11-20" and committee["vacant_posts"] == []
    assert {p["post"] for p in committee["posts"]} == {"secretary", "deputy_secretary", "member"}
    assert bureau.post(f"/branches/{branch}/committee/allowances",
                       {"member_id": ids[0], "month": "2025-12", "amount": "300.00"})[0] == 201
    status, committee = bureau.get(f"/branches/{branch}/committee")
    assert committee["allowances"][0]["amount"] == "300.00"
    vacate = {"post": "secretary", "member_id": ids[0], "vacated_on": "2026-02-01", "reason": "身体原因"}
    assert bureau.post(f"/branches/{branch}/committee/vacancies", vacate)[0] == 201
    assert bureau.get(f"/branches/{branch}/committee")[1]["vacant_posts"] == ["secretary"]


def test_a_rebuild_from_the_event_store_reproduces_every_read_model(bureau, members_settings):
    from contracts.members import registry
    from services.members import projections
    from shared import db
    from shared.rebuild import ReadModel, StoreFeed, rebuild

    branch = add_branch(bureau)
    for name in ("甲", "乙", "丙"):
        add_member(bureau, branch, name)

    def read_models():
        with db.connect(members_settings.owner_dsn) as conn:
            return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                    for table in projections.TABLES}

    snapshot = read_models()
    seen = []
    result = rebuild(members_settings.owner_dsn, ReadModel(tables=projections.TABLES),
                     StoreFeed(registry, projections.project), batch=50, progress=lambda done, total: seen.append(done))
    assert result["applied"] > 0 and seen[-1] == result["applied"]
    assert read_models() == snapshot


def test_the_same_person_registered_twice_or_at_once_is_one_member(bureau, app, members_settings):
    from tests.integration.members_fixtures import MEMBER
    from tests.support import ApiClient
    branch = add_branch(bureau)
    add_member(bureau, branch, "唐", birth_date="1949-09-09")
    status, reply = bureau.post("/members", {**MEMBER, "branch_id": branch, "name": "唐", "birth_date": "1949-09-09"})
    assert status == 409 and reply["error"]["code"] == "member_already_registered"
    barrier, outcomes = threading.Barrier(4), []

    def register():
        api = ApiClient(app.test_client(), members_settings, bureau.tenant)
        barrier.wait()
        body = {**MEMBER, "branch_id": branch, "name": "宋", "birth_date": "1950-02-02"}
        outcomes.append(api.post("/members", body)[0])

    threads = [threading.Thread(target=register) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == [201, 409, 409, 409]
    assert roster_names(bureau, branch, "2026-01-01").count("宋") == 1


def test_members_are_found_by_branch_status_kind_and_part_of_the_name(bureau):
    branch, other = add_branch(bureau, "一支部"), add_branch(bureau, "二支部")
    add_member(bureau, branch, "欧阳明")
    gone = add_member(bureau, branch, "欧阳红", retirement_kind="lixiu")
    add_member(bureau, other, "司马光")
    bureau.post(f"/members/{gone}/actions/record-death", {"died_on": "2025-05-05"})
    status, found = bureau.get("/members", name="欧阳")
    assert status == 200 and [m["name"] for m in found] == ["欧阳明", "欧阳红"]
    assert [m["name"] for m in bureau.get("/members", branch_id=branch, status="active")[1]] == ["欧阳明"]
    assert [m["name"] for m in bureau.get("/members", retirement_kind="lixiu")[1]] == ["欧阳红"]
    assert bureau.get("/members", status="vanished")[0] == 400


@pytest.mark.parametrize("moment", EVENINGS_IN_UTC)
def test_someone_who_joined_today_in_beijing_is_registered_at_16_30_or_23_30_utc(app, bureau, moment):
    branch = add_branch(bureau)
    with clock_at(app, moment):
        joined = bureau.post("/members", {**MEMBER, "branch_id": branch, "name": "今天入册",
                                       "joined_on": BEIJING_TODAY.isoformat()})
        assert joined[0] == 201, joined
        status, reply = bureau.get(f"/branches/{branch}/members")
        assert reply["on"] == BEIJING_TODAY.isoformat() and [m["name"] for m in reply["members"]] == ["今天入册"]


def test_whether_a_person_is_registered_or_on_the_way_in_is_asked_in_one_statement(bureau, members_settings,
                                                                                    monkeypatch):
    import psycopg
    from datetime import date
    from services.members import queries
    from shared import db
    branch = add_branch(bureau)
    member_id = add_member(bureau, branch, "韩", birth_date="1948-03-03")
    sent = []
    execute = psycopg.Connection.execute

    def noting(self, query, *args, **kwargs):
        sent.append(query)
        return execute(self, query, *args, **kwargs)
    monkeypatch.setattr(psycopg.Connection, "execute", noting)
    with db.connect(members_settings.owner_dsn) as conn:
        found = queries.same_person(conn, "韩", date(1948, 3, 3))
        nobody = queries.same_person(conn, "韩", date(1948, 3, 4))
    assert found == {"member_id": member_id} and nobody is None
    assert len(sent) == 2
