"""A row set that replaces a key's rows sends them as JSON arrays taken apart by position: every value lands as the
same rows sent as objects (``json_populate_recordset``, how every other row set writes) would have it — text with
quotes, backslashes and Chinese, SQL NULL, booleans, numbers, dates and JSON (a None there is JSON null). A row set
that copies, in a fill, lands them by a binary COPY — and by its insert inside a pipeline, where COPY cannot run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared import db
from shared.rebuild import Statements, WriteBehind
from shared.rowwriter import Fill, RowSet, RowWriter
from tests.fixtures import activities_settings, members_service, members_settings  # noqa: F401 — fixtures are found by name

COLUMNS = ("visit_id", "person", "note", "came", "hours", "on_day", "extra")
AS_ARRAYS = RowSet("visitors", COLUMNS, conflict="", key="visit_id", replaces=True,
                   types={"came": "boolean", "hours": "numeric", "on_day": "date"}, json=("extra",))
AS_OBJECTS = RowSet("visitors", COLUMNS, conflict="", json=("extra",))
ROWS = [("v1", "王德明", None, True, Decimal("2.50"), date(2024, 7, 1), {"a": [1, "二"]}),
        ("v1", 'li "\\ \t', "住院\n两周", False, None, None, None),
        ("v2", "sun", "", None, Decimal("0.1"), date(2025, 2, 28), ["x", None])]


def test_rows_sent_as_arrays_land_as_the_same_rows_sent_as_objects(members_settings):  # noqa: F811
    with db.connect(members_settings.owner_dsn) as conn:
        conn.execute("CREATE TEMP TABLE visitors (visit_id text NOT NULL, person text NOT NULL, note text,"
                     " came boolean, hours numeric(5, 2), on_day date, extra jsonb, sent text)")
        writer = RowWriter(conn, (AS_ARRAYS,))
        writer.replace(AS_ARRAYS, "v1", ROWS[:2])
        writer.replace(AS_ARRAYS, "v2", ROWS[2:])
        writer.flush()
        conn.execute("UPDATE visitors SET sent = 'arrays'")
        writer = RowWriter(conn, (AS_OBJECTS,))
        for row in ROWS:
            writer.add(AS_OBJECTS, dict(zip(COLUMNS, row)))
        writer.flush()
        found = {sent: [row["r"] for row in conn.execute(
            f"SELECT ({', '.join(COLUMNS)})::text AS r FROM visitors WHERE sent IS NOT DISTINCT FROM %s ORDER BY 1",
            (sent,)).fetchall()] for sent in ("arrays", None)}
        assert len(found["arrays"]) == 3 and found["arrays"] == found[None]
        assert conn.execute("SELECT count(*) AS n FROM visitors WHERE extra = 'null'::jsonb").fetchone()["n"] == 2


POSITIONAL = RowSet("visitors", COLUMNS, "DO NOTHING", positional=True,
                    types={"came": "boolean", "hours": "numeric", "on_day": "date"}, json=("extra",))


def test_rows_added_as_dicts_to_a_positional_row_set_land_as_the_same_rows_sent_as_objects(members_settings):  # noqa: F811
    with db.connect(members_settings.owner_dsn) as conn:
        conn.execute("CREATE TEMP TABLE visitors (visit_id text NOT NULL, person text NOT NULL, note text,"
                     " came boolean, hours numeric(5, 2), on_day date, extra jsonb, sent text)")
        for row_set in (POSITIONAL, AS_OBJECTS):
            writer = RowWriter(conn, (row_set,))
            for row in ROWS:
                writer.add(row_set, dict(zip(COLUMNS, row)))
            writer.flush()
            if row_set is POSITIONAL:
                conn.execute("UPDATE visitors SET sent = 'arrays'")
        found = {sent: [row["r"] for row in conn.execute(
            f"SELECT ({', '.join(COLUMNS)})::text AS r FROM visitors WHERE sent IS NOT DISTINCT FROM %s ORDER BY 1",
            (sent,)).fetchall()] for sent in ("arrays", None)}
        assert len(found["arrays"]) == 3 and found["arrays"] == found[None]


def test_the_activities_row_sets_sent_as_arrays_name_the_type_of_every_column_that_is_not_text(
        activities_settings):  # noqa: F811
    """A column left out of ``types`` is read as text: PostgreSQL refuses it for a date or a number, but would
    store it in a column of a text-like type unnoticed. The declared types must be the tables' own."""
    from services.activities.projections import ROW_SETS
    with db.connect(activities_settings.owner_dsn) as conn:
        for rows in ROW_SETS:
            if not rows.arrays:
                continue
            found = {row["attname"]: row["type"] for row in conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (rows.table,)).fetchall()}
            declared = {column: conn.execute("SELECT format_type(%s::regtype, NULL) AS t",
                                             (rows.types[column].split("(")[0],)).fetchone()["t"]
                        for column in rows.columns if column in rows.types}
            for column in rows.columns:
                wanted = found[column].split("(")[0]
                if column in rows.json:
                    assert wanted == "jsonb", (rows.table, column)
                elif wanted == "text":
                    assert column not in rows.types, (rows.table, column)
                else:
                    assert declared.get(column) == wanted, (rows.table, column, rows.types.get(column), found[column])
                    if "(" in found[column]:  # a type modifier (numeric's scale) applied as the column applies it
                        assert rows.types[column].replace(" ", "") == found[column].replace(" ", ""), (rows.table,
                                                                                                       column)


