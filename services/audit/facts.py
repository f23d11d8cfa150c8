"""Loading the facts a view needs from a store, grouped by branch, and the bureau's rules in force."""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date

from contracts.rulebook.rules import RuleBook, RuleVersion
from services.audit.domain.roster import Register
from services.audit.store import TABLES, Concerning, FactStore, Read

# Tables loaded only within the period asked about (they grow with every record); the rest in full.
DATED = {"activities": "on_date", "talks": "on_date", "outreach": "on_date", "care": "on_date",
         "performances": "on_date"}
# Records of work a scorecard counts only within its period (or the quarters coverage is judged by), unlike care
# (a birthday greeted days early, a year's health checks): loaded for that narrower window when one is given.
WORK = ("activities", "talks", "outreach", "performances")
BRANCH_TABLES = ("terms", "posts", "allowances", "elections", "dues_assessments", "dues_reductions",
                 "dues_paid", "dues_reviews", "dues_carried", "teams", "team_members", "pledges", "centre",
                 "party_groups", *DATED)
# Read for the whole bureau even for one branch's views: a member is reached, studies and pays dues wherever
# they are recorded (a member who moved was reached, and paid, in their old branch too).
BUREAU_WIDE = ("activities", "outreach", "posts", "terms", "dues_assessments", "dues_reductions", "dues_paid",
               "dues_reviews", "dues_carried")
# …but one branch's views need, of another branch's rows, only those naming one of its own members, past or
# present: the column that names them (the rest of the bureau would be read and judged for nothing).
MEMBERS_NAMED_IN = {"activities": "attendees", "outreach": "member_id", "posts": "member_id",
                    "dues_assessments": "member_id", "dues_reductions": "member_id", "dues_paid": "member_id",
                    "dues_reviews": "member_id", "dues_carried": "member_id"}

# What the views read of the largest tables (a bureau's members, dues assessments, activities): only the columns
# a view looks at, each row's dict the smaller for it. Any other table is read whole.
READ = {"dues_assessments": ("event_id", "member_id", "branch_id", "year", "monthly_amount", "stream_version"),
        "activities": tuple(c for c in TABLES["activities"].columns
                            if c not in ("tenant_id", "guests", "absentees", "note")),
        "members": tuple(c for c in TABLES["members"].columns if c not in ("tenant_id", "pension_base"))}
# A bureau's payments as a roll-up reads them: each member's in event-id order without the ids (store ``paid``),
# the ids read only for a member with rows in several branches (to order their payments together).
PAID_IN_ORDER = ("member_id", "branch_id", "paid")


@dataclass
class Facts:
    tenant_id: str
    rules_rows: list[dict]
    branches: dict[str, dict]
    closures: dict[str, dict]
    register: Register
    window: tuple[date, date]
    tables: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    derived: dict[str, object] = field(default_factory=dict)   # worked out once for every branch's card
    # Whether cards are whole. A bureau's roll-up shows of each card its findings, record count and headline figures
    # only: its cards leave out the records behind figures of what a branch is (its dues records: listing years of
    # payments for a hundred branches cost it a tenth of its time) and the figures it never shows, member by member
    # (dues, study hours), where no finding can come of them.
    whole_cards: bool = True

    def of(self, table: str, branch_id: str) -> list[dict]:
        return self.tables.get(table, {}).get(branch_id, [])

    def everywhere(self, table: str) -> list[dict]:
        """The table's rows of every branch loaded (the bureau's, for the ``BUREAU_WIDE`` tables)."""
        return [row for rows in self.tables.get(table, {}).values() for row in rows]

    def rules(self, day: date) -> dict:
        """The rule set in force on ``day`` (the rulebook's ``RuleBook``), with the version it comes from; worked
        out once per day asked about (a bureau's roll-up asks it for each of its branches)."""
        key = ("rules", day)
        if key not in self.derived:
            self.derived[key] = self._rules_on(day)
        return self.derived[key]

    def _rules_on(self, day: date) -> dict:
        book = RuleBook(RuleVersion(r["rules_version"], r["effective_from"], r["rules"]) for r in self.rules_rows)
        version = book.version_on(day)
        return {**book.on(day), "rules_version": version.version if version else 0,
                "effective_from": version.effective_from.isoformat() if version and version.effective_from else None}


