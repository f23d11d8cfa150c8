"""The activities service's projection of its source's events: the members service's → the ``roster_*`` tables.

Each fact is stored under the event that stated it (or upserted by its natural key), never
overwritten by an older one, so a duplicate changes nothing and events of different streams
may arrive in any order: the roster is folded from the facts when read (``queries.load_roster``).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

import psycopg
from psycopg.types.json import Jsonb

from contracts import members as contract
from shared.contracts import EventRegistry
from shared.envelope import Envelope
from contracts.rulebook.calendar import local_date


def _rules(conn: psycopg.Connection, e: Envelope, event: Any) -> None:
    if isinstance(event, contract.BureauRegistered):
        row = (e.tenant_id, event.bureau_id, 0, None, Jsonb(contract.DEFAULT_RULES))
    else:
        row = (e.tenant_id, event.bureau_id, event.rules_version, event.effective_from, Jsonb(event.rules))
    conn.execute("INSERT INTO roster_rules (tenant_id, bureau_id, rules_version, effective_from, rules)"
                 " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (bureau_id, rules_version) DO NOTHING", row)


def _branch_established(conn: psycopg.Connection, e: Envelope, event: contract.BranchEstablished) -> None:
    conn.execute("INSERT INTO roster_branches (tenant_id, branch_id, name, established_on) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (branch_id) DO UPDATE SET name = EXCLUDED.name,"
                 " established_on = EXCLUDED.established_on",
                 (e.tenant_id, event.branch_id, event.name, event.established_on))


def _branch_closed(conn: psycopg.Connection, e: Envelope, event: contract.BranchClosed) -> None:
    conn.execute("INSERT INTO roster_branches (tenant_id, branch_id, closed_on, merged_into) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (branch_id) DO UPDATE SET closed_on = EXCLUDED.closed_on,"
                 " merged_into = EXCLUDED.merged_into",
                 (e.tenant_id, event.branch_id, event.closed_on, event.merged_into))


def _member_registered(conn: psycopg.Connection, e: Envelope, event: contract.MemberRegistered) -> None:
    conn.execute(
        "INSERT INTO roster_members (tenant_id, member_id, name, gender, birth_date, party_member, party_join_date,"
        " retirement_kind, registered_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (member_id) DO UPDATE SET name = EXCLUDED.name, gender = EXCLUDED.gender,"
        " birth_date = EXCLUDED.birth_date, party_member = EXCLUDED.party_member,"
        " party_join_date = EXCLUDED.party_join_date, retirement_kind = EXCLUDED.retirement_kind,"
        " registered_seq = EXCLUDED.registered_seq WHERE roster_members.registered_seq < EXCLUDED.registered_seq",
        (e.tenant_id, event.member_id, event.name, event.gender, event.birth_date, event.party_member,
         event.party_join_date, event.retirement_kind, e.stream_version))
    _placement(conn, e, event.member_id, "joined", event.joined_on, event.branch_id)
    _health(conn, e, event.member_id, event.joined_on, event.health, event.mobility)


def _placement(conn: psycopg.Connection, e: Envelope, member_id: str, kind: str, on, branch_id: str | None) -> None:
    conn.execute("INSERT INTO roster_placements (tenant_id, event_id, member_id, kind, effective_on, branch_id, seq)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                 (e.tenant_id, e.event_id, member_id, kind, on, branch_id, e.stream_version))


def _health(conn: psycopg.Connection, e: Envelope, member_id: str, on, health: str, mobility: str) -> None:
    conn.execute("INSERT INTO roster_health (tenant_id, event_id, member_id, changed_on, health, mobility, seq)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                 (e.tenant_id, e.event_id, member_id, on, health, mobility, e.stream_version))


def _profile_updated(conn: psycopg.Connection, e: Envelope, event: contract.MemberProfileUpdated) -> None:
    conn.execute("INSERT INTO roster_profile_changes (tenant_id, event_id, member_id, seq, changes)"
                 " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                 (e.tenant_id, e.event_id, event.member_id, e.stream_version, Jsonb(e.data["changes"])))


def _party_group(conn: psycopg.Connection, e: Envelope, event: contract.PartyGroupFormed) -> None:
    conn.execute("INSERT INTO roster_party_groups (tenant_id, group_id, branch_id, name) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (group_id) DO UPDATE SET name = EXCLUDED.name",
                 (e.tenant_id, event.group_id, event.branch_id, event.name))


def _group(conn: psycopg.Connection, e: Envelope, event: contract.MemberAssignedToGroup) -> None:
    """The assignment holds from the day the register recorded it (its event has no date of its own)."""
    conn.execute("INSERT INTO roster_groups (tenant_id, event_id, member_id, branch_id, group_id, seq, assigned_on)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                 (e.tenant_id, e.event_id, event.member_id, event.branch_id, event.group_id, e.stream_version,
                  local_date(e.occurred_at)))
    if event.group_id is not None:  # the group exists even if PartyGroupFormed is still on its way
        conn.execute("INSERT INTO roster_party_groups (tenant_id, group_id, branch_id) VALUES (%s, %s, %s)"
                     " ON CONFLICT (group_id) DO NOTHING", (e.tenant_id, event.group_id, event.branch_id))


def _term(conn: psycopg.Connection, e: Envelope, event: contract.CommitteeTermOpened) -> None:
    conn.execute("INSERT INTO roster_terms (tenant_id, term_id, branch_id, starts_on, ends_on, committee)"
                 " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (term_id) DO NOTHING",
                 (e.tenant_id, event.term_id, event.branch_id, event.starts_on, event.ends_on, event.committee))


def _post(conn: psycopg.Connection, e: Envelope, event: Any) -> None:
    filled = isinstance(event, contract.PostFilled)
    conn.execute("INSERT INTO roster_posts (tenant_id, event_id, branch_id, term_id, post, member_id, kind, on_date)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                 (e.tenant_id, e.event_id, event.branch_id, event.term_id, event.post, event.member_id,
                  "filled" if filled else "vacated", event.filled_on if filled else event.vacated_on))


Handler = Callable[[psycopg.Connection, Envelope, Any], None]

HANDLERS: dict[str, Handler] = {
    "members.BureauRegistered": _rules,
    "members.BureauRulesPublished": _rules,
    "members.BranchEstablished": _branch_established,
    "members.BranchClosed": _branch_closed,
    "members.MemberRegistered": _member_registered,
    "members.MemberProfileUpdated": _profile_updated,
    "members.MemberHealthChanged": lambda conn, e, ev: _health(conn, e, ev.member_id, ev.changed_on, ev.health,
                                                               ev.mobility),
    "members.PartyGroupFormed": _party_group,
    "members.MemberAssignedToGroup": _group,
    "members.MemberMoved": lambda conn, e, ev: _placement(conn, e, ev.member_id, "moved", ev.moved_on,
                                                          ev.to_branch_id),
    "members.MemberRejoined": lambda conn, e, ev: _placement(conn, e, ev.member_id, "joined", ev.rejoined_on,
                                                             ev.branch_id),
    "members.MemberTransferredOut": lambda conn, e, ev: _placement(conn, e, ev.member_id, "transferred_out",
                                                                   ev.left_on, None),
    "members.MemberDied": lambda conn, e, ev: _placement(conn, e, ev.member_id, "died", ev.died_on, None),
    "members.MemberLeftParty": lambda conn, e, ev: _placement(conn, e, ev.member_id, "left_party", ev.left_on, None),
    "members.CommitteeTermOpened": _term,
    "members.PostFilled": _post,
    "members.PostVacated": _post,
}


def apply(conn: psycopg.Connection, envelope: Envelope, registry: EventRegistry = contract.registry) -> None:
    """Apply one members event to the roster; event types the roster does not need are ignored."""
    handler = HANDLERS.get(envelope.event_type)
    if handler is None or envelope.tenant_id is None:
        return
    event = registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data)
    handler(conn, envelope, event)
    _move_versions(conn, envelope.tenant_id, event.member_id if envelope.event_type in MEMBER_FACTS else None)


# Events that change only their member's own rows; every other one changes what the whole bureau shares.
# (MemberAssignedToGroup may add a party group, so it counts as shared.)
MEMBER_FACTS = frozenset({
    "members.MemberRegistered", "members.MemberProfileUpdated", "members.MemberHealthChanged", "members.MemberMoved",
    "members.MemberRejoined", "members.MemberTransferredOut", "members.MemberDied", "members.MemberLeftParty",
    "members.PostFilled", "members.PostVacated"})


def _move_versions(conn: psycopg.Connection, tenant_id: str, member_id: str | None) -> None:
    """Name the roster's new state (migrations 007 and 008): the bureau's version always moves; the member's
    when only their facts changed, the shared one otherwise."""
    if member_id is None:
        conn.execute("INSERT INTO roster_versions (tenant_id, version, shared_version)"
                     " VALUES (%s, txid_current(), txid_current()) ON CONFLICT (tenant_id) DO UPDATE"
                     " SET version = EXCLUDED.version, shared_version = EXCLUDED.shared_version", (tenant_id,))
        return
    conn.execute("WITH member AS (INSERT INTO roster_member_versions (tenant_id, member_id, version)"
                 " VALUES (%s, %s, txid_current()) ON CONFLICT (tenant_id, member_id)"
                 " DO UPDATE SET version = EXCLUDED.version)"
                 " INSERT INTO roster_versions (tenant_id, version) VALUES (%s, txid_current())"
                 " ON CONFLICT (tenant_id) DO UPDATE SET version = EXCLUDED.version",
                 (tenant_id, member_id, tenant_id))
