"""Every command handler of the members service on the in-memory unit of work: what it records, what it refuses."""

from __future__ import annotations

from datetime import date, datetime, UTC
from decimal import Decimal
from types import SimpleNamespace

import pytest

from services.members import commands as c
from services.members.domain import MembersConflict, MembersRuleBroken
from services.members.handlers import committee, dues, register, transfers
from services.members.handlers.register import BureauCodeTaken
from services.members.saga import TransferSaga
from shared.errors import ConcurrencyError, NotFound
from shared.memory import MemoryEventStore
from tests.unit.fakes import members_unit_of_work

BUREAU, OTHER = "bureau-0001", "bureau-0002"


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


def uow(store, tenant=BUREAU, **options):
    return members_unit_of_work(store, tenant, **options)


def recorded_types(unit) -> list[str]:
    return [envelope.event_type for envelope in unit.recorded]


def a_bureau(store, bureau_id=BUREAU, code="b1") -> str:
    register.register_bureau(uow(store, None, role="platform_admin"), c.RegisterBureau("测试局", code), bureau_id)
    return bureau_id


def a_branch(store, name="离退休干部党支部", tenant=BUREAU) -> str:
    return register.establish_branch(uow(store, tenant), c.EstablishBranch(name, date(2010, 1, 1)))["id"]


def a_member(store, branch_id, name="王德明", tenant=BUREAU, **changes) -> str:
    details = {"branch_id": branch_id, "name": name, "gender": "male", "birth_date": date(1948, 5, 2),
               "party_member": True, "party_join_date": date(1970, 7, 1), "retirement_kind": "retired",
               "health": "fair", "mobility": "limited", "pension_base": Decimal("5200.00"),
               "joined_on": date(2020, 1, 1), **changes}
    return register.register_member(uow(store, tenant), c.RegisterMember(**details))["id"]


@pytest.fixture
def branch(store) -> str:
    a_bureau(store)
    return a_branch(store)


# --- bureaus and branches ---------------------------------------------------------------------------------------

def test_a_bureau_is_registered_once_and_a_taken_code_is_refused_naming_its_holder(store):
    a_bureau(store)
    with pytest.raises(BureauCodeTaken) as taken:
        register.register_bureau(uow(store, None), c.RegisterBureau("另一局", "b1"), OTHER)
    assert taken.value.existing["bureau_id"] == BUREAU
    assert store.read_stream(f"bureau-{OTHER}") == []


def test_published_rules_get_the_next_version(store):
    a_bureau(store)
    unit = uow(store)
    reply = register.publish_rules(unit, BUREAU, c.PublishRules(date(2027, 1, 1), {"transfer_letter_valid_days": 60}))
    assert reply["rules_version"] == 2 and recorded_types(unit) == ["members.BureauRulesPublished"]


def test_a_branch_is_established_and_forms_a_party_group(branch, store):
    unit = uow(store)
    group = register.form_party_group(unit, branch, c.FormPartyGroup("第一党小组"))
    assert recorded_types(unit) == ["members.PartyGroupFormed"] and group["version"] == 2


def test_a_branch_of_another_bureau_is_not_found(branch, store):
    a_bureau(store, OTHER, "b2")
    with pytest.raises(NotFound):
        register.form_party_group(uow(store, OTHER), branch, c.FormPartyGroup("第一党小组"))


def test_a_branch_with_members_is_not_closed_but_merged_moving_everyone(branch, store):
    members = [a_member(store, branch, name) for name in ("王德明", "李淑芬")]
    with pytest.raises(MembersRuleBroken):
        register.close_branch(uow(store), branch, c.CloseBranch(date(2026, 6, 1), "合并"))
    into = a_branch(store, "第二支部")
    unit = uow(store)
    merged = register.merge_branch(unit, branch, c.MergeBranch(into, date(2026, 6, 1)))
    assert sorted(merged["moved"]) == sorted(members)
    assert recorded_types(unit) == ["members.MemberMoved", "members.MemberMoved", "members.BranchClosed"]
    assert unit.queries.current_members(into) == sorted(({"member_id": m} for m in members),
                                                        key=lambda row: row["member_id"])


def test_an_empty_branch_is_closed(branch, store):
    unit = uow(store)
    register.close_branch(unit, branch, c.CloseBranch(date(2026, 6, 1), "撤销"))
    assert recorded_types(unit) == ["members.BranchClosed"]


# --- members ---------------------------------------------------------------------------------------------------

def test_a_member_is_registered_once_and_the_same_person_again_is_refused(branch, store):
    member = a_member(store, branch)
    assert store.stream_version(f"member-{member}") == 1
    with pytest.raises(MembersConflict, match=member):
        a_member(store, branch)


