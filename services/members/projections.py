"""The members service's own read models, written in the same transaction as the events they reflect.

Each function upserts or updates by key, so applying an event twice has the effect of once.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg.types.json import Jsonb

from contracts import members as ev
from shared.envelope import Envelope

Conn = psycopg.Connection

TABLES = ("bureaus", "bureau_rules", "branches", "party_groups", "members", "memberships", "committee_terms",
          "elections", "committee_posts", "allowances", "transfers", "dues_assessments", "dues_reductions",
          "dues_payments", "dues_reviews", "dues_carried")
"""Every table these projections write: what a rebuild empties and fills again."""


def project(conn: Conn, envelope: Envelope, event) -> None:
    handler = HANDLERS.get(type(event))
    if handler is not None:
        handler(conn, envelope.tenant_id, event)


def _bureau(conn: Conn, tenant: str, e: ev.BureauRegistered) -> None:
    conn.execute("INSERT INTO bureaus (tenant_id, bureau_id, name, code, version) VALUES (%s, %s, %s, %s, 1)"
                 " ON CONFLICT (bureau_id) DO NOTHING", (tenant, e.bureau_id, e.name, e.code))


def _rules(conn: Conn, tenant: str, e: ev.BureauRulesPublished) -> None:
    conn.execute("INSERT INTO bureau_rules (tenant_id, version, effective_from, rules) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT DO NOTHING", (tenant, e.rules_version, e.effective_from, Jsonb(e.rules)))


def _branch(conn: Conn, tenant: str, e: ev.BranchEstablished) -> None:
    conn.execute("INSERT INTO branches (tenant_id, branch_id, name, established_on, version) VALUES (%s, %s, %s, %s, 1)"
                 " ON CONFLICT (branch_id) DO NOTHING", (tenant, e.branch_id, e.name, e.established_on))


def _group(conn: Conn, tenant: str, e: ev.PartyGroupFormed) -> None:
    conn.execute("INSERT INTO party_groups (tenant_id, group_id, branch_id, name) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT DO NOTHING", (tenant, e.group_id, e.branch_id, e.name))


def _branch_closed(conn: Conn, tenant: str, e: ev.BranchClosed) -> None:
    conn.execute("UPDATE branches SET closed_on = %s, close_reason = %s, merged_into = %s WHERE branch_id = %s",
                 (e.closed_on, e.reason, e.merged_into, e.branch_id))


def _member(conn: Conn, tenant: str, e: ev.MemberRegistered) -> None:
    conn.execute(
        "INSERT INTO members (tenant_id, member_id, branch_id, name, gender, birth_date, party_member, party_join_date,"
        " retirement_kind, pension_base, health, mobility, phone, address, joined_on, version, transfer_id, origins)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s)"
        " ON CONFLICT (member_id) DO NOTHING",
        (tenant, e.member_id, e.branch_id, e.name, e.gender, e.birth_date, e.party_member, e.party_join_date,
         e.retirement_kind, e.pension_base, e.health, e.mobility, e.phone, e.address, e.joined_on, e.transfer_id,
         Jsonb(e.origins)))
    _open_membership(conn, tenant, e.member_id, e.branch_id, e.joined_on)


def _open_membership(conn: Conn, tenant: str, member_id: str, branch_id: str, from_date) -> None:
    conn.execute("INSERT INTO memberships (tenant_id, member_id, branch_id, from_date) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT DO NOTHING", (tenant, member_id, branch_id, from_date))


def _close_membership(conn: Conn, member_id: str, to_date, ended_by: str) -> None:
    conn.execute("UPDATE memberships SET to_date = %s, ended_by = %s WHERE member_id = %s AND to_date IS NULL",
                 (to_date, ended_by, member_id))


def _profile(conn: Conn, tenant: str, e: ev.MemberProfileUpdated) -> None:
    columns = sorted(set(e.changes) & {"name", "gender", "birth_date", "party_join_date", "pension_base", "phone",
                                       "address", "retirement_kind"})
    if columns:
        assignments = ", ".join(f"{column} = %s" for column in columns)
        conn.execute(f"UPDATE members SET {assignments} WHERE member_id = %s",
                     [e.changes[column] for column in columns] + [e.member_id])


def _health(conn: Conn, tenant: str, e: ev.MemberHealthChanged) -> None:
    conn.execute("UPDATE members SET health = %s, mobility = %s WHERE member_id = %s",
                 (e.health, e.mobility, e.member_id))


def _grouped(conn: Conn, tenant: str, e: ev.MemberAssignedToGroup) -> None:
    conn.execute("UPDATE members SET group_id = %s WHERE member_id = %s", (e.group_id, e.member_id))


def _moved(conn: Conn, tenant: str, e: ev.MemberMoved) -> None:
    _close_membership(conn, e.member_id, e.moved_on, "moved")
    _open_membership(conn, tenant, e.member_id, e.to_branch_id, e.moved_on)
    conn.execute("UPDATE members SET branch_id = %s, group_id = NULL WHERE member_id = %s",
                 (e.to_branch_id, e.member_id))


def _rejoined(conn: Conn, tenant: str, e: ev.MemberRejoined) -> None:
    _open_membership(conn, tenant, e.member_id, e.branch_id, e.rejoined_on)
    conn.execute("UPDATE members SET branch_id = %s, status = 'active', left_on = NULL, group_id = NULL"
                 " WHERE member_id = %s", (e.branch_id, e.member_id))


def _left(status: str, day: str, ended_by: str) -> Callable:
    def apply(conn: Conn, tenant: str, e) -> None:
        _close_membership(conn, e.member_id, getattr(e, day), ended_by)
        conn.execute("UPDATE members SET status = %s, left_on = %s WHERE member_id = %s",
                     (status, getattr(e, day), e.member_id))
    return apply


def _election(conn: Conn, tenant: str, e: ev.ElectionHeld) -> None:
    conn.execute("INSERT INTO elections (tenant_id, election_id, branch_id, held_on, eligible_voters, attendees,"
                 " seats, candidates, elected, excused, vacant_seats)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (tenant, e.election_id, e.branch_id, e.held_on, e.eligible_voters, e.attendees, e.seats,
                  Jsonb(e.candidates), Jsonb(e.elected), Jsonb(e.excused), e.vacant_seats))


def _term(conn: Conn, tenant: str, e: ev.CommitteeTermOpened) -> None:
    conn.execute("INSERT INTO committee_terms (tenant_id, term_id, branch_id, election_id, starts_on, ends_on,"
                 " committee) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (tenant, e.term_id, e.branch_id, e.election_id, e.starts_on, e.ends_on, e.committee))


def _post_filled(conn: Conn, tenant: str, e: ev.PostFilled) -> None:
    conn.execute("INSERT INTO committee_posts (tenant_id, term_id, branch_id, post, member_id, person_name, unit,"
                 " filled_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (tenant, e.term_id, e.branch_id, e.post, e.member_id, e.person_name, e.unit, e.filled_on))


def _post_vacated(conn: Conn, tenant: str, e: ev.PostVacated) -> None:
    conn.execute("UPDATE committee_posts SET vacated_on = %s, vacate_reason = %s WHERE term_id = %s AND post = %s"
                 " AND member_id = %s AND vacated_on IS NULL", (e.vacated_on, e.reason, e.term_id, e.post, e.member_id))


def _allowance(conn: Conn, tenant: str, e: ev.AllowancePaid) -> None:
    conn.execute("INSERT INTO allowances (tenant_id, branch_id, term_id, member_id, post, month, amount)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (tenant, e.branch_id, e.term_id, e.member_id, e.post, e.month, e.amount))


def _letter(conn: Conn, tenant: str, e: ev.TransferLetterIssued) -> None:
    direction = "within" if e.to_tenant_id == tenant else "out"
    conn.execute(
        "INSERT INTO transfers (tenant_id, transfer_id, direction, member_id, member_name, from_tenant_id,"
        " from_branch_id, to_tenant_id, to_branch_id, dues_paid_until, issued_on, valid_until, status)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'issued') ON CONFLICT DO NOTHING",
        (tenant, e.transfer_id, direction, e.member_id, e.member_name, tenant, e.from_branch_id, e.to_tenant_id,
         e.to_branch_id, e.dues_paid_until, e.issued_on, e.valid_until))


def _incoming(conn: Conn, tenant: str, e: ev.IncomingTransferAnnounced) -> None:
    conn.execute(
        "INSERT INTO transfers (tenant_id, transfer_id, direction, member_name, member, from_tenant_id,"
        " from_branch_id, to_tenant_id, to_branch_id, dues_paid_until, issued_on, valid_until, status)"
        " VALUES (%s, %s, 'in', %s, %s, %s, %s, %s, %s, %s, %s, %s, 'issued') ON CONFLICT DO NOTHING",
        (tenant, e.transfer_id, e.member["name"], Jsonb(e.member), e.from_tenant_id, e.from_branch_id, tenant,
         e.to_branch_id, e.dues_paid_until, e.issued_on, e.valid_until))


def _transfer_status(status: str, day: str | None, column: str | None) -> Callable:
    def apply(conn: Conn, tenant: str, e) -> None:
        extra = f", {column} = %s" if column else ""
        params = [status] + ([getattr(e, day)] if column else []) + [tenant, e.transfer_id]
        conn.execute(f"UPDATE transfers SET status = %s{extra} WHERE tenant_id = %s AND transfer_id = %s", params)
    return apply


def _received(conn: Conn, tenant: str, e: ev.TransferReceived) -> None:
    conn.execute("UPDATE transfers SET status = 'received', received_on = %s, received_member_id = %s"
                 " WHERE tenant_id = %s AND transfer_id = %s", (e.received_on, e.member_id, tenant, e.transfer_id))


def _assessed(conn: Conn, tenant: str, e: ev.DuesAssessed) -> None:
    conn.execute("INSERT INTO dues_assessments (tenant_id, member_id, branch_id, year, base, rate, monthly_amount)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (tenant, e.member_id, e.branch_id, e.year, e.base, e.rate, e.monthly_amount))


def _reduced(conn: Conn, tenant: str, e: ev.DuesReduced) -> None:
    conn.execute("INSERT INTO dues_reductions (tenant_id, member_id, branch_id, from_month, monthly_amount, resolution)"
                 " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (member_id, from_month) DO UPDATE"
                 " SET monthly_amount = EXCLUDED.monthly_amount, resolution = EXCLUDED.resolution",
                 (tenant, e.member_id, e.branch_id, e.from_month, e.monthly_amount, e.resolution))


def _paid(conn: Conn, tenant: str, e: ev.DuesPaid) -> None:
    for month in e.months:
        conn.execute("INSERT INTO dues_payments (tenant_id, member_id, branch_id, month, amount, paid_on, payer,"
                     " payer_name) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                     (tenant, e.member_id, e.branch_id, month, e.breakdown.get(month, "0"), e.paid_on, e.payer,
                      e.payer_name))


def _carried(conn: Conn, tenant: str, e: ev.DuesCarried) -> None:
    for month in e.months:
        conn.execute("INSERT INTO dues_carried (tenant_id, member_id, branch_id, month, transfer_id)"
                     " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                     (tenant, e.member_id, e.branch_id, month, e.transfer_id))


def _review(conn: Conn, tenant: str, e: ev.DuesArrearsReviewRaised) -> None:
    conn.execute("INSERT INTO dues_reviews (tenant_id, member_id, branch_id, since_month, months_unpaid, raised_on)"
                 " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (tenant, e.member_id, e.branch_id, e.months_unpaid[0], Jsonb(e.months_unpaid), e.raised_on))


HANDLERS: dict[type, Callable] = {
    ev.BureauRegistered: _bureau, ev.BureauRulesPublished: _rules, ev.BranchEstablished: _branch,
    ev.PartyGroupFormed: _group, ev.BranchClosed: _branch_closed, ev.MemberRegistered: _member,
    ev.MemberProfileUpdated: _profile, ev.MemberHealthChanged: _health, ev.MemberAssignedToGroup: _grouped,
    ev.MemberMoved: _moved, ev.MemberRejoined: _rejoined,
    ev.MemberTransferredOut: _left("transferred_out", "left_on", "transferred_out"),
    ev.MemberDied: _left("deceased", "died_on", "died"),
    ev.MemberLeftParty: _left("left_party", "left_on", "left_party"), ev.ElectionHeld: _election,
    ev.CommitteeTermOpened: _term,
    ev.PostFilled: _post_filled, ev.PostVacated: _post_vacated, ev.AllowancePaid: _allowance,
    ev.TransferLetterIssued: _letter, ev.IncomingTransferAnnounced: _incoming, ev.TransferReceived: _received,
    ev.TransferReturnSlipReturned: _transfer_status("closed", "returned_on", "slip_returned_on"),
    ev.TransferCancelled: _transfer_status("cancelled", "cancelled_on", "closed_on"),
    ev.TransferExpired: _transfer_status("expired", "expired_on", "closed_on"),
    ev.DuesAssessed: _assessed, ev.DuesReduced: _reduced, ev.DuesPaid: _paid, ev.DuesArrearsReviewRaised: _review,
    ev.DuesCarried: _carried,
}
