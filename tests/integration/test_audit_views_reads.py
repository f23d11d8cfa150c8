"""The views as PostgreSQL serves them give the cards the facts themselves give.

The same history — two branches, members moving both ways, a transfer with its letter, receipt and carried dues,
a dues reduction and a review, a withdrawn record, the rules republished mid-year — is put once through the
journal and the views worker into PostgreSQL, and once straight into the in-memory store, whole rows and no
read shortcut. Every branch's card, for a month, a quarter and the year, loaded for the branch alone and for the
whole bureau, and the bureau's roll-up must be the same record for record.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from contracts import activities as A
from contracts import members as M
from contracts.rulebook.calendar import parse_period
from services.audit import facts as facts_module
from services.audit import journal, queries, views_feed
from services.audit.domain import scorecard
from services.audit.projections import facts_of
from services.audit.store import TABLES, Fact, MemoryStore, SqlStore, put_all
from shared import db
from tests.audit_month import BRANCH, M1, M2, M4, M5, M6, OTHER, TENANT, TODAY, History, activity, month_of_work, \
    other_branch_with

NEWCOMER = "7d2f0c3e-0000-4000-8000-000000000019"
PERIODS = ("2026-03", "2026-05", "2026-07", "2026-Q2", "2026-Q4", "2026-11", "2026")


def _history() -> History:
    h = month_of_work()
    other_branch_with(h, NEWCOMER)
    h.record(f"member-{NEWCOMER}", M.DuesAssessed(member_id=NEWCOMER, branch_id=OTHER, year=2026,
                                                  base=Decimal("4800.00"), rate=Decimal("0.005"),
                                                  monthly_amount=Decimal("24.00")), on=date(2026, 1, 5),
             branch_id=OTHER)
    h.record(f"member-{NEWCOMER}", M.DuesPaid(member_id=NEWCOMER, branch_id=OTHER, months=["2026-01", "2026-02"],
                                              amount=Decimal("48.00"), paid_on=date(2026, 2, 20), payer="self"),
             on=date(2026, 2, 20), branch_id=OTHER)
    study = replace(activity("study", date(2026, 11, 5), [NEWCOMER, M5], hours="2"), activity_id="a-other-study",
                    branch_id=OTHER)
    h.record("activity-a-other-study", study, on=study.occurred_on, branch_id=OTHER)
    h.record(f"member-{NEWCOMER}", M.MemberMoved(member_id=NEWCOMER, from_branch_id=OTHER, to_branch_id=BRANCH,
                                                moved_on=date(2026, 11, 10), reason="工作调整"),
             on=date(2026, 11, 10), branch_id=BRANCH)
    _transfer(h)
    _months_paid_twice(h)
    h.record(f"member-{M2}", M.DuesReduced(member_id=M2, branch_id=BRANCH, year=2026, from_month="2026-06",
                                           monthly_amount=Decimal("12.00"), resolution="支委会决定"),
             on=date(2026, 6, 2))
    h.record(f"member-{M4}", M.DuesPaid(member_id=M4, branch_id=BRANCH, months=["2026-06"], amount=Decimal("24.00"),
                                        paid_on=date(2026, 12, 1), payer="relative"), on=date(2026, 12, 1))
    review = M.DuesArrearsReviewRaised(member_id=M4, branch_id=BRANCH, months_unpaid=["2026-06", "2026-07"],
                                       raised_on=date(2026, 8, 3))
    h.record(f"member-{M4}", review, on=date(2026, 8, 3))
    withdrawn = A.OutreachWithdrawn(outreach_id="o1", branch_id=BRANCH, member_id=M4, withdrawn_on=date(2026, 11, 20),
                                    reason="记错了")
    h.record("outreach-o1", withdrawn, on=date(2026, 11, 20))
    quarterly = {"coverage_activity_kinds": ["study"], "coverage_period": "quarter"}
    h.record(f"bureau-{TENANT}", M.BureauRulesPublished(bureau_id=TENANT, rules_version=7,
                                                        effective_from=date(2026, 7, 1), rules=quarterly),
             on=date(2026, 6, 20), branch_id=None)
    # studied in October: covers M2 in November's card, judged by its quarter under the rules from July
    october = replace(activity("study", date(2026, 10, 8), [M2, NEWCOMER], hours="2"), activity_id="a-october")
    h.record("activity-a-october", october, on=october.occurred_on)
    return h


def _months_paid_twice(h: History) -> None:
    """October paid again by M2 at another amount, in its branch; February by the newcomer again after moving, in
    the branch it moved to: the payment with the greater event id counts, whichever store, whichever row."""
    h.record(f"member-{M2}", M.DuesPaid(member_id=M2, branch_id=BRANCH, months=["2026-10"], amount=Decimal("30.00"),
                                        paid_on=date(2026, 11, 29), payer="self"), on=date(2026, 11, 29))
    h.record(f"member-{NEWCOMER}", M.DuesPaid(member_id=NEWCOMER, branch_id=BRANCH, months=["2026-02", "2026-11"],
                                              amount=Decimal("60.00"), paid_on=date(2026, 11, 29), payer="self"),
             on=date(2026, 11, 29))


def _transfer(h: History) -> None:
    """M6 goes from BRANCH to OTHER on a letter, dues paid up to April carried; M1 moves to OTHER and back."""
    h.record(f"member-{M6}", M.TransferLetterIssued(
        transfer_id="tr1", member_id=M6, member_name="转出人", from_branch_id=BRANCH, to_tenant_id=TENANT,
        to_branch_id=OTHER, dues_paid_until="2026-04", issued_on=date(2026, 3, 1), valid_until=date(2026, 5, 30)),
        on=date(2026, 3, 1))
    h.record(f"member-{M6}", M.TransferReceived(transfer_id="tr1", to_branch_id=OTHER, member_id=M6,
                                                received_on=date(2026, 3, 8)), on=date(2026, 3, 8), branch_id=OTHER)
    h.record(f"member-{M6}", M.MemberMoved(member_id=M6, from_branch_id=BRANCH, to_branch_id=OTHER,
                                           moved_on=date(2026, 3, 8), reason="transfer", transfer_id="tr1"),
             on=date(2026, 3, 8), branch_id=OTHER)
    h.record(f"member-{M6}", M.DuesCarried(member_id=M6, branch_id=OTHER, transfer_id="tr1",
                                           months=["2026-03", "2026-04"], paid_until="2026-04"),
             on=date(2026, 3, 8), branch_id=OTHER)
    for moved_on, source, target in ((date(2026, 5, 3), BRANCH, OTHER), (date(2026, 9, 14), OTHER, BRANCH)):
        h.record(f"member-{M1}", M.MemberMoved(member_id=M1, from_branch_id=source, to_branch_id=target,
                                               moved_on=moved_on, reason="调整"), on=moved_on, branch_id=target)


class WholeRows(MemoryStore):
    """Every column of every row, whatever a load asks for: the facts as the projections made them."""

    def rows(self, table, tenant_id, *, columns=None, **selection):
        return super().rows(table, tenant_id, **selection)


@pytest.fixture(scope="module")
def stores(audit_settings):
    envelopes = _history().envelopes
    reference = WholeRows()
    for envelope in envelopes:
        put_all(reference, facts_of(envelope))
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in envelopes:
                journal.append(conn, envelope)
        while views_feed.catch_up(conn):
            pass
        conn.execute("SET search_path = views, public")
        yield reference, SqlStore(conn), envelopes


def _cards(store, branch_id: str | None, narrowed: bool = False) -> dict:
    """Every card of the history; ``narrowed``: records of work read for the card's quarters only, as views do."""
    cards = {}
    for period_id in PERIODS:
        period = parse_period(period_id)
        loaded = facts_module.load(store, TENANT, *queries.facts_window(period), branch_id,
                                   queries.work_window(period) if narrowed else None)
        for branch in [branch_id] if branch_id else sorted(loaded.branches):
            cards[(branch, period_id)] = queries.with_record_count(scorecard(loaded, branch, period, TODAY))
    return cards


