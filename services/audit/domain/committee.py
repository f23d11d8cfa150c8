"""The branch committee: its term, posts and vacancies, the secretary's allowance, elections, branch size."""

from __future__ import annotations

from decimal import Decimal

from contracts.rulebook.calendar import month_end
from contracts.rulebook.people import BRANCH_MIN_FULL_MEMBERS, COMMITTEE_MIN_FULL_MEMBERS
from shared import chinese
from services.audit.domain.context import BranchContext, event_ids, finding

POST_LABELS = {"secretary": "书记", "deputy_secretary": "副书记", "member": "委员"}


def current_term(ctx: BranchContext) -> dict | None:
    return ctx.current_term()


def posts_held(ctx: BranchContext) -> list[dict]:
    """Posts of the current term held on the reference day, folded from filled/vacated in date order."""
    term = current_term(ctx)
    if term is None:
        return []
    held: dict[tuple[str, str], dict] = {}
    for row in _post_events(ctx, term):
        key = (row["post"], row["member_id"])
        if row["action"] == "filled":
            held[key] = row
        else:
            held.pop(key, None)
    return list(held.values())


def _post_events(ctx: BranchContext, term: dict) -> list[dict]:
    rows = [p for p in ctx.rows("posts") if p["term_id"] == term["term_id"] and p["on_date"] <= ctx.reference_day]
    return sorted(rows, key=lambda p: (p["on_date"], p["stream_version"] or 0))


def figures(ctx: BranchContext) -> tuple[dict, list[dict]]:
    term = current_term(ctx)
    findings = _size_findings(ctx, term)
    if term is None:
        if ctx.members:
            findings.append(finding("no_committee_term", "未记录支部委员会（书记）任期"))
        return {"committee": {"term": None, "posts": [], "vacant_posts": [], "allowance": None}}, findings
    held = posts_held(ctx)
    vacant = _vacancies(ctx, term, held)
    allowance, allowance_findings = _allowance(ctx, held)
    figure = {"term": {"term_id": term["term_id"], "starts_on": term["starts_on"].isoformat(),
                       "ends_on": term["ends_on"].isoformat(), "committee": term["committee"],
                       "expired": term["ends_on"] < ctx.reference_day, "event_id": str(term["event_id"])},
              "posts": [{"post": p["post"], "label": POST_LABELS.get(p["post"], p["post"]), "member_id": p["member_id"],
                         "name": p["person_name"], "unit": p["unit"], "since": p["on_date"].isoformat(),
                         "event_id": str(p["event_id"])} for p in sorted(held, key=_post_order)],
              "vacant_posts": vacant, "allowance": allowance,
              "elections": _elections(ctx), "events": [str(term["event_id"])] + event_ids(held)}
    findings += _term_findings(ctx, term, held, vacant) + allowance_findings + _election_findings(ctx)
    findings += _seats_findings(ctx, term, held)
    return {"committee": figure}, findings


def _post_order(post: dict) -> tuple:
    return (list(POST_LABELS).index(post["post"]) if post["post"] in POST_LABELS else 9, post["person_name"] or "")


def _vacancies(ctx: BranchContext, term: dict, held: list[dict]) -> list[dict]:
    """Posts left vacant and not filled again since (by post kind)."""
    held_kinds = {p["post"] for p in held}
    vacated = {}
    for row in _post_events(ctx, term):
        if row["action"] == "vacated":
            vacated[row["post"]] = row
        elif row["post"] in vacated and row["on_date"] >= vacated[row["post"]]["on_date"]:
            vacated.pop(row["post"])
    return [{"post": post, "label": POST_LABELS.get(post, post), "since": row["on_date"].isoformat(),
             "reason": row["reason"], "event_id": str(row["event_id"])}
            for post, row in vacated.items() if post not in held_kinds or post == "member"]


def _term_findings(ctx, term, held, vacant) -> list[dict]:
    findings = []
    if term["ends_on"] < ctx.reference_day:
        findings.append(finding("term_expired", f"支部任期已于{chinese.day(term['ends_on'])}届满，尚未换届",
                                records=[term["event_id"]]))
    if not any(p["post"] == "secretary" for p in held):
        findings.append(finding("secretary_missing", "支部书记空缺", records=[term["event_id"]]))
    for post in vacant:
        findings.append(finding("post_vacant", f"{post['label']}自{chinese.day(post['since'])}空缺，未及时补选",
                                records=[post["event_id"]]))
    return findings


