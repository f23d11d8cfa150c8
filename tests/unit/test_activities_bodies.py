"""Who belongs to a meeting's body: committee post holders at a committee meeting, the party group at a
group meeting. Others from the branch who were there are recorded as invited (列席), never as the body."""

from __future__ import annotations

from datetime import date

import pytest

from services.activities.commands import CorrectActivity, PlanActivity, RecordActivity
from services.activities.domain import ActivitiesRuleBroken
from services.activities.domain import activities as domain
from services.activities.domain.activities import Circumstances, evolve_activity
from services.activities.domain.roster import (BranchRecord, GroupAssignment, Placement, PostRecord, RosterMember,
                                               group_on, post_on, roster_of)

TODAY = date(2024, 11, 20)
A, B = "branch-a", "branch-b"
G1, G2, G_OF_B = "group-1", "group-2", "group-b"
BRANCHES = [BranchRecord(A, "一支部", date(2010, 1, 1)), BranchRecord(B, "二支部", date(2010, 1, 1))]
JOINED = Placement("joined", date(2019, 1, 1), A)


def member(member_id, *, posts=(), groups=(), placements=(JOINED,), term_ends=None):
    return RosterMember(member_id, f"姓名{member_id}", date(1950, 5, 10), True, placements=tuple(placements),
                        posts=tuple(posts), groups=tuple(groups), term_ends=term_ends or {"t1": date(2026, 12, 31)})


def filled(post, on=date(2023, 12, 1), branch=A):
    return PostRecord("filled", "t1", post, on, branch)


MEMBERS = [
    member("secretary", posts=[filled("secretary")], groups=[GroupAssignment(G1, A, None, 2)]),
    member("deputy", posts=[filled("deputy_secretary")], groups=[GroupAssignment(G1, A, None, 2)]),
    member("former", posts=[filled("member"), PostRecord("vacated", "t1", "member", date(2024, 6, 30), A)],
           groups=[GroupAssignment(G2, A, date(2024, 3, 1), 2)]),
    member("ordinary", groups=[GroupAssignment(G1, A, None, 2), GroupAssignment(G2, A, date(2024, 9, 1), 3)]),
    member("incomer", posts=[filled("secretary", branch=B)],
           placements=[Placement("joined", date(2019, 1, 1), B), Placement("moved", date(2024, 1, 1), A)],
           groups=[GroupAssignment(G_OF_B, B, None, 2)]),
]
ROSTER = roster_of(MEMBERS, BRANCHES, {G1: A, G2: A, G_OF_B: B})


def circumstances(roster=ROSTER):
    return Circumstances(TODAY, roster)


def meeting(kind, attendees, on=date(2024, 11, 5), group_id=None):
    return RecordActivity(branch_id=A, kind=kind, occurred_on=on, title="会议", attendees=tuple(attendees),
                          group_id=group_id)


def record(kind, attendees, **options):
    [event] = domain.record_activity("a1", None, meeting(kind, attendees, **options), circumstances())
    return event


# --- committee meetings ---------------------------------------------------------------------------

def test_a_member_without_a_committee_post_at_a_committee_meeting_is_recorded_as_invited():
    event = record("committee_meeting", ["secretary", "deputy", "ordinary"])
    assert event.attendees == ["secretary", "deputy", "ordinary"] and event.invited == ["ordinary"]


def test_a_post_counts_only_while_it_is_held_and_in_the_branch_it_belongs_to():
    assert record("committee_meeting", ["secretary", "former"], on=date(2024, 6, 5)).invited == []
    assert record("committee_meeting", ["secretary", "former"], on=date(2024, 7, 5)).invited == ["former"]
    assert record("committee_meeting", ["secretary", "incomer"]).invited == ["incomer"]  # secretary of B


def test_the_post_held_on_a_day_is_named():
    former = next(m for m in MEMBERS if m.member_id == "former")
    assert post_on(former, date(2024, 6, 29), A) == "member" and post_on(former, date(2024, 7, 1), A) is None
    assert post_on(MEMBERS[0], date(2024, 1, 1), B) is None