@pytest.mark.parametrize("branch_id", [BRANCH, OTHER, None], ids=["branch", "other-branch", "bureau"])
def test_postgresql_views_give_the_cards_the_facts_give(stores, branch_id):
    reference, views, _ = stores
    expected, found = _cards(reference, branch_id), _cards(views, branch_id, narrowed=True)
    assert set(found) == set(expected) and len(found) >= len(PERIODS)
    for key, card in expected.items():
        assert found[key] == card, key


def test_the_history_exercises_what_the_cards_must_follow(stores):
    """The comparison above means something only if the cards hold moves, carried dues and findings."""
    reference, _, _ = stores
    cards = _cards(reference, None)
    year = cards[(OTHER, "2026")]
    assert {m["member_id"] for m in year["figures"]["dues"]["members"]} >= {M6, NEWCOMER}
    assert any(m["carried"] for m in year["figures"]["dues"]["members"])
    assert cards[(BRANCH, "2026")]["findings"] and cards[(BRANCH, "2026-07")]["rules"]["version"] == 7
    assert M1 in {m["member_id"] for m in cards[(OTHER, "2026-07")]["figures"]["study_hours"]["members"]}
    november = cards[(BRANCH, "2026-11")]["figures"]["coverage"]["periods"]
    assert [p["period"] for p in november] == ["2026-Q4"]
    assert M2 not in {m["member_id"] for p in november for m in p["not_covered"]}
    assert cards[(BRANCH, "2026-03")]["rules"]["version"] == 0 and M2 in {
        m["member_id"] for m in cards[(BRANCH, "2026")]["figures"]["dues"]["members"]}


