"""The activities API in-process against a real PostgreSQL database: records, refusals, auth, tenancy, reports."""

from __future__ import annotations

from shared import db
from tests.integration.activities_support import app, bureau, count_events, seed_bureau  # noqa: F401 — fixtures
from tests.support import bearer, new_id, token

API = "/api/v1"


def study(bureau, **changes):
    body = {"branch_id": bureau.branch_a, "kind": "study", "occurred_on": "2024-11-08",
            "title": "学习二十届三中全会精神", "place": "局三楼活动中心", "topics": ["二十届三中全会"], "hours": "2.5",
            "attendees": [bureau.members["wang"], bureau.members["li"]]}
    return {**body, **changes}


def post(client, path, body, headers, **extra):
    return client.post(f"{API}{path}", json=body, headers={**headers, **extra})


# --- recording and reading -------------------------------------------------------------------------

def test_a_recorded_study_is_read_back_with_its_attendees_and_version(client, bureau):
    created = post(client, "/activities", study(bureau), bureau.headers())
    assert created.status_code == 201, created.json
    assert created.json["version"] == 1 and created.json["late"] is False
    read = client.get(f"{API}/activities/{created.json['id']}", headers=bureau.headers("auditor"))
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert sorted(read.json["attendees"]) == sorted([bureau.members["wang"], bureau.members["li"]])
    assert read.json["hours"] == "2.50" and read.json["status"] == "recorded"


def test_a_deceased_attendee_is_a_422_naming_the_member_and_nothing_is_written(client, bureau, activities_settings):
    body = study(bureau, occurred_on="2024-04-02", attendees=[bureau.members["wang"], bureau.members["chen"]])
    response = post(client, "/activities", body, bureau.headers())
    assert response.status_code == 422 and response.json["error"]["code"] == "member_deceased"
    assert response.json["error"]["fields"]["attendees"] == [f"{bureau.members['chen']}: member_deceased"]
    assert count_events(activities_settings, bureau.tenant) == 0


def test_a_member_moved_away_or_of_another_bureau_is_refused_but_a_guest_is_flagged(client, bureau,
                                                                                     activities_settings):
    moved = post(client, "/activities", study(bureau, attendees=[bureau.members["zhao"]]), bureau.headers())
    assert moved.status_code == 422 and moved.json["error"]["code"] == "member_of_another_branch"
    other = seed_bureau(activities_settings)
    foreign = post(client, "/activities", study(bureau, attendees=[other.members["wang"]]), bureau.headers())
    assert foreign.status_code == 422 and foreign.json["error"]["code"] == "unknown_member"
    guest = {"name": "赵国庆", "member_id": bureau.members["zhao"], "unit": "第二支部"}
    invited = post(client, "/activities", study(bureau, guests=[guest]), bureau.headers())
    assert invited.status_code == 201
    read = client.get(f"{API}/activities/{invited.json['id']}", headers=bureau.headers())
    assert read.json["guests"] == [guest]


def test_bad_input_is_a_400_naming_the_field(client, bureau):
    unknown_kind = post(client, "/activities", study(bureau, kind="picnic"), bureau.headers())
    assert unknown_kind.status_code == 400 and "kind" in unknown_kind.json["error"]["fields"]
    no_attendees = post(client, "/activities", {k: v for k, v in study(bureau).items() if k != "attendees"},
                        bureau.headers())
    assert no_attendees.status_code == 400 and "attendees" in no_attendees.json["error"]["fields"]
    extra = post(client, "/activities", study(bureau, colour="red"), bureau.headers())
    assert extra.json["error"]["fields"] == {"colour": ["不认识这个字段"]}


def test_a_date_in_the_future_and_an_unknown_branch_are_refused(client, bureau):
    future = post(client, "/activities", study(bureau, occurred_on="2024-11-21"), bureau.headers())
    assert future.status_code == 422 and future.json["error"]["code"] == "date_in_future"
    unknown = post(client, "/activities", study(bureau, branch_id=new_id(), attendees=[]), bureau.headers())
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "unknown_branch"


