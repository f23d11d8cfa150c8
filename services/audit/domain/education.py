"""Education: coverage of every Party member each period (study, or the branch going to them) and study hours,
judged by the rulebook (``contracts.rulebook.coverage``) exactly as activities reports them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contracts.rulebook import coverage as rulebook, people
from contracts.rulebook.calendar import periods_within
from contracts.rulebook.coverage import Reach, StudySession
from contracts.rulebook.people import PostRecord
from contracts.rulebook.rules import coverage_channels, study_kinds
from shared import chinese
from services.audit.domain.context import BranchContext, finding


def figures(ctx: BranchContext) -> tuple[dict, list[dict]]:
    coverage, coverage_findings = _coverage(ctx)
    hours, hours_findings = _study_hours(ctx)
    return {"coverage": coverage, "study_hours": hours}, coverage_findings + hours_findings


def _coverage(ctx: BranchContext) -> tuple[dict, list[dict]]:
    parts, findings, evidence = [], [], set()
    within = periods_within(ctx.period, ctx.rules["coverage_period"], ctx.today)
    reaches = bureau_reaches(ctx, within[0].start, max(p.end for p in within)) if within else None
    for part in within:
        due = {m.member_id for m in ctx.party_members(part.as_of(ctx.today))}
        reached = rulebook.reaches_in(reaches, part, ctx.today, due)
        covered = due & set(reached)
        evidence.update([r.record_id for m in covered for r in reached[m]])
        missing = due - covered
        parts.append({"period": part.id, "members": len(due), "covered": len(covered),
                      "not_covered": ctx.brief(missing)})
        if missing and part.is_complete(ctx.today):
            findings.append(finding("coverage_incomplete",
                                    f"{chinese.period(part.id)}教育未全覆盖：{len(missing)}名党员未参加学习也未送学上门",
                                    members=ctx.brief(missing)))
    required = sum(p["members"] for p in parts)
    done = sum(p["covered"] for p in parts)
    return {"required": required, "done": done, "rate": round(done / required, 4) if required else None,
            "periods": parts, "events": sorted(evidence)}, findings


def bureau_reaches(ctx: BranchContext, start: date, end: date) -> rulebook.ByMember:
    """Every counting reach from ``start`` to ``end`` recorded anywhere in the bureau (a member is reached
    wherever it happened), by member in date order; ``record_id`` is the event id that shows it. Worked out once
    per load for the rules that count and the days judged (a load holds weeks either side of its period): a
    branch's card then looks up its own members' reaches, not the bureau's."""
    key = ("reaches", study_kinds(ctx.rules), coverage_channels(ctx.rules), start, end)
    if key not in ctx.facts.derived:
        ctx.facts.derived[key] = rulebook.ByMember(_reaches(ctx, start, end))
    return ctx.facts.derived[key]


def _studied(ctx: BranchContext, start: date, end: date) -> list[dict]:
    """The bureau's activities held from ``start`` to ``end`` at which attending counts as study."""
    return [a for a in ctx.facts.everywhere("activities") if a["status"] == "held" and a["on_date"]
            and start <= a["on_date"] <= end and rulebook.activity_counts_as_study(a["kind"], ctx.rules)]


def _outreach(ctx: BranchContext, start: date, end: date) -> list[dict]:
    return [o for o in ctx.facts.everywhere("outreach") if not o.get("withdrawn") and start <= o["on_date"] <= end]


def _reaches(ctx: BranchContext, start: date, end: date) -> list[Reach]:
    reaches = [Reach(member_id, a["on_date"], how, record, a["branch_id"]) for a in _studied(ctx, start, end)
               for how, record in ((f"activity:{a['kind']}", str(a["event_id"])),)
               for member_id in a["attendees"] or []]
    return reaches + [Reach(o["member_id"], o["on_date"], f"outreach:{o['channel']}", str(o["event_id"]),
                            o["branch_id"]) for o in _outreach(ctx, start, end)
                      if rulebook.outreach_reaches(o["channel"], ctx.rules)]


def bureau_sessions(ctx: BranchContext) -> rulebook.ByMember:
    """Hours of study in the period attended, and brought to the home, anywhere in the bureau, by member in date
    order (once per load, rules and period)."""
    start, end = ctx.period.start, ctx.period.end
    key = ("sessions", study_kinds(ctx.rules), start, end)
    if key not in ctx.facts.derived:
        ctx.facts.derived[key] = rulebook.study_sessions(_sessions(ctx, start, end))
    return ctx.facts.derived[key]


def _sessions(ctx: BranchContext, start: date, end: date) -> list[StudySession]:
    sessions = [StudySession(member_id, a["on_date"], hours, how, record)
                for a in _studied(ctx, start, end) if a["hours"]
                for hours, how, record in ((Decimal(a["hours"]), f"activity:{a['kind']}", str(a["event_id"])),)
                for member_id in a["attendees"] or []]
    return sessions + [StudySession(o["member_id"], o["on_date"], Decimal(o["hours"]), "outreach:home_study",
                                    str(o["event_id"])) for o in _outreach(ctx, start, end)
                       if o["hours"] and rulebook.outreach_counts_hours(o["channel"])]


def _study_hours(ctx: BranchContext) -> tuple[dict, list[dict]]:
    """The yearly hours (32, or 56 for whoever held a committee post) prorated to the period, exemptions by
    health and age as the rules say."""
    start, as_of = ctx.period.start, ctx.reference_day
    members = ctx.party_members()
    hours = rulebook.hours_by_member(bureau_sessions(ctx), start, as_of, {m.member_id for m in members})
    judged = ctx.period.kind == "year" and ctx.period.is_complete(ctx.today)  # hours short only of a year gone by
    if not (judged or ctx.facts.whole_cards):  # a roll-up's card: the records only (its record count)
        return {"events": sorted({s.record_id for mine in hours.values() for s in mine})}, []
    posts, term_ends = _posts(ctx)
    rows, findings, yardsticks = [], [], {}
    for member in members:
        committee = people.held_post_between(posts.get(member.member_id, ()), term_ends, start, as_of)
        if committee not in yardsticks:
            yardsticks[committee] = rulebook.required_hours(ctx.rules, committee, ctx.period)
        required = yardsticks[committee]
        exemption = people.study_exemption(member.health, member.birth_date, ctx.rules, as_of)
        mine = hours.get(member.member_id, [])
        done = rulebook.total_hours(mine)
        records = [s.record_id for s in mine]
        rows.append({"member_id": member.member_id, "name": member.name, "required": str(required),
                     "done": str(done.quantize(Decimal("0.1"))), "exempt": exemption is not None,
                     "exemption": exemption, "committee": committee,
                     "met": rulebook.hours_met(done, required, exemption), "events": sorted(set(records))})
        if judged and not rows[-1]["met"]:
            findings.append(finding("study_hours_short", f"{member.name}全年学习{done}学时，少于{required}学时",
                                    records=records, members=[member.brief()]))
    return {"required": len(rows), "done": sum(1 for r in rows if r["met"]), "members": rows,
            "events": sorted({e for r in rows for e in r["events"]})}, findings


def _posts(ctx: BranchContext) -> tuple[dict[str, list[PostRecord]], dict[str, date]]:
    """Committee posts by member (every branch's: a post counts wherever it was held) and the terms' ends."""
    posts: dict[str, list[PostRecord]] = {}
    for row in ctx.facts.everywhere("posts"):
        posts.setdefault(row["member_id"], []).append(
            PostRecord(row["action"], row["term_id"], row["post"], row["on_date"], row["branch_id"]))
    return posts, {t["term_id"]: t["ends_on"] for t in ctx.facts.everywhere("terms")}