def test_a_members_payments_are_kept_together_whatever_the_order_and_however_often_they_arrive(stores):
    reference, views, envelopes = stores
    payments = [fact for envelope in envelopes if envelope.event_type == "members.DuesPaid"
                for fact in facts_of(envelope) if fact.table == "dues_paid"]
    expected = {(row["member_id"], row["branch_id"]): row["payments"] for row in reference.rows("dues_paid", TENANT)}
    assert len(expected) >= 8 and len(expected[(M4, BRANCH)]) == 2

    def stored() -> dict:
        return {(row["member_id"], row["branch_id"]): row["payments"] for row in views.rows("dues_paid", TENANT)}
    assert stored() == expected
    with views.conn.transaction():
        views.put_many(reversed(payments))  # again, and the other way round: nothing changes
    assert stored() == expected


@pytest.mark.parametrize("lean_store", ["postgresql", "memory"])
def test_the_roll_up_shows_of_each_branch_what_its_whole_card_shows(stores, lean_store):
    """A roll-up's cards leave out the records behind what a branch is (its members' dues records) and the figures
    member by member it never shows, and its load reads payments in event-id order without their ids (but a
    mover's, with them): what the roll-up shows of each branch — findings, record count, headline figures — is the
    same as of the whole card."""
    reference, views, _ = stores
    lean_from = views
    if lean_store == "memory":
        lean_from = MemoryStore()
        lean_from.tables = reference.tables  # the same rows, read with the columns asked for
    left_out = 0
    for period_id in PERIODS:
        period = parse_period(period_id)
        window = queries.facts_window(period)
        whole = facts_module.load(reference, TENANT, *window, None, queries.work_window(period))
        lean = facts_module.load(lean_from, TENANT, *window, None, queries.work_window(period), whole_cards=False)
        paid = {(row["member_id"], "payments" in row) for row in lean.everywhere("dues_paid")}
        assert (NEWCOMER, True) in paid and (M2, False) in paid  # a mover's payments with their ids, the rest without
        for branch in sorted(whole.branches):
            card = queries.with_record_count(scorecard(whole, branch, period, TODAY))
            short = queries.with_record_count(scorecard(lean, branch, period, TODAY))
            assert queries.rolled_up(short) == queries.rolled_up(card), (branch, period_id)
            assert short["figures"]["dues"]["events"] == []
            assert short["figures"]["dues"]["in_arrears"] == card["figures"]["dues"]["in_arrears"]
            assert short["figures"]["study_hours"]["events"] == card["figures"]["study_hours"]["events"]
            left_out += len(card["figures"]["dues"]["events"])
    assert left_out  # the whole cards list dues records: the comparison leaves something out


