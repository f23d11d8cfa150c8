"""Reads of the service's tables into domain objects: the roster, the rules, closed periods, the records.

Every query runs in a transaction scoped to one bureau, so row-level security limits it to that bureau.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from decimal import Decimal
from collections.abc import Iterable

import psycopg

from contracts.rulebook.calendar import Period, parse_period
from contracts.rulebook.coverage import Reach, StudySession
from contracts.rulebook.people import HealthRecord, PostRecord
from contracts.rulebook.rules import RuleBook, RuleVersion
from services.activities.domain.roster import (BranchRecord, GroupAssignment, Placement, Roster, RosterMember,
                                               roster_of)

PROFILE_FIELDS = ("name", "birth_date", "party_member", "retirement_kind", "party_join_date")
DATES = ("birth_date", "party_join_date")


# --- the roster -----------------------------------------------------------------------------------

def load_branches(conn: psycopg.Connection) -> list[BranchRecord]:
    rows = conn.execute("SELECT branch_id, name, established_on, closed_on, merged_into"
                        " FROM roster_branches").fetchall()
    return [BranchRecord(**row) for row in rows]


def feeding_branches(branch_id: str, branches: Iterable[BranchRecord]) -> set[str]:
    """The branch and every branch merged into it, directly or through earlier mergers."""
    found, grew = {branch_id}, True
    branches = list(branches)
    while grew:
        more = {b.branch_id for b in branches if b.merged_into in found} - found
        found |= more
        grew = bool(more)
    return found


class RosterCache:
    """The last rosters read (of a branch, or of a few members), each under the bureau's roster version it was
    read at.

    Every activity, outreach and care record is decided against its branch's roster — ten reads of the
    ``roster_*`` tables — and the roster changes only when the members service's events arrive, far less
    often than secretaries record. A command reads the bureau's version (one row) and takes the roster
    from here while that version stands; any change to the bureau's roster moves the version.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._rosters: OrderedDict[tuple, tuple[int, Roster]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, version: object) -> Roster | None:
        with self._lock:
            found = self._rosters.get(key)
            if found is None or found[0] != version:
                return None
            self._rosters.move_to_end(key)
            return found[1]

    def kept(self, key: tuple) -> tuple[object, Roster] | None:
        """What is kept under ``key``, whatever its version: the start of a roster read again in part."""
        with self._lock:
            return self._rosters.get(key)

    def put(self, key: tuple, version: object, roster: Roster) -> None:
        with self._lock:
            self._rosters[key] = (version, roster)
            self._rosters.move_to_end(key)
            while len(self._rosters) > self.size:
                self._rosters.popitem(last=False)


ROSTERS = RosterCache()


ROSTER_VERSIONS = (
    "SELECT t.tenant, v.version, v.shared_version, (SELECT coalesce(jsonb_object_agg(m.member_id, m.version),"
    " '{}') FROM roster_member_versions m WHERE m.tenant_id = t.tenant AND m.member_id = ANY(%s)) AS members"
    " FROM (SELECT current_setting('branchwork.tenant_id', true) AS tenant) t"
    " LEFT JOIN roster_versions v ON v.tenant_id = t.tenant")
RULES = "SELECT rules_version, effective_from, rules FROM roster_rules WHERE bureau_id = %s"
CLOSED_PERIODS = "SELECT period, starts_on, ends_on FROM closed_periods ORDER BY starts_on"


def load_roster(conn: psycopg.Connection, member_ids: Iterable[str] = (), branch_id: str | None = None) -> Roster:
    """The roster of ``member_ids`` and of everyone ever placed in ``branch_id`` (or a branch merged into it).

    A roster read at the current roster versions is taken from ``ROSTERS``: a branch's when it holds every
    member asked for, under the bureau's version; that of a few members alone, under the versions of what
    it reads — those members' facts and what the bureau shares (migration 008). The versions are read before
    the tables, so what is kept is never older than the versions it is kept under.
    """
    wanted = frozenset(member_ids)
    versions = conn.execute(ROSTER_VERSIONS, (_alone(wanted, branch_id),)).fetchone()
    return _roster_at(conn, wanted, branch_id, versions)


