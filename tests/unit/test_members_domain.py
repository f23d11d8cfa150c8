"""The member register's rules, pure: no database, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from contracts.members import BranchEstablished, MemberMoved, MemberRegistered
from services.members.domain import MembersConflict, MembersRuleBroken
from services.members.domain import branch as branches, member as members
from services.members.domain.branch import Branch

TODAY = date(2026, 11, 27)
BRANCH = Branch("b1", "支部", date(2010, 1, 1))


def details(**changes):
    values = dict(name="张三", gender="male", birth_date=date(1950, 1, 1), party_member=True,
                  retirement_kind="retired", health="good", mobility="mobile", party_join_date=date(1975, 7, 1),
                  joined_on=date(2015, 1, 1), pension_base=None, phone=None, address=None)
    return {**values, **changes}


def registered(member_id="m1", **changes):
    [event] = members.register_member(member_id, BRANCH, details(**changes), TODAY)
    return members.evolve_member(None, event)


def test_a_member_is_registered_with_the_date_they_joined_the_branch():
    [event] = members.register_member("m1", BRANCH, details(), TODAY)
    assert isinstance(event, MemberRegistered) and event.joined_on == date(2015, 1, 1)


def test_joined_on_defaults_to_today():
    [event] = members.register_member("m1", BRANCH, details(joined_on=None), TODAY)
    assert event.joined_on == TODAY


@pytest.mark.parametrize("field, value, code", [
    ("birth_date", date(2026, 11, 28), "date_in_future"),
    ("joined_on", date(2026, 11, 28), "date_in_future"),
    ("party_join_date", date(2026, 11, 28), "date_in_future"),
    ("party_join_date", date(1950, 1, 1), "party_join_before_birth"),
    ("party_join_date", None, "party_join_date_required"),
    ("joined_on", date(2009, 12, 31), "joined_before_branch"),
])
def test_impossible_dates_are_refused_with_a_reason(field, value, code):
    with pytest.raises(MembersRuleBroken) as refused:
        members.register_member("m1", BRANCH, details(**{field: value}), TODAY)
    assert refused.value.code == code and refused.value.status == 422
    assert field in refused.value.fields


@pytest.mark.parametrize("day", [TODAY, date(2010, 1, 1)])
def test_the_boundary_days_themselves_are_allowed(day):
    assert members.register_member("m1", BRANCH, details(joined_on=day), TODAY)


def test_a_person_whose_transfer_in_is_pending_cannot_be_registered_again():
    with pytest.raises(MembersRuleBroken) as refused:
        members.register_member("m1", BRANCH, details(), TODAY, same_person={"transfer_id": "t-9"})
    assert refused.value.code == "transfer_in_pending"


def test_a_person_already_on_the_register_is_a_conflict_not_a_second_member():
    with pytest.raises(MembersConflict) as refused:
        members.register_member("m2", BRANCH, details(), TODAY, same_person={"member_id": "m1"})
    assert refused.value.code == "member_already_registered" and refused.value.status == 409


def test_a_closed_branch_takes_no_new_members():
    with pytest.raises(MembersRuleBroken, match="撤销"):
        members.register_member("m1", replace(BRANCH, closed_on=date(2020, 1, 1)), details(), TODAY)


def test_a_branch_cannot_be_established_in_the_future_and_defaults_to_today():
    assert branches.establish_branch("b2", "支部", None, TODAY) == [BranchEstablished("b2", "支部", TODAY)]
    with pytest.raises(MembersRuleBroken):
        branches.establish_branch("b2", "支部", date(2027, 1, 1), TODAY)


def test_a_branch_with_members_is_not_closed_but_merged_moving_everyone():
    with pytest.raises(MembersRuleBroken) as refused:
        branches.close_branch(BRANCH, TODAY, "reform", member_count=2, today=TODAY)
    assert refused.value.code == "branch_has_members"
    target = Branch("b2", "新支部", date(2000, 1, 1))
    closed, moves = branches.merge_branch(BRANCH, target, TODAY, {"m1": TODAY, "m2": date(2015, 1, 1)}, TODAY)
    assert closed[0].merged_into == "b2"
    assert moves == {m: [MemberMoved(m, "b1", "b2", TODAY, "merger")] for m in ("m1", "m2")}


def test_a_profile_change_records_only_what_changed_and_keeps_the_rules():
    member = registered()
    [event] = members.update_profile(member, {"phone": "13800000000", "name": "张三"}, TODAY)
    assert event.changes == {"phone": "13800000000"}
    with pytest.raises(MembersRuleBroken):
        members.update_profile(member, {"birth_date": date(1980, 1, 1)}, TODAY)


def test_a_deceased_member_takes_no_further_changes_and_death_cannot_precede_joining():
    member = registered()
    with pytest.raises(MembersRuleBroken) as refused:
        members.record_death(member, date(2014, 1, 1), TODAY)
    assert refused.value.code == "before_joining"
    [died] = members.record_death(member, date(2026, 3, 1), TODAY)
    dead = members.evolve_member(member, died)
    assert dead.status == "deceased"
    with pytest.raises(MembersRuleBroken, match="已不在册"):
        members.change_health(dead, "poor", "homebound", TODAY, TODAY)
