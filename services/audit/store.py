"""Where the audit views keep their facts: one table spec, a PostgreSQL store and an in-memory twin.

Every fact is written so that applying it twice, or in any order, converges: a row keyed by an
event id is inserted once; a row keyed by an entity (an activity, a care record) keeps the highest
``stream_version`` seen, whichever arrived first. Views derive everything else when they are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter

import orjson
import psycopg
from psycopg import sql
from psycopg.adapt import Loader
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class Table:
    key: tuple[str, ...]
    columns: tuple[str, ...]
    versioned: bool = False
    json: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()   # JSON objects joined key by key when the row is there already


def _table(key: str, columns: str, *, versioned: bool = False, json: str = "", merged: str = "") -> Table:
    """Keys always start with the tenant: one bureau's ids can never collide with, or shadow, another's."""
    keys = tuple(key.split())
    return Table(keys if keys[0] == "tenant_id" else ("tenant_id", *keys), tuple(columns.split()), versioned,
                 tuple(json.split()), tuple(merged.split()))


TABLES: dict[str, Table] = {
    "bureaus": _table("bureau_id", "tenant_id bureau_id name code event_id"),
    "rules": _table("tenant_id rules_version", "tenant_id rules_version effective_from rules event_id", json="rules"),
    "branches": _table("branch_id", "tenant_id branch_id name established_on event_id"),
    "branch_closures": _table("branch_id", "tenant_id branch_id closed_on reason merged_into event_id"),
    "party_groups": _table("group_id", "tenant_id branch_id group_id name event_id"),
    "members": _table("member_id", "tenant_id member_id branch_id name gender birth_date party_member party_join_date"
                      " retirement_kind pension_base health mobility joined_on event_id"),
    "member_changes": _table("event_id", "tenant_id event_id member_id stream_version effective_on kind branch_id data",
                             json="data"),
    "elections": _table("election_id", "tenant_id branch_id election_id held_on eligible_voters attendees seats"
                        " candidates elected excused vacant_seats event_id", json="candidates elected excused"),
    "terms": _table("term_id", "tenant_id branch_id term_id election_id starts_on ends_on committee event_id"),
    "posts": _table("event_id", "tenant_id event_id branch_id term_id post member_id action on_date person_name unit"
                    " reason stream_version"),
    "allowances": _table("event_id", "tenant_id event_id branch_id term_id member_id post month amount"),
    "transfers": _table("event_id", "tenant_id event_id transfer_id kind branch_id member_id on_date data",
                        json="data"),
    "dues_assessments": _table("event_id", "tenant_id event_id member_id branch_id year base rate monthly_amount"
                               " stream_version"),
    "dues_reductions": _table("event_id", "tenant_id event_id member_id branch_id year from_month monthly_amount"
                              " resolution stream_version"),
    # The payments of one member recorded in one branch, kept together as they arrive ({event id: [amount,
    # month, …]}): a view reads a bureau's thousand members, not its years of monthly payments one row each.
    # Stored as JSON text (json, migration 023), joined as jsonb when a payment arrives; PostgreSQL keeps them also
    # as a list in event-id order without the ids (``paid``, migration 025: ``GENERATED``), which a roll-up reads.
    "dues_paid": _table("member_id branch_id", "tenant_id member_id branch_id payments", json="payments",
                        merged="payments"),
    "dues_carried": _table("event_id", "tenant_id event_id member_id branch_id transfer_id months paid_until",
                           json="months"),
    "dues_reviews": _table("event_id", "tenant_id event_id member_id branch_id months_unpaid raised_on",
                           json="months_unpaid"),
    "activities": _table("activity_id", "tenant_id activity_id branch_id kind status on_date title place topics"
                         " attendees guests absentees hours voting_members voting_present quorate late late_reasons"
                         " group_id note stream_version event_id", versioned=True,
                         json="topics attendees guests absentees late_reasons"),
    "talks": _table("activity_id", "tenant_id activity_id branch_id speakers audience topic on_date audience_size late"
                    " stream_version event_id", versioned=True, json="speakers"),
    "outreach": _table("outreach_id", "tenant_id outreach_id branch_id member_id channel on_date topic hours late"
                       " late_reasons withdrawn stream_version event_id", versioned=True, json="late_reasons"),
    "care": _table("care_id", "tenant_id care_id branch_id member_id kind on_date holiday holiday_date year late"
                   " late_reasons withdrawn stream_version event_id", versioned=True, json="late_reasons"),
    "teams": _table("team_id", "tenant_id team_id branch_id name kind formed_on leader_id event_id"),
    "team_members": _table("event_id", "tenant_id event_id team_id branch_id member_id action on_date stream_version"),
    "performances": _table("performance_id", "tenant_id performance_id team_id branch_id on_date title place"
                           " performers audience late event_id", json="performers"),
    "pledges": _table("pledge_id", "tenant_id pledge_id branch_id member_id kind signed_on event_id"),
    "centre": _table("event_id", "tenant_id event_id branch_id kind on_date place checklist item evidence photo_ref"
                     " stream_version", json="checklist"),
    "periods_closed": _table("tenant_id period", "tenant_id period starts_on ends_on closed_on event_id"),
    "notifications": _table("notification_id", "tenant_id notification_id branch_id rule title subject period due_on"
                            " scheduled_at members deliveries event_id", json="members deliveries"),
    "notification_deliveries": _table("event_id delivery_id", "tenant_id event_id notification_id delivery_id outcome"
                                      " channel attempt error at stream_version"),
    "member_events": _table("member_id event_id", "tenant_id member_id event_id event_type role branch_id occurred_at"
                            " recorded_at data", json="data"),
}


def payments_in_order(row: dict) -> list:
    """A member's payments as a list in the order of their event ids (what migration 025's ``paid`` holds)."""
    payments = row["payments"]
    return [payments[event_id] for event_id in sorted(payments)]


# Columns PostgreSQL works out from a row's others as it is written (never written by a projection): the in-memory
# store works them out as it reads.
GENERATED: dict[str, dict[str, Callable[[dict], object]]] = {"dues_paid": {"paid": payments_in_order}}


class Fact(NamedTuple):
    """One row a view keeps about an event (a tuple: a replay makes millions of them)."""

    table: str
    row: dict


class FactStore(Protocol):
    def put(self, fact: Fact) -> None: ...

    def rows(self, table: str, tenant_id: str, *, branch_id: str | None = None, member_id: str | None = None,
             between: tuple[str, date, date] | None = None, concerning: Concerning | None = None,
             columns: tuple[str, ...] | None = None) -> list[dict]: ...

    def read(self, reads: list[Read]) -> list[list[dict]]: ...


@dataclass(frozen=True)
class Read:
    """One ``rows`` call, for ``read`` to send with others."""

    table: str
    tenant_id: str
    branch_id: str | None = None
    between: tuple[str, date, date] | None = None
    concerning: Concerning | None = None
    columns: tuple[str, ...] | None = None
    member_id: tuple[str, ...] | None = None

    def selection(self) -> dict:
        return {"branch_id": self.branch_id, "member_id": self.member_id, "between": self.between,
                "concerning": self.concerning, "columns": self.columns}


@dataclass(frozen=True)
class Concerning:
    """Rows of ``branch_id``, or naming one of ``members`` in ``column`` (a member id, or a JSON list of them)."""

    branch_id: str
    column: str
    members: frozenset[str]

    def admits(self, row: dict, json_list: bool) -> bool:
        named = row[self.column]
        if row["branch_id"] == self.branch_id:
            return True
        return bool(self.members.intersection(named or [])) if json_list else named in self.members


class MemoryStore:
    """The same contract as the PostgreSQL store, in dicts: for unit tests of projections and views."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple, dict]] = {name: {} for name in TABLES}

    def put(self, fact: Fact) -> None:
        spec = TABLES[fact.table]
        key = tuple(fact.row[column] for column in spec.key)
        table = self.tables[fact.table]
        stored = table.get(key)
        if stored is None:
            table[key] = {column: fact.row.get(column) for column in spec.columns}
        elif spec.versioned and stored["stream_version"] < fact.row["stream_version"]:
            stored.update({column: value for column, value in fact.row.items() if column in spec.columns})
        for column in spec.merged if stored is not None else ():
            stored[column] = {**stored[column], **fact.row[column]}

    def rows(self, table: str, tenant_id: str, *, branch_id=None, member_id=None, between=None,
             concerning: Concerning | None = None, columns: tuple[str, ...] | None = None) -> list[dict]:
        found = []
        json_list = concerning is not None and concerning.column in TABLES[table].json
        for row in self.tables[table].values():
            if row["tenant_id"] != tenant_id or not _matches(row, "branch_id", branch_id) \
                    or not _matches(row, "member_id", member_id):
                continue
            if concerning and not concerning.admits(row, json_list):
                continue
            if between and not (row[between[0]] is not None and between[1] <= row[between[0]] <= between[2]):
                continue
            found.append({c: row[c] if c in row else GENERATED[table][c](row) for c in columns} if columns
                         else dict(row))
        return found

    def read(self, reads: list[Read]) -> list[list[dict]]:
        return [self.rows(r.table, r.tenant_id, **r.selection()) for r in reads]


