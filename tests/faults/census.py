"""Counting, by event id, that every accepted command's events are where they belong — exactly once.

For each accepted command, its events are looked up in its service's store by the command's correlation
id. Each event must then be in the audit journal once, and applied by every consumer of its topic: a
consumer records each event id it applied in ``processed_events`` in the same transaction as its
projection, so an id there — and not parked in ``dead_letters`` — is an event whose effect is in the
projection. The views follow the journal; the Merkle tree must verify; nothing may be left behind.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from services import registry
from services.audit.tree import verify_journal
from shared import eventstore
from shared.consumer import ConsumerRunner
from shared.consumer_lag import ConsumerLag
from tests.faults.platform import PUBLISHING, SERVICES, FaultPlatform
from tests.faults.results import Count


@dataclass(frozen=True)
class Consumer:
    """A Kafka consumer of the platform: its name, the database of its projection, the services it reads."""

    name: str
    service: str
    group_id: str
    topics: tuple[str, ...]
    sources: tuple[str, ...]
    event_types: frozenset[str] | None  # the only types it applies (None: every type); the others it skips

    def wants(self, row: dict) -> bool:
        return self.event_types is None or row["event_type"] in self.event_types


def consumers_of(platform: FaultPlatform) -> list[Consumer]:
    """Every ConsumerRunner among the services' workers (as ``branchwork workers`` lists them)."""
    topic_of = {platform.settings[s].topic(): s for s in PUBLISHING}
    found = []
    for service in SERVICES:
        built = registry.SERVICES.service(service, platform.settings[service])
        for worker in built.workers:
            runner = worker.build(built)
            if isinstance(runner, ConsumerRunner):
                found.append(Consumer(worker.name, service, runner.group_id, tuple(runner.topics),
                                      tuple(topic_of[t] for t in runner.topics), runner.event_types))
    return found