def test_a_general_meeting_records_whether_more_than_half_the_voting_members_came(client, bureau):
    # Voting members in November 2024: 王 and 李 (陈 died, 赵 moved, 孙 is not a full member).
    quorate = post(client, "/activities", study(bureau, kind="general_meeting"), bureau.headers())
    assert quorate.json["quorate"] is True and quorate.json["voting_members"] == 2
    short = post(client, "/activities", study(bureau, kind="general_meeting",
                                              attendees=[bureau.members["wang"], bureau.members["sun"]]),
                 bureau.headers())
    assert (short.json["voting_present"], short.json["quorate"]) == (1, False)


# --- planned, corrected, cancelled --------------------------------------------------------------------

def test_a_planned_meeting_is_recorded_then_corrected_with_if_match(client, bureau):
    plan = {"branch_id": bureau.branch_a, "kind": "committee_meeting", "occurred_on": "2024-11-25",
            "title": "十一月支委会", "status": "planned"}
    planned = post(client, "/activities", plan, bureau.secretary())
    assert planned.status_code == 201 and planned.json["status"] == "planned"
    activity = f"/activities/{planned.json['id']}"
    early = post(client, f"{activity}/actions/record", {"occurred_on": "2024-11-19", "attendees":
                                                        [bureau.members["wang"]]}, bureau.secretary())
    assert early.status_code == 201 and early.json["version"] == 2
    missing = post(client, f"{activity}/actions/correct", {"reason": "补录", "minutes": "会议纪要"}, bureau.secretary())
    assert missing.status_code == 400 and "If-Match" in missing.json["error"]["fields"]
    corrected = post(client, f"{activity}/actions/correct", {"reason": "补录出席", "attendees":
                     [bureau.members["wang"], bureau.members["li"]]}, bureau.secretary(), **{"If-Match": '"2"'})
    assert corrected.status_code == 201 and corrected.json["version"] == 3
    stale = post(client, f"{activity}/actions/correct", {"reason": "again", "minutes": "x"}, bureau.secretary(),
                 **{"If-Match": "2"})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "concurrency_conflict"
    read = client.get(f"{API}{activity}", headers=bureau.headers()).json
    assert read["corrections"] == 1 and len(read["attendees"]) == 2 and read["kind"] == "committee_meeting"


def test_a_cancelled_activity_stays_in_the_history_and_cannot_be_cancelled_twice(client, bureau, activities_settings):
    created = post(client, "/activities", study(bureau), bureau.headers()).json
    cancel = post(client, f"/activities/{created['id']}/actions/cancel", {"reason": "误录"}, bureau.headers())
    assert cancel.status_code == 201 and cancel.json["status"] == "cancelled"
    again = post(client, f"/activities/{created['id']}/actions/cancel", {"reason": "误录"}, bureau.headers())
    assert again.status_code == 422 and again.json["error"]["code"] == "activity_already_cancelled"
    assert count_events(activities_settings, bureau.tenant) == 2


# --- authorisation and tenancy ------------------------------------------------------------------------

def test_who_may_write_and_read(client, bureau, activities_settings):
    assert client.post(f"{API}/activities", json=study(bureau)).status_code == 401
    other_secretary = post(client, "/activities", study(bureau), bureau.secretary(bureau.branch_b))
    assert other_secretary.status_code == 403
    auditor = post(client, "/activities", study(bureau), bureau.headers("auditor"))
    assert auditor.status_code == 403
    created = post(client, "/activities", study(bureau), bureau.secretary()).json
    stranger = bearer(token(activities_settings, "bureau_admin", tenant=new_id()))
    assert client.get(f"{API}/activities/{created['id']}", headers=stranger).status_code == 404
    hidden = client.get(f"{API}/activities/{created['id']}", headers=bureau.secretary(bureau.branch_b))
    assert hidden.status_code == 404
    listed = client.get(f"{API}/activities?branch_id={bureau.branch_a}", headers=bureau.headers("auditor")).json
    assert [a["id"] for a in listed] == [created["id"]]


