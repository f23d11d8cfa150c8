"""Reads of the members service's own projections, shared by handlers and views.

Every query runs under the caller's tenant (row-level security), or as the owner for workers.
"""

from __future__ import annotations

from datetime import date

import psycopg

from contracts.rulebook.dues import Stay
from contracts.rulebook.people import is_full_member
from contracts.rulebook.rules import RuleBook, RuleVersion
from shared import eventstore

ROSTER = ("SELECT m.*, s.branch_id AS roster_branch_id, s.from_date, s.to_date FROM memberships s"
          " JOIN members m ON m.member_id = s.member_id"
          " WHERE s.branch_id = %s AND s.from_date <= %s AND (s.to_date IS NULL OR s.to_date > %s)")


def roster(conn: psycopg.Connection, branch_id: str, on: date) -> list[dict]:
    """Who belonged to the branch on ``on``: every stay that covers that day."""
    return conn.execute(ROSTER + " ORDER BY m.name, m.member_id", (branch_id, on, on)).fetchall()


def current_members(conn: psycopg.Connection, branch_id: str, lock: bool = False) -> list[dict]:
    """Members on the register in the branch now (an open stay); ``lock`` blocks concurrent moves."""
    query = ("SELECT m.member_id FROM memberships s JOIN members m ON m.member_id = s.member_id"
             " WHERE s.branch_id = %s AND s.to_date IS NULL ORDER BY m.member_id")
    return conn.execute(query + (" FOR UPDATE OF s" if lock else ""), (branch_id,)).fetchall()


def full_member_ids(conn: psycopg.Connection, branch_id: str, on: date) -> frozenset[str]:
    """The branch's full Party members on ``on`` (the rulebook's): who counts for its size, may vote and stand."""
    return frozenset(row["member_id"] for row in roster(conn, branch_id, on)
                     if is_full_member(row["party_member"], row["party_join_date"], on))


def rule_book(conn: psycopg.Connection) -> RuleBook:
    """Every version of the caller's bureau's rules (row-level security scopes them to the bureau)."""
    return RuleBook(RuleVersion(r["version"], r["effective_from"], r["rules"]) for r in rule_versions(conn))


def same_person(conn: psycopg.Connection, name: str, birth_date: date) -> dict | None:
    """This person (by name and birth date) already on the register, or on their way in by transfer. Both are
    asked in one statement: a registration asks it every time, and each round trip is a wait on a busy server."""
    found = conn.execute(
        "SELECT (SELECT member_id FROM members WHERE status = 'active' AND name = %(name)s AND birth_date = %(born)s"
        " LIMIT 1) AS member_id, (SELECT transfer_id FROM transfers WHERE direction = 'in' AND status = 'issued'"
        " AND member->>'name' = %(name)s AND member->>'birth_date' = %(born_text)s LIMIT 1) AS transfer_id",
        {"name": name, "born": birth_date, "born_text": birth_date.isoformat()}).fetchone()
    if found["member_id"]:
        return {"member_id": found["member_id"]}
    return {"transfer_id": found["transfer_id"]} if found["transfer_id"] else None


def transfer(conn: psycopg.Connection, transfer_id: str, tenant_id: str | None = None) -> dict | None:
    """The transfer as this bureau sees it (row-level security picks the side; a worker names the tenant)."""
    return conn.execute("SELECT * FROM transfers WHERE transfer_id = %s AND (%s::text IS NULL OR tenant_id = %s)"
                        " ORDER BY direction = 'in' LIMIT 1", (transfer_id, tenant_id, tenant_id)).fetchone()


def returning_member(conn: psycopg.Connection, tenant_id: str, origins: list[dict]) -> str | None:
    """The id this bureau once gave a member now coming back, from the origins the letter carries."""
    ids = [o["member_id"] for o in origins if o.get("tenant_id") == tenant_id]
    if not ids:
        return None
    row = conn.execute("SELECT member_id FROM members WHERE member_id = ANY(%s) AND status = 'transferred_out'",
                       (ids,)).fetchone()
    return row["member_id"] if row else None


