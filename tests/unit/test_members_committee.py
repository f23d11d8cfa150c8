"""Election and committee rules at their boundaries: 4/5 attendance, 20 % more candidates, majorities, size."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.members import DEFAULT_RULES, CommitteeTermOpened, ElectionHeld, PostFilled, PostVacated
from services.members.domain import MembersRuleBroken, committee as rules

TODAY = date(2026, 11, 27)


def candidates(*votes):
    return [{"member_id": f"c{i}", "name": f"候选人{i}", "votes": v} for i, v in enumerate(votes)]


def members(count):
    """The branch's Party members: the candidates c0, c1 … first."""
    return frozenset(f"c{i}" for i in range(count))


def elect(eligible=10, attendees=9, seats=5, votes=(9, 9, 8, 7, 6, 2), posts=None, full_members=None,
          committee=None, held_on=date(2026, 3, 1), approval=None):
    posts = posts or [{"post": "secretary", "member_id": "c0"}, {"post": "deputy_secretary", "member_id": "c1"},
                      {"post": "member", "member_id": "c2"}]
    branch = members(full_members if full_members is not None else max(10, eligible))
    # the voters are the roster's full members; a smaller number entered lists the members excused, with a reason
    excused = [{"member_id": f"c{i}", "reason": "长期卧病"} for i in range(eligible, len(branch))]
    ballot = rules.Ballot(eligible, attendees, seats, candidates(*votes), excused)
    return rules.elect(committee, "b1", "e1", "t1", ballot, posts, held_on, branch, 3, approval, TODAY)


def refused(**kwargs):
    with pytest.raises(MembersRuleBroken) as error:
        elect(**kwargs)
    return error.value.code


@pytest.mark.parametrize("eligible, attendees, valid", [(10, 8, False), (10, 9, True), (5, 4, False), (5, 5, True),
                                                        (11, 9, True)])
def test_more_than_four_fifths_must_attend(eligible, attendees, valid):
    kwargs = dict(eligible=eligible, attendees=attendees, votes=(attendees,) * 3 + (1,) * 3)
    if valid:
        assert elect(**kwargs)
    else:
        assert refused(**kwargs) == "quorum_not_met"


@pytest.mark.parametrize("seats, count, valid", [(5, 6, True), (5, 5, False), (3, 4, True), (3, 3, False)])
def test_at_least_twenty_percent_more_candidates_than_seats(seats, count, valid):
    kwargs = dict(seats=seats, votes=(8,) * 3 + (1,) * (count - 3))
    if valid:
        assert elect(**kwargs)
    else:
        assert refused(**kwargs) == "too_few_candidates"


def test_only_more_than_half_of_those_present_elects():
    events = elect(attendees=10, eligible=10, votes=(10, 10, 6, 5, 5, 4))
    assert events[0].elected == ["c0", "c1", "c2"]


def test_a_term_of_three_years_opens_with_its_posts():
    events = elect()
    assert isinstance(events[0], ElectionHeld) and isinstance(events[1], CommitteeTermOpened)
    assert (events[1].starts_on, events[1].ends_on, events[1].committee) == (date(2026, 3, 1), date(2029, 3, 1), True)
    assert [(e.post, e.member_id) for e in events[2:]] == [("secretary", "c0"), ("deputy_secretary", "c1"),
                                                          ("member", "c2")]


@pytest.mark.parametrize("full_members, seats, code", [(2, 1, "branch_too_small"), (6, 3, "no_committee_under_seven"),
                                                       (7, 2, "committee_size"), (7, 8, "committee_size")])
def test_the_size_of_the_leadership_follows_the_branch_size(full_members, seats, code):
    assert refused(full_members=full_members, seats=seats, votes=(9,) * 10) == code


def test_a_small_branch_elects_a_secretary_and_no_committee_members():
    posts = [{"post": "secretary", "member_id": "c0"}]
    events = elect(eligible=5, attendees=5, full_members=5, seats=1, votes=(5, 0), posts=posts)
    assert events[1].committee is False
    small = dict(eligible=5, attendees=5, full_members=5)
    assert refused(**small, seats=2, votes=(5, 4, 1), posts=posts + [{"post": "member", "member_id": "c1"}]) \
        == "no_committee_under_seven"


def test_an_early_election_needs_approval_and_the_old_posts_are_vacated():
    state = None
    for event in elect(held_on=date(2023, 12, 1)):
        state = rules.evolve_committee(state, event)
    assert refused(committee=state, held_on=date(2026, 3, 1)) == "approval_required"
    events = elect(committee=state, held_on=date(2026, 3, 1), approval="市直机关工委批复〔2026〕3号")
    vacated = [e for e in events if isinstance(e, PostVacated)]
    assert len(vacated) == 3 and {e.term_id for e in vacated} == {"t1"}
    assert elect(committee=state, held_on=date(2026, 11, 20))


def test_posts_are_single_and_the_allowance_follows_the_rules():
    state = None
    for event in elect():
        state = rules.evolve_committee(state, event)
    with pytest.raises(MembersRuleBroken) as taken:
        rules.fill_post(state, "secretary", "c4", "候选人4", None, TODAY, members(10), TODAY)
    assert taken.value.code == "post_taken"
    [paid] = rules.pay_allowance(state, "c0", "2026-11", Decimal("300.00"), DEFAULT_RULES, TODAY)
    assert paid.post == "secretary"
    with pytest.raises(MembersRuleBroken, match="不少于"):
        rules.pay_allowance(state, "c0", "2026-10", Decimal("299.99"), DEFAULT_RULES, TODAY)
    state = rules.evolve_committee(state, paid)
    assert rules.pay_allowance(state, "c1", "2026-11", Decimal("210.00"), DEFAULT_RULES, TODAY)
    with pytest.raises(MembersRuleBroken) as above:
        rules.pay_allowance(state, "c1", "2026-11", Decimal("210.01"), DEFAULT_RULES, TODAY)
    assert above.value.code == "allowance_above_ratio"
    with pytest.raises(MembersRuleBroken, match="已经发放"):
        rules.pay_allowance(state, "c0", "2026-11", Decimal("300.00"), DEFAULT_RULES, TODAY)


def test_a_vacated_post_can_be_filled_again():
    state = None
    for event in elect():
        state = rules.evolve_committee(state, event)
    [vacated] = rules.vacate_post(state, "secretary", "c0", TODAY, "病故", TODAY)
    state = rules.evolve_committee(state, vacated)
    [filled] = rules.fill_post(state, "secretary", "c3", "候选人3", None, TODAY, members(10), TODAY)
    assert isinstance(filled, PostFilled) and filled.term_id == "t1"


def test_a_tie_for_the_last_seat_needs_a_further_ballot():
    assert refused(attendees=10, eligible=10, seats=3, votes=(8, 7, 6, 6, 1, 1)) == "tie_for_last_seat"
    assert elect(attendees=10, eligible=10, seats=3, votes=(8, 7, 6, 5, 1, 1))[0].elected == ["c0", "c1", "c2"]
