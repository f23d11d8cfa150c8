"""A rebuild leaves exactly the rows the live projections wrote: a history made through the commands, replayed in
batches of every size (a batch of one event, batches that split an activity's record from its correction, one
batch for all), compared table by table, row by row, with what the commands left."""

from __future__ import annotations

from services.members.bootstrap import bootstrap
from services.members.saga import TransferSaga
from services.registry import SERVICES
from shared import db, eventstore
from shared.rebuild import rebuild
from tests.fixtures import activities_app, members_app  # noqa: F401 — fixtures are found by name
from tests.integration.activities_support import seed_bureau
from tests.integration.members_fixtures import add_branch, add_member, new_bureau

BATCHES = (1, 3, 2000)


def rows_of(settings, tables: tuple[str, ...], tenants: list[str]) -> dict[str, list]:
    """Every row of ``tables`` written for ``tenants``, whole, in one order."""
    with db.connect(settings.owner_dsn) as conn:
        return {table: [row for row in conn.execute(
            f"SELECT t::text AS row FROM {table} t WHERE tenant_id = ANY(%s) ORDER BY 1", (tenants,)).fetchall()]
            for table in tables}


def rebuilt_in_batches(name: str, settings, tenants: list[str]) -> dict[int, dict[str, list]]:
    """The read models after a rebuild with each batch size, as ``branchwork rebuild`` runs it."""
    service, found = SERVICES.service(name, settings), {}
    for batch in BATCHES:
        result = rebuild(settings.owner_dsn, service.read_model, service.feed(), batch=batch)
        assert result["applied"] > 0
        found[batch] = rows_of(settings, service.read_model.tables, tenants)
    return found


# --- members ----------------------------------------------------------------------------------------------

def members_history(app, settings) -> list[str]:
    """Bureaus, branches, members who move, die, leave and transfer, groups, an election and its committee, dues."""
    bureau, other = new_bureau(app, settings), new_bureau(app, settings)
    rules = f"/bureaus/{bureau.tenant}/rules"
    assert bureau.patch(rules, {"effective_from": "2027-01-01", "rules": {"briefing_per_year": 2}})[0] == 201
    a, b, shut = add_branch(bureau, "甲"), add_branch(bureau, "乙"), add_branch(bureau, "丙")
    ids = [add_member(bureau, a, f"党员{i}", pension_base="5000.00") for i in range(8)]
    ballot = {"held_on": "2025-11-20", "eligible_voters": 8, "attendees": 7, "seats": 3,
              "candidates": [{"member_id": m, "name": f"党员{i}", "votes": 6 if i < 3 else 1}
                             for i, m in enumerate(ids[:4])],
              "posts": [{"post": "secretary", "member_id": ids[0]}, {"post": "deputy_secretary", "member_id": ids[1]},
                        {"post": "member", "member_id": ids[2]}]}
    assert bureau.post(f"/branches/{a}/elections", ballot)[0] == 201
    assert bureau.post(f"/branches/{a}/committee/allowances",
                       {"member_id": ids[0], "month": "2025-12", "amount": "300.00"})[0] == 201
    vacancy = {"post": "secretary", "member_id": ids[0], "vacated_on": "2026-02-01", "reason": "身体原因"}
    assert bureau.post(f"/branches/{a}/committee/vacancies", vacancy)[0] == 201
    mover, dead, gone = (add_member(bureau, a, name) for name in ("迁", "故", "离"))
    group = bureau.created(f"/branches/{a}/groups", {"name": "第一党小组"})
    assert bureau.post(f"/members/{ids[0]}/actions/assign-group", {"group_id": group})[0] == 200
    assert bureau.patch(f"/members/{ids[1]}", {"phone": "13900000000"}, **{"If-Match": "1"})[0] == 200
    assert bureau.post(f"/members/{ids[2]}/actions/change-health",
                       {"health": "poor", "mobility": "homebound", "changed_on": "2024-04-01"})[0] == 200
    assert bureau.post(f"/members/{dead}/actions/record-death", {"died_on": "2024-03-05"})[0] == 200
    assert bureau.post(f"/members/{gone}/actions/remove-from-party",
                       {"left_on": "2025-01-10", "decision": "支部大会决议"})[0] == 200
    assert bureau.post(f"/branches/{a}/dues/assessments", {"year": 2026})[0] == 201
    paid_ahead = {"months": [f"2026-{month:02d}" for month in range(1, 13)], "paid_on": "2026-02-20"}
    assert bureau.post(f"/members/{ids[5]}/dues/payments", paid_ahead)[0] == 201
    moved = bureau.created("/transfers", {"member_id": ids[5], "to_branch_id": b, "issued_on": "2026-03-01"})
    assert bureau.post(f"/transfers/{moved}/actions/receive", {"on": "2026-03-10"})[0] == 200
    assert bureau.post(f"/members/{mover}/dues/payments", paid_ahead)[0] == 201  # carried to the other bureau
    expired = bureau.created("/transfers", {"member_id": ids[7], "to_branch_id": b, "issued_on": "2025-01-01"})
    assert bureau.post(f"/transfers/{expired}/actions/expire")[0] == 200
    across = bureau.created("/transfers", {"member_id": mover, "to_branch_id": add_branch(other, "外局支部"),
                                           "to_bureau_id": other.tenant, "issued_on": "2026-06-01"})
    carried_by_the_saga(settings)
    assert other.post(f"/transfers/{across}/actions/receive", {"on": "2026-06-15"})[0] == 200
    carried_by_the_saga(settings)
    assert other.post(f"/transfers/{across}/actions/return-slip", {"on": "2026-06-20"})[0] == 200
    carried_by_the_saga(settings)
    reduction = {"year": 2026, "from_month": "2026-03", "monthly_amount": "5.00", "resolution": "困难减免"}
    assert bureau.post(f"/members/{ids[3]}/dues/reductions", reduction)[0] == 201
    assert bureau.post(f"/members/{ids[3]}/dues/payments", {"months": ["2026-01", "2026-02", "2026-03"],
                                                            "paid_on": "2026-03-05"})[0] == 201
    assert bureau.post(f"/branches/{a}/dues/actions/review-arrears", {"on": "2026-09-01"})[0] == 200
    assert bureau.post(f"/branches/{shut}/actions/close", {"closed_on": "2026-01-01", "reason": "撤并"})[0] == 200
    return [bureau.tenant, other.tenant]