@contextmanager
def _beside_one_by_one(conn, facts):
    """A transaction always rolled back, with two scratch copies of the views' tables: ``one_by_one`` holding
    ``facts`` written row by row, and ``copied`` on the search path for the caller to fill."""
    with conn.transaction(force_rollback=True):
        _scratch_tables(conn, "one_by_one")
        _scratch_tables(conn, "copied")
        conn.execute("SET LOCAL search_path = one_by_one, public")
        SqlStore(conn).put_many(facts)
        conn.execute("SET LOCAL search_path = copied, public")
        yield conn
        conn.execute("SET LOCAL search_path = views, public")


def _assert_copied_as_one_by_one(conn) -> None:
    for table, spec in TABLES.items():
        order = ", ".join(spec.key)
        found = conn.execute(f"SELECT * FROM copied.{table} ORDER BY {order}").fetchall()
        assert found == conn.execute(f"SELECT * FROM one_by_one.{table} ORDER BY {order}").fetchall(), table


def _scratch_tables(conn, schema: str) -> None:
    conn.execute(f"CREATE SCHEMA {schema}")
    for table in TABLES:
        conn.execute(f"CREATE TABLE {schema}.{table} (LIKE views.{table} INCLUDING ALL)")


@pytest.mark.parametrize("fresh", [False, True])
def test_a_large_batch_copied_in_converges_as_rows_sent_one_by_one(stores, fresh):
    """A catch-up or a rebuild copies a large batch in, each table's rows brought together first (an entity's
    versions, a member's payments, a fact delivered again): the tables hold what one row after another gives.
    ``fresh`` (a rebuild's fill, into empty tables): facts keyed by their event copied straight in, once each."""
    _, views, envelopes = stores
    facts = [fact for envelope in envelopes for fact in facts_of(envelope)]
    held = next(fact for fact in facts if fact.table == "activities")
    amended = Fact("activities", {**held.row, "title": "改过的标题", "stream_version": held.row["stream_version"] + 1})
    facts += [amended, held]  # a newer version, then the older again: the newer stays
    again = [fact for fact in facts for _ in range(2)] + facts
    with _beside_one_by_one(views.conn, facts) as conn:
        SqlStore(conn).put_copied(again, fresh=fresh)
        _assert_copied_as_one_by_one(conn)
        counted = conn.execute("SELECT (SELECT count(*) FROM copied.activities WHERE title = '改过的标题') AS a,"
                               " (SELECT count(*) FROM copied.dues_paid) AS d").fetchone()
        assert counted["a"] == 1 and counted["d"]  # the history fills the tables the batch must converge in


def test_batches_copied_one_after_another_converge_and_leave_their_scratch_tables_empty(stores):
    """Each table's rows of a batch pass through a scratch table of the session, emptied once they are moved: the
    next set of columns of the same table, and the next batch, find nothing of the last there, and the scratch
    table does not grow from batch to batch (a rebuild copies a thousand batches through it)."""
    _, views, envelopes = stores
    facts = [fact for envelope in envelopes for fact in facts_of(envelope)]
    held = next(fact.row for fact in facts if fact.table == "activities")
    cancelled = {key: held[key] for key in ("tenant_id", "event_id", "activity_id", "branch_id", "kind")}
    facts += [Fact("activities", {**cancelled, "status": "cancelled", "note": "改期",  # another set of columns
                                  "stream_version": held["stream_version"] + 1}),
              Fact("activities", {**cancelled, "activity_id": "a-cancelled-at-once", "status": "cancelled",
                                  "note": None, "stream_version": 1})]
    assert len({tuple(fact.row) for fact in facts if fact.table == "activities"}) > 1
    with _beside_one_by_one(views.conn, facts) as conn:
        half = len(facts) // 2
        sizes = []
        for batch in (facts[:half], facts[half:], facts):
            SqlStore(conn).put_copied(batch)
            sizes.append(conn.execute("SELECT count(*) AS n, coalesce(sum(pg_relation_size(c.oid)), 0) AS bytes"
                                      " FROM pg_class c WHERE c.relname LIKE 'stage\\_%' AND c.relpersistence = 't'"
                                      ).fetchone())
            assert conn.execute("SELECT count(*) AS n FROM stage_activities").fetchone()["n"] == 0
        assert sizes[0]["n"] and all(size["bytes"] == 0 for size in sizes), sizes
        _assert_copied_as_one_by_one(conn)
