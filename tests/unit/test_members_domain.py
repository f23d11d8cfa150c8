"""The member register's rules, pure: no database, no clock."""

from __future__ import annotations

from datetime import date

import pytest

from services.members import domain
from services.members.commands import EstablishBranch, RegisterMember
from services.members.events import BranchEstablished, MemberRegistered

TODAY = date(2026, 11, 27)
BRANCH = domain.Branch("b1", "支部", date(2010, 1, 1))


def member(**changes):
    values = dict(branch_id="b1", name="张三", gender="male", birth_date=date(1950, 1, 1), party_member=True,
                  retirement_kind="retired", health="good", mobility="mobile", party_join_date=date(1975, 7, 1),
                  joined_on=date(2015, 1, 1))
    return RegisterMember(**{**values, **changes})


def test_a_member_is_registered_with_the_date_they_joined_the_branch():
    [event] = domain.register_member("m1", None, BRANCH, member(), TODAY)
    assert isinstance(event, MemberRegistered) and event.joined_on == date(2015, 1, 1)


def test_joined_on_defaults_to_today():
    [event] = domain.register_member("m1", None, BRANCH, member(joined_on=None), TODAY)
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
    with pytest.raises(domain.MembersRuleBroken) as refused:
        domain.register_member("m1", None, BRANCH, member(**{field: value}), TODAY)
    assert refused.value.code == code and refused.value.status == 422
    assert field in refused.value.fields


@pytest.mark.parametrize("day", [TODAY, date(2010, 1, 1)])
def test_the_boundary_days_themselves_are_allowed(day):
    assert domain.register_member("m1", None, BRANCH, member(joined_on=day), TODAY)


def test_a_non_member_of_the_party_needs_no_join_date():
    assert domain.register_member("m1", None, BRANCH, member(party_member=False, party_join_date=None), TODAY)


def test_a_closed_branch_takes_no_new_members():
    closed = domain.Branch("b1", "支部", date(2010, 1, 1), open=False)
    with pytest.raises(domain.MembersRuleBroken, match="closed"):
        domain.register_member("m1", None, closed, member(), TODAY)


def test_a_branch_cannot_be_established_in_the_future_and_defaults_to_today():
    [event] = domain.establish_branch("b2", None, EstablishBranch("支部"), TODAY)
    assert event == BranchEstablished("b2", "支部", TODAY)
    with pytest.raises(domain.MembersRuleBroken):
        domain.establish_branch("b2", None, EstablishBranch("支部", date(2027, 1, 1)), TODAY)


def test_evolve_folds_the_registration_into_state():
    [event] = domain.register_member("m1", None, BRANCH, member(), TODAY)
    state = domain.evolve_member(None, event)
    assert state.member_id == "m1" and state.branch_id == "b1" and state.joined_on == date(2015, 1, 1)
