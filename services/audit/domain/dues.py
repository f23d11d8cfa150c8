"""Party dues: due against paid for the period's months, arrears, and unpaid months calling for a review.

Each member's dues are read month by month (the rulebook's ledger) and every month is charged to the
branch that answered for it (``contracts.rulebook.dues.branch_answering``): a member who moved raises
nothing in the receiving branch for months settled before. Only Party members owe dues. Unpaid dues
never remove anyone: ``dues_review_months`` unpaid in a row only call for the branch to review the case.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from decimal import Decimal

from contracts.rulebook import dues as rulebook
from contracts.rulebook.calendar import month_end, month_of, previous_month
from contracts.rulebook.dues import DuesLedger, branch_answering
from contracts.rulebook.people import owes_dues
from shared import chinese
from services.audit.domain.context import BranchContext, finding

ZERO = Decimal("0.00")
NO_LEDGER = DuesLedger()  # a member with no dues record at all
DUES_TABLES = ("dues_assessments", "dues_reductions", "dues_carried", "dues_reviews")  # and payments, by member


def figures(ctx: BranchContext) -> tuple[dict, list[dict]]:
    """The dues figure and findings; of a roll-up's card (``Facts.whole_cards`` off), which shows no dues figure,
    the findings and the members in arrears only."""
    books, whole = ledgers(ctx), ctx.facts.whole_cards
    ended = ctx.period.ended_months(ctx.today)
    through = previous_month(month_of(min(ctx.today, ctx.period.end + timedelta(days=1))))
    due_total = paid_total = ZERO
    members, findings, not_assessed, in_arrears = [], [], [], 0
    for member, stays, months in _answered_here(ctx):
        book = books.get(member.member_id) or NO_LEDGER
        if ctx.period.year not in book.assessed:
            not_assessed.append(member)
            continue
        arrears = rulebook.arrears(book, lambda m, s=stays: branch_answering(s, m) == ctx.branch_id, through)
        in_arrears += bool(arrears)
        findings += _arrears_findings(ctx, member, book, stays, arrears, through)
        if whole:
            here = [m for m in ended if m in months]
            due = sum((book.due_for(m) or ZERO for m in here), ZERO)
            paid = sum((book.paid[m] for m in here if m in book.paid), ZERO)
            due_total, paid_total = due_total + due, paid_total + paid
            members.append({"member_id": member.member_id, "name": member.name, "due": str(due), "paid": str(paid),
                            "carried": [m for m in here if m in book.carried], "arrears": arrears})
    if not_assessed:
        findings.append(finding("dues_not_assessed", f"{ctx.period.year}年有{len(not_assessed)}名党员未核定党费",
                                members=[m.brief() for m in not_assessed]))
    if not whole:
        return {"dues": {"in_arrears": in_arrears, "events": []}}, findings
    return {"dues": {"due": str(due_total), "paid": str(paid_total), "months": ended, "members": members,
                     "in_arrears": in_arrears,
                     "events": _records_of(ctx, [m["member_id"] for m in members])}}, findings


def _records_of(ctx: BranchContext, member_ids: list[str]) -> list[str]:
    """The event ids of these members' dues records, sorted: each member's already sorted, so their runs are
    merged (a card lists years of monthly payments for each of its members)."""
    by_member = _records_by_member(ctx)
    runs = [by_member.get(member_id, ()) for member_id in member_ids]
    every = [record for run in runs for record in run]
    distinct = set(every)
    return sorted(every) if len(distinct) == len(every) else sorted(distinct)


def _answered_here(ctx: BranchContext):
    """(member as at their last month here, their stays, the period's months this branch answers for), for every
    Party member (as registered: one who left the Party owes up to the month they left) this branch answers for in
    some month of the period begun by now."""
    register, begun = ctx.facts.register, [m for m in ctx.period.months if f"{m}-01" <= ctx.today.isoformat()]
    found = []
    for member_id in register.ever_in(ctx.branch_id):  # only a member with a stay here can owe anything here
        stays = register.stays(member_id)
        months = rulebook.months_answered(stays, begun, ctx.branch_id)
        if not months:
            continue
        member = register.state(member_id, min(month_end(months[-1]), ctx.reference_day))
        if member is not None and owes_dues(register.members[member_id]["party_member"]):
            found.append((member, stays, months))
    return sorted(found, key=lambda entry: (entry[0].name, entry[0].member_id))


def _records_by_member(ctx: BranchContext) -> dict[str, list[str]]:
    """The event ids of the bureau's dues records by member, whichever branch recorded them (once per load)."""
    if "dues_records" not in ctx.facts.derived:
        grouped: dict[str, list[str]] = {}
        for row in (r for table in DUES_TABLES for r in ctx.facts.everywhere(table)):
            if row["event_id"]:
                grouped.setdefault(row["member_id"], []).append(str(row["event_id"]))
        for member_id, payments in _payments_by_member(ctx).items():
            grouped.setdefault(member_id, []).extend(payments)
        ctx.facts.derived["dues_records"] = {member_id: sorted(set(found)) for member_id, found in grouped.items()}
    return ctx.facts.derived["dues_records"]


def _payments_by_member(ctx: BranchContext) -> dict[str, dict[str, list] | list[list]]:
    """Every dues payment of the bureau by member, whichever branch recorded it: {event id: [amount, month, …]};
    or, for a member whose one row was read without the ids (a roll-up's load), [[amount, month, …], …] in
    event-id order (once per load)."""
    if "dues_payments" not in ctx.facts.derived:
        found: dict[str, dict[str, list] | list[list]] = {}
        for row in ctx.facts.everywhere("dues_paid"):
            if "payments" in row:
                found.setdefault(row["member_id"], {}).update(row["payments"])
            else:
                found[row["member_id"]] = row["paid"]
        ctx.facts.derived["dues_payments"] = found
    return ctx.facts.derived["dues_payments"]


def ledgers(ctx: BranchContext) -> dict[str, DuesLedger]:
    """Every member's ledger from the bureau's dues facts, whichever branch recorded them (once per load)."""
    if "dues_ledgers" not in ctx.facts.derived:
        ctx.facts.derived["dues_ledgers"] = _ledgers(ctx)
    return ctx.facts.derived["dues_ledgers"]


def _ledgers(ctx: BranchContext) -> dict[str, DuesLedger]:
    """Each member's ledger, its parts gathered first and the ledger made once: folding record by record would
    copy the member's months at every payment (years of monthly payments, a bureau's thousand members)."""
    parts: dict[str, dict] = {}

    def part(member_id: str) -> dict:
        if member_id not in parts:
            parts[member_id] = {"assessed": {}, "reductions": {}, "paid": {}, "carried": {}, "reviews": []}
        return parts[member_id]
    for row in sorted(ctx.facts.everywhere("dues_assessments"), key=lambda r: r["stream_version"] or 0):
        part(row["member_id"])["assessed"][row["year"]] = Decimal(row["monthly_amount"])
    for row in sorted(ctx.facts.everywhere("dues_reductions"), key=lambda r: r["stream_version"] or 0):
        part(row["member_id"])["reductions"][row["from_month"]] = Decimal(row["monthly_amount"])
    shares: dict[tuple[str, int], Decimal] = {}
    for member_id, payments in _payments_by_member(ctx).items():
        paid = part(member_id)["paid"]
        if isinstance(payments, list):  # already in event-id order
            if not _apply_payments(paid, payments, shares):
                paid.clear()  # a month paid twice: by event id, the same answer whichever store was read
                _apply_payments(paid, payments, shares)
        elif not _apply_payments(paid, payments.values(), shares):
            paid.clear()
            _apply_payments(paid, [payments[event_id] for event_id in sorted(payments)], shares)
    for row in ctx.facts.everywhere("dues_carried"):
        part(row["member_id"])["carried"].update(dict.fromkeys(row["months"] or [], row["transfer_id"]))
    for row in ctx.facts.everywhere("dues_reviews"):
        if row["months_unpaid"]:
            part(row["member_id"])["reviews"].append(min(row["months_unpaid"]))
    return {member_id: DuesLedger(found["assessed"], found["reductions"], found["paid"], found["carried"],
                                  tuple(found["reviews"])) for member_id, found in parts.items()}


def _apply_payments(paid: dict, payments: Collection[list], shares: dict) -> bool:
    """Each payment's share of its amount set on its months; False if a month was paid by two payments."""
    try:  # each for one month, as most are: every month in one comprehension, then the shares of its amounts
        months = {month: amount for amount, month in payments}
    except ValueError:  # one for several months (or none)
        pass
    else:
        once = len(months) == len(payments) and not paid.keys() & months.keys()
        amounts = set(months.values())
        if len(amounts) == 1:  # the same amount every month, as is usual
            paid.update(dict.fromkeys(months, _share(shares, amounts.pop(), 1)))
        else:
            one = {amount: _share(shares, amount, 1) for amount in amounts}
            paid.update({month: one[amount] for month, amount in months.items()})
        return once
    once = True
    for amount, *months in payments:
        share = _share(shares, amount, len(months))
        for month in months:
            once = once and month not in paid
            paid[month] = share
    return once


def _share(shares: dict, amount: str, months: int) -> Decimal:
    """An amount's share of each of so many months (each pair divided once, not once per payment)."""
    share = shares.get((amount, months))
    if share is None:
        share = shares[(amount, months)] = (Decimal(amount) / months).quantize(Decimal("0.01")) if months else ZERO
    return share


def _arrears_findings(ctx: BranchContext, member, book: DuesLedger, stays, arrears: list[str],
                      through: str) -> list[dict]:
    """Arrears here; and a review due when the member's unpaid run (in the bureau) reaches the rules' months and
    ends in a month this branch answers for, the member still in it, unless that run was already reviewed."""
    findings = []
    if arrears:
        findings.append(finding("dues_arrears",
                                f"{member.name}欠缴党费{len(arrears)}个月（{chinese.month(arrears[0])}起）",
                                members=[member.brief()]))
    run = rulebook.unpaid_run(book, lambda m: branch_answering(stays, m) is not None, through)
    still_here = ctx.facts.register.state(member.member_id, ctx.reference_day)
    if rulebook.review_due(run, ctx.rules) and branch_answering(stays, run[-1]) == ctx.branch_id \
            and run[0] not in book.reviews and still_here is not None and still_here.branch_id == ctx.branch_id \
            and still_here.party_member:
        findings.append(finding("dues_review_due",
                                f"{member.name}连续{len(run)}个月未缴党费，支部应了解情况、进行审议（不自动除名）",
                                members=[member.brief()]))
    return findings
