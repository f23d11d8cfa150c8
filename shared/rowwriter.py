"""A projection's row writes gathered into one statement per table: one event's rows in a command, a batch's in
a rebuild — the same statements either way, so both leave the same rows.

Rows travel as one JSON array and PostgreSQL turns each object into the table's own row type
(``json_populate_recordset``): every value is read by its column's input function, and a batch of thousands
of rows costs one statement and one parameter. A row set that replaces a key's rows (many narrow rows: an
activity's participants), or one declared ``positional``, sends each row as a JSON array of its values instead,
read once as ``jsonb`` and taken apart by position: no column names repeated in every row, no object for the
server to parse into a record (about half the server's time for the same rows).
What is gathered is written before any other statement (``execute``), in the order the row sets are declared
(tables that others refer to first), so a batch has the effect of its events applied one at a time:

- rows inserted with ``ON CONFLICT DO NOTHING`` keep their order within the statement, so the first of two
  rows with one key wins, as it would one event after another;
- a row set that updates on conflict or replaces a key's rows takes each key once per statement: a second
  row for a key already gathered writes what is gathered first;
- two row sets of one table never wait together: gathering into one writes the other's first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from operator import itemgetter
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg import pq, sql


@dataclass(frozen=True, eq=False)  # one per table and kind, compared by identity
class RowSet:
    """Rows of ``table`` (``columns``, in this order) written with ``ON CONFLICT <conflict>``.

    ``key`` names the column whose value identifies what a row changes when ``conflict`` updates or
    ``replaces`` is set; ``replaces``: a key's rows replace every row the table had under it (the
    key column is then the column deleted by), and its rows are tuples of the columns' values, in their order,
    sent as JSON arrays; ``positional``: rows added as dicts are sent as such arrays too; ``types``: the SQL
    types of the columns of a row set sent as arrays that are not text (a column left out is read as text, which
    PostgreSQL refuses to store in a column of another type). ``json``: jsonb columns, stored as the JSON they
    are given (a ``None`` is JSON null, not SQL NULL, as ``Jsonb(None)`` would store it). ``copies``: in a fill,
    rows inserted without a conflict check go in by a binary COPY instead — a row set of tuples whose column types
    are exactly ``types`` (text where not named) and the table's, none of them JSON: PostgreSQL then reads each value
    as it is stored, with no text to parse (activities' 1.6 M participants: half the server's time). Wide rows with
    JSON gain nothing by it: what the server saves, Python spends making the values.
    """

    table: str
    columns: tuple[str, ...]
    conflict: str = "DO NOTHING"
    key: str | None = None
    replaces: bool = False
    positional: bool = False
    json: tuple[str, ...] = ()
    types: dict[str, str] = field(default_factory=dict)
    copies: bool = False
    statement: str = field(init=False, repr=False, compare=False)
    plain: str = field(init=False, repr=False, compare=False)  # the insert without its conflict clause
    values: Any = field(init=False, repr=False, compare=False)  # a row's values in column order, as a tuple

    def __post_init__(self) -> None:
        if self.keyed and self.key not in self.columns:
            raise ValueError(f"{self.table}: a row set that updates or replaces needs its key among its columns")
        if self.copies and (not self.arrays or self.json):
            raise ValueError(f"{self.table}: only a row set of tuples without JSON columns copies its rows")
        # itemgetter picks the values in C; of one column it gives the value itself, not a tuple of it.
        object.__setattr__(self, "values", itemgetter(*self.columns) if len(self.columns) > 1
                           else lambda row, column=self.columns[0]: (row[column],))
        if self.arrays:
            selected = sql.SQL(", ").join(self._from_array(i, c) for i, c in enumerate(self.columns))
            source = sql.SQL("jsonb_array_elements(%s::jsonb) AS r")
        else:
            selected = sql.SQL(", ").join(
                sql.SQL("coalesce(r.{0}, 'null'::jsonb)").format(sql.Identifier(c)) if c in self.json
                else sql.SQL("r.{}").format(sql.Identifier(c)) for c in self.columns)
            source = sql.SQL("json_populate_recordset(NULL::{table}, %s) AS r").format(
                table=sql.Identifier(self.table))
        insert = sql.SQL("INSERT INTO {table} ({columns}) SELECT {selected} FROM {source}").format(
            table=sql.Identifier(self.table), columns=sql.SQL(", ").join(map(sql.Identifier, self.columns)),
            selected=selected, source=source)
        object.__setattr__(self, "plain", insert.as_string(None))
        if self.conflict:
            insert += sql.SQL(" ON CONFLICT ") + sql.SQL(self.conflict)
        object.__setattr__(self, "statement", insert.as_string(None))

    def _from_array(self, index: int, column: str) -> sql.Composable:
        """The value of ``column`` in a row sent as an array: JSON as it is (null for a missing one), the rest as
        text read by the column type's input function, as ``json_populate_recordset`` reads it."""
        if column in self.json:
            return sql.SQL("coalesce(r -> {}, 'null'::jsonb)").format(sql.Literal(index))
        if column in self.types:
            return sql.SQL("(r ->> {})::{}").format(sql.Literal(index), sql.SQL(self.types[column]))
        return sql.SQL("r ->> {}").format(sql.Literal(index))

    def key_of(self) -> itemgetter:
        """The key's value in a row as gathered: a tuple's by position, a dict's by name."""
        return itemgetter(self.columns.index(self.key) if self.arrays else self.key)

    @property
    def arrays(self) -> bool:
        """Whether rows are gathered as tuples of the columns' values and sent as JSON arrays."""
        return self.replaces or self.positional

    @property
    def updates(self) -> bool:
        return "DO UPDATE" in self.conflict.upper()

    @property
    def keyed(self) -> bool:
        """Whether two rows of one key must go in two statements (PostgreSQL updates a row once per statement)."""
        return self.replaces or self.updates

    @property
    def skips_conflicts(self) -> bool:
        """Whether a row meeting an existing key is left out (``DO NOTHING``): the first row of a key wins."""
        return self.conflict.upper().endswith("DO NOTHING")

    def copy_statement(self) -> str:
        return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(self.table), sql.SQL(", ").join(map(sql.Identifier, self.columns))).as_string(None)

    def copy_types(self) -> list[str]:
        return [self.types.get(column, "text").split("(")[0] for column in self.columns]

    def delete_statement(self) -> str:
        return sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
            sql.Identifier(self.table), sql.Identifier(self.key)).as_string(None)


