"""Notify's projections of the members and activities events: what the rules need, nothing more.

Applied by the ``notify-sources`` consumer, one event at a time inside the runner's transaction
(which also records the event id, so a redelivery changes nothing). Every write is an upsert,
so events of different streams may arrive in any order. After each event the scheduler is woken
for that bureau (``NOTIFY`` is delivered at commit).
"""

from __future__ import annotations

import logging
from typing import Any
from collections.abc import Callable

import psycopg
from psycopg.types.json import Jsonb

from contracts import activities as activity_contracts
from contracts import members as member_contracts
from shared.contracts import UnknownEventType
from shared.envelope import Envelope

log = logging.getLogger(__name__)

RULES_CHANNEL = "branchwork_notify_rules"
Handler = Callable[[psycopg.Connection, str, Any], None]


def apply(conn: psycopg.Connection, envelope: Envelope) -> None:
    """Project one event; types notify does not need (or does not know yet) are passed over."""
    handler = HANDLERS.get(envelope.event_type)
    if handler is None or envelope.tenant_id is None:
        return
    registry = member_contracts.registry if envelope.event_type.startswith("members.") else activity_contracts.registry
    try:
        event = _read(registry, envelope)
    except UnknownEventType:
        return
    handler(conn, envelope.tenant_id, event)
    conn.execute("SELECT pg_notify(%s, %s)", (RULES_CHANNEL, envelope.tenant_id))


def _read(registry, envelope: Envelope):
    """The event; fields a producer added that this notify does not know yet are ignored (shared.contracts)."""
    return registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data)


# --- the register -----------------------------------------------------------------------------------

def _bureau(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_bureaus (tenant_id, name) VALUES (%s, %s)"
                 " ON CONFLICT (tenant_id) DO UPDATE SET name = EXCLUDED.name", (tenant, e.name))


def _rules(conn, tenant, e) -> None:
    conn.execute("INSERT INTO rule_sets (tenant_id, rules_version, effective_from, rules) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (tenant_id, rules_version) DO NOTHING",
                 (tenant, e.rules_version, e.effective_from, Jsonb(e.rules)))


def _branch(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_branches (tenant_id, branch_id, name) VALUES (%s, %s, %s)"
                 " ON CONFLICT (branch_id) DO UPDATE SET name = EXCLUDED.name", (tenant, e.branch_id, e.name))


def _branch_closed(conn, tenant, e) -> None:
    conn.execute("UPDATE src_branches SET closed_on = %s WHERE branch_id = %s", (e.closed_on, e.branch_id))


def _member(conn, tenant, e) -> None:
    conn.execute(
        "INSERT INTO src_members (tenant_id, member_id, branch_id, name, birth_date, party_member, health, mobility,"
        " phone, joined_on, retirement_kind, party_join_date) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (member_id) DO UPDATE SET"
        " branch_id = EXCLUDED.branch_id, name = EXCLUDED.name, birth_date = EXCLUDED.birth_date,"
        " party_member = EXCLUDED.party_member, health = EXCLUDED.health, mobility = EXCLUDED.mobility,"
        " phone = EXCLUDED.phone, joined_on = EXCLUDED.joined_on, retirement_kind = EXCLUDED.retirement_kind,"
        " party_join_date = EXCLUDED.party_join_date, active = true",
        (tenant, e.member_id, e.branch_id, e.name, e.birth_date, e.party_member, e.health, e.mobility, e.phone,
         e.joined_on, e.retirement_kind, e.party_join_date))
    _stay_opened(conn, tenant, e.member_id, e.branch_id, e.joined_on)


def _stay_opened(conn, tenant: str, member_id: str, branch_id: str, on) -> None:
    conn.execute("INSERT INTO src_stays (tenant_id, member_id, branch_id, from_date) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT DO NOTHING", (tenant, member_id, branch_id, on))


