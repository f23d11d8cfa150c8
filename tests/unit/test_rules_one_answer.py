"""The eight rules the services got wrong apart, each as the rulebook now decides it for every service:
dues follow the member, non-Party cadres owe none, letters carry "paid up to", back-payment needs a decision,
elections count the roster, the allowance follows the secretary's, and an empty or small branch is judged fairly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts import members as M
from contracts.rulebook.calendar import parse_period
from contracts.rulebook.rules import DEFAULT_RULES
from services.audit import facts as facts_module
from services.audit.projections import facts_of
from services.audit.domain import scorecard
from services.audit.store import MemoryStore, put_all
from services.members.domain import MembersRuleBroken, committee, dues, member as members, transfer as transfers
from services.members.domain.branch import Branch
from services.notify.rules import evaluate
from services.notify.rules.model import Branch as NotifyBranch, BureauSnapshot, Dues, Member as NotifyMember
from tests.audit_month import BRANCH, OTHER, TENANT, History

TODAY = date(2026, 11, 27)
A = Branch("a", "甲", date(2010, 1, 1))
PAST = date(2020, 1, 1)


def registered(party=True, joined=date(2015, 1, 1), base="4800.00"):
    details = dict(name="王五", gender="male", birth_date=date(1950, 1, 1), party_member=party,
                   party_join_date=date(1975, 7, 1) if party else None, retirement_kind="retired",
                   pension_base=Decimal(base), health="good", mobility="mobile", joined_on=joined)
    return fold(None, members.register_member("m1", A, details, TODAY))


def fold(state, events):
    for event in events:
        state = members.evolve_member(state, event)
    return state


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(MembersRuleBroken) as error:
        call(*args, **kwargs)
    return error.value.code


def card(envelopes, branch_id=BRANCH, period="2026", today=TODAY) -> dict:
    store = MemoryStore()
    for envelope in envelopes:
        put_all(store, facts_of(envelope))
    period = parse_period(period)
    return scorecard(facts_module.load(store, TENANT, date(period.year, 1, 1), period.end, branch_id), branch_id,
                     period, today)


def codes(found: dict) -> set[str]:
    return {f["code"] for f in found["findings"]}


def bureau_with_two_branches() -> History:
    h = History()
    h.record(f"bureau-{TENANT}", M.BureauRegistered(bureau_id=TENANT, name="局", code="ju"), on=PAST, branch_id=None)
    for branch_id, name in ((BRANCH, "一支部"), (OTHER, "二支部")):
        h.record(f"branch-{branch_id}", M.BranchEstablished(branch_id=branch_id, name=name, established_on=PAST),
                 on=PAST, branch_id=branch_id)
    return h


def register(h: History, member_id: str, branch_id: str, *, party=True, kind="retired", joined=PAST,
             birth=date(1950, 3, 3), name=None) -> None:
    h.record(f"member-{member_id}", M.MemberRegistered(
        member_id=member_id, branch_id=branch_id, name=name or member_id, gender="male", birth_date=birth,
        party_member=party, party_join_date=date(1975, 7, 1) if party else None, retirement_kind=kind,
        pension_base=Decimal("4800.00"), health="good", mobility="mobile", phone=None, address=None,
        joined_on=joined), on=joined, branch_id=branch_id)


# --- 1. dues follow the member ----------------------------------------------------------------------

def test_a_member_paid_up_for_the_year_who_moved_raises_nothing_in_the_receiving_branch():
    h = bureau_with_two_branches()
    register(h, "m1", BRANCH)
    h.record("member-m1", M.DuesAssessed(member_id="m1", branch_id=BRANCH, year=2026, base=Decimal("4800"),
                                         rate=Decimal("0.005"), monthly_amount=Decimal("24.00")), on=date(2026, 1, 5))
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    h.record("member-m1", M.DuesPaid(member_id="m1", branch_id=BRANCH, months=months, amount=Decimal("288.00"),
                                     paid_on=date(2026, 1, 5), payer="self"), on=date(2026, 1, 5))
    h.record("member-m1", M.MemberMoved(member_id="m1", from_branch_id=BRANCH, to_branch_id=OTHER,
                                        moved_on=date(2026, 7, 10), reason="transfer"), on=date(2026, 7, 10),
             branch_id=OTHER)
    receiving = card(h.envelopes, OTHER)
    assert not {"dues_not_assessed", "dues_arrears", "dues_review_due"} & codes(receiving)
    [row] = receiving["figures"]["dues"]["members"]
    assert row["member_id"] == "m1" and row["arrears"] == [] and Decimal(row["due"]) == Decimal("24.00") * 4
    sending = card(h.envelopes, BRANCH)
    [sent] = sending["figures"]["dues"]["members"]
    assert Decimal(sent["due"]) == Decimal("24.00") * 6  # January to June: the month of the move is the receiver's


def test_months_unpaid_before_a_move_stay_with_the_branch_that_answered_for_them():
    h = bureau_with_two_branches()
    register(h, "m1", BRANCH)
    h.record("member-m1", M.DuesAssessed(member_id="m1", branch_id=BRANCH, year=2026, base=Decimal("4800"),
                                         rate=Decimal("0.005"), monthly_amount=Decimal("24.00")), on=date(2026, 1, 5))
    h.record("member-m1", M.MemberMoved(member_id="m1", from_branch_id=BRANCH, to_branch_id=OTHER,
                                        moved_on=date(2026, 3, 10), reason="transfer"), on=date(2026, 3, 10),
             branch_id=OTHER)
    sending, receiving = card(h.envelopes, BRANCH), card(h.envelopes, OTHER)
    assert sending["figures"]["dues"]["members"][0]["arrears"] == ["2026-01", "2026-02"]
    assert receiving["figures"]["dues"]["members"][0]["arrears"] == [f"2026-{m:02d}" for m in range(3, 11)]
    # the unpaid run is the member's (ten months): the review is due where they are now, once
    assert "dues_review_due" in codes(receiving) and "dues_review_due" not in codes(sending)


# --- 2. non-Party cadres owe no dues ----------------------------------------------------------------

def test_a_non_party_cadre_is_never_assessed_reviewed_or_reminded():
    cadre = registered(party=False)
    assert dues.assess(cadre, 2026) == [] and dues.skip_reason(cadre, 2026) == "not_party_member"
    assessed_anyway = fold(cadre, [M.DuesAssessed("m1", "a", 2026, Decimal("4800"), Decimal("0.005"),
                                                  Decimal("24.00"))])   # an assessment recorded before the fix
    assert dues.review_arrears(assessed_anyway, TODAY, DEFAULT_RULES) == []
    snapshot = BureauSnapshot(TENANT, branches=(NotifyBranch("a", "甲"),), members=(
        NotifyMember("m1", "a", "王五", date(1950, 1, 1), party_member=False, joined_on=date(2015, 1, 1)),),
        dues=(Dues("m1", assessed={2026: "24.00"}),))
    assert [r for r in evaluate(snapshot, TODAY) if r.rule.startswith("dues.")] == []


def test_the_audit_does_not_hold_a_non_party_cadre_to_dues():
    h = bureau_with_two_branches()
    register(h, "m1", BRANCH, party=False)
    h.record("member-m1", M.DuesAssessed(member_id="m1", branch_id=BRANCH, year=2026, base=Decimal("4800"),
                                         rate=Decimal("0.005"), monthly_amount=Decimal("24.00")), on=date(2026, 1, 5))
    found = card(h.envelopes)
    assert found["figures"]["dues"]["members"] == [] and not {"dues_arrears", "dues_review_due"} & codes(found)


# --- 3 and 4. a letter carries "dues paid up to"; the receiving side settles those months ------------

def test_paid_up_to_is_the_end_of_the_unbroken_run_and_the_letter_lists_what_is_still_owed():
    member = fold(registered(), [M.DuesAssessed("m1", "a", 2026, Decimal("4800"), Decimal("0.005"),
                                                Decimal("24.00"))])
    paid = ["2026-01", "2026-02", "2026-03", "2026-06"]
    member = fold(member, dues.pay(member, paid, date(2026, 6, 5), "self", None, None, TODAY))
    [letter] = transfers.issue_letter(member, "x1", own_tenant="t1", to_tenant="t2", to_branch="far",
                                      issued_on=date(2026, 7, 20), valid_days=90, today=TODAY)
    assert letter.dues_paid_until == "2026-03"  # not June: April and May are unpaid
    assert letter.dues_months_owed == ["2026-04", "2026-05"]


def test_months_a_letter_says_are_paid_are_settled_at_the_receiving_side_as_carried():
    incoming = transfers.IncomingTransfer("x1", "t1", "a", {
        "name": "王五", "gender": "male", "birth_date": "1950-01-01", "party_member": True,
        "party_join_date": "1975-07-01", "retirement_kind": "retired", "pension_base": "4800.00", "health": "good",
        "mobility": "mobile"}, date(2026, 5, 1), date(2026, 7, 30), dues_paid_until="2026-08")
    letter, events = transfers.receive_from_other_bureau(incoming, A, date(2026, 5, 12), TODAY, "new", None)
    carried = [e for e in events if isinstance(e, M.DuesCarried)]
    assert carried and carried[0].months == ["2026-05", "2026-06", "2026-07", "2026-08"]
    assert carried[0].transfer_id == "x1" and carried[0].member_id == "new"
    member = fold(None, events)
    member = fold(member, dues.assess(member, 2026))
    assert dues.arrears(member, TODAY) == ["2026-09", "2026-10"]
    assert refused(dues.pay, member, ["2026-06"], TODAY, "self", None, None, TODAY) == "month_already_paid"


# --- 5. back-payment ------------------------------------------------------------------------------------

def test_months_more_than_six_back_need_a_recorded_decision_however_the_payments_are_split():
    member = fold(registered(), [M.DuesAssessed("m1", "a", 2026, Decimal("4800"), Decimal("0.005"),
                                                Decimal("24.00"))])
    paid_on = date(2026, 11, 20)
    # two small payments would each have been "at most six months" before: the old debt is refused all the same
    assert refused(dues.pay, member, ["2026-03", "2026-04"], paid_on, "self", None, None, TODAY) \
        == "back_payment_needs_decision"
    assert dues.pay(member, ["2026-05", "2026-06"], paid_on, "self", None, None, TODAY)
    decision = {"resolution": "支委会决议〔2026〕7号", "decided_on": date(2026, 11, 10)}
    [paid] = dues.pay(member, ["2026-01", "2026-02"], paid_on, "self", None, None, TODAY, decision)
    assert paid.exception == {"resolution": "支委会决议〔2026〕7号", "decided_on": "2026-11-10"}
    late = {"resolution": "x", "decided_on": date(2026, 11, 25)}
    assert refused(dues.pay, member, ["2026-01"], paid_on, "self", None, None, TODAY, late) \
        == "decision_after_payment"


# --- 6. elections ----------------------------------------------------------------------------------------

def _ballot(eligible=None, excused=(), seats=3, votes=(9, 9, 8, 1)):
    candidates = [{"member_id": f"c{i}", "name": f"候选人{i}", "votes": v} for i, v in enumerate(votes)]
    return committee.Ballot(eligible, 9, seats, candidates, list(excused))


def _elect(ballot, held_on=date(2026, 3, 1), current=None, approval=None):
    roster = frozenset(f"c{i}" for i in range(10))
    return committee.elect(current, "b1", "e1", "t1", ballot, [{"post": "secretary", "member_id": "c0"}],
                           held_on, roster, 3, approval, TODAY)


def test_the_voters_come_from_the_roster_and_another_number_names_whom_it_excuses():
    assert _elect(_ballot())[0].eligible_voters == 10
    assert refused(_elect, _ballot(eligible=9)) == "eligible_voters_mismatch"
    excused = [{"member_id": "c9", "reason": "长期住院"}]
    held = _elect(_ballot(eligible=9, excused=excused))[0]
    assert held.eligible_voters == 9 and held.excused == excused
    assert refused(_elect, _ballot(excused=[{"member_id": "outsider", "reason": "x"}])) == "excused_not_entitled"
    assert refused(_elect, _ballot(excused=[{"member_id": "c9", "reason": " "}])) == "excuse_reason_required"


def test_fewer_elected_than_seats_leaves_the_seats_vacant_and_flagged():
    held = _elect(_ballot(seats=3, votes=(9, 9, 3, 2)))[0]
    assert held.elected == ["c0", "c1"] and held.vacant_seats == 1


def test_an_election_is_never_more_than_a_year_early_or_late_even_with_approval():
    state = None
    for event in _elect(_ballot(), held_on=date(2023, 3, 1)):
        state = committee.evolve_committee(state, event)
    assert refused(_elect, _ballot(), date(2025, 2, 1), state, "批复") == "election_beyond_a_year"
    assert refused(_elect, _ballot(), date(2025, 10, 1), state) == "approval_required"
    assert _elect(_ballot(), date(2025, 10, 1), state, "批复")


# --- 7. the secretary's allowance ---------------------------------------------------------------------------

def test_a_deputys_cap_is_measured_against_what_the_secretary_is_paid_that_month():
    state = None
    posts = [{"post": "secretary", "member_id": "c0"}, {"post": "deputy_secretary", "member_id": "c1"}]
    roster = frozenset(f"c{i}" for i in range(10))
    for event in committee.elect(None, "b1", "e1", "t1", _ballot(), posts, date(2026, 3, 1), roster, 3, None,
                                 TODAY):
        state = committee.evolve_committee(state, event)
    assert refused(committee.pay_allowance, state, "c1", "2026-10", Decimal("200"), DEFAULT_RULES, TODAY) \
        == "secretary_allowance_missing"
    [secretary] = committee.pay_allowance(state, "c0", "2026-10", Decimal("400.00"), DEFAULT_RULES, TODAY)
    state = committee.evolve_committee(state, secretary)
    assert committee.pay_allowance(state, "c1", "2026-10", Decimal("280.00"), DEFAULT_RULES, TODAY)
    assert refused(committee.pay_allowance, state, "c1", "2026-10", Decimal("280.01"), DEFAULT_RULES, TODAY) \
        == "allowance_above_ratio"
    for outside in ("2026-02", "2026-12"):  # before the term, and a month not yet come
        assert refused(committee.pay_allowance, state, "c0", outside, Decimal("300"), DEFAULT_RULES, TODAY) \
            == "allowance_outside_term"


def test_the_audit_measures_a_deputys_allowance_against_the_secretarys_that_month():
    h = bureau_with_two_branches()
    for i in range(3):
        register(h, f"c{i}", BRANCH)
    h.record(f"committee-{BRANCH}", M.CommitteeTermOpened(branch_id=BRANCH, term_id="t1", election_id="e1",
                                                          starts_on=PAST, ends_on=date(2027, 1, 1), committee=False))
    for post, member_id in (("secretary", "c0"), ("deputy_secretary", "c1")):
        h.record(f"committee-{BRANCH}", M.PostFilled(branch_id=BRANCH, term_id="t1", post=post, member_id=member_id,
                                                     filled_on=PAST, person_name=member_id))
    for member_id, post, amount in (("c0", "secretary", "400.00"), ("c1", "deputy_secretary", "280.00")):
        h.record(f"committee-{BRANCH}", M.AllowancePaid(branch_id=BRANCH, term_id="t1", member_id=member_id,
                                                        post=post, month="2026-10", amount=Decimal(amount)))
    assert "allowance_above_ratio" not in codes(card(h.envelopes, period="2026-10"))


# --- 8. an empty branch, and a small one without a term ------------------------------------------------------

def test_a_branch_without_members_has_nothing_to_judge():
    h = bureau_with_two_branches()
    empty = card(h.envelopes, period="2026-10")
    assert empty["status"] == "nothing_to_judge" and empty["compliant"] is None and empty["findings"] == []


def test_a_small_branch_without_a_term_is_never_held_to_monthly_committee_meetings():
    h = bureau_with_two_branches()
    for i in range(2):
        register(h, f"s{i}", BRANCH)
    small = card(h.envelopes, period="2026")
    assert small["figures"]["meetings"]["committee_meeting"]["required"] == 0
    assert "committee_meeting_short" not in codes(small) and small["status"] == "findings"
    for i in range(2, 7):
        register(h, f"s{i}", BRANCH)
    seven = card(h.envelopes, period="2026")
    assert seven["figures"]["meetings"]["committee_meeting"]["required"] == 12
    assert "committee_meeting_short" in codes(seven)


def test_probationary_members_do_not_make_a_branch_big_enough_for_a_committee():
    h = bureau_with_two_branches()
    for i in range(7):
        register(h, f"s{i}", BRANCH)
    h.record("member-s6", M.MemberProfileUpdated(member_id="s6", changes={"party_join_date": "2026-06-01"}),
             on=date(2026, 6, 1))
    assert card(h.envelopes, period="2026")["figures"]["meetings"]["committee_meeting"]["required"] == 0


# --- one birthday window ----------------------------------------------------------------------------------------

def test_cake_on_28_february_for_a_29_february_birthday_counts_in_a_common_year():
    h = bureau_with_two_branches()
    register(h, "leap", BRANCH, birth=date(1944, 2, 29))
    from contracts import activities as A
    h.record("care-c1", A.CareRecorded(care_id="c1", branch_id=BRANCH, member_id="leap", kind="birthday",
                                       occurred_on=date(2025, 2, 28), note=None, holiday=None, holiday_date=None,
                                       year=None, late=False, late_reasons=[]), on=date(2025, 2, 28))
    found = card(h.envelopes, period="2025", today=date(2026, 1, 10))
    assert found["figures"]["care"]["birthdays"]["done"] == 1 and "birthday_care_missed" not in codes(found)


# --- notify asks the same rulebook -----------------------------------------------------------------------------

def test_notify_reminds_care_of_retirees_only_and_holds_a_small_branch_to_no_committee_meetings():
    from services.notify.rules.model import Member as M_
    retiree = M_("r1", "a", "老王", date(1950, 11, 28), retirement_kind="retired", party_join_date=date(1975, 7, 1))
    serving = M_("s1", "a", "小李", date(1980, 11, 28), retirement_kind="in_service", party_join_date=date(2005, 7, 1))
    snapshot = BureauSnapshot(TENANT, branches=(NotifyBranch("a", "甲"),), members=(retiree, serving))
    birthdays = [r for r in evaluate(snapshot, TODAY) if r.rule == "care.birthday"]
    assert [r.details["member_id"] for r in birthdays] == ["r1"]
    six = tuple(M_(f"p{i}", "a", f"党员{i}", date(1950, 1, 1), party_join_date=date(1975, 7, 1)) for i in range(6))
    probationer = M_("p6", "a", "预备党员", date(1955, 1, 1), party_join_date=date(2026, 6, 1))
    small = BureauSnapshot(TENANT, branches=(NotifyBranch("a", "甲"),), members=six + (probationer,))
    assert [r for r in evaluate(small, TODAY) if r.rule == "meeting.committee_monthly"] == []
    seventh = M_("p7", "a", "正式党员", date(1955, 1, 1), party_join_date=date(1980, 1, 1))
    full = BureauSnapshot(TENANT, branches=(NotifyBranch("a", "甲"),), members=six + (seventh,))
    assert [r.branch_id for r in evaluate(full, TODAY) if r.rule == "meeting.committee_monthly"] == ["a"]
