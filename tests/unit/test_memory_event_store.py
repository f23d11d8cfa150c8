"""The event store contract against the in-memory twin the handlers' unit tests run on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.envelope import Envelope
from shared.memory import MemoryEventStore
from tests.eventstore_contract import EventStoreContract
from tests.support import new_id, sample_envelopes


class MemoryTampering:
    def __init__(self, store: MemoryEventStore) -> None:
        self.store = store

    def replace(self, stream_id: str, stream_version: int, forged: Envelope) -> None:
        self.store.tamper(stream_id, stream_version, lambda _stored: forged)

    def delete(self, stream_id: str, stream_version: int) -> None:
        self.store.tamper(stream_id, stream_version, lambda _stored: None)

    def swap_versions(self, stream_id: str, first: int, second: int) -> None:
        self.store.tamper(stream_id, first, lambda stored: replace(stored, stream_version=-second))
        self.store.tamper(stream_id, second, lambda stored: replace(stored, stream_version=first))
        self.store.tamper(stream_id, -second, lambda stored: replace(stored, stream_version=second))

    def insert(self, forged: Envelope) -> None:
        self.store.insert_unchecked(forged)


class TestMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> MemoryEventStore:
        return MemoryEventStore()

    @pytest.fixture
    def scoped(self, store):
        return store.for_tenant

    @pytest.fixture
    def tamper(self, store) -> MemoryTampering:
        return MemoryTampering(store)


def test_a_bureau_cannot_start_a_stream_in_another_bureaus_name():
    store = MemoryEventStore()
    stream = f"sample-{new_id()}"
    with pytest.raises(PermissionError):
        store.for_tenant("mine").append(stream, 0, sample_envelopes(stream, 1, 1, "theirs"), "t")