def test_a_profile_change_checks_the_version_the_caller_saw(branch, store):
    member = a_member(store, branch)
    with pytest.raises(ConcurrencyError):
        register.update_profile(uow(store), member, 7, {"phone": "13800000000"})
    unit = uow(store)
    assert register.update_profile(unit, member, 1, {"phone": "13800000000"})["version"] == 2
    assert recorded_types(unit) == ["members.MemberProfileUpdated"]


def test_health_death_and_leaving_the_party_are_recorded_on_the_member(branch, store):
    ill, dead, left = (a_member(store, branch, name) for name in ("甲", "乙", "丙"))
    unit = uow(store)
    register.change_health(unit, ill, None, c.ChangeHealth("poor", "bedridden", date(2026, 3, 1)))
    register.record_death(unit, dead, None, c.RecordDeath(date(2026, 3, 2)))
    register.remove_from_party(unit, left, None, c.RemoveFromParty(date(2026, 3, 3), "支部大会决定"))
    assert recorded_types(unit) == ["members.MemberHealthChanged", "members.MemberDied", "members.MemberLeftParty"]
    assert unit.queries.current_members(branch) == [{"member_id": ill}]


def test_a_member_is_assigned_to_a_group_of_their_branch_only(branch, store):
    member = a_member(store, branch)
    group = register.form_party_group(uow(store), branch, c.FormPartyGroup("第一党小组"))["id"]
    with pytest.raises(MembersRuleBroken):
        register.assign_group(uow(store), member, None, c.AssignGroup("no-such-group", date(2026, 3, 1)))
    unit = uow(store)
    register.assign_group(unit, member, None, c.AssignGroup(group, date(2026, 3, 1)))
    assert recorded_types(unit) == ["members.MemberAssignedToGroup"]


# --- the committee -------------------------------------------------------------------------------------------

def elected_branch(store, branch) -> list[str]:
    ids = [a_member(store, branch, f"党员{i}") for i in range(8)]
    ballot = c.HoldElection(held_on=date(2025, 11, 20), eligible_voters=8, attendees=7, seats=3,
                            candidates=[{"member_id": m, "name": f"党员{i}", "votes": (7, 7, 6, 1)[i]}
                                        for i, m in enumerate(ids[:4])],
                            posts=[{"post": "secretary", "member_id": ids[0]},
                                   {"post": "deputy_secretary", "member_id": ids[1]},
                                   {"post": "member", "member_id": ids[2]}])
    committee.hold_election(uow(store), branch, ballot)
    return ids


def test_an_election_below_quorum_is_refused_and_one_with_it_opens_a_term(branch, store):
    ids = [a_member(store, branch, f"党员{i}") for i in range(8)]
    ballot = dict(held_on=date(2025, 11, 20), eligible_voters=8, attendees=6, seats=3,
                  candidates=[{"member_id": m, "name": f"党员{i}", "votes": 6 if i < 3 else 1}
                              for i, m in enumerate(ids[:4])],
                  posts=[{"post": "secretary", "member_id": ids[0]}])
    with pytest.raises(MembersRuleBroken) as refused:
        committee.hold_election(uow(store), branch, c.HoldElection(**ballot))
    assert refused.value.code == "quorum_not_met"
    unit = uow(store)
    reply = committee.hold_election(unit, branch, c.HoldElection(**{**ballot, "attendees": 7}))
    assert sorted(reply["elected"]) == sorted(ids[:3])
    assert recorded_types(unit)[:2] == ["members.ElectionHeld", "members.CommitteeTermOpened"]


def test_posts_are_filled_vacated_and_the_secretarys_allowance_paid(branch, store):
    ids = elected_branch(store, branch)
    unit = uow(store)
    committee.vacate_post(unit, branch, c.VacatePost("member", ids[2], date(2026, 1, 5), "身体原因"))
    committee.fill_post(unit, branch, c.FillPost("member", ids[3], "党员3", date(2026, 1, 6)))
    committee.pay_allowance(unit, branch, c.PayAllowance(ids[0], "2026-01", Decimal("300.00")))
    assert recorded_types(unit) == ["members.PostVacated", "members.PostFilled", "members.AllowancePaid"]
    with pytest.raises(MembersRuleBroken):
        committee.fill_post(uow(store), branch, c.FillPost("secretary", ids[4], "党员4", date(2026, 1, 7)))


# --- dues ------------------------------------------------------------------------------------------------------