def carried_by_the_saga(settings) -> None:
    """Every stored event through the transfer saga, as its Kafka consumer would (its steps are idempotent)."""
    saga = TransferSaga(bootstrap(settings))
    with db.connect(settings.owner_dsn) as conn:
        for _position, envelope in eventstore.read_all(conn, 0, 1_000_000):
            with conn.transaction():
                saga.apply(conn, envelope)


def test_a_members_rebuild_in_batches_of_any_size_writes_the_rows_the_commands_wrote(members_app, members_settings):  # noqa: F811
    from services.members import projections
    tenants = members_history(members_app, members_settings)
    live = rows_of(members_settings, projections.TABLES, tenants)
    assert all(live[table] for table in projections.TABLES), [table for table in projections.TABLES if not live[table]]
    for batch, rebuilt in rebuilt_in_batches("members", members_settings, tenants).items():
        for table in projections.TABLES:
            assert rebuilt[table] == live[table], (batch, table)


# --- activities -------------------------------------------------------------------------------------------

API = "/api/v1"


def activities_history(client, bureau) -> None:
    """Activities planned, recorded, corrected and cancelled, talks, outreach and care (one withdrawn of each),
    a team with its members and a performance, a pledge read, a centre set up, evidenced and moved, a period."""
    def send(path, body, **headers):
        reply = client.post(f"{API}{path}", json=body, headers={**bureau.headers(), **headers})
        assert reply.status_code == 201, (path, reply.json)
        return reply.json

    ids = bureau.members
    study = {"branch_id": bureau.branch_a, "kind": "study", "occurred_on": "2024-11-08", "title": "学习",
             "place": "局三楼", "topics": ["二十届三中全会"], "hours": "2.5", "attendees": [ids["wang"], ids["li"]],
             "absentees": [{"member_id": ids["sun"], "reason": "住院"}]}
    planned = send("/activities", {"branch_id": bureau.branch_a, "kind": "committee_meeting",
                                   "occurred_on": "2024-11-25", "title": "支委会", "status": "planned"})
    send(f"/activities/{planned['id']}/actions/record", {"occurred_on": "2024-11-19", "attendees": [ids["wang"]]})
    send(f"/activities/{planned['id']}/actions/correct", {"reason": "补录出席", "attendees": [ids["wang"], ids["li"]]},
         **{"If-Match": '"2"'})
    recorded = send("/activities", study)
    send(f"/activities/{recorded['id']}/actions/correct", {"reason": "补录", "minutes": "纪要"}, **{"If-Match": '"1"'})
    cancelled = send("/activities", {**study, "occurred_on": "2024-11-01"})
    send(f"/activities/{cancelled['id']}/actions/cancel", {"reason": "误录"})
    send("/talks", {"branch_id": bureau.branch_a, "speakers": [ids["wang"]], "audience": "青年干部", "topic": "亲历",
                    "occurred_on": "2024-07-01", "audience_size": 40})
    visit = {"member_id": ids["li"], "channel": "visit", "occurred_on": "2024-11-02", "topic": "走访"}
    send(f"/outreach/{send('/outreach', visit)['id']}/actions/withdraw", {"reason": "误录"})
    send("/outreach", {**visit, "occurred_on": "2024-11-03"})
    care = send("/care", {"member_id": ids["wang"], "kind": "health_check", "occurred_on": "2024-10-15"})
    send(f"/care/{care['id']}/actions/withdraw", {"reason": "订错"})
    send("/care", {"member_id": ids["wang"], "kind": "newspaper", "occurred_on": "2024-01-05", "year": 2024})
    team = send("/teams", {"branch_id": bureau.branch_a, "name": "合唱队", "kind": "choir", "formed_on": "2023-03-01",
                           "members": [ids["wang"]]})
    send(f"/teams/{team['id']}/members", {"member_id": ids["li"], "joined_on": "2024-01-10"})
    send(f"/teams/{team['id']}/performances", {"occurred_on": "2024-10-01", "title": "国庆演出",
                                               "performers": [ids["wang"], ids["li"]], "audience": "社区居民"})
    pledge = send("/pledges", {"member_id": ids["wang"], "kind": "no_religion", "signed_on": "2024-06-28"})
    assert client.get(f"{API}/pledges/{pledge['id']}", headers=bureau.headers(subject="admin-zhang")).status_code == 200
    centre = f"/branches/{bureau.branch_a}/centre"
    send(centre, {"place": "局六楼", "set_up_on": "2020-01-01"})
    send(f"{centre}/evidence", {"item": "有场所", "evidenced_on": "2020-01-02", "evidence": "六楼活动室"})
    send(f"{centre}/actions/move", {"to_place": "局三楼", "moved_on": "2024-05-01"})
    send("/periods", {"period": "2024-10"})


