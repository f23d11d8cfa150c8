"""The members service's own read models, written in the same transaction as the events they reflect."""

from __future__ import annotations

import psycopg

from shared.envelope import Envelope
from services.members.events import BranchEstablished, BureauRegistered, MemberRegistered


def project(conn: psycopg.Connection, envelope: Envelope, event) -> None:
    """Upsert the rows an event changes; keyed so that applying it twice has the effect of once."""
    if isinstance(event, BureauRegistered):
        conn.execute("INSERT INTO bureaus (tenant_id, bureau_id, name, code, version) VALUES (%s, %s, %s, %s, %s)"
                     " ON CONFLICT (bureau_id) DO NOTHING",
                     (envelope.tenant_id, event.bureau_id, event.name, event.code, envelope.stream_version))
    elif isinstance(event, BranchEstablished):
        conn.execute("INSERT INTO branches (tenant_id, branch_id, name, established_on, version)"
                     " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (branch_id) DO NOTHING",
                     (envelope.tenant_id, event.branch_id, event.name, event.established_on, envelope.stream_version))
    elif isinstance(event, MemberRegistered):
        _insert_member(conn, envelope, event)


def _insert_member(conn: psycopg.Connection, envelope: Envelope, event: MemberRegistered) -> None:
    conn.execute(
        "INSERT INTO members (tenant_id, member_id, branch_id, name, gender, birth_date, party_member,"
        " party_join_date, retirement_kind, pension_base, health, mobility, phone, address, joined_on, version)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (member_id) DO NOTHING",
        (envelope.tenant_id, event.member_id, event.branch_id, event.name, event.gender, event.birth_date,
         event.party_member, event.party_join_date, event.retirement_kind, event.pension_base, event.health,
         event.mobility, event.phone, event.address, event.joined_on, envelope.stream_version))