def test_a_branch_is_assessed_once_a_year_and_members_without_a_pension_base_are_skipped(branch, store):
    paying, without = a_member(store, branch, "甲"), a_member(store, branch, "乙", pension_base=None)
    reply = dues.assess_branch(uow(store), branch, c.AssessDues(2026))
    assert [row["member_id"] for row in reply["assessed"]] == [paying]
    assert reply["skipped"] == [{"member_id": without, "reason": "no_pension_base"}]
    again = dues.assess_branch(uow(store), branch, c.AssessDues(2026))
    assert again["assessed"] == [] and {row["reason"] for row in again["skipped"]} == {
        "already_assessed", "no_pension_base"}


def test_dues_are_reduced_and_paid_on_the_members_stream(branch, store):
    member = a_member(store, branch)
    dues.assess_branch(uow(store), branch, c.AssessDues(2026))
    unit = uow(store)
    dues.reduce(unit, member, c.ReduceDues(2026, "2026-03", Decimal("10.00"), "支委会决定"))
    dues.pay(unit, member, c.PayDues(["2026-01", "2026-02"], date(2026, 2, 10)))
    assert recorded_types(unit) == ["members.DuesReduced", "members.DuesPaid"]


def test_six_unpaid_months_raise_one_arrears_review(branch, store):
    member = a_member(store, branch)
    dues.assess_branch(uow(store), branch, c.AssessDues(2026))
    worker = uow(store, None)
    assert dues.review_arrears(worker, None, date(2026, 8, 1))["raised"] == [member]
    assert dues.review_arrears(uow(store, None), None, date(2026, 8, 2))["raised"] == []


# --- transfers -----------------------------------------------------------------------------------------------

def test_a_transfer_within_the_bureau_is_issued_received_and_closed_by_the_return_slip(branch, store):
    member, target = a_member(store, branch), a_branch(store, "第二支部")
    letter = transfers.issue_letter(uow(store), c.IssueTransfer(member, target, issued_on=date(2026, 11, 1)))
    unit = uow(store)
    transfers.receive(unit, letter["id"], c.DatedAction(date(2026, 11, 3)))
    transfers.return_slip(unit, letter["id"], c.DatedAction(date(2026, 11, 5)))
    assert recorded_types(unit) == ["members.TransferReceived", "members.MemberMoved",
                                    "members.TransferReturnSlipReturned"]
    assert unit.queries.current_members(target) == [{"member_id": member}]


def test_a_letter_is_cancelled_by_its_sender_and_an_overdue_one_expires(branch, store):
    first, second, target = a_member(store, branch, "甲"), a_member(store, branch, "乙"), a_branch(store, "第二支部")
    cancelled = transfers.issue_letter(uow(store), c.IssueTransfer(first, target, issued_on=date(2026, 11, 1)))
    overdue = transfers.issue_letter(uow(store), c.IssueTransfer(second, target, issued_on=date(2026, 1, 1)))
    transfers.cancel(uow(store), cancelled["id"], c.DatedAction(date(2026, 11, 2), "本人不愿转出"))
    worker = uow(store, None, at=datetime(2026, 11, 20, 2, tzinfo=UTC))
    transfers.expire(worker, overdue["id"])
    assert recorded_types(worker) == ["members.TransferExpired"]
    with pytest.raises(NotFound):
        transfers.cancel(uow(store, OTHER), overdue["id"], c.DatedAction())


def test_a_letter_to_another_bureau_reaches_it_through_the_saga_and_its_receipt_comes_back(branch, store):
    a_bureau(store, OTHER, "b2")
    their_branch = a_branch(store, "乙局支部", tenant=OTHER)
    member = a_member(store, branch)
    letter = transfers.issue_letter(uow(store), c.IssueTransfer(member, their_branch, OTHER, date(2026, 11, 1)))
    saga = Saga(store)
    saga.deliver_new()
    assert uow(store, OTHER).queries.transfer(letter["id"])["direction"] == "in"
    received = transfers.receive(uow(store, OTHER), letter["id"], c.DatedAction(date(2026, 11, 4)))
    saga.deliver_new()
    assert uow(store, OTHER).queries.current_members(their_branch) == [{"member_id": received["member_id"]}]
    assert uow(store).queries.current_members(branch) == []


class Saga:
    """The transfer saga fed the store's new events, as the consumer feeds it from the members topic."""

    def __init__(self, store: MemoryEventStore) -> None:
        self.store, self.position = store, 0
        worker = SimpleNamespace(clock=lambda: datetime(2026, 11, 20, 2, tzinfo=UTC),
                                 unit_of_work=lambda _conn, context: members_unit_of_work(store, context))
        self.saga = TransferSaga(worker)

    def deliver_new(self) -> None:
        for position, envelope in self.store.read_all(self.position):
            self.saga.apply(None, envelope)
            self.position = position