def _matches(row: dict, column: str, wanted) -> bool:
    if wanted is None:
        return True
    return row[column] in wanted if isinstance(wanted, (list, tuple, set, frozenset)) else row[column] == wanted


class SqlStore:
    """Facts in the ``views`` schema (or whichever the connection's search_path names first)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def put(self, fact: Fact) -> None:
        columns, values = _columns_and_values(fact)
        self.conn.execute(_insert_statement(fact.table, columns), values)

    def put_many(self, facts: Iterable[Fact]) -> None:
        """Many facts, one ``executemany`` per table and set of columns (in a pipeline: no round trip each).

        Facts converge in any order, so grouping them by statement changes nothing of the result.
        """
        groups: dict[tuple[str, tuple[str, ...]], list] = {}
        for table, row in facts:
            columns, values, _key = _shape(table, row)
            groups.setdefault((table, columns), []).append(values(row))
        with self.conn.cursor() as cursor:
            for (table, columns), rows in groups.items():
                cursor.executemany(_insert_statement(table, columns), rows)

    def put_copied(self, facts: Iterable[Fact], *, fresh: bool = False) -> None:
        """Many facts, as ``put_many``, for a large batch (a catch-up, a rebuild): each table's rows first brought
        together the way the table converges (``fold``), copied into a scratch table and upserted from it in one
        statement, the scratch table then emptied — a few statements for the batch instead of one per row. Not in
        pipeline mode (COPY).

        ``fresh``: the facts come from entries never applied before to these tables (a rebuild's first round), so a
        fact keyed by its event cannot meet a row already there and is copied straight into its table."""
        groups: dict[tuple[str, _Shape], dict[tuple, dict]] = {}
        direct = KEYED_BY_EVENT if fresh else frozenset()
        for table, row in facts:
            shape = _shape(table, row)
            if table in direct:  # a fact delivered twice is there once, as ON CONFLICT DO NOTHING keeps it
                groups.setdefault((table, shape), {}).setdefault(shape.key(row), row)
            else:
                fold(TABLES[table], groups.setdefault((table, shape), {}), row)
        stages = _stages(self.conn, {table for table, _shape in groups} - direct)
        with self.conn.cursor() as cursor:
            for (table, (columns, values, _key)), rows in groups.items():
                into = table if table in direct else stages[table]
                with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                        sql.Identifier(into), sql.SQL(", ").join(map(sql.Identifier, columns)))) as copy:
                    write = copy.write_row
                    for row in rows.values():
                        write(values(row))
                if table not in direct:
                    cursor.execute(_insert_statement(table, columns, into))
                    # Emptied by TRUNCATE, not by deleting the rows as they are moved: a deleted row's space is never
                    # used again in a temporary table (no vacuum reaches it), so a session's stage grew with every
                    # batch and each move read all it had ever held (a rebuild's activities: tens of megabytes).
                    cursor.execute(_truncate_statement(into))

    def rows(self, table: str, tenant_id: str, *, branch_id=None, member_id=None, between=None,
             concerning: Concerning | None = None, columns: tuple[str, ...] | None = None) -> list[dict]:
        """The rows asked for, with ``columns`` only if given; event ids as text, as events carry them."""
        with self.conn.cursor() as cursor:
            _decode_json(cursor)
            return cursor.execute(*_select(table, tenant_id, branch_id, member_id, between, concerning,
                                           columns)).fetchall()

    def read(self, reads: list[Read]) -> list[list[dict]]:
        """Several reads sent together (psycopg's pipeline mode): one round trip for all, not one each."""
        cursors = []
        with self.conn.pipeline():
            for r in reads:
                cursor = self.conn.cursor()
                _decode_json(cursor)
                cursor.execute(*_select(r.table, r.tenant_id, r.branch_id, r.member_id, r.between, r.concerning,
                                        r.columns))
                cursors.append(cursor)
            found = [cursor.fetchall() for cursor in cursors]
        for cursor in cursors:
            cursor.close()
        return found


def _select(table: str, tenant_id: str, branch_id, member_id, between, concerning: Concerning | None,
            columns: tuple[str, ...] | None) -> tuple[str, list]:
    """The statement and its parameters; the statement rendered once per shape (composing it again for every read
    costs more than a small read)."""
    params: list = [tenant_id]
    if concerning:
        params += [concerning.branch_id, sorted(concerning.members)]
    shape: list = [table, columns, concerning.column if concerning else None]
    for wanted in (branch_id, member_id):
        many = isinstance(wanted, (list, tuple, set, frozenset))
        shape.append(None if wanted is None else many)
        if wanted is not None:
            params.append(list(wanted) if many else wanted)
    if between:
        shape.append(between[0])
        params.extend(between[1:])
    key = tuple(shape)
    if key not in _selects:
        _selects[key] = _statement(table, branch_id, member_id, between, concerning, columns)
    return _selects[key], params


def _statement(table: str, branch_id, member_id, between, concerning: Concerning | None,
               columns: tuple[str, ...] | None) -> str:
    clauses = [sql.SQL("tenant_id = %s")]
    if concerning:
        names = "{} ?| %s" if concerning.column in TABLES[table].json else "{} = ANY(%s)"
        clauses.append(sql.SQL("(branch_id = %s OR " + names + ")").format(sql.Identifier(concerning.column)))
    for column, wanted in (("branch_id", branch_id), ("member_id", member_id)):
        if isinstance(wanted, (list, tuple, set, frozenset)):
            clauses.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(column)))
        elif wanted is not None:
            clauses.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
    if between:
        clauses.append(sql.SQL("{} BETWEEN %s AND %s").format(sql.Identifier(between[0])))
    return sql.SQL("SELECT {} FROM {} WHERE {}").format(_select_list(columns or TABLES[table].columns),
                                                        sql.Identifier(table),
                                                        sql.SQL(" AND ").join(clauses)).as_string(None)