def test_a_retried_command_with_the_same_idempotency_key_is_recorded_once(client, bureau, activities_settings):
    admin = bureau.headers(subject="secretary-wang")
    first = post(client, "/activities", study(bureau), admin, **{"Idempotency-Key": "study-nov"})
    again = post(client, "/activities", study(bureau), admin, **{"Idempotency-Key": "study-nov"})
    assert first.json == again.json and again.headers["Idempotent-Replayed"] == "true"
    assert count_events(activities_settings, bureau.tenant) == 1


# --- outreach, coverage, study hours ------------------------------------------------------------------

def test_coverage_counts_study_and_outreach_and_lists_the_uncovered(client, bureau):
    post(client, "/activities", study(bureau, occurred_on="2024-10-10", attendees=[bureau.members["wang"]]),
         bureau.headers())
    visit = post(client, "/outreach", {"member_id": bureau.members["li"], "channel": "home_study",
                                       "occurred_on": "2024-10-12", "topic": "送学上门", "hours": "1.5"},
                 bureau.secretary())
    assert visit.status_code == 201, visit.json
    report = client.get(f"{API}/branches/{bureau.branch_a}/coverage?period=2024-10", headers=bureau.headers("auditor"))
    assert report.status_code == 200
    assert sorted(m["name"] for m in report.json["covered"]) == ["李淑芬", "王德明"]
    # 孙 is not a Party member: care serves him; coverage counts the Party members only
    assert report.json["uncovered"] == [] and report.json["complete"] is True and report.json["due"] == 2
    september = client.get(f"{API}/branches/{bureau.branch_a}/coverage?period=2024-09", headers=bureau.headers()).json
    suggested = {m["name"]: m["suggested_channel"] for m in september["uncovered"]}
    assert suggested == {"王德明": "phone", "李淑芬": "visit"}  # the frail are visited, the rest phoned
    march = client.get(f"{API}/branches/{bureau.branch_a}/coverage?period=2024-03", headers=bureau.headers()).json
    assert ([m["name"] for m in march["departed"]] == ["陈秀英"]
            and [m["name"] for m in march["moved_out"]] == ["赵国庆"])
    hours = client.get(f"{API}/branches/{bureau.branch_a}/study-hours?year=2024", headers=bureau.headers()).json
    rows = {row["name"]: row for row in hours["members"]}
    assert rows["王德明"]["hours"] == "2.50" and rows["李淑芬"]["exempt"] is True and rows["李淑芬"]["hours"] == "1.50"


def test_an_outreach_for_a_member_not_in_the_branch_is_refused(client, bureau):
    body = {"member_id": bureau.members["zhao"], "channel": "visit", "occurred_on": "2024-10-12", "topic": "谈心",
            "branch_id": bureau.branch_a}
    response = post(client, "/outreach", body, bureau.headers())
    assert response.status_code == 422 and response.json["error"]["code"] == "member_not_in_branch"
    secretary_a = post(client, "/outreach", {**body, "branch_id": None} | {"branch_id": bureau.branch_b},
                       bureau.secretary())
    assert secretary_a.status_code == 403


# --- care -------------------------------------------------------------------------------------------

def test_holiday_visits_are_linked_to_the_lunar_holiday_and_a_second_newspaper_is_a_409(client, bureau):
    visit = post(client, "/care", {"member_id": bureau.members["wang"], "kind": "holiday_visit",
                                   "occurred_on": "2024-02-02"}, bureau.headers())
    assert visit.status_code == 201 and (visit.json["holiday"], visit.json["holiday_date"]) == (
        "spring_festival", "2024-02-10")
    paper = {"member_id": bureau.members["wang"], "kind": "newspaper", "occurred_on": "2024-01-05", "year": 2024}
    assert post(client, "/care", paper, bureau.headers()).status_code == 201
    again = post(client, "/care", paper, bureau.headers())
    assert again.status_code == 409 and again.json["error"]["code"] == "newspaper_already_subscribed"
    overview = client.get(f"{API}/branches/{bureau.branch_a}/care?year=2024", headers=bureau.headers()).json
    wang = next(m for m in overview["members"] if m["name"] == "王德明")
    assert wang["newspaper"] is True and wang["holiday_visits"][0] == {
        "holiday": "spring_festival", "date": "2024-02-10", "visited_on": "2024-02-02"}