def test_a_post_counts_only_within_its_term():
    ended = member("secretary", posts=[filled("secretary")], term_ends={"t1": date(2024, 10, 31)})
    roster = roster_of([ended, member("deputy", posts=[filled("deputy_secretary")])], BRANCHES)
    [event] = domain.record_activity("a1", None, meeting("committee_meeting", ["secretary", "deputy"]),
                                     circumstances(roster))
    assert event.invited == ["secretary"]


def test_when_the_register_knows_no_post_holder_that_day_nobody_is_judged_invited():
    event = record("committee_meeting", ["secretary", "ordinary"], on=date(2023, 11, 5))  # before the term
    assert event.invited == []


def test_other_kinds_of_meeting_have_no_invited_attendees():
    assert record("study", ["secretary", "ordinary"]).invited == []
    assert record("general_meeting", ["ordinary"]).invited == []


# --- group meetings -------------------------------------------------------------------------------

def test_a_member_of_another_group_at_a_group_meeting_is_recorded_as_invited():
    event = record("group_meeting", ["secretary", "deputy", "former"], group_id=G1)
    assert event.group_id == G1 and event.invited == ["former"]


def test_group_membership_follows_the_assignments_dates():
    # "ordinary" was in group 1 (assigned before dates were kept) and moved to group 2 on 1 September.
    assert record("group_meeting", ["ordinary"], on=date(2024, 8, 31), group_id=G1).invited == []
    assert record("group_meeting", ["ordinary"], on=date(2024, 9, 1), group_id=G1).invited == ["ordinary"]
    assert record("group_meeting", ["ordinary"], on=date(2024, 9, 1), group_id=G2).invited == []


def test_before_its_first_recorded_assignment_a_member_is_taken_to_be_in_that_group():
    former = next(m for m in MEMBERS if m.member_id == "former")
    assert group_on(former, date(2024, 1, 10), A) == G2  # assigned on 1 March, entered after the work it covers


def test_a_group_assignment_made_in_another_branch_does_not_count():
    incomer = next(m for m in MEMBERS if m.member_id == "incomer")
    assert group_on(incomer, date(2024, 11, 5), A) is None
    assert record("group_meeting", ["incomer", "secretary"], group_id=G1).invited == ["incomer"]


@pytest.mark.parametrize("group_id", ["no-such-group", G_OF_B])
def test_a_group_that_is_not_one_of_the_branchs_is_refused(group_id):
    with pytest.raises(ActivitiesRuleBroken) as refused:
        record("group_meeting", ["secretary"], group_id=group_id)
    assert refused.value.code == "unknown_group" and "group_id" in refused.value.fields
    with pytest.raises(ActivitiesRuleBroken) as refused:
        domain.plan_activity("a1", None, PlanActivity(A, "group_meeting", date(2024, 11, 25), "小组会",
                                                      group_id=group_id), circumstances())
    assert refused.value.code == "unknown_group"


def test_a_group_meeting_of_a_branch_with_groups_names_its_group():
    with pytest.raises(ActivitiesRuleBroken) as refused:
        record("group_meeting", ["secretary"])
    assert refused.value.code == "group_required" and refused.value.fields == {"group_id": [G1, G2]}
    without_groups = roster_of(MEMBERS, BRANCHES, {})
    [event] = domain.record_activity("a1", None, meeting("group_meeting", ["secretary"]), circumstances(without_groups))
    assert event.invited == [] and event.group_id is None


def test_a_correction_judges_who_was_invited_again():
    state = evolve_activity(None, record("study", ["secretary", "ordinary"]))
    [corrected] = domain.correct_activity(state, CorrectActivity({"kind": "committee_meeting"}, "实为支委会"),
                                          circumstances())
    assert corrected.corrected_fields == ["kind"] and corrected.invited == ["ordinary"]
