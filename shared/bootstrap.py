"""A service put together once: the one object its app, its workers and the operators' commands all take.

``services/<name>/bootstrap.py`` builds it (cosmicpython's composition root): the platform's settings and
the service's own, the event contracts it records, its projections and named queries, the clock, and
from them the unit of work every handler runs in. There the service also declares its workers and its
operators' commands; ``branchwork`` finds every service through one ``Registry``.
"""

from __future__ import annotations

import argparse
import importlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, UTC
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import psycopg

from shared.config import Settings
from shared.contracts import EventRegistry
from shared.metrics import GaugeQuery
from shared.rebuild import Feed, ReadModel, StoreFeed
from shared.unit_of_work import BatchProjector, CommandContext, NamedQueries, PostgresUnitOfWork, Projector

Probe = Callable[[psycopg.Connection, "Service"], Any]  # what it found: a shared.operations.Check


def utc_now() -> datetime:
    return datetime.now(UTC)


class Runnable(Protocol):
    """A worker once built: it runs until ``stop`` is set, then finishes the work in hand."""

    def run(self, stop: threading.Event) -> None: ...


@dataclass(frozen=True)
class Worker:
    """A long-running process of a service (``branchwork worker SERVICE NAME``).

    ``reads`` names the services whose topics a consumer reads: its group's lag is watched and its dead
    letters replayed by ``branchwork status|dlq``.
    """

    name: str
    build: Callable[[Service], Runnable]
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdminCommand:
    """An operator's command of one service: ``branchwork NAME SERVICE [arguments]``; returns the exit status."""

    name: str
    help: str
    run: Callable[[Service, argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] = lambda _parser: None


@dataclass(frozen=True)
class Service:
    """One service's parts. Built by its bootstrap; nothing here opens a connection.

    ``read_model`` and ``feed`` say what ``branchwork rebuild`` empties and replays; ``probes`` and
    ``gauges`` are what ``branchwork status`` and ``/metrics`` look at beyond what every service has.
    """

    name: str
    settings: Settings
    migrations: Path | None = None
    contracts: EventRegistry = field(default_factory=EventRegistry)
    own_settings: Any = None
    project: Projector | None = None
    project_batch: BatchProjector | None = None  # the projections' batch form: a command's events projected together
    queries: Callable[[psycopg.Connection], Any] | None = None
    clock: Callable[[], datetime] = utc_now
    publishes: bool = True
    workers: Sequence[Worker] = ()
    commands: Sequence[AdminCommand] = ()
    read_model: ReadModel | None = None
    feed: Callable[[], Feed] | None = None
    probes: Sequence[Probe] = ()
    gauges: Sequence[GaugeQuery] = ()

    def unit_of_work(self, conn: psycopg.Connection, context: CommandContext) -> PostgresUnitOfWork:
        """A unit of work in ``conn``'s open transaction: this service's contracts, topic, projections, queries."""
        return PostgresUnitOfWork(conn, self.contracts, self.settings.topic(), context, self.project,
                                  queries=self.queries, project_batch=self.project_batch)

    def worker(self, name: str) -> Runnable:
        """Build the worker called ``name``; LookupError names the ones there are."""
        for worker in self.workers:
            if worker.name == name:
                return worker.build(self)
        raise LookupError(f"{self.name} has no worker {name!r} (has: {', '.join(self.worker_names()) or 'none'})")

    def worker_names(self) -> list[str]:
        return [worker.name for worker in self.workers]

    def consumers(self) -> dict[str, tuple[str, ...]]:
        """Each consumer worker and the services whose topics it reads."""
        return {worker.name: worker.reads for worker in self.workers if worker.reads}

    def command(self, name: str) -> AdminCommand | None:
        return next((command for command in self.commands if command.name == name), None)

    def with_changes(self, **changes: Any) -> Service:
        """A copy with some parts replaced (tests: another clock, their own database)."""
        return replace(self, **changes)


def recording_service(name: str, settings: Settings, migrations: Path, contracts: EventRegistry,
                      projections: ModuleType, queries: ModuleType, **parts: Any) -> Service:
    """A service that records commands in an event store of its own (members, activities, notify): its
    projections (``project``, ``TABLES``) are written in every command's transaction and are what a rebuild
    replays the store into; its named queries (``HANDLERS``) are bound to every unit of work."""
    return Service(name=name, settings=settings, migrations=migrations, contracts=contracts,
                   project=projections.project, project_batch=getattr(projections, "project_batch", None),
                   queries=partial(NamedQueries, queries=queries.HANDLERS),
                   read_model=ReadModel(tables=projections.TABLES,
                                        indexes_after_fill=getattr(projections, "INDEXES_AFTER_FILL", False),
                                        keys_after_fill=getattr(projections, "KEYS_AFTER_FILL", ())),
                   feed=lambda: StoreFeed(contracts, projections.project, getattr(projections, "project_batch", None)),
                   **parts)


Bootstrap = Callable[..., Service]


class Registry:
    """The platform's services by name, in the order operators read them; each bootstrap imported on first use,
    so a process running one worker loads one service."""

    def __init__(self, bootstraps: Mapping[str, str]) -> None:
        self._modules = dict(bootstraps)

    def names(self) -> list[str]:
        return list(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def bootstrap(self, name: str) -> Bootstrap:
        if name not in self._modules:
            raise LookupError(f"no service {name!r} (services: {', '.join(self._modules)})")
        return importlib.import_module(self._modules[name]).bootstrap

    def service(self, name: str, settings: Settings | None = None) -> Service:
        """Service ``name`` as its bootstrap builds it from the environment (or from ``settings``)."""
        return self.bootstrap(name)(settings)

    def publishing(self) -> list[str]:
        return [name for name in self._modules if self.service(name).publishes]
