"""Transfers and dues over HTTP against real PostgreSQL, with the cross-bureau saga driven by the stored events."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from contracts.rulebook.calendar import local_date, month_of

from services.members.bootstrap import bootstrap
from services.members.saga import TransferSaga
from shared import db, eventstore
from tests.integration.members_fixtures import (  # noqa: F401
    add_branch, add_member, app, bureau, new_bureau, roster_names)
from tests.support import ApiClient


def test_a_transfer_within_the_bureau_moves_the_member_on_the_day_of_receipt(bureau):
    old, new = add_branch(bureau, "一支部"), add_branch(bureau, "二支部")
    member = add_member(bureau, old, "周")
    status, letter = bureau.post("/transfers", {"member_id": member, "to_branch_id": new, "issued_on": "2026-03-01"})
    assert status == 201 and letter["valid_until"] == "2026-05-30"
    assert roster_names(bureau, old, "2026-03-10") == ["周"] and roster_names(bureau, new, "2026-03-10") == []
    status, reply = bureau.post(f"/transfers/{letter['id']}/actions/receive", {"on": "2026-03-10"})
    assert status == 200 and reply["member_id"] == member
    assert roster_names(bureau, old, "2026-03-09") == ["周"] and roster_names(bureau, new, "2026-03-09") == []
    assert roster_names(bureau, old, "2026-03-10") == [] and roster_names(bureau, new, "2026-03-10") == ["周"]
    assert bureau.post(f"/transfers/{letter['id']}/actions/receive", {"on": "2026-03-11"})[1]["error"]["code"] \
        == "transfer_received"
    assert bureau.post(f"/transfers/{letter['id']}/actions/return-slip", {"on": "2026-03-20"})[0] == 200
    assert bureau.get(f"/transfers/{letter['id']}")[1]["status"] == "closed"


def test_transferred_out_and_back_is_one_member_not_two(bureau):
    a, b = add_branch(bureau, "甲"), add_branch(bureau, "乙")
    member = add_member(bureau, a, "吴")
    for target, day in ((b, "2026-01-10"), (a, "2026-02-10")):
        letter = bureau.created("/transfers", {"member_id": member, "to_branch_id": target, "issued_on": day})
        assert bureau.post(f"/transfers/{letter}/actions/receive", {"on": day})[0] == 200
    assert roster_names(bureau, a, "2026-03-01") == ["吴"] and roster_names(bureau, b, "2026-03-01") == []
    assert roster_names(bureau, b, "2026-01-20") == ["吴"] and roster_names(bureau, a, "2026-01-20") == []


def test_bad_transfers_are_refused_with_codes(bureau):
    a, b = add_branch(bureau, "甲"), add_branch(bureau, "乙")
    member = add_member(bureau, a, "郑")
    assert bureau.post("/transfers", {"member_id": member, "to_branch_id": a})[1]["error"]["code"] == "same_branch"
    assert bureau.post("/transfers", {"member_id": member, "to_branch_id": "0" * 36})[0] == 404
    bureau.created("/transfers", {"member_id": member, "to_branch_id": b})
    status, reply = bureau.post("/transfers", {"member_id": member, "to_branch_id": b})
    assert status == 422 and reply["error"]["code"] == "transfer_pending"
    status, reply = bureau.post("/transfers", {"member_id": member, "to_branch_id": b, "bogus": 1})
    assert status == 400 and "bogus" in reply["error"]["fields"]


def test_a_letter_received_after_it_expired_is_refused_and_can_be_expired(bureau):
    a, b = add_branch(bureau, "甲"), add_branch(bureau, "乙")
    member = add_member(bureau, a, "冯")
    letter = bureau.created("/transfers", {"member_id": member, "to_branch_id": b, "issued_on": "2025-01-01"})
    status, reply = bureau.post(f"/transfers/{letter}/actions/receive", {"on": "2025-06-01"})
    assert status == 422 and reply["error"]["code"] == "letter_expired"
    assert bureau.post(f"/transfers/{letter}/actions/expire")[1]["status"] == "expired"
    assert roster_names(bureau, a, "2025-06-01") == ["冯"]


def test_concurrent_receipt_and_cancellation_leave_the_member_in_exactly_one_branch(bureau, app, members_settings):
    for attempt in range(5):
        a, b = add_branch(bureau, f"甲{attempt}"), add_branch(bureau, f"乙{attempt}")
        member = add_member(bureau, a, f"陈{attempt}")
        letter = bureau.created("/transfers", {"member_id": member, "to_branch_id": b, "issued_on": "2026-05-01"})
        barrier, outcomes = threading.Barrier(4), []

        def act(action, barrier=barrier, outcomes=outcomes, letter=letter):
            api = ApiClient(app.test_client(), members_settings, bureau.tenant)
            barrier.wait()
            outcomes.append((action, api.post(f"/transfers/{letter}/actions/{action}", {"on": "2026-05-02"})[0]))

        threads = [threading.Thread(target=act, args=(a_,)) for a_ in ("receive", "cancel", "receive", "cancel")]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert [status for _, status in outcomes].count(200) == 1
        in_a, in_b = roster_names(bureau, a, "2026-05-03"), roster_names(bureau, b, "2026-05-03")
        assert len(in_a) + len(in_b) == 1


def _run_saga(settings, after: int) -> int:
    """Feed every stored event after ``after`` to the saga, as the Kafka consumer would; return the last position."""
    saga = TransferSaga(bootstrap(settings))
    with db.connect(settings.owner_dsn) as conn:
        while True:
            batch = eventstore.read_all(conn, after)
            if not batch:
                return after
            for position, envelope in batch:
                with conn.transaction():
                    saga.apply(conn, envelope)
                after = position


def test_a_transfer_across_bureaus_is_carried_by_the_saga_and_each_bureau_sees_its_side(app, members_settings):
    sender, receiver = new_bureau(app, members_settings), new_bureau(app, members_settings)
    origin, target = add_branch(sender, "发出支部"), add_branch(receiver, "接收支部")
    member = add_member(sender, origin, "卫", birth_date="1951-02-03")
    with db.connect(members_settings.owner_dsn) as conn:
        start = conn.execute("SELECT max(position) AS p FROM events").fetchone()["p"]
    letter = sender.created("/transfers", {"member_id": member, "to_branch_id": target,
                                           "to_bureau_id": receiver.tenant, "issued_on": "2026-06-01"})
    assert receiver.get(f"/transfers/{letter}")[0] == 404
    start = _run_saga(members_settings, start)
    status, incoming = receiver.get(f"/transfers/{letter}")
    assert status == 200 and incoming["direction"] == "in" and incoming["member_name"] == "卫"
    status, reply = receiver.post("/members", {"branch_id": target, "name": "卫", "gender": "male",
                                               "birth_date": "1951-02-03", "party_member": False,
                                               "retirement_kind": "retired", "health": "good", "mobility": "mobile"})
    assert status == 422 and reply["error"]["code"] == "transfer_in_pending"
    status, received = receiver.post(f"/transfers/{letter}/actions/receive", {"on": "2026-06-15"})
    assert status == 200
    new_id = received["member_id"]
    start = _run_saga(members_settings, start)
    assert sender.get(f"/members/{member}")[1]["status"] == "transferred_out"
    assert roster_names(sender, origin, "2026-06-14") == ["卫"] and roster_names(sender, origin, "2026-06-15") == []
    assert roster_names(receiver, target, "2026-06-14") == [] and roster_names(receiver, target, "2026-06-15") == ["卫"]
    assert sender.get(f"/members/{new_id}")[0] == 404 and receiver.get(f"/members/{member}")[0] == 404
    assert receiver.post(f"/transfers/{letter}/actions/return-slip", {"on": "2026-06-20"})[0] == 200
    _run_saga(members_settings, start)
    assert sender.get(f"/transfers/{letter}")[1]["status"] == "closed"


def test_a_letter_to_a_missing_branch_in_another_bureau_looks_like_one_to_a_real_branch(app, members_settings):
    sender, receiver = new_bureau(app, members_settings), new_bureau(app, members_settings)
    origin, real = add_branch(sender), add_branch(receiver)
    ghost_member, real_member = add_member(sender, origin, "蒋"), add_member(sender, origin, "韩")
    with db.connect(members_settings.owner_dsn) as conn:
        start = conn.execute("SELECT max(position) AS p FROM events").fetchone()["p"]
    to_ghost = sender.created("/transfers", {"member_id": ghost_member, "to_branch_id": "1" * 36,
                                             "to_bureau_id": receiver.tenant})
    to_real = sender.created("/transfers", {"member_id": real_member, "to_branch_id": real,
                                            "to_bureau_id": receiver.tenant})
    _run_saga(members_settings, start)
    seen = [sender.get(f"/transfers/{letter}")[1] for letter in (to_ghost, to_real)]
    ignored = {"id", "transfer_id", "member_id", "member_name", "to_branch_id", "created_at", "updated_at"}
    shapes = [{key: value for key, value in body.items() if key not in ignored} for body in seen]
    assert shapes[0] == shapes[1] and seen[0]["status"] == "issued"
    assert roster_names(sender, origin, "2030-01-01") == ["蒋", "韩"]


def test_dues_are_assessed_paid_and_summarised_for_the_year(bureau):
    branch = add_branch(bureau)
    low = add_member(bureau, branch, "沈", pension_base="5000.00")
    high = add_member(bureau, branch, "韩", pension_base="5000.01")
    add_member(bureau, branch, "杨", pension_base=None)
    status, assessed = bureau.post(f"/branches/{branch}/dues/assessments", {"year": 2026})
    assert status == 201
    amounts = {a["member_id"]: a["monthly_amount"] for a in assessed["assessed"]}
    assert amounts == {low: "25.00", high: "50.00"} and assessed["skipped"][0]["reason"] == "no_pension_base"
    again = bureau.post(f"/branches/{branch}/dues/assessments", {"year": 2026})[1]
    assert again["assessed"] == [] and len(again["skipped"]) == 3
    months = [f"2026-{m:02d}" for m in range(5, 11)]
    assert bureau.post(f"/members/{low}/dues/payments", {"months": months, "paid_on": "2026-11-05"})[0] == 201
    status, reply = bureau.post(f"/members/{low}/dues/payments", {"months": ["2026-05"], "paid_on": "2026-11-05"})
    assert status == 422 and reply["error"]["code"] == "month_already_paid"
    status, ledger = bureau.get(f"/members/{low}/dues", year=2026)
    # Arrears are the months already over in the bureau's own time, so what is owed besides January to April
    # (paid: May to October) depends on the day the test runs: November and December once they are over.
    this_month = month_of(local_date(datetime.now(UTC)))
    over = [month for month in (f"2026-{m:02d}" for m in range(1, 13)) if month < this_month]
    assert ledger["monthly_amount"] == "25.00" and ledger["arrears"] == [m for m in over if m not in months]
    assert ledger["arrears"][:4] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    status, summary = bureau.get(f"/branches/{branch}/dues/summary", year=2026)
    rows = {r["member_id"]: r for r in summary["members"]}
    assert rows[low]["paid"] == "150.00" and rows[low]["due"] == "300.00" and rows[high]["due"] == "600.00"
    assert rows[low]["open_months"][:4] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert not set(months) & set(rows[low]["open_months"]) and rows[high]["open_months"][:1] == ["2026-01"]


def test_six_unpaid_months_raise_a_review_once_and_the_member_stays(bureau):
    branch = add_branch(bureau)
    member = add_member(bureau, branch, "朱", pension_base="4000.00", joined_on="2020-01-01")
    bureau.post(f"/branches/{branch}/dues/assessments", {"year": 2026})
    bureau.post(f"/members/{member}/dues/payments", {"months": ["2026-01", "2026-02"], "paid_on": "2026-02-10"})
    status, reply = bureau.post(f"/branches/{branch}/dues/actions/review-arrears", {"on": "2026-08-15"})
    assert status == 200 and reply["raised"] == []
    assert bureau.post(f"/branches/{branch}/dues/actions/review-arrears", {"on": "2026-09-01"})[1]["raised"] == [member]
    assert bureau.post(f"/branches/{branch}/dues/actions/review-arrears", {"on": "2026-10-01"})[1]["raised"] == []
    status, ledger = bureau.get(f"/members/{member}/dues", year=2026)
    assert ledger["reviews"][0]["since_month"] == "2026-03"
    assert bureau.get(f"/members/{member}")[1]["status"] == "active"