def committee(conn: psycopg.Connection, branch_id: str) -> dict:
    term = conn.execute("SELECT * FROM committee_terms WHERE branch_id = %s ORDER BY starts_on DESC LIMIT 1",
                        (branch_id,)).fetchone()
    posts = [] if term is None else conn.execute(
        "SELECT post, member_id, person_name, unit, filled_on, vacated_on, vacate_reason FROM committee_posts"
        " WHERE term_id = %s ORDER BY filled_on, post", (term["term_id"],)).fetchall()
    allowances = [] if term is None else conn.execute(
        "SELECT member_id, post, month, amount FROM allowances WHERE term_id = %s ORDER BY month, member_id",
        (term["term_id"],)).fetchall()
    election = None if term is None else conn.execute(
        "SELECT vacant_seats FROM elections WHERE election_id = %s", (term["election_id"],)).fetchone()
    return {"term": term, "posts": posts, "allowances": allowances,
            "vacant_seats": election["vacant_seats"] if election else 0}


def dues_rows(conn: psycopg.Connection, member_id: str, year: int) -> dict:
    params = (member_id, year)
    return {
        "assessment": conn.execute("SELECT * FROM dues_assessments WHERE member_id = %s AND year = %s",
                                   params).fetchone(),
        "reductions": conn.execute("SELECT * FROM dues_reductions WHERE member_id = %s"
                                   " AND left(from_month, 4)::int = %s ORDER BY from_month", params).fetchall(),
        "payments": conn.execute("SELECT * FROM dues_payments WHERE member_id = %s AND left(month, 4)::int = %s"
                                 " ORDER BY month", params).fetchall(),
        "reviews": conn.execute("SELECT * FROM dues_reviews WHERE member_id = %s ORDER BY since_month",
                                (member_id,)).fetchall(),
        "carried": conn.execute("SELECT * FROM dues_carried WHERE member_id = %s AND left(month, 4)::int = %s"
                                " ORDER BY month", params).fetchall(),
        "stays": [Stay(s["branch_id"], s["from_date"], s["to_date"], s["ended_by"]) for s in conn.execute(
            "SELECT branch_id, from_date, to_date, ended_by FROM memberships WHERE member_id = %s ORDER BY from_date",
            (member_id,)).fetchall()],
    }


def active_member_ids(conn: psycopg.Connection, branch_id: str | None = None) -> list[dict]:
    """Members on the register (all tenants for a worker running as owner), with their tenant."""
    return conn.execute("SELECT tenant_id, member_id FROM members WHERE status = 'active'"
                        " AND (%s::text IS NULL OR branch_id = %s) ORDER BY tenant_id, member_id",
                        (branch_id, branch_id)).fetchall()


def overdue_letters(conn: psycopg.Connection, today: date) -> list[dict]:
    return conn.execute("SELECT tenant_id, transfer_id, member_id FROM transfers WHERE status = 'issued'"
                        " AND direction IN ('out', 'within') AND valid_until < %s", (today,)).fetchall()


def bureau_by_code(conn: psycopg.Connection, code: str) -> dict | None:
    """The bureau holding ``code``, read through the platform's directory (the caller is a platform admin)."""
    open_directory(conn)
    return conn.execute("SELECT bureau_id, name, code FROM bureaus WHERE code = %s", (code,)).fetchone()


# --- reads behind the API ---------------------------------------------------------------------------------------

# The stream's id is passed in, never joined as 'member-' || m.member_id (see eventstore.stream_versions).
MEMBER_WITH_VERSION = "SELECT m.*, s.version FROM members m JOIN streams s ON s.stream_id = %s WHERE m.member_id = %s"
MEMBER_FILTERS = {"branch_id": "m.branch_id = %s", "status": "m.status = %s",
                  "retirement_kind": "m.retirement_kind = %s", "name": "m.name LIKE '%%' || %s || '%%'"}


def open_directory(conn: psycopg.Connection) -> None:
    """Let this transaction read every bureau's directory entry (platform admins only; see migration 004)."""
    conn.execute("SELECT set_config('branchwork.platform_directory', 'on', true)")


def bureaus(conn: psycopg.Connection) -> list[dict]:
    return conn.execute("SELECT bureau_id, name, code FROM bureaus ORDER BY code").fetchall()


def bureau(conn: psycopg.Connection, bureau_id: str) -> dict | None:
    return conn.execute("SELECT * FROM bureaus WHERE bureau_id = %s", (bureau_id,)).fetchone()


def rule_versions(conn: psycopg.Connection) -> list[dict]:
    return conn.execute("SELECT version, effective_from, rules FROM bureau_rules ORDER BY version").fetchall()


def branches(conn: psycopg.Connection) -> list[dict]:
    return conn.execute("SELECT * FROM branches ORDER BY name").fetchall()


def branch(conn: psycopg.Connection, branch_id: str) -> dict | None:
    return conn.execute("SELECT * FROM branches WHERE branch_id = %s", (branch_id,)).fetchone()