class Fill:
    """A rebuild filling tables that started empty and that only its writers write: what it wrote so far.

    A writer given one writes the same rows with less work. It counts the keys written of each table whose every
    row set names the same ``key`` (so that each row the table holds was counted), and then:

    - a key never written has nothing to replace: no DELETE for it;
    - rows of keys never written go in without the conflict check of an upsert: nothing to conflict with (of a
      row set that skips conflicts, the first row of each such key: the others would have been skipped);
    - rows inserted without a conflict clause go in by COPY where their row set ``copies`` (``copy_rows``);
    - before it looks up a table's rows by their key, it adds the table's keys left for later (``keys_later``,
      the statements by table that the rebuild left out of the shadow copy to build after the fill).
    """

    def __init__(self) -> None:
        self.written: dict[str, set] = {}  # the keys of each counted table with rows
        self.keys_later: dict[str, list] = {}


class RowWriter:
    """Gathers rows for the row sets of ``order`` and writes them, one statement each, before anything else."""

    def __init__(self, conn: psycopg.Connection, order: Sequence[RowSet], fill: Fill | None = None) -> None:
        self.conn = conn
        self.order = order
        self.known = set(map(id, order))
        self.pending: dict[RowSet, list[dict]] = {}
        self.keys: dict[RowSet, dict[Any, None]] = {}
        self.tables: dict[str, RowSet] = {}  # the row set gathering rows of each table
        self.fill = fill
        self.counted = _counted(order) if fill is not None else {}

    def add(self, rows: RowSet, row: dict) -> None:
        """Gather one row (a dict by column name) of ``rows``."""
        self._make_room(rows, row[rows.key] if rows.key else None)
        self.pending.setdefault(rows, []).append(rows.values(row) if rows.arrays else row)

    def replace(self, rows: RowSet, key: Any, new_rows: Iterable[tuple]) -> None:
        """Gather ``key``'s rows of ``rows``, which replace whatever the table holds under that key: each a tuple of
        the values of ``rows.columns``, in their order."""
        self._make_room(rows, key)
        self.pending.setdefault(rows, []).extend(new_rows)

    def execute(self, query: str, params: Any = None) -> None:
        """Run a statement of its own, after what is gathered."""
        self.flush()
        self.conn.execute(query, params)

    def flush(self) -> None:
        """Write what is gathered, in the declared order."""
        if not self.pending and not self.keys:
            return
        for rows in self.order:
            keys = self.keys.get(rows)
            if rows.replaces and keys:
                self._delete(rows, keys)
            if self.pending.get(rows):
                self._insert(rows, self.pending[rows])
        self.pending.clear()
        self.keys.clear()
        self.tables.clear()

    def _delete(self, rows: RowSet, keys: dict) -> None:
        if rows.table in self.counted:
            written = self.fill.written.get(rows.table, ())
            keys = [key for key in keys if key in written]
            if not keys:
                return
        if self.fill is not None:
            for key in self.fill.keys_later.pop(rows.table, ()):  # the delete finds the rows by it
                self.conn.execute(key)
        self.conn.execute(rows.delete_statement(), (list(keys),))

    def _insert(self, rows: RowSet, new: list) -> None:
        if rows.table not in self.counted:
            self.conn.execute(rows.statement, (encode(new),))
            return
        written = self.fill.written.setdefault(rows.table, set())
        key_of = rows.key_of()
        if rows.updates or rows.skips_conflicts:  # only keys with rows can meet the conflict: the others need no check
            fresh = [row for row in new if key_of(row) not in written]
            known = [row for row in new if key_of(row) in written]
            if rows.skips_conflicts:  # each key's first row
                firsts: dict = {}
                for row in fresh:
                    firsts.setdefault(key_of(row), row)
                fresh = list(firsts.values())
            if fresh:
                self._plain(rows, fresh)
            if known:
                self.conn.execute(rows.statement, (encode(known),))
        elif not rows.conflict:
            self._plain(rows, new)
        else:
            self.conn.execute(rows.statement, (encode(new),))
        written.update(map(key_of, new))

    def _plain(self, rows: RowSet, new: list) -> None:
        """Rows that meet no key of the table: by COPY where the row set copies and the connection can (a rebuild's
        ``Statements`` keep it; a connection in a pipeline cannot), else by the insert without its conflict clause."""
        if rows.copies:
            keep = getattr(self.conn, "copy_rows", None)
            if keep is not None:
                keep(rows, new)
                return
            if isinstance(self.conn, psycopg.Connection) and self.conn.pgconn.pipeline_status == pq.PipelineStatus.OFF:
                copy_rows(self.conn, rows, new)
                return
        self.conn.execute(rows.plain, (encode(new),))

    def _make_room(self, rows: RowSet, key: Any) -> None:
        if id(rows) not in self.known:
            raise ValueError(f"{rows.table}: not a row set of this writer")
        sharing = self.tables.get(rows.table)
        if sharing is not rows:
            if sharing is not None:
                self.flush()
            self.tables[rows.table] = rows
        if not rows.keyed:
            return
        keys = self.keys.setdefault(rows, {})
        if key in keys:
            self.flush()
            keys = self.keys.setdefault(rows, {})
        keys[key] = None


def copy_rows(conn: psycopg.Connection, rows: RowSet, new: list[tuple]) -> None:
    """Tuples of ``rows``' columns inserted by a binary COPY."""
    with conn.cursor().copy(rows.copy_statement()) as copy:
        copy.set_types(rows.copy_types())
        for row in new:
            copy.write_row(row)


def _counted(order: Sequence[RowSet]) -> dict[str, str]:
    """Tables whose every row set names one key column: a fill can count every row they hold by that key."""
    keys: dict[str, set] = {}
    for rows in order:
        keys.setdefault(rows.table, set()).add(rows.key)
    return {table: next(iter(names)) for table, names in keys.items() if len(names) == 1 and None not in names}


def encode(rows: list[dict]) -> str:
    """The rows as one JSON text: decimals as their exact text, which the numeric column reads back exactly."""
    try:
        return orjson.dumps(rows, default=_exact).decode()
    except TypeError:  # orjson refuses what the standard encoder writes (integers beyond 64 bits, other keys)
        return json.dumps(rows, default=_exact, ensure_ascii=False)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | time):  # for the standard encoder; orjson writes them itself, the same way
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