def load_circumstances(conn: psycopg.Connection, bureau_id: str, member_ids: Iterable[str] = (),
                       branch_id: str | None = None) -> tuple[Roster, RuleBook, tuple[Period, ...]]:
    """What a command is judged by — the roster (as ``load_roster``), the bureau's rule book and the closed
    periods —, their first reads sent together: one round trip where there were three, and no more while the
    roster is in the cache."""
    wanted = frozenset(member_ids)
    with conn.pipeline():
        versions = conn.execute(ROSTER_VERSIONS, (_alone(wanted, branch_id),))
        rules = conn.execute(RULES, (bureau_id,))
        periods = conn.execute(CLOSED_PERIODS)
    # Fetched once the pipeline is left: its closing sync brought every answer in.
    return (_roster_at(conn, wanted, branch_id, versions.fetchone()), _rule_book(rules.fetchall()),
            _periods(periods.fetchall()))


def _alone(wanted: frozenset[str], branch_id: str | None) -> list[str]:
    return sorted(wanted) if branch_id is None else []


def _roster_at(conn: psycopg.Connection, wanted: frozenset[str], branch_id: str | None, row: dict) -> Roster:
    """The roster, from the cache when it was kept under the versions in ``row`` (read before the tables)."""
    key = (row["tenant"] or "", branch_id, frozenset() if branch_id else wanted)
    if branch_id is None:
        version = (row["shared_version"] or 0, tuple(row["members"].get(member, 0) for member in sorted(wanted)))
        roster = ROSTERS.get(key, version)
        if roster is None:
            roster = _read_roster(conn, wanted, None)
            ROSTERS.put(key, version, roster)
    else:
        roster = _branch_roster(conn, key, branch_id, row)
    if wanted <= roster.members.keys():
        return roster
    return _read_roster(conn, wanted, branch_id)  # someone from outside the branch (a guest): read afresh


def _branch_roster(conn: psycopg.Connection, key: tuple, branch_id: str, row: dict) -> Roster:
    """A branch's roster, kept under the bureau's version (``row``) and its members' own versions.

    When the bureau's version moved but what it shares did not (a member joined, or one member's facts
    changed), the kept roster is brought up to date by reading again only the members whose versions moved:
    a busy branch's new member then costs one member's reads, not the whole register's. The members'
    versions are read before their tables, so what is kept is never older than the versions it is kept under.
    """
    bureau, shared = row["version"] or 0, row["shared_version"] or 0
    kept = ROSTERS.kept(key)
    if kept is not None and kept[0][0] == bureau:
        return kept[1]
    if kept is not None and kept[0][1] == shared:
        (_, _, known), roster = kept
        branches, groups = list(roster.branches.values()), roster.party_groups
        versions = _member_versions(conn, feeding_branches(branch_id, branches))
        again = [member for member, version in versions.items() if version is None or known.get(member) != version]
        members = {member: roster.members[member] for member in versions
                   if member in roster.members and member not in again}
        members.update((member.member_id, member) for member in load_members(conn, sorted(again)))
    else:
        branches = load_branches(conn)
        versions = _member_versions(conn, feeding_branches(branch_id, branches))
        groups = load_party_groups(conn)
        members = {member.member_id: member for member in load_members(conn, sorted(versions))}
    roster = roster_of((members[member] for member in sorted(members)), branches, groups)
    ROSTERS.put(key, (bureau, shared, versions), roster)
    return roster


def _member_versions(conn: psycopg.Connection, branch_ids: Iterable[str]) -> dict[str, int | None]:
    """Everyone ever placed in the branches, with their facts' version (None: not versioned, read each time)."""
    rows = conn.execute(
        "SELECT p.member_id, v.version FROM (SELECT DISTINCT member_id FROM roster_placements"
        " WHERE branch_id = ANY(%s)) p LEFT JOIN roster_member_versions v ON v.member_id = p.member_id"
        " AND v.tenant_id = current_setting('branchwork.tenant_id', true)", (sorted(branch_ids),)).fetchall()
    return {row["member_id"]: row["version"] for row in rows}