def party_groups(conn: psycopg.Connection, branch_id: str | None = None) -> list[dict]:
    return conn.execute("SELECT * FROM party_groups WHERE %s::text IS NULL OR branch_id = %s ORDER BY name",
                        (branch_id, branch_id)).fetchall()


def member(conn: psycopg.Connection, member_id: str) -> dict | None:
    """A member with their stream's version (what a change sends back as If-Match)."""
    return conn.execute(MEMBER_WITH_VERSION, (f"member-{member_id}", member_id)).fetchone()


def members(conn: psycopg.Connection, filters: dict, limit: int = 500) -> list[dict]:
    """Members matching every given filter of ``MEMBER_FILTERS`` (a part of the name for ``name``), each with
    their stream's version, read by the streams' key."""
    clauses = [clause for name, clause in MEMBER_FILTERS.items() if name in filters] or ["true"]
    params = [filters[name] for name in MEMBER_FILTERS if name in filters]
    rows = conn.execute(f"SELECT m.* FROM members m WHERE {' AND '.join(clauses)} ORDER BY m.name, m.member_id"
                        " LIMIT %s", [*params, limit]).fetchall()
    versions = eventstore.stream_versions(conn, [f"member-{row['member_id']}" for row in rows])
    return [{**row, "version": versions[f"member-{row['member_id']}"]}
            for row in rows if f"member-{row['member_id']}" in versions]


def members_in_year(conn: psycopg.Connection, branch_id: str, year: int) -> list[dict]:
    """Everyone who belonged to the branch on some day of ``year``."""
    return conn.execute(
        "SELECT DISTINCT m.member_id, m.name FROM memberships s JOIN members m ON m.member_id = s.member_id"
        " WHERE s.branch_id = %s AND s.from_date <= make_date(%s, 12, 31)"
        " AND (s.to_date IS NULL OR s.to_date >= make_date(%s, 1, 1)) ORDER BY m.name",
        (branch_id, year, year)).fetchall()


def transfers(conn: psycopg.Connection, status: str | None = None, direction: str | None = None) -> list[dict]:
    return conn.execute("SELECT * FROM transfers WHERE (%s::text IS NULL OR status = %s)"
                        " AND (%s::text IS NULL OR direction = %s) ORDER BY issued_on DESC",
                        (status, status, direction, direction)).fetchall()


def receiving_branch(conn: psycopg.Connection, transfer_id: str) -> dict | None:
    """The branch a letter sends the member to (the receiving side's row where there is one)."""
    return conn.execute("SELECT to_branch_id FROM transfers WHERE transfer_id = %s ORDER BY direction = 'in' DESC"
                        " LIMIT 1", (transfer_id,)).fetchone()


def sending_member(conn: psycopg.Connection, transfer_id: str) -> dict | None:
    return conn.execute("SELECT member_id FROM transfers WHERE transfer_id = %s AND direction <> 'in'",
                        (transfer_id,)).fetchone()


# --- reads of the transfer saga (as the owner: both bureaus' rows) --------------------------------------------

def open_branch(conn: psycopg.Connection, tenant_id: str, branch_id: str) -> bool:
    return conn.execute("SELECT 1 FROM branches WHERE tenant_id = %s AND branch_id = %s AND closed_on IS NULL",
                        (tenant_id, branch_id)).fetchone() is not None


def member_of(conn: psycopg.Connection, tenant_id: str, member_id: str) -> dict | None:
    return conn.execute("SELECT * FROM members WHERE tenant_id = %s AND member_id = %s",
                        (tenant_id, member_id)).fetchone()


def sender(conn: psycopg.Connection, transfer_id: str) -> dict | None:
    """The sending bureau of a letter across bureaus, and its member."""
    return conn.execute("SELECT tenant_id, member_id FROM transfers WHERE transfer_id = %s AND direction = 'out'",
                        (transfer_id,)).fetchone()


def receiving_bureau(conn: psycopg.Connection, transfer_id: str) -> str | None:
    """The bureau that holds the incoming copy of a letter across bureaus."""
    row = conn.execute("SELECT tenant_id FROM transfers WHERE transfer_id = %s AND direction = 'in'",
                       (transfer_id,)).fetchone()
    return row["tenant_id"] if row else None


HANDLERS = (roster, current_members, full_member_ids, same_person, transfer, returning_member, active_member_ids,
            bureau_by_code, open_branch, member_of, sender, receiving_bureau)
"""The named queries handlers, the saga and the daily duties ask through their unit of work."""