# --- pledges ------------------------------------------------------------------------------------

def test_a_pledge_is_stored_apart_readable_by_the_rules_roles_only_and_every_read_recorded(
        client, bureau, activities_settings):
    signed = post(client, "/pledges", {"member_id": bureau.members["wang"], "kind": "no_religion",
                                       "signed_on": "2024-06-28", "statement": "本人承诺不信仰宗教、不参与宗教活动"},
                  bureau.secretary())
    assert signed.status_code == 201
    pledge = f"{API}/pledges/{signed.json['id']}"
    assert client.get(pledge, headers=bureau.secretary()).status_code == 403
    assert client.get(pledge, headers=bureau.headers("auditor")).status_code == 403
    read = client.get(pledge, headers=bureau.headers(subject="admin-zhang"))
    assert read.status_code == 200 and read.json["statement"].startswith("本人承诺")
    reads = client.get(f"{pledge}/reads", headers=bureau.headers("auditor")).json
    assert [(r["reader"], r["reader_role"]) for r in reads] == [("admin-zhang", "bureau_admin")]
    with db.connect(activities_settings.owner_dsn) as conn:
        data = [row["data"] for row in conn.execute(
            "SELECT data FROM events WHERE stream_id = %s ORDER BY stream_version", (f"pledge-{signed.json['id']}",))]
    assert "statement" not in data[0] and set(data[0]) == {"pledge_id", "branch_id", "member_id", "kind", "signed_on"}
    assert data[1]["reader"] == "admin-zhang"


def test_the_api_role_cannot_read_a_pledge_without_the_pledge_reader_mark(client, bureau, activities_settings):
    post(client, "/pledges", {"member_id": bureau.members["li"], "kind": "no_religion", "signed_on": "2024-06-28"},
         bureau.headers())
    with db.connect(activities_settings.app_dsn) as conn, conn.transaction():
        db.set_tenant(conn, bureau.tenant)
        assert conn.execute("SELECT count(*) AS n FROM pledges").fetchone()["n"] == 0
        conn.execute("SELECT set_config('branchwork.pledge_reader', 'on', true)")
        assert conn.execute("SELECT count(*) AS n FROM pledges").fetchone()["n"] == 1


# --- talks and teams ------------------------------------------------------------------------------

def test_a_talk_and_a_team_with_a_performance(client, bureau):
    talk = post(client, "/talks", {"branch_id": bureau.branch_a, "speakers": [bureau.members["wang"]],
                                   "audience": "局机关青年干部", "topic": "解放金积侯桥战役亲历",
                                   "occurred_on": "2024-07-01", "audience_size": 40}, bureau.headers())
    assert talk.status_code == 201 and talk.json["version"] == 2
    read = client.get(f"{API}/activities/{talk.json['id']}", headers=bureau.headers()).json
    assert read["kind"] == "talk_given" and read["talk"]["audience"] == "局机关青年干部"
    team = post(client, "/teams", {"branch_id": bureau.branch_a, "name": "夕阳红合唱队", "kind": "choir",
                                   "formed_on": "2023-03-01", "members": [bureau.members["wang"]]}, bureau.headers())
    assert team.status_code == 201
    joined = post(client, f"/teams/{team.json['id']}/members", {"member_id": bureau.members["li"],
                                                                 "joined_on": "2024-01-10"}, bureau.headers())
    assert joined.status_code == 201
    performed = post(client, f"/teams/{team.json['id']}/performances", {
        "occurred_on": "2024-10-01", "title": "社区国庆演出",
        "performers": [bureau.members["wang"], bureau.members["li"]], "audience": "社区居民"}, bureau.headers())
    assert performed.status_code == 201
    outsider = post(client, f"/teams/{team.json['id']}/performances", {
        "occurred_on": "2024-10-01", "title": "x", "performers": [bureau.members["sun"]]}, bureau.headers())
    assert outsider.status_code == 422 and outsider.json["error"]["code"] == "performer_not_in_team"
    detail = client.get(f"{API}/teams/{team.json['id']}", headers=bureau.headers()).json
    assert len(detail["members"]) == 2 and detail["performances"][0]["title"] == "社区国庆演出"