def _read_roster(conn: psycopg.Connection, member_ids: Iterable[str], branch_id: str | None) -> Roster:
    branches = load_branches(conn)
    ids = set(member_ids)
    if branch_id is not None:
        rows = conn.execute("SELECT DISTINCT member_id FROM roster_placements WHERE branch_id = ANY(%s)",
                            (list(feeding_branches(branch_id, branches)),)).fetchall()
        ids |= {row["member_id"] for row in rows}
    return roster_of(load_members(conn, sorted(ids)), branches, load_party_groups(conn))


def load_party_groups(conn: psycopg.Connection) -> dict[str, str]:
    """Every party group of the bureau: group id → branch id."""
    return {row["group_id"]: row["branch_id"]
            for row in conn.execute("SELECT group_id, branch_id FROM roster_party_groups")}


MEMBER_READS = {
    "bases": "SELECT member_id, name, birth_date, party_member, retirement_kind, party_join_date FROM roster_members"
             " WHERE member_id = ANY(%s)",
    "changes": "SELECT member_id, changes FROM roster_profile_changes WHERE member_id = ANY(%s) ORDER BY seq",
    "placements": "SELECT member_id, kind, effective_on, branch_id, seq FROM roster_placements"
                  " WHERE member_id = ANY(%s)",
    "health": "SELECT member_id, changed_on, health, mobility, seq FROM roster_health WHERE member_id = ANY(%s)",
    "posts": "SELECT member_id, kind, term_id, post, on_date AS on, branch_id FROM roster_posts"
             " WHERE member_id = ANY(%s)",
    "groups": "SELECT member_id, group_id, branch_id, assigned_on, seq FROM roster_groups WHERE member_id = ANY(%s)",
    "terms": "SELECT t.term_id, t.ends_on FROM roster_terms t JOIN roster_posts p USING (term_id)"
             " WHERE p.member_id = ANY(%s)",
}


def load_members(conn: psycopg.Connection, member_ids: list[str]) -> list[RosterMember]:
    if not member_ids:
        return []
    with conn.pipeline():  # every read sent before the first answer is awaited: one round trip, not seven
        cursors = {name: conn.execute(query, (member_ids,)) for name, query in MEMBER_READS.items()}
    read = {name: cursor.fetchall() for name, cursor in cursors.items()}  # the pipeline's closing sync got them all
    bases = read["bases"]
    changes, placements, health, posts, groups = (_grouped_by(read[name], "member_id") for name in (
        "changes", "placements", "health", "posts", "groups"))
    terms = {row["term_id"]: row["ends_on"] for row in read["terms"]}
    members = []
    for base in bases:
        member_id = base["member_id"]
        profile = _profile(base, changes.get(member_id, []))
        members.append(RosterMember(
            member_id=member_id, name=profile["name"], birth_date=profile["birth_date"],
            party_member=profile["party_member"], retirement_kind=profile["retirement_kind"] or "retired",
            party_join_date=profile["party_join_date"],
            placements=tuple(Placement(r["kind"], r["effective_on"], r["branch_id"], r["seq"])
                             for r in placements.get(member_id, [])),
            health=tuple(HealthRecord(r["changed_on"], r["health"], r["mobility"], r["seq"])
                         for r in health.get(member_id, [])),
            posts=tuple(PostRecord(r["kind"], r["term_id"], r["post"], r["on"], r["branch_id"])
                        for r in posts.get(member_id, [])),
            term_ends={p["term_id"]: terms[p["term_id"]] for p in posts.get(member_id, []) if p["term_id"] in terms},
            groups=tuple(GroupAssignment(r["group_id"], r["branch_id"], r["assigned_on"], r["seq"])
                         for r in groups.get(member_id, []))))
    return members


