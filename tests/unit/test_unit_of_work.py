"""The unit of work over the in-memory store: what handlers' unit tests rely on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, UTC

import pytest

from shared.contracts import EventRegistry
from shared.envelope import Actor
from shared.errors import ConcurrencyError
from shared.memory import MemoryEventStore, MemoryUnitOfWork
from shared.unit_of_work import CommandContext

registry = EventRegistry()


@registry.event("sample.Counted")
@dataclass(frozen=True)
class Counted:
    by: int


def total(state: int, event: Counted) -> int:
    return state + event.by


NOW = datetime(2024, 5, 6, 7, 8, tzinfo=UTC)


def unit_of_work(tenant: str | None = "bureau-1", **options) -> MemoryUnitOfWork:
    context = CommandContext(Actor("secretary-1", "secretary"), tenant, "correlation-1", "request-1", NOW)
    return MemoryUnitOfWork(registry, context, **options)


def test_recorded_events_load_back_through_evolve_with_the_stream_version():
    uow = unit_of_work()
    uow.record("count-1", 0, [Counted(2), Counted(3)], branch_id="branch-1")
    assert uow.load("count-1", total, 0) == (5, 2)
    assert uow.load("count-2", total, 0) == (0, 0)


def test_envelopes_carry_the_context_and_the_events_contract():
    uow = unit_of_work()
    [envelope] = uow.record("count-1", 0, [Counted(1)], branch_id="branch-1")
    assert (envelope.event_type, envelope.schema_version, envelope.data) == ("sample.Counted", 1, {"by": 1})
    assert (envelope.tenant_id, envelope.branch_id, envelope.recorded_at, envelope.occurred_at) == (
        "bureau-1", "branch-1", NOW, NOW)
    assert (envelope.actor, envelope.correlation_id, envelope.causation_id) == (
        Actor("secretary-1", "secretary"), "correlation-1", "request-1")
    assert uow.recorded == [envelope]
    assert uow.store.unpublished() == [("memory.events", envelope)]


def test_a_stale_version_is_a_concurrency_error():
    uow = unit_of_work()
    uow.record("count-1", 0, [Counted(1)])
    with pytest.raises(ConcurrencyError):
        uow.record("count-1", 0, [Counted(1)])


def test_the_projection_sees_each_recorded_event():
    seen = []
    uow = unit_of_work(project=lambda envelope, event: seen.append((envelope.stream_version, event)))
    uow.record("count-1", 0, [Counted(1), Counted(2)])
    assert seen == [(1, Counted(1)), (2, Counted(2))]


def test_a_savepoint_undoes_its_events_and_the_work_goes_on():
    uow = unit_of_work()
    with pytest.raises(ConcurrencyError), uow.savepoint():
        uow.record("count-2", 0, [Counted(5)])
        uow.record("count-2", 0, [Counted(5)])
    uow.record("count-1", 0, [Counted(1)])
    assert uow.load("count-2", total, 0) == (0, 0)
    assert uow.lock(["count-1", "count-2"]) == {"count-1": 1, "count-2": 0}


def test_a_bureau_does_not_see_another_bureaus_streams_on_the_same_store():
    store = MemoryEventStore()
    unit_of_work("bureau-1", store=store).record("count-1", 0, [Counted(1)])
    assert unit_of_work("bureau-2", store=store).load("count-1", total, 0) == (0, 0)
    assert unit_of_work(None, store=store).load("count-1", total, 0) == (1, 1)


def test_as_of_keeps_the_store_and_changes_the_context():
    uow = unit_of_work()
    uow.record("count-1", 0, [Counted(1)])
    later = uow.as_of(recorded_at=datetime(2025, 1, 1, tzinfo=UTC))
    [envelope] = later.record("count-1", 1, [Counted(1)])
    assert envelope.recorded_at.year == 2025
    assert later.load("count-1", total, 0) == (2, 2)
