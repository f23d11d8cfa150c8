"""One history, one answer: generated bureau histories fed to each service's pure functions — activities'
coverage and study hours, notify's coverage tasks and dues reminders, the members service's dues ledger and the
audit's scorecards — agree member by member and period by period."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings

from contracts.rulebook.calendar import parse_period, period_of
from services.activities.domain.coverage import coverage, study_hours
from services.audit import facts as facts_module
from services.audit.projections import facts_of
from services.audit.queries import facts_window
from services.audit.domain import scorecard
from services.audit.store import MemoryStore, put_all
from services.members.domain import dues
from services.notify.rules import evaluate
from tests.histories import BRANCHES, MONTHS, TENANT, History, histories

# Bounded so the unit tier stays fast; derandomised so a run is the same on every machine.
AGREEMENT = settings(max_examples=25, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Audit:
    """The audit's scorecards of the history, each branch and period worked out once."""

    def __init__(self, history: History) -> None:
        self.store = MemoryStore()
        for envelope in history.envelopes():
            put_all(self.store, facts_of(envelope))
        self.today = history.today
        self.cards: dict[tuple[str, str], dict] = {}

    def card(self, branch_id: str, period: str) -> dict:
        if (branch_id, period) not in self.cards:
            found = parse_period(period)
            loaded = facts_module.load(self.store, TENANT, *facts_window(found), branch_id)
            self.cards[branch_id, period] = scorecard(loaded, branch_id, found, self.today)
        return self.cards[branch_id, period]


def _ids(rows) -> set[str]:
    return {row["member_id"] for row in rows}


@AGREEMENT
@given(histories())
def test_activities_notify_and_the_audit_agree_on_who_was_reached_each_period(history):
    roster, reaches, audit = history.roster(), history.reaches(), Audit(history)
    for branch in BRANCHES:
        for month in MONTHS:
            report = coverage(roster, branch, parse_period(month), reaches, history.today)
            [part] = [p for p in audit.card(branch, month)["figures"]["coverage"]["periods"]
                      if p["period"] == period_of(parse_period(month).start, history.rules["coverage_period"]).id]
            judged = coverage(roster, branch, parse_period(part["period"]), reaches, history.today)
            assert (part["members"], _ids(part["not_covered"])) == (judged["due"], _ids(judged["uncovered"])), \
                (branch, month, part, judged)
            assert report["due"] == len(_ids(report["covered"]) | _ids(report["uncovered"]))
    now = period_of(history.today, history.rules["coverage_period"])
    told = {r.branch_id: _ids(r.details["members"]) for r in evaluate(history.snapshot(), history.today)
            if r.rule == "coverage.unreached"}
    checked = history.today >= now.end.replace(day=history.rules["monthly_check_day"])  # notify's own timing
    for branch in BRANCHES:
        uncovered = _ids(coverage(roster, branch, now, reaches, history.today)["uncovered"])
        assert told.get(branch, set()) == (uncovered if checked else set()), (branch, told, uncovered)


@AGREEMENT
@given(histories())
def test_activities_and_the_audit_agree_on_each_members_study_hours(history):
    roster, sessions, audit = history.roster(), history.sessions(), Audit(history)
    for branch in BRANCHES:
        ours = study_hours(roster, branch, 2026, sessions, history.rules, history.today)["members"]
        theirs = audit.card(branch, "2026")["figures"]["study_hours"]["members"]
        mine = {r["member_id"]: (r["hours"].quantize(Decimal("0.1")), Decimal(r["required"]), r["exempt"], r["met"])
                for r in ours}
        judged = {r["member_id"]: (Decimal(r["done"]), Decimal(r["required"]), r["exempt"], r["met"]) for r in theirs}
        assert mine == judged, branch


@AGREEMENT
@given(histories())
def test_members_notify_and_the_audit_agree_on_each_members_dues(history):
    audit, members, today = Audit(history), history.members(), history.today
    arrears: dict[str, list[str]] = {}
    reviews: set[str] = set()
    for branch in BRANCHES:
        card = audit.card(branch, "2026")
        for row in card["figures"]["dues"]["members"]:
            arrears.setdefault(row["member_id"], []).extend(row["arrears"])
        reviews |= {m["member_id"] for f in card["findings"] if f["code"] == "dues_review_due" for m in f["members"]}
    assessed = {m for m, member in members.items() if member.dues.assessed}
    assert {m: sorted(months) for m, months in arrears.items() if months} == \
        {m: dues.arrears(members[m], today) for m in assessed if dues.arrears(members[m], today)}
    reminded = {r.rule: set() for r in ()}
    for reminder in evaluate(history.snapshot(), today):
        if reminder.rule.startswith("dues."):
            reminded.setdefault(reminder.rule, set()).add(reminder.details["member_id"])
    raised = {m for m in assessed if dues.review_arrears(members[m], today, history.rules)}
    gentle = {m for m in assessed if members[m].active and 3 <= len(dues.unpaid_streak(members[m], today)) < 6}
    assert reminded.get("dues.arrears_review", set()) == raised == reviews
    assert reminded.get("dues.arrears_reminder", set()) == gentle