def _size_findings(ctx: BranchContext, term: dict | None) -> list[dict]:
    """At least 3 full members; 7 or more need a committee, not only a secretary."""
    full = ctx.full_members()
    if not ctx.members:
        return []
    findings = []
    if len(full) < BRANCH_MIN_FULL_MEMBERS:
        findings.append(finding("branch_too_small", f"正式党员{len(full)}名，不足{BRANCH_MIN_FULL_MEMBERS}名"))
    if len(full) >= COMMITTEE_MIN_FULL_MEMBERS and term is not None and not term["committee"]:
        findings.append(finding("committee_required", f"正式党员{len(full)}名，应设立支部委员会",
                                records=[term["event_id"]]))
    return findings


def _allowance(ctx: BranchContext, held: list[dict]) -> tuple[dict, list[dict]]:
    """The secretary's allowance for each ended month of the period with a secretary in post."""
    standard = Decimal(str(ctx.rules.get("secretary_allowance_monthly") or "0"))
    ratio = Decimal(str(ctx.rules.get("deputy_allowance_ratio") or "1"))
    secretary = [p for p in held if p["post"] == "secretary"]
    months = [m for m in ctx.period.ended_months(ctx.today)
              if secretary and secretary[0]["on_date"] <= month_end(m)]
    paid = [a for a in ctx.rows("allowances") if a["month"] in ctx.period.months]
    secretary_paid = {a["month"]: a for a in paid if a["post"] == "secretary"}
    unpaid = [m for m in months if m not in secretary_paid]
    findings = []
    if unpaid:
        months = "、".join(chinese.month(m) for m in unpaid)
        findings.append(finding("allowance_unpaid", f"书记工作补贴未发放：{months}",
                                records=[secretary[0]["event_id"]] if secretary else []))
    low = [a for a in secretary_paid.values() if a["amount"] < standard]
    # a deputy's or member's cap is the rules' share of what the secretary was actually paid that month
    cap = {month: row["amount"] * ratio for month, row in secretary_paid.items()}
    high = [a for a in paid if a["post"] != "secretary" and a["amount"] > cap.get(a["month"], standard * ratio)]
    if low:
        findings.append(finding("allowance_below_standard", f"书记工作补贴低于每月{standard}元",
                                records=event_ids(low)))
    if high:
        findings.append(finding("allowance_above_ratio", f"副书记、委员补贴超过书记当月实发补贴的{ratio * 100:.0f}%",
                                records=event_ids(high)))
    return {"required": len(months), "done": len(months) - len(unpaid), "months_unpaid": unpaid,
            "paid_total": str(sum((a["amount"] for a in paid), Decimal("0.00"))), "standard": str(standard),
            "events": event_ids(paid)}, findings


def _seats_findings(ctx: BranchContext, term: dict, held: list[dict]) -> list[dict]:
    """Seats the term's election left vacant, while fewer posts are held than there were seats."""
    election = next((e for e in ctx.rows("elections") if e["election_id"] == term["election_id"]), None)
    if election is None or not election.get("vacant_seats") or len(held) >= election["seats"]:
        return []
    return [finding("seats_vacant", f"换届选举应选{election['seats']}名，当选不足，"
                                    f"{election['vacant_seats']}个席位空缺待补选", records=[election["event_id"]])]


def _elections(ctx: BranchContext) -> list[dict]:
    return [{"election_id": e["election_id"], "held_on": e["held_on"].isoformat(),
             "eligible_voters": e["eligible_voters"], "excused": e.get("excused") or [],
             "vacant_seats": e.get("vacant_seats") or 0,
             "attendees": e["attendees"], "seats": e["seats"], "candidates": len(e["candidates"] or []),
             "event_id": str(e["event_id"])} for e in ctx.in_period("elections", "held_on")]


def _election_findings(ctx: BranchContext) -> list[dict]:
    """Valid only with more than 4/5 of the voters present and at least 20% more candidates than seats."""
    findings = []
    for election in ctx.in_period("elections", "held_on"):
        if election["attendees"] * 5 <= election["eligible_voters"] * 4:
            findings.append(finding("election_attendance",
                                    f"{chinese.day(election['held_on'])}换届选举到会人数未超过应到会人数的五分之四",
                                    records=[election["event_id"]]))
        if len(election["candidates"] or []) * 5 < election["seats"] * 6:
            findings.append(finding("election_candidates",
                                    f"{chinese.day(election['held_on'])}换届选举候选人数未多于应选人数的20%",
                                    records=[election["event_id"]]))
    return findings