def _stay_closed(conn, member_id: str, on, ended_by: str) -> None:
    conn.execute("UPDATE src_stays SET to_date = %s, ended_by = %s WHERE member_id = %s AND to_date IS NULL"
                 " AND from_date <= %s", (on, ended_by, member_id, on))


PROFILE_FIELDS = ("name", "birth_date", "phone", "retirement_kind", "party_join_date")


def _profile(conn, tenant, e) -> None:
    for name in PROFILE_FIELDS:
        if name in e.changes:
            conn.execute(f"UPDATE src_members SET {name} = %s WHERE member_id = %s", (e.changes[name], e.member_id))


def _health(conn, tenant, e) -> None:
    conn.execute("UPDATE src_members SET health = %s, mobility = %s WHERE member_id = %s",
                 (e.health, e.mobility, e.member_id))


def _group(conn, tenant, e) -> None:
    conn.execute("UPDATE src_members SET group_id = %s WHERE member_id = %s", (e.group_id, e.member_id))


def _moved(conn, tenant, e) -> None:
    conn.execute("UPDATE src_members SET branch_id = %s, group_id = NULL WHERE member_id = %s",
                 (e.to_branch_id, e.member_id))
    _stay_closed(conn, e.member_id, e.moved_on, "moved")
    _stay_opened(conn, tenant, e.member_id, e.to_branch_id, e.moved_on)


def _rejoined(conn, tenant, e) -> None:
    conn.execute("UPDATE src_members SET branch_id = %s, active = true WHERE member_id = %s",
                 (e.branch_id, e.member_id))
    _stay_opened(conn, tenant, e.member_id, e.branch_id, e.rejoined_on)


def _gone(conn, tenant, e) -> None:
    conn.execute("UPDATE src_members SET active = false WHERE member_id = %s", (e.member_id,))
    if isinstance(e, member_contracts.MemberDied):
        _stay_closed(conn, e.member_id, e.died_on, "died")
    else:
        _stay_closed(conn, e.member_id, e.left_on, "left_party")


def _transferred_out(conn, tenant, e) -> None:
    conn.execute("UPDATE src_members SET active = false WHERE member_id = %s", (e.member_id,))
    _stay_closed(conn, e.member_id, e.left_on, "transferred_out")
    _transfer_fact(conn, tenant, e.transfer_id, "received", e.left_on)


# --- the committee ----------------------------------------------------------------------------------

def _term(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_terms (tenant_id, term_id, branch_id, starts_on, ends_on, committee)"
                 " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (term_id) DO UPDATE SET starts_on = EXCLUDED.starts_on,"
                 " ends_on = EXCLUDED.ends_on, committee = EXCLUDED.committee",
                 (tenant, e.term_id, e.branch_id, e.starts_on, e.ends_on, e.committee))


def _post_filled(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_posts (tenant_id, term_id, branch_id, post, member_id, person_name, filled_on)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (term_id, post, member_id) DO UPDATE SET"
                 " person_name = EXCLUDED.person_name, filled_on = EXCLUDED.filled_on, vacated_on = NULL",
                 (tenant, e.term_id, e.branch_id, e.post, e.member_id, e.person_name, e.filled_on))


def _post_vacated(conn, tenant, e) -> None:
    conn.execute("UPDATE src_posts SET vacated_on = %s WHERE term_id = %s AND post = %s AND member_id = %s",
                 (e.vacated_on, e.term_id, e.post, e.member_id))


# --- transfers ----------------------------------------------------------------------------------------

