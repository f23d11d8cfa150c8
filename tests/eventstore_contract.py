"""The event store contract: one suite, run against every backend (PostgreSQL and the in-memory twin).

A backend's test module subclasses ``EventStoreContract`` and provides three fixtures: ``store`` (the
store as a worker sees it, every bureau), ``scoped`` (a function: bureau → the store as that bureau's
API sees it) and ``tamper`` (a ``Tampering``: what someone with the database's superuser could do).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import pytest

from shared.envelope import Envelope
from shared.errors import ConcurrencyError
from shared.eventstore import EventStore
from tests.support import new_id, sample_envelopes

TOPIC = "branchwork.sample.events"


class Tampering(Protocol):
    def replace(self, stream_id: str, stream_version: int, forged: Envelope) -> None: ...

    def delete(self, stream_id: str, stream_version: int) -> None: ...

    def swap_versions(self, stream_id: str, first: int, second: int) -> None: ...

    def insert(self, forged: Envelope) -> None: ...


def append(store: EventStore, stream: str, expected: int, envelopes: list[Envelope]) -> list[Envelope]:
    with store.transaction():
        return store.append(stream, expected, envelopes, TOPIC)


def new_stream(store: EventStore, length: int = 4, tenant: str | None = None) -> str:
    stream = f"sample-{new_id()}"
    append(store, stream, 0, sample_envelopes(stream, 1, length, tenant or new_id()))
    return stream


def codes(problems) -> set[str]:
    return {problem.code for problem in problems}


def coded(problems) -> set[tuple[str, int | None]]:
    return {(problem.code, problem.stream_version) for problem in problems}


class EventStoreContract:
    """What every event store promises; the test names say it."""

    # --- appending and reading -----------------------------------------------------------------------------

    def test_appended_events_read_back_in_order_with_an_intact_chain(self, store):
        stream, tenant = f"sample-{new_id()}", new_id()
        append(store, stream, 0, sample_envelopes(stream, 1, 3, tenant))
        append(store, stream, 3, sample_envelopes(stream, 4, 2, tenant))
        stored = store.read_stream(stream)
        assert [e.stream_version for e in stored] == [1, 2, 3, 4, 5]
        assert stored[0].data["text"] == "学习 · ünïcode"
        assert all(e.hash == e.compute_hash() for e in stored)
        assert [e.prev_hash for e in stored[1:]] == [e.hash for e in stored[:-1]]
        assert store.stream_version(stream) == 5
        assert store.verify(stream) == []

    def test_append_returns_the_sealed_events_as_stored(self, store):
        stream = f"sample-{new_id()}"
        sealed = append(store, stream, 0, sample_envelopes(stream, 1, 2, new_id()))
        assert sealed == store.read_stream(stream)
        assert sealed[0].prev_hash == "0" * 64

    def test_a_stream_never_written_reads_empty_at_version_zero(self, store):
        stream = f"sample-{new_id()}"
        assert store.read_stream(stream) == []
        assert store.stream_version(stream) == 0

    @pytest.mark.parametrize("expected", [0, 1, 3])
    def test_an_append_at_a_stale_version_is_refused_and_writes_nothing(self, store, expected):
        stream, tenant = f"sample-{new_id()}", new_id()
        append(store, stream, 0, sample_envelopes(stream, 1, 2, tenant))
        with pytest.raises(ConcurrencyError):
            append(store, stream, expected, sample_envelopes(stream, expected + 1, 1, tenant))
        assert store.stream_version(stream) == 2
        assert len(store.read_stream(stream)) == 2

    def test_an_append_after_a_version_a_missing_stream_never_had_is_refused(self, store):
        stream = f"sample-{new_id()}"
        with pytest.raises(ConcurrencyError):
            append(store, stream, 1, sample_envelopes(stream, 2, 1, new_id()))

    def test_events_that_do_not_follow_the_stream_are_refused(self, store):
        stream, tenant = f"sample-{new_id()}", new_id()
        with pytest.raises(ValueError):
            append(store, stream, 0, sample_envelopes(stream, 2, 1, tenant))
        with pytest.raises(ValueError):
            append(store, stream, 0, sample_envelopes(f"other-{new_id()}", 1, 1, tenant))
        assert store.read_stream(stream) == []

    def test_read_all_gives_events_in_the_order_they_were_stored(self, store):
        first, second, tenant = f"sample-{new_id()}", f"sample-{new_id()}", new_id()
        start = store.read_all(0, 1_000_000)[-1][0] if store.read_all(0, 1_000_000) else 0
        append(store, first, 0, sample_envelopes(first, 1, 2, tenant))
        append(store, second, 0, sample_envelopes(second, 1, 1, tenant))
        append(store, first, 2, sample_envelopes(first, 3, 1, tenant))
        stored = store.read_all(start)
        assert [(e.stream_id, e.stream_version) for _, e in stored] == [(first, 1), (first, 2), (second, 1), (first, 3)]
        positions = [position for position, _ in stored]
        assert positions == sorted(set(positions))
        assert [e.stream_id for _, e in store.read_all(positions[1], limit=1)] == [second]

    def test_lock_streams_gives_each_version_and_zero_for_an_unwritten_stream(self, store):
        stream, unwritten = new_stream(store, length=3), f"sample-{new_id()}"
        with store.transaction():
            assert store.lock_streams([unwritten, stream]) == {stream: 3, unwritten: 0}

    # --- the outbox and transactions -------------------------------------------------------------------------

    def test_each_event_gets_one_outbox_row_for_its_topic_in_order(self, store):
        stream = f"sample-{new_id()}"
        sealed = append(store, stream, 0, sample_envelopes(stream, 1, 3, new_id()))
        queued = [(topic, envelope) for topic, envelope in store.unpublished(1_000_000) if envelope.stream_id == stream]
        assert queued == [(TOPIC, envelope) for envelope in sealed]

    def test_a_transaction_that_fails_leaves_no_event_no_outbox_row_and_no_head(self, store):
        stream, tenant = f"sample-{new_id()}", new_id()
        with pytest.raises(RuntimeError), store.transaction():
            store.append(stream, 0, sample_envelopes(stream, 1, 2, tenant), TOPIC)
            raise RuntimeError("the command failed after appending")
        assert store.read_stream(stream) == []
        assert store.stream_version(stream) == 0
        assert not [e for _, e in store.unpublished(1_000_000) if e.stream_id == stream]
        append(store, stream, 0, sample_envelopes(stream, 1, 2, tenant))
        assert store.stream_version(stream) == 2

    def test_a_savepoint_undoes_only_its_own_writes(self, store):
        kept, undone, tenant = f"sample-{new_id()}", f"sample-{new_id()}", new_id()
        with store.transaction():
            store.append(kept, 0, sample_envelopes(kept, 1, 1, tenant), TOPIC)
            with pytest.raises(ConcurrencyError), store.transaction():
                store.append(undone, 0, sample_envelopes(undone, 1, 1, tenant), TOPIC)
                store.append(kept, 0, sample_envelopes(kept, 1, 1, tenant), TOPIC)
            store.append(kept, 1, sample_envelopes(kept, 2, 1, tenant), TOPIC)
        assert store.stream_version(kept) == 2
        assert store.read_stream(undone) == []
        assert store.verify(kept) == []

    # --- bureaus ---------------------------------------------------------------------------------------------

    def test_a_bureau_sees_only_its_own_streams(self, store, scoped):
        mine, theirs = new_id(), new_id()
        my_stream, their_stream = new_stream(store, 1, mine), new_stream(store, 2, theirs)
        mine_only = scoped(mine)
        with mine_only.transaction():
            assert len(mine_only.read_stream(my_stream)) == 1
            assert mine_only.read_stream(their_stream) == []
            assert mine_only.stream_version(their_stream) == 0
            assert {e.tenant_id for _, e in mine_only.read_all(0, 1_000_000)} == {mine}
        with pytest.raises(ConcurrencyError):
            append(mine_only, their_stream, 2, sample_envelopes(their_stream, 3, 1, theirs))
        assert store.stream_version(their_stream) == 2

    # --- verification --------------------------------------------------------------------------------------

    def test_an_untouched_history_verifies_clean(self, store):
        stream = new_stream(store, length=6)
        assert store.verify(stream) == []

    def test_verify_reports_an_altered_event(self, store, tamper):
        stream = new_stream(store)
        stored = store.read_stream(stream)[1]
        tamper.replace(stream, 2, replace(stored, data={**stored.data, "n": 99}))
        assert ("hash_mismatch", 2) in coded(store.verify(stream))

    def test_verify_reports_an_altered_event_whose_hash_was_recomputed(self, store, tamper):
        stream = new_stream(store)
        stored = store.read_stream(stream)[1]
        tamper.replace(stream, 2, replace(stored, data={"n": 99}).sealed(stored.prev_hash))
        assert ("chain_broken", 3) in coded(store.verify(stream))

    def test_verify_reports_a_deleted_event_in_the_middle_and_at_the_end(self, store, tamper):
        middle, tail = new_stream(store), new_stream(store)
        tamper.delete(middle, 2)
        tamper.delete(tail, 4)
        assert {"version_gap", "chain_broken"} <= codes(store.verify(middle))
        assert "head_mismatch" in codes(store.verify(tail))

    def test_verify_reports_a_stream_whose_events_are_all_gone(self, store, tamper):
        stream = new_stream(store, length=1)
        tamper.delete(stream, 1)
        assert codes(store.verify(stream)) == {"stream_missing"}

    def test_verify_reports_reordered_events(self, store, tamper):
        stream = new_stream(store)
        tamper.swap_versions(stream, 2, 3)
        assert {"reordered", "chain_broken", "hash_mismatch"} <= codes(store.verify(stream))

    def test_verify_reports_an_inserted_event(self, store, tamper):
        stream = new_stream(store)
        last = store.read_stream(stream)[-1]
        tamper.insert(sample_envelopes(stream, 5, 1, last.tenant_id)[0].sealed(last.hash))
        assert codes(store.verify(stream)) == {"head_mismatch"}
