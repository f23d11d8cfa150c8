"""Party dues: due against paid for the period's months, arrears, and six unpaid months calling for a review.

Unpaid dues never remove anyone: six consecutive unpaid months only call for the branch to review the case.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from services.audit.periods import month_end, parse_period
from services.audit.scorecard.context import BranchContext, event_ids, finding

ZERO = Decimal("0.00")
REVIEW_AFTER_MONTHS = 6


def figures(ctx: BranchContext) -> tuple[dict, list[dict]]:
    assessments, reductions = ctx.rows("dues_assessments"), ctx.rows("dues_reductions")
    payments = ctx.rows("dues_payments")
    paid_months = _paid_months(payments)
    ended = ctx.period.ended_months(ctx.today)
    due_total = paid_total = ZERO
    members, findings, not_assessed = [], [], []
    for member in ctx.party_members():
        if not _assessment(assessments, member.member_id, ctx.period.year):
            not_assessed.append(member)
            continue
        months = [m for m in ended if member.joined_on <= month_end(m)]
        due = {m: _monthly(assessments, reductions, member.member_id, m) for m in months}
        paid = {m: paid_months[member.member_id][m] for m in months if m in paid_months.get(member.member_id, {})}
        due_total += sum(due.values(), ZERO)
        paid_total += sum((amount for amount, _ in paid.values()), ZERO)
        arrears = _arrears(ctx, assessments, reductions, paid_months, member)
        members.append({"member_id": member.member_id, "name": member.name, "due": str(sum(due.values(), ZERO)),
                        "paid": str(sum((a for a, _ in paid.values()), ZERO)), "arrears": arrears})
        findings += _arrears_findings(ctx, member, arrears)
    if not_assessed:
        findings.append(finding("dues_not_assessed", f"{ctx.period.year}年有{len(not_assessed)}名党员未核定党费",
                                members=[m.brief() for m in not_assessed]))
    return {"dues": {"due": str(due_total), "paid": str(paid_total), "months": ended, "members": members,
                     "in_arrears": sum(1 for m in members if m["arrears"]),
                     "events": event_ids(assessments + reductions + payments)}}, findings


def _paid_months(payments: list[dict]) -> dict[str, dict[str, tuple[Decimal, str]]]:
    """member → month → (the share of a payment that covered it, the payment's event id)."""
    paid: dict[str, dict[str, tuple[Decimal, str]]] = {}
    for payment in payments:
        months = payment["months"] or []
        share = (Decimal(payment["amount"]) / len(months)).quantize(Decimal("0.01")) if months else ZERO
        for month in months:
            paid.setdefault(payment["member_id"], {})[month] = (share, str(payment["event_id"]))
    return paid


def _assessment(assessments: list[dict], member_id: str, year: int) -> dict | None:
    mine = [a for a in assessments if a["member_id"] == member_id and a["year"] == year]
    return max(mine, key=lambda a: a["stream_version"] or 0) if mine else None


def _monthly(assessments, reductions, member_id: str, month: str) -> Decimal:
    """The amount due for a month: the year's assessment, or a hardship reduction in force from an earlier month."""
    year = int(month[:4])
    assessment = _assessment(assessments, member_id, year)
    if assessment is None:
        return ZERO
    in_force = [r for r in reductions if r["member_id"] == member_id and r["year"] == year and r["from_month"] <= month]
    if in_force:
        return Decimal(max(in_force, key=lambda r: (r["from_month"], r["stream_version"] or 0))["monthly_amount"])
    return Decimal(assessment["monthly_amount"])


def _arrears(ctx, assessments, reductions, paid_months, member) -> list[str]:
    """Every ended month with dues owed and not paid, in the years assessed up to the period's end."""
    years = sorted({a["year"] for a in assessments
                    if a["member_id"] == member.member_id and a["year"] <= ctx.period.year})
    owed = []
    for year in years:
        for month in parse_period(str(year)).ended_months(min(ctx.today, ctx.period.end + timedelta(days=1))):
            if month_end(month) < member.joined_on:
                continue
            paid = month in paid_months.get(member.member_id, {})
            if not paid and _monthly(assessments, reductions, member.member_id, month) > 0:
                owed.append(month)
    return owed


def _arrears_findings(ctx: BranchContext, member, arrears: list[str]) -> list[dict]:
    if not arrears:
        return []
    findings = [finding("dues_arrears", f"{member.name}欠缴党费{len(arrears)}个月（{arrears[0]}起）",
                        members=[member.brief()])]
    run = _longest_run(arrears)
    reviewed = [r for r in ctx.rows("dues_reviews") if r["member_id"] == member.member_id]
    if run >= REVIEW_AFTER_MONTHS and not reviewed:
        findings.append(finding("dues_review_due",
                                f"{member.name}连续{run}个月未缴党费，支部应了解情况、进行审议（不自动除名）",
                                members=[member.brief()]))
    return findings


def _longest_run(months: list[str]) -> int:
    best = run = 0
    previous = None
    for month in months:
        index = int(month[:4]) * 12 + int(month[5:7])
        run = run + 1 if previous is not None and index == previous + 1 else 1
        best, previous = max(best, run), index
    return best
