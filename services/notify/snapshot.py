"""Read one bureau's snapshot (and its recipient directory) from notify's own projections."""

from __future__ import annotations

from collections import defaultdict

import psycopg

from contracts.rulebook.dues import Stay
from services.notify.recipients import Contact, Directory, Webhook
from services.notify.rules import model


def tenants(conn: psycopg.Connection) -> list[str]:
    """Every bureau notify has heard of."""
    rows = conn.execute("SELECT tenant_id FROM src_bureaus UNION SELECT tenant_id FROM src_branches"
                        " ORDER BY 1").fetchall()
    return [row["tenant_id"] for row in rows]


def load_snapshot(conn: psycopg.Connection, tenant_id: str) -> model.BureauSnapshot:
    def rows(query: str) -> list[dict]:
        return conn.execute(query, (tenant_id,)).fetchall()

    stays: dict[str, tuple] = defaultdict(tuple)
    for r in rows("SELECT * FROM src_stays WHERE tenant_id = %s ORDER BY from_date"):
        stays[r["member_id"]] += (Stay(r["branch_id"], r["from_date"], r["to_date"], r["ended_by"]),)

    return model.BureauSnapshot(
        tenant_id=tenant_id,
        rule_sets=tuple(model.RuleSetVersion(r["rules_version"], r["effective_from"], r["rules"])
                        for r in rows("SELECT * FROM rule_sets WHERE tenant_id = %s")),
        branches=tuple(model.Branch(r["branch_id"], r["name"], r["closed_on"] is None)
                       for r in rows("SELECT * FROM src_branches WHERE tenant_id = %s ORDER BY name")),
        members=tuple(model.Member(
            member_id=r["member_id"], branch_id=r["branch_id"], name=r["name"], birth_date=r["birth_date"],
            health=r["health"], mobility=r["mobility"], phone=r["phone"], party_member=r["party_member"],
            active=r["active"], joined_on=r["joined_on"], group_id=r["group_id"], retirement_kind=r["retirement_kind"],
            party_join_date=r["party_join_date"], stays=stays.get(r["member_id"], ()))
            for r in rows("SELECT * FROM src_members WHERE tenant_id = %s ORDER BY name, member_id")),
        terms=tuple(model.Term(r["term_id"], r["branch_id"], r["starts_on"], r["ends_on"], r["committee"])
                    for r in rows("SELECT * FROM src_terms WHERE tenant_id = %s")),
        posts=tuple(model.PostHolding(r["term_id"], r["branch_id"], r["post"], r["member_id"], r["person_name"],
                                      r["filled_on"], r["vacated_on"])
                    for r in rows("SELECT * FROM src_posts WHERE tenant_id = %s ORDER BY filled_on")),
        activities=tuple(model.Activity(
            activity_id=r["activity_id"], branch_id=r["branch_id"], kind=r["kind"], title=r["title"],
            status=r["status"], planned_on=r["planned_on"], occurred_on=r["occurred_on"], place=r["place"],
            group_id=r["group_id"], attendees=tuple(r["attendees"]), cancelled_on=r["cancelled_on"],
            cancel_reason=r["cancel_reason"])
            for r in rows("SELECT * FROM src_activities WHERE tenant_id = %s")),
        outreach=tuple(model.Outreach(r["member_id"], r["branch_id"], r["channel"], r["occurred_on"])
                       for r in rows("SELECT * FROM src_outreach WHERE tenant_id = %s")),
        care=tuple(model.Care(r["member_id"], r["branch_id"], r["kind"], r["occurred_on"], r["holiday"],
                              r["holiday_date"]) for r in rows("SELECT * FROM src_care WHERE tenant_id = %s")),
        dues=_dues(rows),
        transfers=tuple(model.Transfer(
            transfer_id=r["transfer_id"], side=r["side"], member_name=r["member_name"],
            from_branch_id=r["from_branch_id"], to_branch_id=r["to_branch_id"], to_tenant_id=r["to_tenant_id"],
            issued_on=r["issued_on"], valid_until=r["valid_until"], member_id=r["member_id"],
            received_on=r["received_on"], slip_returned_on=r["slip_returned_on"], closed_on=r["closed_on"])
            for r in rows("SELECT * FROM src_transfers WHERE tenant_id = %s")),
        reminded=tuple(model.Reminded(r["activity_id"], r["notification_id"],
                                      tuple(r["details"].get("invitees") or ()), tuple(r["webhooks"] or ()))
                       for r in rows(REMINDED_CANCELLED)),
    )


# The meeting reminders of cancelled activities, with the webhooks they went to: whom a cancellation reaches.
REMINDED_CANCELLED = (
    "SELECT a.activity_id, n.notification_id, n.details,"
    " array_agg(DISTINCT d.recipient) FILTER (WHERE d.channel = 'webhook') AS webhooks"
    " FROM src_activities a JOIN notifications n ON n.tenant_id = a.tenant_id AND n.rule = 'meeting.reminder'"
    " AND n.subject = 'activity-' || a.activity_id LEFT JOIN deliveries d ON d.notification_id = n.notification_id"
    " WHERE a.tenant_id = %s AND a.status = 'cancelled' GROUP BY a.activity_id, n.notification_id, n.details"
    " ORDER BY n.notification_id")


def _dues(rows) -> tuple[model.Dues, ...]:
    assessed: dict[str, dict[int, str]] = defaultdict(dict)
    for r in rows("SELECT * FROM src_dues_assessed WHERE tenant_id = %s"):
        assessed[r["member_id"]][r["year"]] = str(r["monthly_amount"])
    reductions: dict[str, list] = defaultdict(list)
    for r in rows("SELECT * FROM src_dues_reductions WHERE tenant_id = %s"):
        reductions[r["member_id"]].append((r["from_month"], str(r["monthly_amount"])))
    paid: dict[str, set] = defaultdict(set)
    carried: dict[str, set] = defaultdict(set)
    for r in rows("SELECT * FROM src_dues_paid WHERE tenant_id = %s"):
        (paid if r["source"] == "paid" else carried)[r["member_id"]].add(r["month"])
    reviews: dict[str, list] = defaultdict(list)
    for r in rows("SELECT * FROM src_dues_reviews WHERE tenant_id = %s"):
        reviews[r["member_id"]].append((r["first_month"], r["raised_on"]))
    return tuple(model.Dues(member_id, assessed[member_id], tuple(sorted(reductions[member_id])),
                            frozenset(paid[member_id]), tuple(reviews[member_id]), frozenset(carried[member_id]))
                 for member_id in sorted(set(assessed) | set(reviews)))


def load_directory(conn: psycopg.Connection, snapshot: model.BureauSnapshot, today) -> Directory:
    """Who is reached how: configured contacts and webhooks, the secretaries from the committee posts."""
    contacts = {r["audience"]: Contact(r["name"], tuple(r["emails"]), tuple(r["channels"])) for r in conn.execute(
        "SELECT * FROM recipients WHERE tenant_id = %s", (snapshot.tenant_id,))}
    webhooks = tuple(Webhook(r["webhook_id"], r["url"], tuple(r["rules"])) for r in conn.execute(
        "SELECT * FROM webhooks WHERE tenant_id = %s AND NOT removed ORDER BY webhook_id", (snapshot.tenant_id,)))
    return Directory.build(snapshot, today, contacts, webhooks)