_selects: dict[tuple, str] = {}


class ViewJsonLoader(Loader):
    """The views' JSON columns (lists of member ids, of months) decoded by orjson: a bureau's year holds tens of
    thousands of them. Never an event's own text, whose hash needs the standard parser (integers beyond 64 bits)."""

    def load(self, data) -> object:
        return orjson.loads(data)


def _decode_json(cursor: psycopg.Cursor) -> None:
    for name in ("jsonb", "json"):
        cursor.adapters.register_loader(name, ViewJsonLoader)


def _select_list(columns: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL("{0}::text AS {0}").format(sql.Identifier(c)) if c == "event_id"
                              else sql.Identifier(c) for c in columns)


def _columns_and_values(fact: Fact) -> tuple[tuple[str, ...], Sequence]:
    columns, values, _key = _shape(fact.table, fact.row)
    return columns, values(fact.row)


class _Shape(NamedTuple):
    """The columns a table's row fills, and how its values are taken out of it (JSON columns wrapped as such)."""

    columns: tuple[str, ...]
    values: Callable[[dict], Sequence]
    key: Callable[[dict], tuple]


_shapes: dict[tuple[str, tuple[str, ...]], _Shape] = {}
# Tables whose rows an event writes once: their key holds the event id.
KEYED_BY_EVENT = frozenset(table for table, spec in TABLES.items() if "event_id" in spec.key)


