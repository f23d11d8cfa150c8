"""The members service's own read models, written in the same transaction as the events they reflect.

Each function upserts or updates by key, so applying an event twice has the effect of once. Rows are written
through a ``RowWriter``: a command writes one event's rows, a rebuild a whole batch's, with the same statements.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from contracts import members as ev
from shared.envelope import Envelope
from shared.rowwriter import Fill, RowSet, RowWriter

Conn = psycopg.Connection

TABLES = ("bureaus", "bureau_rules", "branches", "party_groups", "members", "memberships", "committee_terms",
          "elections", "committee_posts", "allowances", "transfers", "dues_assessments", "dues_reductions",
          "dues_payments", "dues_reviews", "dues_carried")
"""Every table these projections write: what a rebuild empties and fills again."""
INDEXES_AFTER_FILL = True
"""A rebuild adds the other indexes and the foreign keys after filling the tables: every statement here finds its
rows by a key, and every row it writes passed its foreign keys when the event was first recorded."""


BUREAUS = RowSet("bureaus", ("tenant_id", "bureau_id", "name", "code", "version"), "(bureau_id) DO NOTHING")
RULES = RowSet("bureau_rules", ("tenant_id", "version", "effective_from", "rules"), json=("rules",))
BRANCHES = RowSet("branches", ("tenant_id", "branch_id", "name", "established_on", "version"),
                  "(branch_id) DO NOTHING")
GROUPS = RowSet("party_groups", ("tenant_id", "group_id", "branch_id", "name"))
MEMBERS = RowSet("members", ("tenant_id", "member_id", "branch_id", "name", "gender", "birth_date", "party_member",
                             "party_join_date", "retirement_kind", "pension_base", "health", "mobility", "phone",
                             "address", "joined_on", "version", "transfer_id", "origins"),
                 "(member_id) DO NOTHING", json=("origins",))
MEMBERSHIPS = RowSet("memberships", ("tenant_id", "member_id", "branch_id", "from_date"))
ELECTIONS = RowSet("elections", ("tenant_id", "election_id", "branch_id", "held_on", "eligible_voters", "attendees",
                                 "seats", "candidates", "elected", "excused", "vacant_seats"),
                   json=("candidates", "elected", "excused"))
TERMS = RowSet("committee_terms", ("tenant_id", "term_id", "branch_id", "election_id", "starts_on", "ends_on",
                                   "committee"))
POSTS = RowSet("committee_posts", ("tenant_id", "term_id", "branch_id", "post", "member_id", "person_name", "unit",
                                   "filled_on"))
ALLOWANCES = RowSet("allowances", ("tenant_id", "branch_id", "term_id", "member_id", "post", "month", "amount"))
LETTERS = RowSet("transfers", ("tenant_id", "transfer_id", "direction", "member_id", "member_name", "from_tenant_id",
                               "from_branch_id", "to_tenant_id", "to_branch_id", "dues_paid_until", "issued_on",
                               "valid_until", "status"))
INCOMING = RowSet("transfers", ("tenant_id", "transfer_id", "direction", "member_name", "member", "from_tenant_id",
                                "from_branch_id", "to_tenant_id", "to_branch_id", "dues_paid_until", "issued_on",
                                "valid_until", "status"), json=("member",))
ASSESSMENTS = RowSet("dues_assessments", ("tenant_id", "member_id", "branch_id", "year", "base", "rate",
                                          "monthly_amount"))
PAYMENTS = RowSet("dues_payments", ("tenant_id", "member_id", "branch_id", "month", "amount", "paid_on", "payer",
                                    "payer_name"))
CARRIED = RowSet("dues_carried", ("tenant_id", "member_id", "branch_id", "month", "transfer_id"))
REVIEWS = RowSet("dues_reviews", ("tenant_id", "member_id", "branch_id", "since_month", "months_unpaid", "raised_on"),
                 json=("months_unpaid",))
ROW_SETS = (BUREAUS, RULES, BRANCHES, GROUPS, MEMBERS, MEMBERSHIPS, ELECTIONS, TERMS, POSTS, ALLOWANCES, LETTERS,
            INCOMING, ASSESSMENTS, PAYMENTS, CARRIED, REVIEWS)
"""In the order they are written: a branch before its members and groups (their foreign keys)."""


def project(conn: Conn, envelope: Envelope, event) -> None:
    """Write the rows one event changes (in a command's transaction)."""
    project_batch(conn, ((envelope, event),))


def project_batch(conn: Conn, events, fill: Fill | None = None) -> None:
    """Write the rows a run of events changes, as if one event after another: what a rebuild replays (with
    ``fill``, into the empty tables of a rebuild)."""
    writer = RowWriter(conn, ROW_SETS, fill)
    for envelope, event in events:
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(writer, envelope.tenant_id, event)
    writer.flush()


def _bureau(w: RowWriter, tenant: str, e: ev.BureauRegistered) -> None:
    w.add(BUREAUS, {"tenant_id": tenant, "bureau_id": e.bureau_id, "name": e.name, "code": e.code, "version": 1})


def _rules(w: RowWriter, tenant: str, e: ev.BureauRulesPublished) -> None:
    w.add(RULES, {"tenant_id": tenant, "version": e.rules_version, "effective_from": e.effective_from,
                  "rules": e.rules})


def _branch(w: RowWriter, tenant: str, e: ev.BranchEstablished) -> None:
    w.add(BRANCHES, {"tenant_id": tenant, "branch_id": e.branch_id, "name": e.name,
                     "established_on": e.established_on, "version": 1})


def _group(w: RowWriter, tenant: str, e: ev.PartyGroupFormed) -> None:
    w.add(GROUPS, {"tenant_id": tenant, "group_id": e.group_id, "branch_id": e.branch_id, "name": e.name})


def _branch_closed(w: RowWriter, tenant: str, e: ev.BranchClosed) -> None:
    w.execute("UPDATE branches SET closed_on = %s, close_reason = %s, merged_into = %s WHERE branch_id = %s",
              (e.closed_on, e.reason, e.merged_into, e.branch_id))


def _member(w: RowWriter, tenant: str, e: ev.MemberRegistered) -> None:
    w.add(MEMBERS, {"tenant_id": tenant, "member_id": e.member_id, "branch_id": e.branch_id, "name": e.name,
                    "gender": e.gender, "birth_date": e.birth_date, "party_member": e.party_member,
                    "party_join_date": e.party_join_date, "retirement_kind": e.retirement_kind,
                    "pension_base": e.pension_base, "health": e.health, "mobility": e.mobility, "phone": e.phone,
                    "address": e.address, "joined_on": e.joined_on, "version": 1, "transfer_id": e.transfer_id,
                    "origins": e.origins})
    _open_membership(w, tenant, e.member_id, e.branch_id, e.joined_on)


def _open_membership(w: RowWriter, tenant: str, member_id: str, branch_id: str, from_date) -> None:
    w.add(MEMBERSHIPS, {"tenant_id": tenant, "member_id": member_id, "branch_id": branch_id, "from_date": from_date})


def _close_membership(w: RowWriter, member_id: str, to_date, ended_by: str) -> None:
    w.execute("UPDATE memberships SET to_date = %s, ended_by = %s WHERE member_id = %s AND to_date IS NULL",
              (to_date, ended_by, member_id))


def _profile(w: RowWriter, tenant: str, e: ev.MemberProfileUpdated) -> None:
    columns = sorted(set(e.changes) & {"name", "gender", "birth_date", "party_join_date", "pension_base", "phone",
                                       "address", "retirement_kind"})
    if columns:
        assignments = ", ".join(f"{column} = %s" for column in columns)
        w.execute(f"UPDATE members SET {assignments} WHERE member_id = %s",
                  [e.changes[column] for column in columns] + [e.member_id])


def _health(w: RowWriter, tenant: str, e: ev.MemberHealthChanged) -> None:
    w.execute("UPDATE members SET health = %s, mobility = %s WHERE member_id = %s", (e.health, e.mobility, e.member_id))


def _grouped(w: RowWriter, tenant: str, e: ev.MemberAssignedToGroup) -> None:
    w.execute("UPDATE members SET group_id = %s WHERE member_id = %s", (e.group_id, e.member_id))


def _moved(w: RowWriter, tenant: str, e: ev.MemberMoved) -> None:
    _close_membership(w, e.member_id, e.moved_on, "moved")
    _open_membership(w, tenant, e.member_id, e.to_branch_id, e.moved_on)
    w.execute("UPDATE members SET branch_id = %s, group_id = NULL WHERE member_id = %s", (e.to_branch_id, e.member_id))


def _rejoined(w: RowWriter, tenant: str, e: ev.MemberRejoined) -> None:
    _open_membership(w, tenant, e.member_id, e.branch_id, e.rejoined_on)
    w.execute("UPDATE members SET branch_id = %s, status = 'active', left_on = NULL, group_id = NULL"
              " WHERE member_id = %s", (e.branch_id, e.member_id))


def _left(status: str, day: str, ended_by: str) -> Callable:
    def apply(w: RowWriter, tenant: str, e) -> None:
        _close_membership(w, e.member_id, getattr(e, day), ended_by)
        w.execute("UPDATE members SET status = %s, left_on = %s WHERE member_id = %s",
                  (status, getattr(e, day), e.member_id))
    return apply


def _election(w: RowWriter, tenant: str, e: ev.ElectionHeld) -> None:
    w.add(ELECTIONS, {"tenant_id": tenant, "election_id": e.election_id, "branch_id": e.branch_id,
                      "held_on": e.held_on, "eligible_voters": e.eligible_voters, "attendees": e.attendees,
                      "seats": e.seats, "candidates": e.candidates, "elected": e.elected, "excused": e.excused,
                      "vacant_seats": e.vacant_seats})


def _term(w: RowWriter, tenant: str, e: ev.CommitteeTermOpened) -> None:
    w.add(TERMS, {"tenant_id": tenant, "term_id": e.term_id, "branch_id": e.branch_id, "election_id": e.election_id,
                  "starts_on": e.starts_on, "ends_on": e.ends_on, "committee": e.committee})


def _post_filled(w: RowWriter, tenant: str, e: ev.PostFilled) -> None:
    w.add(POSTS, {"tenant_id": tenant, "term_id": e.term_id, "branch_id": e.branch_id, "post": e.post,
                  "member_id": e.member_id, "person_name": e.person_name, "unit": e.unit, "filled_on": e.filled_on})


def _post_vacated(w: RowWriter, tenant: str, e: ev.PostVacated) -> None:
    w.execute("UPDATE committee_posts SET vacated_on = %s, vacate_reason = %s WHERE term_id = %s AND post = %s"
              " AND member_id = %s AND vacated_on IS NULL", (e.vacated_on, e.reason, e.term_id, e.post, e.member_id))


def _allowance(w: RowWriter, tenant: str, e: ev.AllowancePaid) -> None:
    w.add(ALLOWANCES, {"tenant_id": tenant, "branch_id": e.branch_id, "term_id": e.term_id, "member_id": e.member_id,
                       "post": e.post, "month": e.month, "amount": e.amount})


def _letter(w: RowWriter, tenant: str, e: ev.TransferLetterIssued) -> None:
    w.add(LETTERS, {"tenant_id": tenant, "transfer_id": e.transfer_id,
                    "direction": "within" if e.to_tenant_id == tenant else "out", "member_id": e.member_id,
                    "member_name": e.member_name, "from_tenant_id": tenant, "from_branch_id": e.from_branch_id,
                    "to_tenant_id": e.to_tenant_id, "to_branch_id": e.to_branch_id,
                    "dues_paid_until": e.dues_paid_until, "issued_on": e.issued_on, "valid_until": e.valid_until,
                    "status": "issued"})


def _incoming(w: RowWriter, tenant: str, e: ev.IncomingTransferAnnounced) -> None:
    w.add(INCOMING, {"tenant_id": tenant, "transfer_id": e.transfer_id, "direction": "in",
                     "member_name": e.member["name"], "member": e.member, "from_tenant_id": e.from_tenant_id,
                     "from_branch_id": e.from_branch_id, "to_tenant_id": tenant, "to_branch_id": e.to_branch_id,
                     "dues_paid_until": e.dues_paid_until, "issued_on": e.issued_on, "valid_until": e.valid_until,
                     "status": "issued"})


def _transfer_status(status: str, day: str | None, column: str | None) -> Callable:
    def apply(w: RowWriter, tenant: str, e) -> None:
        extra = f", {column} = %s" if column else ""
        params = [status] + ([getattr(e, day)] if column else []) + [tenant, e.transfer_id]
        w.execute(f"UPDATE transfers SET status = %s{extra} WHERE tenant_id = %s AND transfer_id = %s", params)
    return apply


def _received(w: RowWriter, tenant: str, e: ev.TransferReceived) -> None:
    w.execute("UPDATE transfers SET status = 'received', received_on = %s, received_member_id = %s"
              " WHERE tenant_id = %s AND transfer_id = %s", (e.received_on, e.member_id, tenant, e.transfer_id))


def _assessed(w: RowWriter, tenant: str, e: ev.DuesAssessed) -> None:
    w.add(ASSESSMENTS, {"tenant_id": tenant, "member_id": e.member_id, "branch_id": e.branch_id, "year": e.year,
                        "base": e.base, "rate": e.rate, "monthly_amount": e.monthly_amount})


def _reduced(w: RowWriter, tenant: str, e: ev.DuesReduced) -> None:
    w.execute("INSERT INTO dues_reductions (tenant_id, member_id, branch_id, from_month, monthly_amount, resolution)"
              " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (member_id, from_month) DO UPDATE"
              " SET monthly_amount = EXCLUDED.monthly_amount, resolution = EXCLUDED.resolution",
              (tenant, e.member_id, e.branch_id, e.from_month, e.monthly_amount, e.resolution))


def _paid(w: RowWriter, tenant: str, e: ev.DuesPaid) -> None:
    for month in e.months:
        w.add(PAYMENTS, {"tenant_id": tenant, "member_id": e.member_id, "branch_id": e.branch_id, "month": month,
                         "amount": e.breakdown.get(month, "0"), "paid_on": e.paid_on, "payer": e.payer,
                         "payer_name": e.payer_name})


def _carried(w: RowWriter, tenant: str, e: ev.DuesCarried) -> None:
    for month in e.months:
        w.add(CARRIED, {"tenant_id": tenant, "member_id": e.member_id, "branch_id": e.branch_id, "month": month,
                        "transfer_id": e.transfer_id})


def _review(w: RowWriter, tenant: str, e: ev.DuesArrearsReviewRaised) -> None:
    w.add(REVIEWS, {"tenant_id": tenant, "member_id": e.member_id, "branch_id": e.branch_id,
                    "since_month": e.months_unpaid[0], "months_unpaid": e.months_unpaid, "raised_on": e.raised_on})


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


# Every row an event writes is its bureau's (a transfer between bureaus is a letter in the one and an incoming row in
# the other, a member received under an id of the receiving bureau's), found by ids made within the bureau: a rebuild
# fills by bureau, a process per core (shared/rebuild.py).
project_batch.by_bureau = True