def _profile(base: dict, changes: list[dict]) -> dict:
    """The registration with later profile changes applied in stream order."""
    profile = {name: base[name] for name in PROFILE_FIELDS}
    for change in changes:
        for name in PROFILE_FIELDS:
            if name in change["changes"]:
                value = change["changes"][name]
                profile[name] = date.fromisoformat(value) if name in DATES and value else value
    return profile


# --- rules and periods ----------------------------------------------------------------------------

def load_rules(conn: psycopg.Connection, bureau_id: str) -> RuleBook:
    return _rule_book(conn.execute(RULES, (bureau_id,)).fetchall())


def _rule_book(rows: list[dict]) -> RuleBook:
    return RuleBook(RuleVersion(r["rules_version"], r["effective_from"], r["rules"]) for r in rows)


def closed_periods(conn: psycopg.Connection) -> tuple[Period, ...]:
    return _periods(conn.execute(CLOSED_PERIODS).fetchall())


def _periods(rows: list[dict]) -> tuple[Period, ...]:
    return tuple(parse_period(r["period"]) for r in rows)


def period_is_closed(conn: psycopg.Connection, period: str) -> bool:
    return conn.execute("SELECT 1 FROM closed_periods WHERE period = %s", (period,)).fetchone() is not None


def has_newspaper(conn: psycopg.Connection, member_id: str, year: int) -> bool:
    return conn.execute("SELECT 1 FROM care WHERE member_id = %s AND kind = 'newspaper' AND year = %s"
                        " AND withdrawn_on IS NULL", (member_id, year)).fetchone() is not None


# --- coverage and study hours -----------------------------------------------------------------------

def reaches(conn: psycopg.Connection, member_ids: list[str], starts: date, ends: date, study_kinds: Iterable[str],
            channels: Iterable[str]) -> list[Reach]:
    """Every time the members were reached between the dates: study attended, or a counting outreach."""
    attended = conn.execute(
        "SELECT p.member_id, a.occurred_on, a.kind, a.activity_id, a.branch_id FROM activity_participants p"
        " JOIN activities a USING (activity_id) WHERE p.member_id = ANY(%s) AND p.presence = 'attended'"
        " AND a.status = 'recorded' AND a.kind = ANY(%s) AND a.occurred_on BETWEEN %s AND %s",
        (member_ids, list(study_kinds), starts, ends)).fetchall()
    reached = conn.execute(
        "SELECT member_id, occurred_on, channel, outreach_id, branch_id FROM outreach WHERE member_id = ANY(%s)"
        " AND channel = ANY(%s) AND occurred_on BETWEEN %s AND %s AND withdrawn_on IS NULL",
        (member_ids, list(channels), starts, ends)).fetchall()
    return ([Reach(r["member_id"], r["occurred_on"], f"activity:{r['kind']}", r["activity_id"], r["branch_id"])
             for r in attended]
            + [Reach(r["member_id"], r["occurred_on"], f"outreach:{r['channel']}", r["outreach_id"], r["branch_id"])
               for r in reached])


def study_sessions(conn: psycopg.Connection, member_ids: list[str], starts: date, ends: date,
                   study_kinds: Iterable[str]) -> list[StudySession]:
    """Hours of study attended, and of study brought to the home, between the dates."""
    attended = conn.execute(
        "SELECT p.member_id, a.occurred_on, a.hours, a.kind, a.activity_id FROM activity_participants p"
        " JOIN activities a USING (activity_id) WHERE p.member_id = ANY(%s) AND p.presence = 'attended'"
        " AND a.status = 'recorded' AND a.kind = ANY(%s) AND a.hours IS NOT NULL"
        " AND a.occurred_on BETWEEN %s AND %s", (member_ids, list(study_kinds), starts, ends)).fetchall()
    at_home = conn.execute(
        "SELECT member_id, occurred_on, hours, outreach_id FROM outreach WHERE member_id = ANY(%s)"
        " AND channel = 'home_study' AND hours IS NOT NULL AND occurred_on BETWEEN %s AND %s"
        " AND withdrawn_on IS NULL",
        (member_ids, starts, ends)).fetchall()
    return ([StudySession(r["member_id"], r["occurred_on"], Decimal(r["hours"]), f"activity:{r['kind']}",
                          r["activity_id"]) for r in attended]
            + [StudySession(r["member_id"], r["occurred_on"], Decimal(r["hours"]), "outreach:home_study",
                            r["outreach_id"]) for r in at_home])


