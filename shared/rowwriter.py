"""A projection's row writes gathered into one statement per table: one event's rows in a command, a batch's in
a rebuild — the same statements either way, so both leave the same rows.

Rows travel as one JSON array and PostgreSQL turns each object into the table's own row type
(``json_populate_recordset``): every value is read by its column's input function, and a batch of thousands
of rows costs one statement and one parameter. What is gathered is written before any other statement
(``execute``), in the order the row sets are declared (tables that others refer to first), so a batch has
the effect of its events applied one at a time:

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
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from psycopg import sql


@dataclass(frozen=True, eq=False)  # one per table and kind, compared by identity
class RowSet:
    """Rows of ``table`` (``columns``, in this order) written with ``ON CONFLICT <conflict>``.

    ``key`` names the column whose value identifies what a row changes when ``conflict`` updates or
    ``replaces`` is set; ``replaces``: a key's rows replace every row the table had under it (the
    key column is then the column deleted by). ``json``: jsonb columns, stored as the JSON they are
    given (a ``None`` is JSON null, not SQL NULL, as ``Jsonb(None)`` would store it).
    """

    table: str
    columns: tuple[str, ...]
    conflict: str = "DO NOTHING"
    key: str | None = None
    replaces: bool = False
    json: tuple[str, ...] = ()
    statement: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.keyed and self.key not in self.columns:
            raise ValueError(f"{self.table}: a row set that updates or replaces needs its key among its columns")
        selected = sql.SQL(", ").join(
            sql.SQL("coalesce(r.{0}, 'null'::jsonb)").format(sql.Identifier(c)) if c in self.json
            else sql.SQL("r.{}").format(sql.Identifier(c)) for c in self.columns)
        insert = sql.SQL("INSERT INTO {table} ({columns}) SELECT {selected}"
                         " FROM json_populate_recordset(NULL::{table}, %s) AS r").format(
            table=sql.Identifier(self.table), columns=sql.SQL(", ").join(map(sql.Identifier, self.columns)),
            selected=selected)
        if self.conflict:
            insert += sql.SQL(" ON CONFLICT ") + sql.SQL(self.conflict)
        object.__setattr__(self, "statement", insert.as_string(None))

    @property
    def keyed(self) -> bool:
        """Whether two rows of one key must go in two statements (PostgreSQL updates a row once per statement)."""
        return self.replaces or "DO UPDATE" in self.conflict.upper()

    def delete_statement(self) -> str:
        return sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
            sql.Identifier(self.table), sql.Identifier(self.key)).as_string(None)


class RowWriter:
    """Gathers rows for the row sets of ``order`` and writes them, one statement each, before anything else."""

    def __init__(self, conn: psycopg.Connection, order: Sequence[RowSet]) -> None:
        self.conn = conn
        self.order = order
        self.known = set(map(id, order))
        self.pending: dict[RowSet, list[dict]] = {}
        self.keys: dict[RowSet, dict[Any, None]] = {}
        self.tables: dict[str, RowSet] = {}  # the row set gathering rows of each table

    def add(self, rows: RowSet, row: dict) -> None:
        """Gather one row (a dict by column name) of ``rows``."""
        self._make_room(rows, row[rows.key] if rows.key else None)
        self.pending.setdefault(rows, []).append(row)

    def replace(self, rows: RowSet, key: Any, new_rows: Iterable[dict]) -> None:
        """Gather ``key``'s rows of ``rows``, which replace whatever the table holds under that key."""
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
                self.conn.execute(rows.delete_statement(), (list(keys),))
            if self.pending.get(rows):
                self.conn.execute(rows.statement, (encode(self.pending[rows]),))
        self.pending.clear()
        self.keys.clear()
        self.tables.clear()

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


def encode(rows: list[dict]) -> str:
    """The rows as one JSON text: decimals as their exact text, which the numeric column reads back exactly."""
    try:
        return orjson.dumps(rows, default=_exact).decode()
    except TypeError:  # orjson refuses what the standard encoder writes (integers beyond 64 bits, other keys)
        return json.dumps(rows, default=_exact, ensure_ascii=False)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
