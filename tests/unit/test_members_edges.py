"""Edges found in review: life events while a letter is pending, dates before the current branch, who owes
which month, elections with outsiders or ties, rules amended rather than replaced, a dated group assignment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.members import (
    DEFAULT_RULES, BureauRegistered, BureauRulesPublished, DuesAssessed, MemberMoved, MemberRejoined,
    MemberTransferredOut, TransferCancelled, TransferReceived)
from services.members.domain import MembersRuleBroken, branch as branches, bureau as bureaus, committee, dues
from services.members.domain import member as members, transfer as transfers
from services.members.domain.branch import Branch
from contracts.rulebook.dues import Stay, branch_answering, months_answered

TODAY = date(2026, 11, 27)
A, B = Branch("a", "甲", date(2010, 1, 1)), Branch("b", "乙", date(2010, 1, 1))


def fold(state, events):
    for event in events:
        state = members.evolve_member(state, event)
    return state


def registered(joined=date(2015, 1, 1)):
    details = dict(name="王五", gender="male", birth_date=date(1950, 1, 1), party_member=True,
                   party_join_date=date(1975, 7, 1), retirement_kind="retired", pension_base=Decimal("4000"),
                   health="good", mobility="mobile", joined_on=joined)
    return fold(None, members.register_member("m1", A, details, TODAY))


def with_letter(member, to=B, issued=date(2026, 3, 1), tenant="t1"):
    return fold(member, transfers.issue_letter(member, "x1", own_tenant="t1", to_tenant=tenant, to_branch=to.branch_id,
                                               issued_on=issued, valid_days=90, today=TODAY))


def code(call, *args, **kwargs):
    with pytest.raises(MembersRuleBroken) as refused:
        call(*args, **kwargs)
    return refused.value.code


@pytest.mark.parametrize("leave", [
    lambda m: members.record_death(m, date(2026, 3, 5), TODAY),
    lambda m: members.remove_from_party(m, date(2026, 3, 5), "决定", TODAY)])
def test_leaving_the_register_withdraws_a_pending_letter_so_no_branch_can_receive_them(leave):
    member = with_letter(registered())
    events = leave(member)
    assert isinstance(events[0], TransferCancelled) and events[0].transfer_id == "x1"
    gone = fold(member, events)
    assert code(transfers.receive_within_bureau, gone, "x1", B, date(2026, 3, 6), TODAY) == "transfer_cancelled"
    assert transfers.confirm_received_elsewhere(gone, "x1", date(2026, 3, 6), "new") == []


def test_a_member_who_is_no_longer_active_is_never_moved_by_a_receipt():
    member = with_letter(registered())
    dead = fold(member, [members.MemberDied(member_id="m1", branch_id="a", died_on=date(2026, 3, 5))])
    assert code(transfers.receive_within_bureau, dead, "x1", B, date(2026, 3, 6), TODAY) == "member_not_active"


def test_a_letter_into_the_branch_the_member_was_merged_into_is_received_without_a_second_move():
    member = with_letter(registered())
    _, moves = branches.merge_branch(A, B, date(2026, 3, 10), {"m1": member.since}, TODAY)
    merged = fold(member, moves["m1"])
    events = transfers.receive_within_bureau(merged, "x1", B, date(2026, 3, 10), TODAY)
    assert [type(e) for e in events] == [TransferReceived]


def test_nothing_is_dated_before_the_member_came_to_their_current_branch():
    member = with_letter(registered())
    moved = fold(member, [MemberMoved("m1", "a", "c", date(2026, 3, 10), "merger")])
    assert code(transfers.receive_within_bureau, moved, "x1", B, date(2026, 3, 9), TODAY) == "before_current_branch"
    assert code(members.record_death, moved, date(2026, 3, 9), TODAY) == "before_current_branch"
    assert members.record_death(moved, date(2026, 3, 10), TODAY)
    assert code(branches.merge_branch, A, B, date(2026, 3, 9), {"m1": date(2026, 3, 10)}, TODAY) \
        == "before_current_branch"


def test_a_receipt_elsewhere_dated_before_a_merger_takes_the_member_out_on_the_merger_day():
    member = with_letter(registered(), tenant="t2")
    moved = fold(member, [MemberMoved("m1", "a", "c", date(2026, 3, 10), "merger")])
    events = transfers.confirm_received_elsewhere(moved, "x1", date(2026, 3, 5), "new")
    assert isinstance(events[1], MemberTransferredOut) and events[1].left_on == date(2026, 3, 10)


def test_a_member_who_left_the_bureau_and_came_back_owes_nothing_for_the_months_away():
    member = fold(registered(), [DuesAssessed("m1", "a", 2026, Decimal("4000"), Decimal("0.005"), Decimal("20.00")),
                                 MemberTransferredOut("m1", "a", "x1", "t2", date(2026, 2, 10)),
                                 MemberRejoined("m1", "b", date(2026, 6, 3), "x2")])
    # the month of the move out belongs to the receiving bureau, the month of the return to this one
    assert dues.arrears(member, TODAY) == ["2026-01", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert code(dues.pay, member, ["2026-04"], TODAY, "self", None, None, TODAY) == "month_outside_membership"


def test_the_sending_branch_owes_the_months_before_the_move_and_the_receiver_the_rest():
    stays = [Stay("a", date(2015, 1, 1), date(2026, 4, 15), "moved"), Stay("b", date(2026, 4, 15))]
    assert [branch_answering(stays, m) for m in ("2026-03", "2026-04", "2026-12")] == ["a", "b", "b"]
    left = [Stay("a", date(2015, 1, 1), date(2026, 2, 10), "transferred_out"), Stay("b", date(2026, 6, 3))]
    assert [branch_answering(left, m) for m in ("2014-12", "2026-01", "2026-02", "2026-05", "2026-06")] \
        == [None, "a", None, None, "b"]
    died = [Stay("a", date(2015, 1, 1), date(2026, 2, 10), "died")]
    assert branch_answering(died, "2026-02") == "a"  # a member who dies still owes the month they died in
    # whatever order the stays come in, the one begun last answers; of two begun the same day, the later listed
    back = [Stay("b", date(2026, 4, 15), date(2026, 8, 2), "moved"), Stay("a", date(2015, 1, 1), date(2026, 4, 15),
                                                                          "moved"), Stay("a", date(2026, 8, 2))]
    assert [branch_answering(back, m) for m in ("2026-03", "2026-05", "2026-08")] == ["a", "b", "a"]
    same_day = [Stay("a", date(2026, 1, 5)), Stay("b", date(2026, 1, 5))]
    assert branch_answering(same_day, "2026-02") == "b"


@pytest.mark.parametrize("ended_by", [None, "moved", "transferred_out", "died", "left_party"])
def test_the_months_one_stay_answers_for_are_those_it_answers_for_month_by_month(ended_by):
    """A member with one stay takes a shorter way to the months a branch answers for: the same months."""
    stay = Stay("a", date(2025, 11, 20), date(2026, 3, 2) if ended_by else None, ended_by)
    months = [f"{year}-{month:02d}" for year in (2025, 2026) for month in range(1, 13)]
    for branch in (None, "a", "b"):
        expected = [m for m in months if (owner := branch_answering([stay], m)) and branch in (None, owner)]
        assert months_answered([stay], months, branch) == expected
        assert months_answered([stay, Stay("b", date(2027, 1, 1))], months, branch) == expected  # no shortcut
    assert months_answered([stay], months, "a")[0] == "2025-11"


def election(votes, branch_members, eligible=10, seats=3):
    candidates = [{"member_id": f"c{i}", "name": f"候选人{i}", "votes": v} for i, v in enumerate(votes)]
    posts = [{"post": "secretary", "member_id": "c0"}]
    return committee.elect(None, "b1", "e1", "t1", committee.Ballot(eligible, 9, seats, candidates), posts,
                           date(2026, 3, 1), frozenset(branch_members), 3, None, TODAY)


def test_an_election_counts_only_the_branchs_party_members_on_the_day():
    ten = {f"c{i}" for i in range(10)}
    assert code(election, (9, 8, 8, 1), ten - {"c3"}, eligible=9) == "candidate_not_in_branch"
    assert code(election, (9, 8, 8, 1), ten, eligible=11) == "eligible_voters_mismatch"
    assert election((9, 8, 6, 2), ten)[0].elected == ["c0", "c1", "c2"]


def test_a_post_goes_only_to_a_party_member_of_the_branch():
    state = committee.evolve_committee(None, election((9, 8, 8, 1), {f"c{i}" for i in range(10)})[1])
    assert code(committee.fill_post, state, "deputy_secretary", "outsider", "外人", None, TODAY,
                frozenset({"c1"}), TODAY) == "not_in_branch"


def test_amended_rules_keep_the_latest_version_and_a_new_rule_set_starts_from_the_defaults():
    bureau = bureaus.evolve_bureau(None, BureauRegistered("t1", "局", "ju"))
    bureau = bureaus.evolve_bureau(bureau, BureauRulesPublished("t1", 1, date(2026, 1, 1),
                                                                {**DEFAULT_RULES, "term_years": 5}))
    [amended] = bureaus.publish_rules(bureau, {"briefing_per_year": 2}, date(2026, 6, 1), amend=True)
    assert amended.rules["term_years"] == 5 and amended.rules["briefing_per_year"] == 2
    [replaced] = bureaus.publish_rules(bureau, {"briefing_per_year": 2}, date(2026, 6, 1))
    assert replaced.rules["term_years"] == DEFAULT_RULES["term_years"]


def test_a_group_assignment_is_dated_and_not_before_the_member_joined():
    grouped = Branch("a", "甲", date(2010, 1, 1), groups={"g1": "一组"})
    [event] = members.assign_group(registered(), grouped, "g1", date(2026, 5, 1), TODAY)
    assert event.assigned_on == date(2026, 5, 1)
    assert code(members.assign_group, registered(), grouped, "g1", date(2014, 5, 1), TODAY) == "before_joining"
    assert code(members.assign_group, registered(), grouped, "g1", date(2026, 12, 1), TODAY) == "date_in_future"
