"""A service's bootstrap and the registry ``branchwork`` finds services through."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import pytest

from shared.bootstrap import AdminCommand, Registry, Service, Worker
from shared.config import Settings
from shared.rebuild import StoreFeed
from services.registry import SERVICES


class Counter:
    """A worker that counts its runs (a fake: it does what a worker does, to memory)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.runs = 0

    def run(self, stop: threading.Event) -> None:
        self.runs += 1


def bootstrap(settings: Settings | None = None) -> Service:
    """The bootstrap of a sample service, found by the registry like any service's."""
    return Service(name="sample", settings=settings or Settings.from_env("sample", {}), migrations=Path("."),
                   publishes=False,
                   workers=(Worker("sample-counter", Counter), Worker("sample-reader", Counter, reads=("members",))),
                   commands=(AdminCommand("retry", "apply failed entries again", lambda service, args: 0),))


REGISTRY = Registry({"sample": __name__})


def test_the_registry_builds_a_service_from_its_bootstrap_on_first_use():
    service = REGISTRY.service("sample")
    assert (service.name, service.settings.service, service.publishes) == ("sample", "sample", False)
    assert REGISTRY.names() == ["sample"] and "sample" in REGISTRY and "other" not in REGISTRY
    assert REGISTRY.publishing() == []


def test_the_registry_names_the_services_it_has_when_asked_for_another():
    with pytest.raises(LookupError, match="services: sample"):
        REGISTRY.service("other")


def test_a_worker_is_built_with_the_service_it_belongs_to():
    service = REGISTRY.service("sample")
    worker = service.worker("sample-counter")
    worker.run(threading.Event())
    assert isinstance(worker, Counter) and worker.service is service and worker.runs == 1
    assert service.worker_names() == ["sample-counter", "sample-reader"]


def test_asking_for_a_missing_worker_lists_those_there_are():
    with pytest.raises(LookupError, match="has: sample-counter, sample-reader"):
        REGISTRY.service("sample").worker("sample-nothing")


def test_consumers_are_the_workers_that_read_other_services_topics():
    assert REGISTRY.service("sample").consumers() == {"sample-reader": ("members",)}


def test_an_admin_command_is_found_by_name_and_a_missing_one_is_none():
    service = REGISTRY.service("sample")
    assert service.command("retry").run(service, None) == 0
    assert service.command("verify") is None


def test_with_changes_replaces_a_part_and_keeps_the_rest():
    service = REGISTRY.service("sample")
    changed = service.with_changes(clock=lambda: "then")
    assert changed.clock() == "then" and changed.workers == service.workers and service.clock() != "then"


@pytest.mark.parametrize("name", ["members", "activities", "notify"])
def test_a_recording_service_binds_its_own_projections_and_named_queries(name):
    """Every service that records commands is put together by one recipe: what its unit of work writes in
    the command's transaction is what a rebuild replays its store into, and its handlers' queries are its own."""
    service = SERVICES.service(name, Settings.from_env(name, {}))
    projections = importlib.import_module(f"services.{name}.projections")
    queries = importlib.import_module(f"services.{name}.queries")
    bound = service.queries(object())
    assert service.project is projections.project and service.read_model.tables == projections.TABLES
    assert {query.__name__ for query in queries.HANDLERS} <= set(vars(bound))
    assert isinstance(service.feed(), StoreFeed) and service.feed().registry is service.contracts
    assert service.migrations == Path(projections.__file__).parent / "migrations"