def _shape(table: str, row: dict) -> _Shape:
    """Worked out once for each table and set of keys a projection writes (a few dozen), not for each row."""
    known = _shapes.get((table, tuple(row)))
    if known is not None:
        return known
    spec = TABLES[table]
    columns = tuple(column for column in spec.columns if column in row)
    take = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    wrapped = [at for at, column in enumerate(columns) if column in spec.json]

    def wrapping(row: dict) -> list:
        values = list(take(row))
        for at in wrapped:
            values[at] = Jsonb(values[at], dumps=_json_text)
        return values
    _shapes[(table, tuple(row))] = shape = _Shape(columns, wrapping if wrapped else take, itemgetter(*spec.key))
    return shape


def _json_text(value) -> bytes | str:
    """A JSON column's value as text, by orjson where it can (several times faster); PostgreSQL keeps jsonb in a
    form of its own, and the one json column (payments) is cast through jsonb as written, so the text sent does not
    show. What orjson refuses (a decimal, an integer key, an integer beyond 64 bits) the standard encoder writes."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value)


def fold(spec: Table, rows: dict[tuple, dict], row: dict) -> None:
    """``row`` brought into ``rows`` (by key) as the table converges when rows arrive one after another: the first
    row of a key stays; an entity's row of a higher ``stream_version`` replaces it; merged JSON objects are joined
    key by key, the later's value winning. Rows of one set of columns."""
    key = tuple(row[column] for column in spec.key)
    stored = rows.get(key)
    if stored is None:
        rows[key] = dict(row)
    elif spec.merged:
        for column in spec.merged:
            stored[column] = {**stored[column], **row[column]}
    elif spec.versioned and stored["stream_version"] is not None and row["stream_version"] is not None \
            and stored["stream_version"] < row["stream_version"]:
        rows[key] = dict(row)