# --- the centre and periods -------------------------------------------------------------------------

def test_the_centre_checklist_with_evidence_and_a_move(client, bureau):
    centre = f"/branches/{bureau.branch_a}/centre"
    assert post(client, centre, {"place": "局六楼", "set_up_on": "2020-01-01"}, bureau.headers()).status_code == 201
    again = post(client, centre, {"place": "局六楼", "set_up_on": "2020-01-01"}, bureau.headers())
    assert again.status_code == 409
    post(client, f"{centre}/evidence", {"item": "有场所", "evidenced_on": "2020-01-02", "evidence": "六楼活动室"},
         bureau.headers())
    moved = post(client, f"{centre}/actions/move", {"to_place": "局三楼", "moved_on": "2024-05-01"}, bureau.headers())
    assert moved.status_code == 201
    flag = post(client, f"{centre}/evidence", {"item": "有党旗", "evidenced_on": "2024-05-02", "evidence": "党旗上墙",
                                              "photo_ref": "photos/flag.jpg"}, bureau.headers())
    assert flag.status_code == 201
    wrong = post(client, f"{centre}/evidence", {"item": "有电梯", "evidenced_on": "2024-05-02", "evidence": "x"},
                 bureau.headers())
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "not_a_checklist_item"
    view = client.get(f"{API}{centre}", headers=bureau.headers("auditor")).json
    items = {item["item"]: item for item in view["checklist"]}
    assert view["place"] == "局三楼" and view["complete"] is False
    assert items["有党旗"]["met"] and items["有党旗"]["evidence"]["photo_ref"] == "photos/flag.jpg"
    assert items["有场所"]["stale"] and not items["有书报"]["met"]


def test_records_in_a_closed_period_are_accepted_and_flagged_late(client, bureau):
    closed = post(client, "/periods", {"period": "2024-10"}, bureau.headers())
    assert closed.status_code == 201
    assert post(client, "/periods", {"period": "2024-10"}, bureau.headers()).status_code == 409
    assert post(client, "/periods", {"period": "2024-11"}, bureau.headers()).json["error"]["code"] == "period_not_ended"
    assert post(client, "/periods", {"period": "2024-09"}, bureau.secretary()).status_code == 403
    late = post(client, "/activities", study(bureau, occurred_on="2024-10-30"), bureau.headers())
    assert late.status_code == 201 and late.json["late_reasons"] == ["period_closed"]
    old = post(client, "/activities", study(bureau, occurred_on="2024-09-01"), bureau.headers())
    assert old.json["late_reasons"] == ["entered_after_days"]
    assert [p["period"] for p in client.get(f"{API}/periods", headers=bureau.headers("auditor")).json] == ["2024-10"]


def test_the_roster_on_a_date_and_the_holidays(client, bureau):
    before = client.get(f"{API}/branches/{bureau.branch_a}/roster?on=2024-03-01", headers=bureau.headers()).json
    after = client.get(f"{API}/branches/{bureau.branch_a}/roster?on=2024-03-20", headers=bureau.headers()).json
    assert len(before["members"]) == 5 and sorted(m["name"] for m in after["members"]) == ["孙志刚", "李淑芬", "王德明"]
    holidays = client.get(f"{API}/holidays?year=2025", headers=bureau.headers()).json
    by_name = {h["holiday"]: h for h in holidays}
    assert by_name["spring_festival"]["date"] == "2025-01-29" and by_name["spring_festival"]["visits_required"]
    assert by_name["double_ninth"]["date"] == "2025-10-29" and not by_name["double_ninth"]["visits_required"]


