"""The fault tier: run by `make test-faults` (deploy/local/faults.sh), which starts a platform of its own on
a three-node Kafka cluster and stops it afterwards. Each scenario runs under a steady write load and
ends with a census; its figures go to <run>/results.json, from which docs/reliability.md's table is written.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import pytest

from tests.faults.census import Census
from tests.faults.load import Bureau, Load
from tests.faults.platform import PUBLISHING, FaultPlatform
from tests.faults.results import Count, Results
from tests.support import stack_environment

CLIENTS = 4
WARM_UP_SECONDS = 6.0
AFTERWARDS_SECONDS = 4.0


def pytest_collection_modifyitems(items):
    """A scenario runs for a minute or two on a busy machine; the first also sets up the bureaus."""
    for item in items:
        item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def platform() -> FaultPlatform:
    env = stack_environment()
    if env.get("BRANCHWORK_KAFKA_NODES") != "3" or "BRANCHWORK_KAFKA_BOOTSTRAP" not in env:
        pytest.fail("the fault tier runs on its own platform: use 'make test-faults'")
    platform = FaultPlatform(env)
    platform.wait_ready()
    topics = [platform.settings["members"].topic(service) for service in PUBLISHING]
    thin = {key: part["replicas"] for key, part in platform.describe(topics).items() if len(part["replicas"]) != 3}
    assert not thin, f"every partition on all three nodes (replication factor 3), not {thin}"
    return platform


@pytest.fixture(scope="session")
def census(platform) -> Census:
    census = Census(platform)
    yield census
    census.close()


@pytest.fixture(scope="session")
def bureaus(platform) -> list[Bureau]:
    bureaus = [Bureau(platform, index) for index in range(1, CLIENTS + 1)]
    for bureau in bureaus:
        bureau.set_up()
    return bureaus


@pytest.fixture(scope="session")
def results(platform) -> Results:
    return Results(platform.run_dir / "results.json")


class Scenario:
    """A steady load around a fault, then the census, the row of the results, and the verdict."""

    def __init__(self, platform: FaultPlatform, census: Census, bureaus: list[Bureau], results: Results) -> None:
        self.platform = platform
        self.census = census
        self.bureaus = bureaus
        self.results = results
        self.rate = float(os.environ.get("BRANCHWORK_FAULTS_RATE", "2"))
        self.load: Load | None = None
        self.started_marks: dict[str, int] = {}

    @contextmanager
    def under_load(self):
        """Start the clients and let them warm up; on leaving, let them run a little, then stop them.
        A scenario that fails half-way leaves the platform whole again for the next one."""
        self.started_marks = self.census.mark()
        self.load = Load(self.platform, self.bureaus, self.rate)
        try:
            with self.load:
                time.sleep(WARM_UP_SECONDS)
                yield self.load
                time.sleep(AFTERWARDS_SECONDS)
        except BaseException:
            self.platform.restore()
            raise

    def recovered(self, marks: dict[str, int], since: float | None = None) -> float:
        """Seconds (from ``since``, default now) until every event up to ``marks`` is journalled and applied."""
        started = time.monotonic() if since is None else since
        self.census.recovered(self.started_marks, marks)
        return time.monotonic() - started

    def finish(self, order: int, name: str, recovery_seconds: float, commands=None, note: str = "",
               whole: bool = True, marks: tuple[dict, dict] | None = None) -> Count:
        """Settle, count, record the row, and fail on anything lost, duplicated, half-written or stuck.

        A row that is one part of a scenario (``whole=False``) counts its commands and the events between its
        ``marks``: the platform was settled, and its chains and trees verified, once for the whole scenario."""
        commands = self.load.commands() if commands is None else commands
        # The mark comes before settling: what the platform records on its own meanwhile (a reminder, a
        # delivery) may be recorded after the last check for stragglers and still be on its way.
        since, until = marks or (self.started_marks, self.census.mark())
        if whole:
            self.census.settle()
        count = self.census.count(commands, since, until)
        problems = count.problems + self.client_problems(commands) + (self.census.integrity() if whole else [])
        self.results.add(order, name, count, recovery_seconds, note=note, problems=problems[:20])
        assert count.commands > 0, "the load had no command accepted"
        assert count.lost == 0 and count.duplicated == 0, count
        assert not problems, problems
        return count

    @staticmethod
    def client_problems(commands) -> list[str]:
        """What a client must never see: a 5xx other than 503, a 503 without Retry-After, no answer at all."""
        problems = [f"{c.kind}: {c.status} {c.reply}" for c in commands if c.server_error]
        problems += [f"{c.kind}: 503 without Retry-After" for c in commands if c.unavailable_without_retry_after]
        problems += [f"{c.kind}: never answered" for c in commands if c.status is None]
        return problems


@pytest.fixture
def scenario(platform, census, bureaus, results) -> Scenario:
    census.settle()  # each scenario starts from a platform with nothing left behind
    return Scenario(platform, census, bureaus, results)