def _stages(conn: psycopg.Connection, tables: set[str]) -> dict[str, str]:
    """The session's scratch tables for ``tables`` (temporary copies of their columns, made if not there yet, all
    in one statement)."""
    stages = {table: f"stage_{table}" for table in sorted(tables)}
    conn.execute(sql.SQL("; ").join(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS)").format(
            sql.Identifier(stage), sql.Identifier(table)) for table, stage in stages.items()))
    return stages


_statements: dict[tuple[str, tuple[str, ...], str | None], str] = {}
_truncates: dict[str, str] = {}


def _truncate_statement(stage: str) -> str:
    statement = _truncates.get(stage)
    if statement is None:
        statement = _truncates[stage] = sql.SQL("TRUNCATE {}").format(sql.Identifier(stage)).as_string(None)
    return statement


def _insert_statement(table: str, columns: tuple[str, ...], stage: str | None = None) -> str:
    """INSERT … ON CONFLICT: nothing for a fact already there, or newer-version-wins for an entity; the rows given
    as parameters, or read out of a scratch table (``stage``), which the caller then empties."""
    cached = _statements.get((table, columns, stage))
    if cached is not None:
        return cached
    spec = TABLES[table]
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    # Merged objects moved as jsonb, whatever their column: stored as PostgreSQL writes jsonb (keys in its order),
    # the text a row inserted with a parameter or joined by ``||`` holds.
    rows = sql.SQL("VALUES ({})").format(sql.SQL(", ").join(sql.Placeholder() * len(columns))) if stage is None \
        else sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(
            sql.SQL("{}::jsonb").format(sql.Identifier(c)) if c in spec.merged else sql.Identifier(c)
            for c in columns), sql.Identifier(stage))
    insert = sql.SQL("INSERT INTO {} ({}) {} ON CONFLICT ({}) ").format(
        sql.Identifier(table), names, rows, sql.SQL(", ").join(map(sql.Identifier, spec.key)))
    if spec.merged:
        insert += sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(
            sql.SQL("{0} = {1}.{0}::jsonb || EXCLUDED.{0}::jsonb").format(sql.Identifier(c), sql.Identifier(table))
            for c in spec.merged))
    elif spec.versioned:
        updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                                     for c in columns if c not in spec.key)
        insert += sql.SQL("DO UPDATE SET {} WHERE {}.stream_version < EXCLUDED.stream_version").format(
            updates, sql.Identifier(table))
    else:
        insert += sql.SQL("DO NOTHING")
    # Rendered once: a composed statement would be rendered again at every execution.
    _statements[(table, columns, stage)] = insert.as_string(None)
    return _statements[(table, columns, stage)]


def put_all(store: FactStore, facts: Iterable[Fact]) -> None:
    for fact in facts:
        store.put(fact)