COPIED = RowSet("visitors", COLUMNS[:-1], conflict="", key="visit_id", replaces=True,
                types={"came": "boolean", "hours": "numeric(5,2)", "on_day": "date"}, copies=True)
INSERTED = RowSet("visitors", COLUMNS[:-1], conflict="", key="visit_id", replaces=True,
                  types={"came": "boolean", "hours": "numeric(5,2)", "on_day": "date"})


def _visitors(conn, sent):
    return [row["r"] for row in conn.execute(
        f"SELECT ({', '.join(COLUMNS[:-1])})::text AS r FROM visitors WHERE sent IS NOT DISTINCT FROM %s ORDER BY 1",
        (sent,)).fetchall()]


def test_rows_copied_in_a_fill_land_as_the_same_rows_inserted(members_settings):  # noqa: F811
    rows = [row[:-1] for row in ROWS]
    with db.connect(members_settings.owner_dsn) as conn:
        conn.execute("CREATE TEMP TABLE visitors (visit_id text NOT NULL, person text NOT NULL, note text,"
                     " came boolean, hours numeric(5, 2), on_day date, sent text)")
        for row_set, sent in ((COPIED, "copied"), (COPIED, "in a pipeline"), (COPIED, "behind"), (INSERTED, None)):
            fill = Fill()
            if sent == "behind":  # what a rebuild does: the statements kept, then written by another thread
                statements = Statements()
                writer = RowWriter(statements, (row_set,), fill)
            else:
                writer = RowWriter(conn, (row_set,), fill)
            writer.replace(row_set, "v1", rows[:2])
            writer.replace(row_set, "v2", rows[2:])
            if sent == "in a pipeline":
                with conn.pipeline():
                    writer.flush()
            else:
                writer.flush()
            if sent == "behind":
                assert [kept for kept in statements.kept if kept[0] is COPIED] == [(COPIED, rows)]
                behind = WriteBehind(conn)
                behind.put(statements.kept)
                behind.drain()
                behind.close()
            conn.execute("UPDATE visitors SET sent = %s WHERE sent IS NULL", (sent,))
        inserted = _visitors(conn, None)
        assert len(inserted) == 3
        for sent in ("copied", "in a pipeline", "behind"):
            assert _visitors(conn, sent) == inserted, sent