class Census:
    def __init__(self, platform: FaultPlatform) -> None:
        self.platform = platform
        self.consumers = consumers_of(platform)
        self._lags = {c.name: ConsumerLag(platform.bootstrap, c.group_id, list(c.topics)) for c in self.consumers}

    def close(self) -> None:
        for lag in self._lags.values():
            lag.close()

    # ------------------------------------------------------------ where an event is

    def events_of(self, commands) -> dict[str, list[dict]]:
        """The events each command recorded, per owning service, found by correlation id."""
        wanted: dict[str, list[str]] = {}
        for command in commands:
            wanted.setdefault(command.service, []).append(command.correlation_id)
        found = {}
        for service, correlation_ids in wanted.items():
            with self.platform.owner(service) as conn:
                found[service] = conn.execute(
                    "SELECT event_id::text, event_type, tenant_id, correlation_id FROM events"
                    " WHERE correlation_id = ANY(%s)", (correlation_ids,)).fetchall()
        return found

    def journalled(self, event_ids: list[str]) -> Counter:
        with self.platform.owner("audit") as conn:
            rows = conn.execute("SELECT event_id::text FROM journal WHERE event_id = ANY(%s::uuid[])",
                                (event_ids,)).fetchall()
        return Counter(row["event_id"] for row in rows)

    def applied(self, consumer: Consumer, event_ids: list[str]) -> set[str]:
        """Ids the consumer applied: processed, and not parked as a dead letter awaiting replay."""
        with self.platform.owner(consumer.service) as conn:
            processed = conn.execute(
                "SELECT event_id::text FROM processed_events WHERE consumer = %s AND event_id = ANY(%s::uuid[])"
                " EXCEPT SELECT event_id::text FROM dead_letters WHERE consumer = %s AND replayed_at IS NULL",
                (consumer.name, event_ids, consumer.name)).fetchall()
        return {row["event_id"] for row in processed}

    # ------------------------------------------------------------ the count

    def count(self, commands, since: dict[str, int] | None = None, until: dict[str, int] | None = None) -> Count:
        """Lost: an accepted command without events, or an event missing from the journal or a projection.
        Duplicated: an event journalled more than once. Refused commands must have left nothing.

        The events checked are the accepted commands' own and, between the ``since`` and ``until`` marks,
        every other event the platform recorded meanwhile (notifications, deliveries, a transfer's next
        step, an arrears review)."""
        writes = [c for c in commands if c.write]
        accepted = [c for c in writes if c.accepted]
        result = Count(commands=len(accepted))
        found = self.events_of(writes)
        by_command = Counter(row["correlation_id"] for rows in found.values() for row in rows)
        for command in writes:
            if command.accepted and not by_command[command.correlation_id]:
                result.lost += 1
                result.problems.append(f"{command.kind} {command.correlation_id}: accepted, no event recorded")
            if not command.accepted and by_command[command.correlation_id]:
                result.problems.append(f"{command.kind} {command.correlation_id}: answered {command.status},"
                                       f" yet {by_command[command.correlation_id]} event(s) recorded")
        accepted_ids = {c.correlation_id for c in accepted}
        recorded = self.events_between(since, until) if since and until else {}
        for service in PUBLISHING:
            rows = {row["event_id"]: row for row in found.get(service, []) if row["correlation_id"] in accepted_ids}
            rows.update({row["event_id"]: row for row in recorded.get(service, [])})
            result.events += len(rows)
            self._count_events(service, list(rows.values()), result)
        return result

    def events_between(self, since: dict[str, int], until: dict[str, int]) -> dict[str, list[dict]]:
        found = {}
        for service in PUBLISHING:
            with self.platform.owner(service) as conn:
                found[service] = conn.execute(
                    "SELECT event_id::text, event_type, tenant_id, correlation_id FROM events WHERE position > %s"
                    " AND position <= %s", (since[service], until[service])).fetchall()
        return found

    def _count_events(self, service: str, rows: list[dict], result: Count) -> None:
        ids = [row["event_id"] for row in rows]
        missing: set[str] = set()
        journal = self.journalled(ids)
        for row in rows:  # the journal keeps every event that names a bureau
            if row["tenant_id"] is not None and journal[row["event_id"]] == 0:
                missing.add(row["event_id"])
                result.problems.append(f"{service} event {row['event_id']} not in the audit journal")
        result.duplicated += sum(1 for n in journal.values() if n > 1)
        for consumer in (c for c in self.consumers if service in c.sources):
            wanted = [row["event_id"] for row in rows if consumer.wants(row)]
            for event_id in set(wanted) - self.applied(consumer, wanted):
                missing.add(event_id)
                result.problems.append(f"{service} event {event_id} not applied by {consumer.name}")
        result.lost += len(missing)

    # ------------------------------------------------------------ the platform as a whole

    def stuck(self) -> list[str]:
        """What is left behind: unpublished outbox rows, consumers behind their topics, views behind the
        journal or unable to apply an entry, deliveries overdue, dead letters not replayed."""
        found = []
        for service in PUBLISHING:
            with self.platform.owner(service) as conn:
                left = conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]
            if left:
                found.append(f"{service}: {left} outbox row(s) unpublished")
        for consumer in self.consumers:
            try:
                behind = self._lags[consumer.name].behind()
            except Exception as error:  # noqa: BLE001 — a broker away is a consumer we cannot vouch for yet
                behind = f"unknown ({type(error).__name__})"
            if behind:
                found.append(f"{consumer.name}: {behind} record(s) behind")
        found += self._views_behind() + self._deliveries_overdue() + self._dead_letters()
        return found

    def _views_behind(self) -> list[str]:
        with self.platform.owner("audit") as conn:
            behind = conn.execute("SELECT h.tenant_id, h.size, coalesce(p.seq, 0) AS seq FROM journal_heads h"
                                  " LEFT JOIN views.positions p USING (tenant_id) WHERE coalesce(p.seq, 0) < h.size"
                                  ).fetchall()
            failed = conn.execute("SELECT count(*) AS n FROM views.failures").fetchone()["n"]
        return ([f"audit-views: {row['size'] - row['seq']} entries behind in {row['tenant_id']}" for row in behind]
                + ([f"audit-views: {failed} entries failed"] if failed else []))

    def _deliveries_overdue(self) -> list[str]:
        with self.platform.owner("notify") as conn:
            overdue = conn.execute("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'"
                                   " AND next_attempt_at < now() - interval '15 seconds'").fetchone()["n"]
        return [f"notify-delivery: {overdue} deliveries overdue"] if overdue else []

    def _dead_letters(self) -> list[str]:
        found = []
        for service in SERVICES:
            with self.platform.owner(service) as conn:
                parked = conn.execute("SELECT consumer, count(*) AS n FROM dead_letters WHERE replayed_at IS NULL"
                                      " GROUP BY consumer").fetchall()
            found += [f"{row['consumer']}: {row['n']} dead letter(s) not replayed" for row in parked]
        return found

    def integrity(self) -> list[str]:
        """Every store's hash chains whole (nothing half-written), and every bureau's Merkle tree verifies."""
        problems = []
        for service in PUBLISHING:
            with self.platform.owner(service) as conn:
                problems += [f"{service} store: {p.to_dict()}" for p in eventstore.verify(conn)]
        with self.platform.owner("audit") as conn:
            for head in conn.execute("SELECT tenant_id, size, tree_size FROM journal_heads").fetchall():
                if head["tree_size"] != head["size"]:
                    problems.append(f"tree of {head['tenant_id']}: {head['tree_size']} leaves, {head['size']} entries")
                problems += [f"tree of {head['tenant_id']}: {p}" for p in verify_journal(conn, head["tenant_id"])]
        return problems

    def settle(self, timeout: float = 240) -> float:
        """Wait until nothing is left behind; return how long that took."""
        started = time.monotonic()
        while (left := self.stuck()) and time.monotonic() - started < timeout:
            time.sleep(1.0)
        assert not left, f"still behind after {timeout:.0f}s: {left}"
        return time.monotonic() - started

    # ------------------------------------------------------------ recovery

    def mark(self) -> dict[str, int]:
        """The position of the last event in each store now."""
        marks = {}
        for service in PUBLISHING:
            with self.platform.owner(service) as conn:
                marks[service] = conn.execute("SELECT coalesce(max(position), 0) AS p FROM events").fetchone()["p"]
        return marks

    def recovered(self, since: dict[str, int], until: dict[str, int], timeout: float = 300) -> None:
        """Wait until every event recorded between the ``since`` and ``until`` marks is journalled and
        applied by every consumer of its topic."""
        pending = self.events_between(since, until)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._through(service, rows) for service, rows in pending.items()):
                return
            time.sleep(0.5)
        raise AssertionError(f"not recovered within {timeout:.0f}s: {self.stuck()}")

    def _through(self, service: str, rows: list[dict]) -> bool:
        journalled = self.journalled([row["event_id"] for row in rows if row["tenant_id"] is not None])
        if len(journalled) < sum(1 for row in rows if row["tenant_id"] is not None):
            return False
        for consumer in (c for c in self.consumers if service in c.sources):
            wanted = [row["event_id"] for row in rows if consumer.wants(row)]
            if len(self.applied(consumer, wanted)) < len(wanted):
                return False
        return True
