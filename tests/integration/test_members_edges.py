"""Edges over HTTP: a merger while a letter is pending, a letter to a closed branch, the dues of a member
moved mid-year, rules amended with PATCH, an election candidate from outside the branch."""

from __future__ import annotations

from tests.integration.members_fixtures import add_branch, add_member, app, bureau, roster_names  # noqa: F401


def test_a_letter_received_into_the_branch_the_member_was_merged_into_leaves_them_in_exactly_one_branch(bureau):
    old, new = add_branch(bureau, "甲"), add_branch(bureau, "乙")
    member = add_member(bureau, old, "钱")
    letter = bureau.created("/transfers", {"member_id": member, "to_branch_id": new, "issued_on": "2026-03-01"})
    assert bureau.post(f"/branches/{old}/actions/merge", {"into_branch_id": new, "merged_on": "2026-03-10"})[0] == 200
    status, reply = bureau.post(f"/transfers/{letter}/actions/receive", {"on": "2026-03-09"})
    assert status == 422 and reply["error"]["code"] == "before_current_branch"
    assert bureau.post(f"/transfers/{letter}/actions/receive", {"on": "2026-03-10"})[0] == 200
    assert roster_names(bureau, new, "2026-03-11") == ["钱"] and roster_names(bureau, old, "2026-03-11") == []


def test_a_death_while_a_letter_is_pending_cancels_it_and_a_closed_branch_gets_no_letter(bureau):
    a, b, shut = add_branch(bureau, "甲"), add_branch(bureau, "乙"), add_branch(bureau, "丙")
    member = add_member(bureau, a, "孙")
    letter = bureau.created("/transfers", {"member_id": member, "to_branch_id": b, "issued_on": "2026-03-01"})
    assert bureau.post(f"/members/{member}/actions/record-death", {"died_on": "2026-03-05"})[0] == 200
    assert bureau.get(f"/transfers/{letter}")[1]["status"] == "cancelled"
    assert bureau.post(f"/transfers/{letter}/actions/receive", {"on": "2026-03-06"})[0] == 422
    assert roster_names(bureau, b, "2026-03-07") == [] and roster_names(bureau, a, "2026-03-07") == []
    assert bureau.post(f"/branches/{shut}/actions/close", {"closed_on": "2026-01-01", "reason": "撤并"})[0] == 200
    other = add_member(bureau, a, "李")
    status, reply = bureau.post("/transfers", {"member_id": other, "to_branch_id": shut})
    assert status == 422 and reply["error"]["code"] == "branch_closed" and "to_branch_id" in reply["error"]["fields"]


def test_a_member_moved_mid_year_is_owed_by_the_sender_until_the_move_and_by_the_receiver_after(bureau):
    a, b = add_branch(bureau, "甲"), add_branch(bureau, "乙")
    member = add_member(bureau, a, "周", pension_base="4000.00")
    bureau.post(f"/branches/{a}/dues/assessments", {"year": 2026})
    letter = bureau.created("/transfers", {"member_id": member, "to_branch_id": b, "issued_on": "2026-04-10"})
    assert bureau.post(f"/transfers/{letter}/actions/receive", {"on": "2026-04-15"})[0] == 200
    dues = {branch: bureau.get(f"/branches/{branch}/dues/summary", year=2026)[1]["members"][0]["due"]
            for branch in (a, b)}
    assert dues == {a: "60.00", b: "180.00"}
    assert len(bureau.get(f"/members/{member}/dues", year=2026)[1]["months"]) == 12


def test_patch_changes_only_the_rules_sent_and_put_starts_from_the_defaults(bureau):
    rules = f"/bureaus/{bureau.tenant}/rules"
    assert bureau.put(rules, {"effective_from": "2027-01-01", "rules": {"late_entry_days": 5}})[0] == 201
    assert bureau.patch(rules, {"effective_from": "2027-01-01", "rules": {"briefing_per_year": 2}})[0] == 201
    [latest] = bureau.get(rules, on="2027-06-01")[1]
    assert latest["rules"]["late_entry_days"] == 5 and latest["rules"]["briefing_per_year"] == 2
    status, reply = bureau.patch(rules, {"effective_from": "2027-01-01", "rules": {"term_years": "x"}})
    assert status == 400 and "rules" in reply["error"]["fields"]


def test_a_rule_set_weaker_than_the_national_floor_is_a_422_naming_the_rule(bureau):
    rules = f"/bureaus/{bureau.tenant}/rules"
    for weaker in ({"committee_meeting_per_year": 0}, {"study_hours_member": 0}, {"term_years": 1},
                   {"transfer_letter_valid_days": 365}):
        for send in (bureau.put, bureau.patch):
            status, reply = send(rules, {"effective_from": "2027-01-01", "rules": weaker})
            [name] = weaker
            assert status == 422 and reply["error"]["code"] == "below_national_floor", reply
            assert f"rules.{name}" in reply["error"]["fields"]
    stricter = {"committee_meeting_per_year": 24, "study_hours_member": 40, "transfer_letter_valid_days": 60}
    assert bureau.patch(rules, {"effective_from": "2027-01-01", "rules": stricter})[0] == 201


def test_an_election_of_someone_outside_the_branch_is_a_422_and_writes_nothing(bureau):
    branch, elsewhere = add_branch(bureau, "甲"), add_branch(bureau, "乙")
    ids = [add_member(bureau, branch, f"党员{i}") for i in range(7)]
    outsider = add_member(bureau, elsewhere, "外人")
    candidates = [{"member_id": m, "name": f"候选人{i}", "votes": 5} for i, m in enumerate(ids[:3] + [outsider])]
    ballot = {"held_on": "2025-11-20", "eligible_voters": 7, "attendees": 6, "seats": 3,
              "candidates": [*candidates[:3], {**candidates[3], "votes": 1}],
              "posts": [{"post": "secretary", "member_id": ids[0]}]}
    status, reply = bureau.post(f"/branches/{branch}/elections", ballot)
    assert status == 422 and reply["error"]["code"] == "candidate_not_in_branch"
    status, reply = bureau.post(f"/branches/{branch}/elections", {**ballot, "eligible_voters": 8, "attendees": 8})
    assert status == 422 and reply["error"]["code"] == "eligible_voters_mismatch"
    assert bureau.get(f"/branches/{branch}/committee")[1]["term"] is None
