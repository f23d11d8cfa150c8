"""Care of the retired cadres (两项待遇): birthdays, holiday visits, health checks, a Party newspaper each."""

from __future__ import annotations

from datetime import date, timedelta

from contracts.rulebook.calendar import month_end
from contracts.rulebook.holidays import UnknownHoliday, holiday_date, holiday_label
from contracts.rulebook.people import birthday_near, birthday_window, birthdays_between
from services.audit.domain.context import BranchContext, event_ids, finding

GRACE = timedelta(days=7)


def figures(ctx: BranchContext) -> tuple[dict, list[dict]]:
    care_rows = [c for c in ctx.rows("care") if ctx.period.start <= c["on_date"] <= ctx.period.end]
    parts = [_birthdays(ctx), _holidays(ctx), _yearly(ctx, "health_check", "体检"),
             _yearly(ctx, "newspaper", "订阅党报")]
    figure = {"birthdays": parts[0][0], "holiday_visits": parts[1][0], "health_checks": parts[2][0],
              "newspapers": parts[3][0], "done": len(care_rows),
              "by_kind": _count_by(care_rows, "kind"), "events": event_ids(care_rows)}
    return {"care": figure}, [f for part in parts for f in part[1]]


def _birthdays(ctx: BranchContext) -> tuple[dict, list[dict]]:
    """Every retiree whose birthday fell in the period, greeted within the rules' window of it (the rulebook's
    one birthday window, 29 February on the 28th in common years)."""
    due, done, missed, evidence = [], [], [], []
    cakes: dict[str, list[dict]] = {}  # the branch's birthday care by member, not the branch's all for each member
    for row in ctx.rows("care"):
        if row["kind"] == "birthday":
            cakes.setdefault(row["member_id"], []).append(row)
    for member in ctx.retirees():
        for birthday in birthdays_between(member.birth_date, ctx.period.start, ctx.reference_day):
            due.append(member)
            greeted = [c for c in cakes.get(member.member_id, ())
                       if birthday_near(member.birth_date, c["on_date"], ctx.rules) == birthday]
            if greeted:
                done.append(member)
                evidence += event_ids(greeted)
            elif birthday_window(birthday, ctx.rules)[1] < ctx.today:
                missed.append(member)
    findings = [finding("birthday_care_missed", f"{len(missed)}名老干部生日前后未送关怀",
                        members=[m.brief() for m in missed])] if missed else []
    return {"required": len(due), "done": len(done), "missed": [m.brief() for m in missed],
            "events": sorted(evidence)}, findings


def _holidays(ctx: BranchContext) -> tuple[dict, list[dict]]:
    """Each holiday of the rules that fell in the period: every retiree visited for it."""
    visits = [c for c in ctx.rows("care") if c["kind"] == "holiday_visit"]
    result, findings = [], []
    for holiday in ctx.rules.get("holiday_visits") or []:
        day = _holiday_day(holiday, ctx.period.year)
        if day is None or not ctx.period.start <= day <= ctx.reference_day:
            continue
        label = holiday_label(holiday)
        members = {m.member_id for m in ctx.retirees(day)}
        mine = [v for v in visits if v["holiday"] == holiday and (v["holiday_date"] or v["on_date"]).year == day.year]
        visited = members & {v["member_id"] for v in mine}
        result.append({"holiday": holiday, "label": label, "date": day.isoformat(), "required": len(members),
                       "done": len(visited), "not_visited": ctx.brief(members - visited), "events": event_ids(mine)})
        if members - visited and day + GRACE < ctx.today:
            findings.append(finding("holiday_visit_missed", f"{label}慰问未覆盖{len(members - visited)}名老干部",
                                    members=ctx.brief(members - visited)))
    return {"required": sum(h["required"] for h in result), "done": sum(h["done"] for h in result),
            "holidays": result, "events": sorted({e for h in result for e in h["events"]})}, findings


def _holiday_day(holiday: str, year: int) -> date | None:
    """The holiday's date on the one calendar activities and notify use; a name no calendar places is skipped."""
    try:
        return holiday_date(holiday, year)
    except UnknownHoliday:
        return None


def _yearly(ctx: BranchContext, kind: str, label: str) -> tuple[dict, list[dict]]:
    """Health checks (by the rules' month) and newspaper subscriptions: once a year for every retiree."""
    year = ctx.period.year
    rows = [c for c in ctx.rows("care") if c["kind"] == kind and (c["year"] or c["on_date"].year) == year]
    members = {m.member_id for m in ctx.retirees()}
    done = members & {c["member_id"] for c in rows}
    deadline = _deadline(ctx, kind, year)
    figure = {"required": len(members), "done": len(done), "year": year,
              "deadline": deadline.isoformat() if deadline else None,
              "missing": ctx.brief(members - done), "events": event_ids(c for c in rows if c["member_id"] in done)}
    checked_now = deadline is not None and deadline < ctx.today and ctx.period.start <= deadline <= ctx.period.end \
        or (ctx.period.kind == "year" and ctx.period.is_complete(ctx.today))
    if members - done and checked_now:
        return figure, [finding(f"{kind}_missing", f"{year}年{len(members - done)}名老干部未{label}",
                                members=ctx.brief(members - done))]
    return figure, []


def _deadline(ctx: BranchContext, kind: str, year: int) -> date | None:
    if kind == "health_check" and ctx.rules.get("health_check_by_month"):
        return month_end(f"{year}-{int(ctx.rules['health_check_by_month']):02d}")
    if kind == "newspaper" and ctx.rules.get("newspaper_per_member"):
        return month_end(f"{year}-01")
    return None


def _count_by(rows: list[dict], column: str) -> dict:
    counts: dict = {}
    for row in rows:
        counts[row[column]] = counts.get(row[column], 0) + 1
    return counts