def load(store: FactStore, tenant_id: str, start: date, end: date, branch_id: str | None = None,
         work: tuple[date, date] | None = None, whole_cards: bool = True) -> Facts:
    """Everything about one bureau (or one of its branches) that views of ``start``..``end`` read (records of work
    from ``work``'s first to its last day, if given); without ``whole_cards``, for a roll-up's cards
    (``Facts.whole_cards``): dues payments without their event ids.

    The reads go in two batches (one round trip each with PostgreSQL): the register and whatever does not depend
    on who was ever in the branch; then, for one branch, other branches' rows naming one of those members."""
    first = [Read("branches", tenant_id, branch_id), Read("branch_closures", tenant_id, branch_id),
             Read("members", tenant_id, columns=READ["members"]), Read("member_changes", tenant_id),
             Read("rules", tenant_id), Read("transfers", tenant_id)]
    reads = [_read(table, tenant_id, *(work if work and table in WORK else (start, end)), branch_id)
             for table in BRANCH_TABLES]
    if not whole_cards and branch_id is None:
        reads = [replace(r, columns=PAID_IN_ORDER) if r.table == "dues_paid" else r for r in reads]
    now = [r for r in reads if not (branch_id and r.table in MEMBERS_NAMED_IN)]
    found = store.read(first + now)
    branches, closures, members, changes, rules, transfers = found[:len(first)]
    by_table = dict(zip((r.table for r in now), found[len(first):]))
    register = Register(members, changes)
    later = [r for r in reads if r not in now]
    if later:
        people = frozenset(register.ever_in(branch_id))
        by_table.update(zip((r.table for r in later), store.read(
            [replace(r, concerning=Concerning(branch_id, MEMBERS_NAMED_IN[r.table], people)) for r in later])))
    if not whole_cards and branch_id is None:
        by_table["dues_paid"] = _payments_of_movers(store, tenant_id, by_table["dues_paid"])
    facts = Facts(tenant_id, rules, {row["branch_id"]: row for row in branches},
                  {row["branch_id"]: row for row in closures}, register, (start, end),
                  whole_cards=whole_cards)
    for table in BRANCH_TABLES:
        grouped: dict[str, list[dict]] = defaultdict(list)
        for row in by_table[table]:
            if not row.get("withdrawn"):
                grouped[row["branch_id"]].append(row)
        facts.tables[table] = dict(grouped)
    facts.tables["transfers"] = _transfers_by_branch(transfers, branch_id)
    return facts


def _payments_of_movers(store: FactStore, tenant_id: str, rows: list[dict]) -> list[dict]:
    """Payments read in event-id order without their ids (``PAID_IN_ORDER``), except for members with rows in
    several branches: theirs read again with the ids, which order their payments together."""
    branches = Counter(row["member_id"] for row in rows)
    movers = tuple(sorted(member_id for member_id, count in branches.items() if count > 1))
    if not movers:
        return rows
    [again] = store.read([Read("dues_paid", tenant_id, member_id=movers)])
    return [row for row in rows if branches[row["member_id"]] == 1] + again


def _read(table: str, tenant_id: str, start: date, end: date, branch_id: str | None) -> Read:
    """A table's rows in the period asked about (if dated), of the branch only unless read bureau-wide."""
    between = (DATED[table], start, end) if table in DATED else None
    return Read(table, tenant_id, None if table in BUREAU_WIDE else branch_id, between, columns=READ.get(table))


def _transfers_by_branch(rows: list[dict], branch_id: str | None) -> dict[str, list[dict]]:
    """Every step of a transfer under each branch any step names: the letter is the sending branch's row, the
    receipt the receiving branch's, and each branch must see the whole transfer to judge it."""
    by_transfer: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_transfer[row["transfer_id"]].append(row)
    grouped: dict[str, list[dict]] = defaultdict(list)
    for steps in by_transfer.values():
        for branch in {row["branch_id"] for row in steps if row["branch_id"]}:
            if branch_id is None or branch == branch_id:
                grouped[branch].extend(steps)
    return dict(grouped)


_pause = threading.Lock()
_paused = {"readers": 0, "resume": False, "since": 0.0}
LONGEST_PAUSE = 5.0  # seconds: readers overlapping without end still let the collector run this often


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector held off while a view's facts are read and judged (a ``with`` block, or a
    decorator: the view's facts are dropped when the function returns, before the collector resumes).

    A bureau's roll-up makes a few hundred thousand short-lived dicts, lists and records, none in a cycle, all
    freed by their reference counts when the answer is sent; meanwhile the collector would walk them, and the
    service's whole heap, again and again (about half the roll-up's time on the million-event fixture). Readers
    in other threads share the pause; the collector resumes when the last one is done, if it was running before,
    and runs once anyway whenever readers have overlapped for ``LONGEST_PAUSE`` without a gap.
    """
    with _pause:
        if _paused["readers"] == 0:
            _paused["resume"], _paused["since"] = gc.isenabled(), time.monotonic()
            gc.disable()
        _paused["readers"] += 1
    try:
        yield
    finally:
        with _pause:
            _paused["readers"] -= 1
            if _paused["readers"] == 0 and _paused["resume"]:
                gc.enable()
            elif _paused["resume"] and time.monotonic() - _paused["since"] > LONGEST_PAUSE:
                _paused["since"] = time.monotonic()
                gc.collect()
