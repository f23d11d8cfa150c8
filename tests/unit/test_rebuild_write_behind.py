"""A rebuild writes the first round's batches behind the projection: each batch's statements run in their order, a
transaction each, in the order the batches were handed over; a batch that fails is rolled back, the batches after
it are not run, and the failure reaches the rebuild."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from shared.rebuild import Statements, WriteBehind


class Connection:
    """Records what runs in which transaction; a statement "fail" fails (and rolls back its transaction)."""

    def __init__(self) -> None:
        self.committed: list[list[str]] = []
        self.rolled_back: list[list[str]] = []
        self.open: list[str] | None = None

    @contextmanager
    def transaction(self):
        self.open = []
        try:
            yield
        except BaseException:
            self.rolled_back.append(self.open)
            raise
        else:
            self.committed.append(self.open)
        finally:
            self.open = None

    @contextmanager
    def pipeline(self):
        yield

    def execute(self, query, params=None) -> None:
        assert self.open is not None, "a statement outside a transaction"
        self.open.append(f"{query} {params}")
        if query == "fail":
            raise ValueError("refused")


def kept(*queries: str) -> list:
    statements = Statements()
    for number, query in enumerate(queries):
        statements.execute(query, (number,))
    return statements.kept


def test_batches_are_written_in_order_a_transaction_each():
    conn = Connection()
    behind = WriteBehind(conn)
    for batch in range(5):
        behind.put(kept(f"a{batch}", f"b{batch}"))
    behind.drain()
    behind.close()
    assert conn.committed == [[f"a{batch} (0,)", f"b{batch} (1,)"] for batch in range(5)]
    assert conn.rolled_back == []


def test_a_failed_batch_is_rolled_back_and_fails_the_rebuild_with_nothing_after_it_written():
    conn = Connection()
    behind = WriteBehind(conn)
    behind.put(kept("a"))
    behind.put(kept("b", "fail", "c"))
    with pytest.raises(ValueError, match="refused"):
        for batch in range(100):  # the failure is raised where a batch is handed over or the writes are awaited
            behind.put(kept(f"later{batch}"))
        behind.drain()
    behind.close()
    assert conn.committed == [["a (0,)"]]
    assert conn.rolled_back == [["b (0,)", "fail (1,)"]]


def test_only_a_projection_that_asks_for_it_is_written_behind():
    from services.activities import projections as activities
    from services.members import projections as members
    from shared.rebuild import StoreFeed
    assert StoreFeed(None, activities.project, activities.project_batch).writes_behind
    assert not StoreFeed(None, members.project, members.project_batch).writes_behind
    assert not StoreFeed(None, activities.project).writes_behind  # one event at a time: nothing to write behind