# --- records ------------------------------------------------------------------------------------

def activity(conn: psycopg.Connection, activity_id: str) -> dict | None:
    row = conn.execute("SELECT * FROM activities WHERE activity_id = %s", (activity_id,)).fetchone()
    if row is None:
        return None
    return _with_participants(conn, [row])[0]


def _with_participants(conn: psycopg.Connection, rows: list[dict]) -> list[dict]:
    """The activities with their attendees, those of them invited, and absentees."""
    people = _grouped_by(conn.execute(
        "SELECT activity_id, member_id, presence, reason, invited FROM activity_participants"
        " WHERE activity_id = ANY(%s) ORDER BY member_id", ([r["activity_id"] for r in rows],)), "activity_id")
    for row in rows:
        mine = people.get(row["activity_id"], [])
        row["attendees"] = [p["member_id"] for p in mine if p["presence"] == "attended"]
        row["invited"] = [p["member_id"] for p in mine if p["invited"]]
        row["absentees"] = [{"member_id": p["member_id"], "reason": p["reason"]} for p in mine
                            if p["presence"] == "absent"]
    return rows


def _grouped_by(rows: Iterable[dict], key: str) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


def activities(conn: psycopg.Connection, branch_ids: list[str] | None, kind: str | None, status: str | None,
               starts: date | None, ends: date | None, limit: int) -> list[dict]:
    return _with_participants(conn, conn.execute(
        "SELECT * FROM activities WHERE (%(branches)s::text[] IS NULL OR branch_id = ANY(%(branches)s))"
        " AND (%(kind)s::text IS NULL OR kind = %(kind)s) AND (%(status)s::text IS NULL OR status = %(status)s)"
        " AND (%(starts)s::date IS NULL OR coalesce(occurred_on, planned_on) >= %(starts)s)"
        " AND (%(ends)s::date IS NULL OR coalesce(occurred_on, planned_on) <= %(ends)s)"
        " ORDER BY coalesce(occurred_on, planned_on), activity_id LIMIT %(limit)s",
        {"branches": branch_ids, "kind": kind, "status": status, "starts": starts, "ends": ends,
         "limit": limit}).fetchall())


# --- pledges: the statements live only here, read under the bureau's rules ---------------------------------------

def keep_pledge(conn: psycopg.Connection, tenant_id: str, signed, statement: str, document_ref: str | None,
                recorded_at) -> None:
    """Keep a signed pledge's statement (``signed``: its PledgeSigned), which no event carries."""
    conn.execute("INSERT INTO pledges (tenant_id, pledge_id, branch_id, member_id, kind, signed_on, statement,"
                 " document_ref, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                 (tenant_id, signed.pledge_id, signed.branch_id, signed.member_id, signed.kind, signed.signed_on,
                  statement, document_ref, recorded_at))


def pledges(conn: psycopg.Connection, pledge_ids: list[str] | None, branch_id: str | None) -> list[dict]:
    """Pledges with their statements: this transaction reads them as a permitted reader (see migration 003)."""
    conn.execute("SELECT set_config('branchwork.pledge_reader', 'on', true)")
    return conn.execute(
        "SELECT pledge_id, branch_id, member_id, kind, signed_on, statement, document_ref FROM pledges"
        " WHERE (%(ids)s::text[] IS NULL OR pledge_id = ANY(%(ids)s))"
        " AND (%(branch)s::text IS NULL OR branch_id = %(branch)s) ORDER BY signed_on, pledge_id",
        {"ids": pledge_ids, "branch": branch_id}).fetchall()


