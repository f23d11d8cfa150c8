"""Education: coverage of every member each period (study, or the branch going to them) and study hours."""

from __future__ import annotations

from decimal import Decimal

from services.audit.periods import parse_period
from services.audit.scorecard.committee import posts_held
from services.audit.scorecard.context import BranchContext, finding

STUDY_KINDS = ("study", "party_lecture", "theme_day", "general_meeting", "group_meeting", "life_meeting", "briefing")
"""The default of the rules' ``coverage_activity_kinds``: the activities at which attending counts as study."""


def study_kinds(ctx: BranchContext) -> tuple[str, ...]:
    """The same kinds activities and notify count, from the bureau's rules in force."""
    return tuple(ctx.rules.get("coverage_activity_kinds") or STUDY_KINDS)


def figures(ctx: BranchContext) -> tuple[dict, list[dict]]:
    coverage, coverage_findings = _coverage(ctx)
    hours, hours_findings = _study_hours(ctx)
    return {"coverage": coverage, "study_hours": hours}, coverage_findings + hours_findings


def _coverage_periods(ctx: BranchContext) -> list:
    """The coverage periods (months by default, or quarters) of the period that have begun."""
    months = [m for m in ctx.period.months if parse_period(m).start <= ctx.today]
    if ctx.rules.get("coverage_period") == "quarter":
        quarters = sorted({f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}" for m in months})
        return [parse_period(q) for q in quarters]
    return [parse_period(m) for m in months]


def _coverage(ctx: BranchContext) -> tuple[dict, list[dict]]:
    channels = set(ctx.rules.get("coverage_channels") or [])
    parts, findings, evidence = [], [], set()
    for part in _coverage_periods(ctx):
        day = min(part.end, ctx.today)
        members = {m.member_id for m in ctx.party_members(day)}
        reached = _reached(ctx, part, channels)
        covered = members & set(reached)
        evidence.update(e for m in covered for e in reached[m])
        missing = members - covered
        parts.append({"period": part.id, "members": len(members), "covered": len(covered),
                      "not_covered": ctx.brief(missing)})
        if missing and part.end < ctx.today:
            findings.append(finding("coverage_incomplete",
                                    f"{part.id} 教育未全覆盖：{len(missing)}名党员未参加学习也未送学上门",
                                    members=ctx.brief(missing)))
    required = sum(p["members"] for p in parts)
    done = sum(p["covered"] for p in parts)
    return {"required": required, "done": done, "rate": round(done / required, 4) if required else None,
            "periods": parts, "events": sorted(evidence)}, findings


def _reached(ctx: BranchContext, part, channels: set) -> dict[str, list[str]]:
    """member → event ids of the study attended or the outreach received within ``part``."""
    reached: dict[str, list[str]] = {}
    kinds = study_kinds(ctx)
    for activity in ctx.rows("activities"):
        if activity["status"] == "held" and activity["kind"] in kinds \
                and part.start <= activity["on_date"] <= part.end:
            for member_id in activity["attendees"] or []:
                reached.setdefault(member_id, []).append(str(activity["event_id"]))
    for outreach in ctx.rows("outreach"):
        if outreach["channel"] in channels and part.start <= outreach["on_date"] <= part.end:
            reached.setdefault(outreach["member_id"], []).append(str(outreach["event_id"]))
    return reached


def _study_hours(ctx: BranchContext) -> tuple[dict, list[dict]]:
    """Yearly hours (32, or 56 for the committee) prorated to the period; the elderly and sick may be exempt."""
    exempt_health = set(ctx.rules.get("study_exempt_health") or [])
    committee = _post_holders(ctx)
    done = _hours_by_member(ctx)
    months = len(ctx.period.months)
    rows, findings = [], []
    for member in ctx.party_members():
        in_committee = member.member_id in committee
        yearly = ctx.rules["study_hours_committee"] if in_committee else ctx.rules["study_hours_member"]
        required = (Decimal(yearly) * months / 12).quantize(Decimal("0.1"))
        exempt = member.health in exempt_health
        hours = done.get(member.member_id, (Decimal(0), []))
        rows.append({"member_id": member.member_id, "name": member.name, "required": str(required),
                     "done": str(hours[0].quantize(Decimal("0.1"))), "exempt": exempt, "committee": in_committee,
                     "events": sorted(set(hours[1]))})
        if ctx.period.kind == "year" and ctx.period.is_complete(ctx.today) and not exempt and hours[0] < required:
            findings.append(finding("study_hours_short", f"{member.name}全年学习{hours[0]}学时，少于{required}学时",
                                    records=hours[1], members=[member.brief()]))
    met = sum(1 for r in rows if r["exempt"] or Decimal(r["done"]) >= Decimal(r["required"]))
    return {"required": len(rows), "done": met, "members": rows,
            "events": sorted({e for r in rows for e in r["events"]})}, findings


def _hours_by_member(ctx: BranchContext) -> dict[str, tuple[Decimal, list[str]]]:
    hours: dict[str, tuple[Decimal, list[str]]] = {}

    def add(member_id, amount, event_id):
        total, events = hours.get(member_id, (Decimal(0), []))
        hours[member_id] = (total + Decimal(amount), events + [str(event_id)])
    for activity in ctx.held(*study_kinds(ctx)):
        for member_id in activity["attendees"] or []:
            if activity["hours"]:
                add(member_id, activity["hours"], activity["event_id"])
    for outreach in ctx.in_period("outreach"):
        if outreach["hours"]:
            add(outreach["member_id"], outreach["hours"], outreach["event_id"])
    return hours


def _post_holders(ctx: BranchContext) -> set[str]:
    return {p["member_id"] for p in posts_held(ctx)}