def test_health_readiness_and_openapi(client):
    assert client.get("/healthz").json["status"] == "ok"
    spec = client.get("/openapi.json").json
    assert {"/api/v1/activities", "/api/v1/branches/{branch_id}/coverage", "/api/v1/branches/{branch_id}/centre",
            "/api/v1/outreach", "/api/v1/care", "/api/v1/pledges"} <= set(spec["paths"])


def test_a_withdrawn_outreach_no_longer_covers_and_a_withdrawn_newspaper_can_be_replaced(client, bureau):
    visit = post(client, "/outreach", {"member_id": bureau.members["wang"], "channel": "phone",
                                       "occurred_on": "2024-10-12", "topic": "电话沟通"}, bureau.headers()).json

    def uncovered():
        report = client.get(f"{API}/branches/{bureau.branch_a}/coverage?period=2024-10", headers=bureau.headers())
        return [m["name"] for m in report.json["uncovered"]]
    assert "王德明" not in uncovered()
    withdrawn = post(client, f"/outreach/{visit['id']}/actions/withdraw", {"reason": "误录"}, bureau.secretary())
    assert withdrawn.status_code == 201 and withdrawn.json["version"] == 2
    assert "王德明" in uncovered()
    again = post(client, f"/outreach/{visit['id']}/actions/withdraw", {"reason": "误录"}, bureau.headers())
    assert again.status_code == 422 and again.json["error"]["code"] == "record_already_withdrawn"
    listed = client.get(f"{API}/outreach?member_id={bureau.members['wang']}", headers=bureau.headers()).json
    assert listed[0]["withdrawn_on"] == "2024-11-20" and listed[0]["withdraw_reason"] == "误录"
    paper = {"member_id": bureau.members["sun"], "kind": "newspaper", "occurred_on": "2024-01-05", "year": 2024}
    first = post(client, "/care", paper, bureau.headers()).json
    paper_withdrawn = post(client, f"/care/{first['id']}/actions/withdraw", {"reason": "订错"}, bureau.headers())
    assert paper_withdrawn.status_code == 201
    assert post(client, "/care", paper, bureau.headers()).status_code == 201
    assert post(client, f"/care/{new_id()}/actions/withdraw", {"reason": "x"}, bureau.headers()).status_code == 404


def test_the_read_models_rebuilt_from_the_event_store_are_the_same(client, bureau, activities_settings):
    from services.activities.events import registry
    from services.activities.projections import TABLES, project
    from shared.rebuild import ReadModel, StoreFeed, rebuild

    created = post(client, "/activities", study(bureau), bureau.headers()).json
    post(client, f"/activities/{created['id']}/actions/correct", {"reason": "补录", "minutes": "纪要"},
         bureau.headers(), **{"If-Match": "1"})
    post(client, "/care", {"member_id": bureau.members["wang"], "kind": "health_check", "occurred_on": "2024-10-15"},
         bureau.headers())
    post(client, f"/branches/{bureau.branch_a}/centre", {"place": "局三楼", "set_up_on": "2020-01-01"},
         bureau.headers())

    def read_models(conn):
        return {table: conn.execute(f"SELECT * FROM {table} WHERE tenant_id = %s ORDER BY 1, 2, 3",
                                    (bureau.tenant,)).fetchall() for table in TABLES}

    with db.connect(activities_settings.owner_dsn, autocommit=True) as conn:
        before = read_models(conn)
        rebuild(activities_settings.owner_dsn, ReadModel(tables=TABLES), StoreFeed(registry, project))
        assert read_models(conn) == before
    assert before["activities"][0]["corrections"] == 1 and before["centres"]
