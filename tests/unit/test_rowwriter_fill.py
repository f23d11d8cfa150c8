"""A RowWriter filling a rebuild's empty tables writes the same rows with less work: no DELETE for a key it never
wrote, no conflict check for rows of such keys (the first row of each, where conflicts are skipped), rows by COPY
where their row set copies, and a table's keys left for later added before its rows are looked up. The statements
are recorded here, not run: which ones go out is what changes."""

from __future__ import annotations

import json

import pytest

from shared.rowwriter import Fill, RowSet, RowWriter

PLANNED = RowSet("visits", ("visit_id", "title"), "(visit_id) DO NOTHING", key="visit_id")
RECORDED = RowSet("visits", ("visit_id", "title"), "(visit_id) DO UPDATE SET title = EXCLUDED.title", key="visit_id")
PEOPLE = RowSet("visitors", ("visit_id", "person"), conflict="", key="visit_id", replaces=True)
NOTES = RowSet("notes", ("note_id", "text"))  # no key named: its table is not counted
ORDER = (PLANNED, RECORDED, PEOPLE, NOTES)


class Recorder:
    def __init__(self) -> None:
        self.statements: list[tuple[str, object]] = []

    def execute(self, query, params=None) -> None:
        self.statements.append((query if isinstance(query, str) else repr(query), params))


def batch(conn: Recorder, fill: Fill | None, write) -> list[tuple[str, object]]:
    conn.statements.clear()
    writer = RowWriter(conn, ORDER, fill)
    write(writer)
    writer.flush()
    return list(conn.statements)


def record(writer: RowWriter, visit: str, people: list[str]) -> None:
    writer.add(RECORDED, {"visit_id": visit, "title": f"visit {visit}"})
    writer.replace(PEOPLE, visit, [(visit, person) for person in people])


def test_a_fill_deletes_and_checks_conflicts_only_for_keys_it_wrote_before():
    conn, fill = Recorder(), Fill()
    first = batch(conn, fill, lambda w: (record(w, "a", ["wang", "li"]),
                                         w.add(PLANNED, {"visit_id": "b", "title": "b"})))
    assert [query for query, _ in first] == [RECORDED.plain, PEOPLE.statement, PLANNED.plain]
    again = batch(conn, fill, lambda w: (record(w, "a", ["wang"]), record(w, "b", []), record(w, "c", ["sun"])))
    queries = [query for query, _ in again]
    assert queries == [RECORDED.plain, RECORDED.statement, PEOPLE.delete_statement(), PEOPLE.statement]
    assert [row["visit_id"] for row in json.loads(again[0][1][0])] == ["c"]  # new: nothing to conflict with
    assert [row["visit_id"] for row in json.loads(again[1][1][0])] == ["a", "b"]  # b was planned
    assert again[2][1] == (["a"],)  # b has no visitors written, c is new: nothing of theirs to delete


def test_without_a_fill_every_key_is_replaced_and_every_row_upserted():
    conn = Recorder()
    statements = batch(conn, None, lambda w: record(w, "a", ["wang"]))
    assert [query for query, _ in statements] == [RECORDED.statement, PEOPLE.delete_statement(), PEOPLE.statement]


def test_a_table_not_counted_keeps_its_statements_in_a_fill():
    conn = Recorder()
    statements = batch(conn, Fill(), lambda w: w.add(NOTES, {"note_id": "n", "text": "t"}))
    assert [query for query, _ in statements] == [NOTES.statement]


def test_the_keys_left_for_later_are_added_before_the_first_delete_that_needs_them():
    conn, fill = Recorder(), Fill()
    fill.keys_later = {"visitors": ["ALTER TABLE visitors ADD PRIMARY KEY (visit_id, person)"]}
    batch(conn, fill, lambda w: record(w, "a", ["wang"]))
    assert not any("ALTER" in query for query, _ in conn.statements)  # nothing to look up yet
    statements = batch(conn, fill, lambda w: record(w, "a", ["li"]))
    queries = [query for query, _ in statements]
    assert queries.index("ALTER TABLE visitors ADD PRIMARY KEY (visit_id, person)") < queries.index(
        PEOPLE.delete_statement())
    assert fill.keys_later == {}


def test_a_fill_inserts_the_first_row_of_each_new_key_where_conflicts_are_skipped():
    conn, fill = Recorder(), Fill()
    batch(conn, fill, lambda w: w.add(PLANNED, {"visit_id": "a", "title": "first a"}))
    statements = batch(conn, fill, lambda w: [w.add(PLANNED, {"visit_id": visit, "title": title})
                                              for visit, title in (("b", "first b"), ("a", "again a"),
                                                                   ("b", "second b"), ("c", "c"))])
    assert [query for query, _ in statements] == [PLANNED.plain, PLANNED.statement]
    assert json.loads(statements[0][1][0]) == [{"visit_id": "b", "title": "first b"}, {"visit_id": "c", "title": "c"}]
    assert json.loads(statements[1][1][0]) == [{"visit_id": "a", "title": "again a"}]  # the table decides: it has a


class Keeper(Recorder):
    """A rebuild's ``Statements``: it keeps rows to copy too."""

    def copy_rows(self, rows, new) -> None:
        self.statements.append((rows, list(new)))


COPIED = RowSet("visitors", ("visit_id", "person"), conflict="", key="visit_id", replaces=True, copies=True)


def test_a_fill_copies_the_rows_of_a_row_set_that_copies_and_replaces_what_it_wrote_before():
    conn, fill = Keeper(), Fill()

    def write(w):
        w.add(PLANNED, {"visit_id": "a", "title": "a"})
        w.replace(COPIED, "a", [("a", "wang"), ("a", "li")])

    def order(conn, write):
        conn.statements.clear()
        writer = RowWriter(conn, (PLANNED, COPIED), fill)
        write(writer)
        writer.flush()
        return list(conn.statements)

    assert order(conn, write) == [(PLANNED.plain, ('[{"visit_id":"a","title":"a"}]',)),
                                  (COPIED, [("a", "wang"), ("a", "li")])]
    again = order(conn, lambda w: w.replace(COPIED, "a", [("a", "sun")]))
    assert again == [(COPIED.delete_statement(), (["a"],)), (COPIED, [("a", "sun")])]


def test_without_a_fill_a_row_set_that_copies_is_inserted_by_its_statement():
    conn = Keeper()
    statements = batch_of(conn, None, lambda w: w.replace(COPIED, "a", [("a", "wang")]))
    assert [query for query, _ in statements] == [COPIED.delete_statement(), COPIED.statement]


def batch_of(conn, fill, write):
    conn.statements.clear()
    writer = RowWriter(conn, (COPIED,), fill)
    write(writer)
    writer.flush()
    return list(conn.statements)


def test_only_a_row_set_of_tuples_without_json_copies():
    with pytest.raises(ValueError, match="copies"):
        RowSet("visits", ("visit_id", "title"), key="visit_id", copies=True)
    with pytest.raises(ValueError, match="copies"):
        RowSet("visits", ("visit_id", "notes"), key="visit_id", positional=True, json=("notes",), copies=True)