def _letter(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_transfers (tenant_id, transfer_id, side, member_id, member_name, from_branch_id,"
                 " to_branch_id, to_tenant_id, issued_on, valid_until)"
                 " VALUES (%s, %s, 'out', %s, %s, %s, %s, %s, %s, %s)"
                 " ON CONFLICT (tenant_id, transfer_id) DO NOTHING",
                 (tenant, e.transfer_id, e.member_id, e.member_name, e.from_branch_id, e.to_branch_id,
                  e.to_tenant_id, e.issued_on, e.valid_until))
    _settle_transfer(conn, e.transfer_id)


def _incoming(conn, tenant, e) -> None:
    name = (e.member or {}).get("name") or "（姓名待补）"
    conn.execute("INSERT INTO src_transfers (tenant_id, transfer_id, side, member_name, from_branch_id, to_branch_id,"
                 " to_tenant_id, issued_on, valid_until) VALUES (%s, %s, 'in', %s, NULL, %s, %s, %s, %s)"
                 " ON CONFLICT (tenant_id, transfer_id) DO NOTHING",
                 (tenant, e.transfer_id, name, e.to_branch_id, tenant, e.issued_on, e.valid_until))
    _settle_transfer(conn, e.transfer_id)


def _received(conn, tenant, e) -> None:
    _transfer_fact(conn, tenant, e.transfer_id, "received", e.received_on)


def _slip(conn, tenant, e) -> None:
    _transfer_fact(conn, tenant, e.transfer_id, "slip_returned", e.returned_on)


def _transfer_closed(conn, tenant, e) -> None:
    _transfer_fact(conn, tenant, e.transfer_id, "closed", getattr(e, "cancelled_on", None) or e.expired_on)


def _transfer_fact(conn, tenant: str, transfer_id: str, fact: str, on_date) -> None:
    conn.execute("INSERT INTO src_transfer_facts (tenant_id, transfer_id, fact, on_date) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (transfer_id, fact) DO NOTHING", (tenant, transfer_id, fact, on_date))
    _settle_transfer(conn, transfer_id)


def _settle_transfer(conn, transfer_id: str) -> None:
    """Apply what is known of a transfer to every bureau's row of it (both sides learn of a receipt)."""
    for column, fact in (("received_on", "received"), ("slip_returned_on", "slip_returned"), ("closed_on", "closed")):
        conn.execute(f"UPDATE src_transfers t SET {column} = f.on_date FROM src_transfer_facts f"
                     f" WHERE t.transfer_id = %s AND f.transfer_id = t.transfer_id AND f.fact = %s"
                     f" AND t.{column} IS NULL", (transfer_id, fact))


# --- dues ----------------------------------------------------------------------------------------------

def _assessed(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_dues_assessed (tenant_id, member_id, year, monthly_amount) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (member_id, year) DO UPDATE SET monthly_amount = EXCLUDED.monthly_amount",
                 (tenant, e.member_id, e.year, e.monthly_amount))


def _reduced(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_dues_reductions (tenant_id, member_id, from_month, monthly_amount)"
                 " VALUES (%s, %s, %s, %s) ON CONFLICT (member_id, from_month) DO UPDATE SET"
                 " monthly_amount = EXCLUDED.monthly_amount", (tenant, e.member_id, e.from_month, e.monthly_amount))


def _paid(conn, tenant, e) -> None:
    for month in e.months:
        conn.execute("INSERT INTO src_dues_paid (tenant_id, member_id, month) VALUES (%s, %s, %s)"
                     " ON CONFLICT DO NOTHING", (tenant, e.member_id, month))


def _carried(conn, tenant, e) -> None:
    for month in e.months:
        conn.execute("INSERT INTO src_dues_paid (tenant_id, member_id, month, source) VALUES (%s, %s, %s, %s)"
                     " ON CONFLICT DO NOTHING", (tenant, e.member_id, month, f"carried:{e.transfer_id}"))


def _review(conn, tenant, e) -> None:
    if e.months_unpaid:
        conn.execute("INSERT INTO src_dues_reviews (tenant_id, member_id, first_month, raised_on)"
                     " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                     (tenant, e.member_id, min(e.months_unpaid), e.raised_on))


# --- activities ----------------------------------------------------------------------------------------

def _planned(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_activities (tenant_id, activity_id, branch_id, group_id, kind, title, place, status,"
                 " planned_on) VALUES (%s, %s, %s, %s, %s, %s, %s, 'planned', %s)"
                 " ON CONFLICT (activity_id) DO UPDATE SET"
                 " planned_on = EXCLUDED.planned_on, title = EXCLUDED.title, place = EXCLUDED.place"
                 " WHERE src_activities.status = 'planned'",
                 (tenant, e.activity_id, e.branch_id, e.group_id, e.kind, e.title, e.place, e.planned_on))


def _recorded(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_activities (tenant_id, activity_id, branch_id, group_id, kind, title, place, status,"
                 " occurred_on, attendees) VALUES (%s, %s, %s, %s, %s, %s, %s, 'held', %s, %s)"
                 " ON CONFLICT (activity_id) DO UPDATE SET branch_id = EXCLUDED.branch_id, kind = EXCLUDED.kind,"
                 " title = EXCLUDED.title, place = EXCLUDED.place, status = 'held',"
                 " occurred_on = EXCLUDED.occurred_on, attendees = EXCLUDED.attendees",
                 (tenant, e.activity_id, e.branch_id, e.group_id, e.kind, e.title, e.place, e.occurred_on,
                  list(e.attendees)))


def _cancelled(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_activities (tenant_id, activity_id, branch_id, kind, title, status, cancelled_on,"
                 " cancel_reason) VALUES (%s, %s, %s, %s, '', 'cancelled', %s, %s)"
                 " ON CONFLICT (activity_id) DO UPDATE SET status = 'cancelled',"
                 " cancelled_on = EXCLUDED.cancelled_on, cancel_reason = EXCLUDED.cancel_reason",
                 (tenant, e.activity_id, e.branch_id, e.kind, e.cancelled_on, e.reason))


def _outreach(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_outreach (tenant_id, outreach_id, branch_id, member_id, channel, occurred_on)"
                 " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (tenant, e.outreach_id, e.branch_id, e.member_id, e.channel, e.occurred_on))


def _care(conn, tenant, e) -> None:
    conn.execute("INSERT INTO src_care (tenant_id, care_id, branch_id, member_id, kind, occurred_on, holiday,"
                 " holiday_date) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (tenant, e.care_id, e.branch_id, e.member_id, e.kind, e.occurred_on, e.holiday, e.holiday_date))


HANDLERS: dict[str, Handler] = {
    "members.BureauRegistered": _bureau, "members.BureauRulesPublished": _rules,
    "members.BranchEstablished": _branch, "members.BranchClosed": _branch_closed,
    "members.MemberRegistered": _member, "members.MemberProfileUpdated": _profile,
    "members.MemberHealthChanged": _health, "members.MemberAssignedToGroup": _group, "members.MemberMoved": _moved,
    "members.MemberRejoined": _rejoined, "members.MemberTransferredOut": _transferred_out,
    "members.MemberDied": _gone, "members.MemberLeftParty": _gone,
    "members.CommitteeTermOpened": _term, "members.PostFilled": _post_filled, "members.PostVacated": _post_vacated,
    "members.TransferLetterIssued": _letter, "members.IncomingTransferAnnounced": _incoming,
    "members.TransferReceived": _received, "members.TransferReturnSlipReturned": _slip,
    "members.TransferCancelled": _transfer_closed, "members.TransferExpired": _transfer_closed,
    "members.DuesAssessed": _assessed, "members.DuesReduced": _reduced, "members.DuesPaid": _paid,
    "members.DuesArrearsReviewRaised": _review, "members.DuesCarried": _carried,
    "activities.ActivityPlanned": _planned, "activities.ActivityRecorded": _recorded,
    "activities.ActivityCorrected": _recorded, "activities.ActivityCancelled": _cancelled,
    "activities.OutreachRecorded": _outreach, "activities.CareRecorded": _care,
}
