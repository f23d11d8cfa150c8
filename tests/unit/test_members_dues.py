"""Party dues rules at their boundaries: the 5000-yuan line, the bands, six months of back-payment and arrears."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from contracts import members as member_contracts
from contracts.rulebook.rules import DEFAULT_RULES
from services.members.domain import MembersRuleBroken, dues, member as members
from services.members.domain.branch import Branch
from shared.canonical import canonical_json

TODAY = date(2026, 11, 27)
BRANCH = Branch("b1", "支部", date(2010, 1, 1))


def member(base="5200.00", kind="retired", joined=date(2015, 1, 1)):
    details = dict(name="李四", gender="female", birth_date=date(1952, 5, 5), party_member=True,
                   party_join_date=date(1976, 7, 1), retirement_kind=kind, pension_base=Decimal(base),
                   health="good", mobility="mobile", joined_on=joined)
    [event] = members.register_member("m1", BRANCH, details, TODAY)
    return members.evolve_member(None, event)


def fold(state, events):
    for event in events:
        state = members.evolve_member(state, event)
    return state


@pytest.mark.parametrize("kind, base, rate, monthly", [
    ("retired", "4999.99", "0.005", "25.00"),
    ("retired", "5000.00", "0.005", "25.00"),
    ("retired", "5000.01", "0.01", "50.00"),
    ("lixiu", "6800.00", "0.01", "68.00"),
    ("in_service", "3000.00", "0.005", "15.00"),
    ("in_service", "3000.01", "0.01", "30.00"),
    ("in_service", "5000.00", "0.01", "50.00"),
    ("in_service", "10000.00", "0.015", "150.00"),
    ("in_service", "10000.01", "0.02", "200.00"),
])
def test_the_rate_applies_to_the_whole_base_by_band(kind, base, rate, monthly):
    assert dues.monthly_dues(kind, Decimal(base)) == (Decimal(rate), Decimal(monthly))


def test_assessment_happens_once_a_year_and_needs_a_base():
    state = member()
    [assessed] = dues.assess(state, 2026)
    assert assessed.monthly_amount == Decimal("52.00")
    state = fold(state, [assessed])
    assert dues.assess(state, 2026) == []


def test_a_payment_covers_months_at_their_amounts_and_a_month_is_paid_once():
    state = fold(member(), dues.assess(member(), 2026))
    [paid] = dues.pay(state, ["2026-10", "2026-11"], TODAY, "self", None, None, TODAY)
    assert paid.amount == Decimal("104.00") and paid.breakdown == {"2026-10": "52.00", "2026-11": "52.00"}
    state = fold(state, [paid])
    with pytest.raises(MembersRuleBroken) as refused:
        dues.pay(state, ["2026-11"], TODAY, "self", None, None, TODAY)
    assert refused.value.code == "month_already_paid"


@pytest.mark.parametrize("back_months, allowed", [(6, True), (7, False)])
def test_a_back_payment_covers_at_most_six_months(back_months, allowed):
    state = fold(member(), dues.assess(member(), 2026))
    months = [f"2026-{m:02d}" for m in range(11 - back_months, 11)]
    if allowed:
        assert dues.pay(state, months, TODAY, "self", None, None, TODAY)
    else:
        with pytest.raises(MembersRuleBroken) as refused:
            dues.pay(state, months, TODAY, "self", None, None, TODAY)
        assert refused.value.code == "back_payment_needs_decision"


def test_a_back_payment_with_the_branchs_decision_is_an_event_that_can_be_stored_and_hashed():
    state = fold(member(), dues.assess(member(), 2026))
    decision = {"resolution": "支委会决议〔2026〕7号", "decided_on": date(2026, 11, 10)}
    [paid] = dues.pay(state, ["2026-01", "2026-02"], TODAY, "self", None, None, TODAY, decision)
    name, _version, data = member_contracts.registry.serialise(paid)
    assert json.loads(canonical_json(data))["exception"] == {"resolution": "支委会决议〔2026〕7号",
                                                            "decided_on": "2026-11-10"}


def test_a_payment_by_someone_else_names_them_and_a_wrong_amount_is_refused():
    state = fold(member(), dues.assess(member(), 2026))
    with pytest.raises(MembersRuleBroken, match="代缴人"):
        dues.pay(state, ["2026-11"], TODAY, "relative", None, None, TODAY)
    assert dues.pay(state, ["2026-11"], TODAY, "relative", "李小明", None, TODAY)[0].payer_name == "李小明"
    with pytest.raises(MembersRuleBroken) as refused:
        dues.pay(state, ["2026-11"], TODAY, "self", None, Decimal("10.00"), TODAY)
    assert refused.value.code == "amount_mismatch"


def test_a_hardship_reduction_lowers_the_months_from_its_start():
    state = fold(member(), dues.assess(member(), 2026))
    state = fold(state, dues.reduce(state, 2026, "2026-07", Decimal("0.00"), "支委会决议 2026-3"))
    assert state.dues.due_for("2026-06") == Decimal("52.00") and state.dues.due_for("2026-07") == Decimal("0")
    with pytest.raises(MembersRuleBroken):
        dues.reduce(state, 2026, "2026-08", Decimal("99.00"), "x")


@pytest.mark.parametrize("unpaid_months, review", [(5, False), (6, True)])
def test_six_consecutive_unpaid_months_raise_one_review_never_a_removal(unpaid_months, review):
    state = fold(member(), dues.assess(member(), 2026))
    paid_until = 10 - unpaid_months
    state = fold(state, dues.pay(state, [f"2026-{m:02d}" for m in range(max(1, paid_until - 5), paid_until + 1)],
                                 date(2026, paid_until, 28), "self", None, None, TODAY))
    raised = dues.review_arrears(state, TODAY, DEFAULT_RULES)
    assert bool(raised) is review
    if review:
        assert raised[0].months_unpaid == [f"2026-{m:02d}" for m in range(paid_until + 1, 11)]
        state = fold(state, raised)
        assert dues.review_arrears(state, TODAY, DEFAULT_RULES) == []
        assert state.active


def test_exempt_months_are_not_arrears():
    state = fold(member(), dues.assess(member(), 2026))
    state = fold(state, dues.reduce(state, 2026, "2026-01", Decimal("0.00"), "困难减免"))
    assert dues.arrears(state, TODAY) == [] and dues.review_arrears(state, TODAY, DEFAULT_RULES) == []