def test_an_activities_rebuild_in_batches_of_any_size_writes_the_rows_the_commands_wrote(
        activities_app, activities_settings):  # noqa: F811
    from services.activities import projections
    bureau = seed_bureau(activities_settings)
    activities_history(activities_app.test_client(), bureau)
    live = rows_of(activities_settings, projections.TABLES, [bureau.tenant])
    assert all(live[table] for table in projections.TABLES)
    for batch, rebuilt in rebuilt_in_batches("activities", activities_settings, [bureau.tenant]).items():
        for table in projections.TABLES:
            assert rebuilt[table] == live[table], (batch, table)


def test_the_participants_key_is_built_after_the_fill_or_when_a_correction_first_needs_it(
        activities_app, activities_settings):  # noqa: F811
    """Replayed one event at a time: the shadow's participants have no key until the first correction looks its
    activity's rows up; the swapped table has the key under its own name, and every row the commands wrote."""
    from services.activities import projections
    bureau = seed_bureau(activities_settings)
    activities_history(activities_app.test_client(), bureau)
    live = rows_of(activities_settings, projections.TABLES, [bureau.tenant])
    service = SERVICES.service("activities", activities_settings)
    keyed = []
    with db.connect(activities_settings.owner_dsn, autocommit=True) as watcher:
        def progress(done: int, total: int) -> None:
            keyed.append(watcher.execute(
                "SELECT count(*) AS n FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'p'",
                (f"{service.read_model.shadow}.activity_participants",)).fetchone()["n"] == 1)

        rebuild(activities_settings.owner_dsn, service.read_model, service.feed(), batch=1, progress=progress)
        key = watcher.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'activity_participants'::regclass"
                              " AND contype = 'p'").fetchone()
    assert False in keyed and True in keyed and keyed.index(True) < len(keyed) - 1  # before the first round ended
    assert key["conname"] == "activity_participants_pkey"
    assert rows_of(activities_settings, projections.TABLES, [bureau.tenant]) == live