def pledge_recorded(conn: psycopg.Connection, pledge_id: str) -> bool:
    """Whether the bureau has the pledge: its stream says so, for readers not permitted its statement."""
    return conn.execute("SELECT 1 FROM streams WHERE stream_id = %s", (f"pledge-{pledge_id}",)).fetchone() is not None


def pledge_reads(conn: psycopg.Connection, pledge_id: str) -> list[dict]:
    return conn.execute("SELECT reader, reader_role, read_at FROM pledge_reads WHERE pledge_id = %s ORDER BY seq",
                        (pledge_id,)).fetchall()


# --- reads behind the API -------------------------------------------------------------------------------------

def known_branch(conn: psycopg.Connection, branch_id: str) -> bool:
    """Whether the roster knows the branch in the caller's bureau."""
    return conn.execute("SELECT 1 FROM roster_branches WHERE branch_id = %s AND name IS NOT NULL",
                        (branch_id,)).fetchone() is not None


def care_in_year(conn: psycopg.Connection, member_ids: list[str], year: int) -> list[dict]:
    """The members' care records of ``year`` (by its date, its year, or the holiday it was for), withdrawn left out."""
    return conn.execute(
        "SELECT member_id, kind, occurred_on, holiday, holiday_date, year FROM care"
        " WHERE member_id = ANY(%s) AND (extract(year FROM occurred_on) = %s OR year = %s"
        " OR extract(year FROM holiday_date) = %s) AND withdrawn_on IS NULL",
        (member_ids, year, year, year)).fetchall()


def centre(conn: psycopg.Connection, branch_id: str) -> tuple[dict | None, list[dict]]:
    """The branch's centre and its history (set up, moves, evidence), oldest first."""
    return (conn.execute("SELECT * FROM centres WHERE branch_id = %s", (branch_id,)).fetchone(),
            conn.execute("SELECT * FROM centre_history WHERE branch_id = %s ORDER BY seq", (branch_id,)).fetchall())


PERSONAL_RECORDS = {"outreach": "outreach", "care": "care"}


def personal_records(conn: psycopg.Connection, kind: str, branches: list[str] | None, member_id: str | None,
                     starts, ends) -> list[dict]:
    """Outreach or care records (``kind``) in the branches, of a member, between dates — each filter optional."""
    return conn.execute(
        f"SELECT * FROM {PERSONAL_RECORDS[kind]} WHERE (%(branches)s::text[] IS NULL OR branch_id = ANY(%(branches)s))"
        " AND (%(member)s::text IS NULL OR member_id = %(member)s)"
        " AND (%(starts)s::date IS NULL OR occurred_on >= %(starts)s)"
        " AND (%(ends)s::date IS NULL OR occurred_on <= %(ends)s) ORDER BY occurred_on, recorded_at",
        {"branches": branches, "member": member_id, "starts": starts, "ends": ends}).fetchall()


def teams(conn: psycopg.Connection) -> list[dict]:
    return conn.execute("SELECT * FROM teams ORDER BY formed_on, name").fetchall()


def team(conn: psycopg.Connection, team_id: str) -> dict | None:
    return conn.execute("SELECT * FROM teams WHERE team_id = %s", (team_id,)).fetchone()


def team_detail(conn: psycopg.Connection, row: dict) -> dict:
    """A team's row with its members (who joined, who left) and its performances."""
    row["members"] = conn.execute("SELECT member_id, joined_on, left_on FROM team_members WHERE team_id = %s"
                                  " ORDER BY joined_on, member_id", (row["team_id"],)).fetchall()
    row["performances"] = conn.execute("SELECT * FROM team_performances WHERE team_id = %s ORDER BY occurred_on",
                                       (row["team_id"],)).fetchall()
    return row


def periods_closed(conn: psycopg.Connection) -> list[dict]:
    return conn.execute("SELECT period, starts_on, ends_on, closed_on FROM closed_periods ORDER BY starts_on, period"
                        ).fetchall()


HANDLERS = (load_roster, load_circumstances, load_rules, closed_periods, period_is_closed, has_newspaper,
            keep_pledge, pledges)
"""The named queries the handlers ask through their unit of work."""
