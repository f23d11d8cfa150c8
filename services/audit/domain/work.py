"""The rest of the branch's work: the centre's checklist, pledges (a count), talks, teams, community work,
inspections, transfers in hand, and records entered late."""

from __future__ import annotations

from datetime import timedelta

from shared import chinese
from services.audit.domain.context import BranchContext, event_ids, finding

LATE_SOURCES = (("activities", "activity_id"), ("outreach", "outreach_id"), ("care", "care_id"),
                ("talks", "activity_id"), ("performances", "performance_id"))


def figures(ctx: BranchContext) -> tuple[dict, list[dict]]:
    centre, centre_findings = _centre(ctx)
    transfers, transfer_findings = _transfers(ctx)
    talks = ctx.held("talk_given")
    details = {t["activity_id"]: t for t in ctx.rows("talks")}
    community, inspections = ctx.held("community_activity"), ctx.held("inspection")
    pledges_in_period = ctx.in_period("pledges", "signed_on")
    figures = {
        "centre": centre,
        "pledges": {"count": len(pledges_in_period),
                    "to_date": sum(1 for p in ctx.rows("pledges") if p["signed_on"] <= ctx.reference_day)},
        "talks": {"count": len(talks), "audience": sum(details.get(t["activity_id"], {}).get("audience_size") or 0
                                                        for t in talks),
                  "speakers": ctx.brief({s for t in talks
                                         for s in details.get(t["activity_id"], {}).get("speakers") or []}),
                  "events": event_ids(talks + [details[t["activity_id"]] for t in talks
                                               if t["activity_id"] in details])},
        "teams": _teams(ctx),
        "community": {"count": len(community), "events": event_ids(community)},
        "inspections": {"count": len(inspections), "titles": [i["title"] for i in inspections],
                        "events": event_ids(inspections)},
        "transfers": transfers,
        "late_entries": _late(ctx),
    }
    return figures, centre_findings + transfer_findings


def _centre(ctx: BranchContext) -> tuple[dict, list[dict]]:
    """The six-haves (or the bureau's own list): each item with its latest evidence by the period's end."""
    rows = sorted((c for c in ctx.rows("centre") if c["on_date"] <= ctx.reference_day),
                  key=lambda c: (c["on_date"], c["stream_version"] or 0))
    places = [c for c in rows if c["kind"] in ("set_up", "moved")]
    checklist = list(ctx.rules.get("centre_checklist") or [])
    evidence = {c["item"]: c for c in rows if c["kind"] == "evidenced"}
    items = [{"item": item, "evidenced": item in evidence,
              "evidence": evidence[item]["evidence"] if item in evidence else None,
              "on_date": evidence[item]["on_date"].isoformat() if item in evidence else None,
              "event_id": str(evidence[item]["event_id"]) if item in evidence else None} for item in checklist]
    missing = [i["item"] for i in items if not i["evidenced"]]
    figure = {"required": len(checklist), "done": len(checklist) - len(missing), "checklist": items,
              "place": places[-1]["place"] if places else None, "events": event_ids(places + list(evidence.values()))}
    if not places and ctx.members:
        return figure, [finding("centre_missing", "未记录支部活动阵地")]
    if missing and places:
        return figure, [finding("centre_checklist_incomplete", f"活动阵地尚缺：{'、'.join(missing)}",
                                records=figure["events"])]
    return figure, []


def _teams(ctx: BranchContext) -> dict:
    teams = [t for t in ctx.rows("teams") if t["formed_on"] <= ctx.reference_day]
    members: dict[str, set] = {}
    for row in sorted(ctx.rows("team_members"), key=lambda r: (r["on_date"], r["stream_version"] or 0)):
        if row["on_date"] <= ctx.reference_day:
            (members.setdefault(row["team_id"], set()).add if row["action"] == "joined"
             else members.setdefault(row["team_id"], set()).discard)(row["member_id"])
    performances = ctx.in_period("performances")
    return {"count": len(teams), "performances": len(performances),
            "teams": [{"team_id": t["team_id"], "name": t["name"], "kind": t["kind"],
                       "members": len(members.get(t["team_id"], ())),
                       "performances": sum(1 for p in performances if p["team_id"] == t["team_id"])} for t in teams],
            "events": event_ids(teams + performances)}


def _transfers(ctx: BranchContext) -> tuple[dict, list[dict]]:
    """Letters this branch sent still out past their validity (it stays responsible until the member is
    received), and return slips this branch owes for members it received, not back within the rules' days."""
    by_transfer: dict[str, dict[str, dict]] = {}
    for row in ctx.rows("transfers"):
        by_transfer.setdefault(row["transfer_id"], {})[row["kind"]] = row
    slip_days = timedelta(days=int(ctx.rules.get("return_slip_days") or 30))
    pending, findings = [], []
    for transfer_id, steps in by_transfer.items():
        letter, received = steps.get("letter_issued"), steps.get("received")
        closed = {"received", "cancelled", "expired", "left"} & set(steps)
        if letter and letter["branch_id"] == ctx.branch_id and not closed:
            pending.append(transfer_id)
            valid_until = letter["data"].get("valid_until")
            if valid_until and valid_until < ctx.today.isoformat():
                findings.append(finding("transfer_letter_overdue",
                                        f"介绍信已过有效期（{chinese.day(valid_until)}），仍未接收",
                                        records=[letter["event_id"]]))
        if received and received["branch_id"] == ctx.branch_id and "slip_returned" not in steps \
                and received["on_date"] + slip_days < ctx.today and received["on_date"] <= ctx.reference_day:
            findings.append(finding("return_slip_overdue", "组织关系接收后逾期未寄回回执",
                                    records=[received["event_id"]]))
    return {"pending": len(pending), "events": event_ids(r for s in by_transfer.values() for r in s.values())}, findings


def _late(ctx: BranchContext) -> dict:
    """Records of the period flagged late by the service that took them (closed period, or entered long after)."""
    records = []
    for table, key in LATE_SOURCES:
        for row in ctx.in_period(table):
            if row.get("late") and row.get("status", "held") == "held":
                records.append({"kind": row.get("kind") or table, "id": row[key], "on_date": row["on_date"].isoformat(),
                                "reasons": row.get("late_reasons") or [], "event_id": str(row["event_id"])})
    records.sort(key=lambda r: (r["on_date"], r["id"]))
    return {"count": len(records), "records": records, "events": [r["event_id"] for r in records]}
