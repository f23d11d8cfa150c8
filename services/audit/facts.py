"""Loading the facts a view needs from a store, grouped by branch, and the bureau's rules in force."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from contracts.members import DEFAULT_RULES
from services.audit.roster import Register
from services.audit.store import FactStore

# Tables loaded only within the period asked about (they grow with every record); the rest in full.
DATED = {"activities": "on_date", "talks": "on_date", "outreach": "on_date", "care": "on_date",
         "performances": "on_date"}
BRANCH_TABLES = ("terms", "posts", "allowances", "elections", "dues_assessments", "dues_reductions",
                 "dues_payments", "dues_reviews", "teams", "team_members", "pledges", "centre", "party_groups",
                 *DATED)


@dataclass
class Facts:
    tenant_id: str
    rules_rows: list[dict]
    branches: dict[str, dict]
    closures: dict[str, dict]
    register: Register
    window: tuple[date, date]
    tables: dict[str, dict[str, list[dict]]] = field(default_factory=dict)

    def of(self, table: str, branch_id: str) -> list[dict]:
        return self.tables.get(table, {}).get(branch_id, [])

    def rules(self, day: date) -> dict:
        """The rule set in force on ``day``: the latest version effective by then, over the defaults."""
        in_force = [r for r in self.rules_rows if r["effective_from"] <= day]
        if not in_force:
            return {**DEFAULT_RULES, "rules_version": 0, "effective_from": None}
        latest = max(in_force, key=lambda r: (r["effective_from"], r["rules_version"]))
        return {**DEFAULT_RULES, **latest["rules"], "rules_version": latest["rules_version"],
                "effective_from": latest["effective_from"].isoformat()}


def load(store: FactStore, tenant_id: str, start: date, end: date, branch_id: str | None = None) -> Facts:
    """Everything about one bureau (or one of its branches) that views of ``start``..``end`` read."""
    branches = {row["branch_id"]: row for row in store.rows("branches", tenant_id, branch_id=branch_id)}
    closures = {row["branch_id"]: row for row in store.rows("branch_closures", tenant_id, branch_id=branch_id)}
    register = Register(store.rows("members", tenant_id), store.rows("member_changes", tenant_id))
    facts = Facts(tenant_id, store.rows("rules", tenant_id), branches, closures, register, (start, end))
    for table in BRANCH_TABLES:
        between = (DATED[table], start, end) if table in DATED else None
        grouped: dict[str, list[dict]] = defaultdict(list)
        for row in store.rows(table, tenant_id, branch_id=branch_id, between=between):
            if not row.get("withdrawn"):
                grouped[row["branch_id"]].append(row)
        facts.tables[table] = dict(grouped)
    facts.tables["transfers"] = _transfers_by_branch(store.rows("transfers", tenant_id), branch_id)
    return facts


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
