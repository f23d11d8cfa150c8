"""Fakes for the handlers' unit tests: each service's named queries answered from the in-memory event store.

A fake reads the streams the handlers recorded and folds them with the service's own ``evolve``
functions, so what a query answers follows from the events, as the PostgreSQL projections do — no
rows to seed by hand, and no second copy of a projection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, UTC
from typing import Any

from contracts.rulebook.people import is_full_member
from shared.contracts import EventRegistry
from shared.envelope import Actor
from shared.memory import MemoryEventStore, MemoryUnitOfWork
from shared.unit_of_work import CommandContext


def context(tenant: str | None, *, at: datetime | None = None, user: str = "admin-1",
            role: str = "bureau_admin") -> CommandContext:
    return CommandContext(Actor(user, role), tenant, "correlation-1", "request-1",
                          at or datetime(2026, 11, 20, 2, tzinfo=UTC))


class StreamStates:
    """The current state of every stream of a kind, folded from the store as a bureau (or a worker) sees it."""

    def __init__(self, store: MemoryEventStore, registry: EventRegistry) -> None:
        self.store = store
        self.registry = registry

    def of(self, prefix: str, evolve: Callable[[Any, Any], Any]) -> dict[str, tuple[Any, str | None]]:
        """stream id → (state, bureau) for every stream named ``prefix…``."""
        folded: dict[str, tuple[Any, str | None]] = {}
        for _, envelope in self.store.read_all(0, 1_000_000):
            if envelope.stream_id.startswith(prefix):
                event = self.registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data)
                state, _ = folded.get(envelope.stream_id, (None, None))
                folded[envelope.stream_id] = (evolve(state, event), envelope.tenant_id)
        return folded


# --- members --------------------------------------------------------------------------------------------------

class MembersQueries:
    """The members service's named queries (``services.members.queries.HANDLERS``) over the memory store."""

    def __init__(self, store: MemoryEventStore) -> None:
        from services.members.events import registry
        self.bureau_view = StreamStates(store, registry)
        self.platform_view = StreamStates(store.for_tenant(None), registry)

    def _members(self, view: StreamStates | None = None) -> list[tuple[Any, str]]:
        from services.members.domain.member import evolve_member
        return list((view or self.bureau_view).of("member-", evolve_member).values())

    def _incoming(self, view: StreamStates | None = None) -> list[tuple[Any, str]]:
        from services.members.domain.transfer import evolve_incoming
        return list((view or self.bureau_view).of("incoming-transfer-", evolve_incoming).values())

    def _transfer_rows(self, view: StreamStates | None = None) -> list[dict]:
        rows = [{"transfer_id": m.transfer.transfer_id, "tenant_id": tenant, "member_id": m.member_id,
                 "direction": "within" if m.transfer.to_tenant_id == tenant else "out",
                 "to_branch_id": m.transfer.to_branch_id, "status": m.transfer.status}
                for m, tenant in self._members(view) if m.transfer]
        return rows + [{"transfer_id": i.transfer_id, "tenant_id": tenant, "member_id": None, "direction": "in",
                        "to_branch_id": i.to_branch_id, "status": i.status, "member": i.member}
                       for i, tenant in self._incoming(view)]

    def roster(self, branch_id: str, on: date) -> list[dict]:
        return [_member_row(m, tenant) for m, tenant in self._members()
                if any(s.branch_id == branch_id and s.starts_on <= on and (s.ends_on is None or s.ends_on > on)
                       for s in m.stays)]

    def current_members(self, branch_id: str, lock: bool = False) -> list[dict]:
        return sorted(({"member_id": m.member_id} for m, _ in self._members()
                       if m.stays and m.stays[-1].branch_id == branch_id and m.stays[-1].ends_on is None),
                      key=lambda row: row["member_id"])

    def full_member_ids(self, branch_id: str, on: date) -> frozenset[str]:
        return frozenset(row["member_id"] for row in self.roster(branch_id, on)
                         if is_full_member(row["party_member"], row["party_join_date"], on))

    def same_person(self, name: str, birth_date: date) -> dict | None:
        for m, _ in self._members():
            if m.active and m.profile["name"] == name and m.profile["birth_date"] == birth_date:
                return {"member_id": m.member_id}
        for i, _ in self._incoming():
            if i.status == "issued" and i.member["name"] == name and i.member["birth_date"] == birth_date.isoformat():
                return {"transfer_id": i.transfer_id}
        return None

    def transfer(self, transfer_id: str, tenant_id: str | None = None) -> dict | None:
        rows = [row for row in self._transfer_rows() if row["transfer_id"] == transfer_id
                and tenant_id in (None, row["tenant_id"])]
        return sorted(rows, key=lambda row: row["direction"] == "in")[0] if rows else None

    def returning_member(self, tenant_id: str, origins: list[dict]) -> str | None:
        ids = {o["member_id"] for o in origins if o.get("tenant_id") == tenant_id}
        return next((m.member_id for m, _ in self._members() if m.member_id in ids
                     and m.status == "transferred_out"), None)

    def active_member_ids(self, branch_id: str | None = None) -> list[dict]:
        return sorted(({"tenant_id": tenant, "member_id": m.member_id} for m, tenant in self._members()
                       if m.active and branch_id in (None, m.branch_id)),
                      key=lambda row: (row["tenant_id"], row["member_id"]))

    def bureau_by_code(self, code: str) -> dict | None:
        from services.members.domain.bureau import evolve_bureau
        bureaus = self.platform_view.of("bureau-", evolve_bureau).values()
        return next(({"bureau_id": b.bureau_id, "name": b.name, "code": b.code} for b, _ in bureaus
                     if b and b.code == code), None)

    def open_branch(self, tenant_id: str, branch_id: str) -> bool:
        from services.members.domain.branch import evolve_branch
        branches = self.platform_view.of(f"branch-{branch_id}", evolve_branch).values()
        return any(b.closed_on is None and tenant == tenant_id for b, tenant in branches)

    def member_of(self, tenant_id: str, member_id: str) -> dict | None:
        return next((_member_row(m, tenant) for m, tenant in self._members(self.platform_view)
                     if m.member_id == member_id and tenant == tenant_id), None)

    def sender(self, transfer_id: str) -> dict | None:
        return next(({"tenant_id": row["tenant_id"], "member_id": row["member_id"]}
                     for row in self._transfer_rows(self.platform_view)
                     if row["transfer_id"] == transfer_id and row["direction"] == "out"), None)

    def receiving_bureau(self, transfer_id: str) -> str | None:
        return next((row["tenant_id"] for row in self._transfer_rows(self.platform_view)
                     if row["transfer_id"] == transfer_id and row["direction"] == "in"), None)


def _member_row(member, tenant: str) -> dict:
    """The columns of the ``members`` table the handlers and the saga read."""
    return {**member.profile, "tenant_id": tenant, "member_id": member.member_id, "branch_id": member.branch_id,
            "party_member": member.party_member, "health": member.health, "mobility": member.mobility,
            "status": member.status, "origins": member.profile.get("origins") or []}


def members_unit_of_work(store: MemoryEventStore, tenant: str | None | CommandContext,
                         **context_options) -> MemoryUnitOfWork:
    """A members unit of work on ``store``, as ``tenant``'s API (or, with None, a worker) runs it; or in a
    given context (the saga's)."""
    from services.members.events import registry
    given = tenant if isinstance(tenant, CommandContext) else context(tenant, **context_options)
    return MemoryUnitOfWork(registry, given, store=store, queries=MembersQueries(store.for_tenant(given.tenant_id)))


# --- notify ---------------------------------------------------------------------------------------------------

class NotifyQueries:
    """The notify service's named queries (``services.notify.queries.HANDLERS``) over the memory store: a
    notification as its events tell it, and the webhook secrets kept beside them."""

    def __init__(self, store: MemoryEventStore, secrets: dict | None = None) -> None:
        from services.notify.events import registry
        self.store, self.registry = store, registry
        self.secrets = {} if secrets is None else secrets

    def _events(self, notification_id: str | None = None) -> list:
        prefix = f"notification-{notification_id or ''}"
        return [(envelope, self.registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data))
                for _, envelope in self.store.read_all(0, 1_000_000) if envelope.stream_id.startswith(prefix)]

    def notification(self, notification_id: str) -> dict | None:
        events = self._events(notification_id)
        if not events:
            return None
        scheduled = events[0][1]
        read = [event for _, event in events if type(event).__name__ == "NotificationRead"]
        return {"notification_id": notification_id, "branch_id": scheduled.branch_id,
                "dedupe_key": scheduled.dedupe_key, "deliveries": scheduled.deliveries,
                "read_at": read[0].read_at if read else None}

    def failed_deliveries(self, notification_id: str) -> list[str]:
        """Deliveries whose last outcome is a failure for good (a retry makes them pending again)."""
        last: dict[str, str] = {}
        for _, event in self._events(notification_id):
            kind = type(event).__name__
            if kind == "DeliveryRetried":
                last.update(dict.fromkeys(event.delivery_ids, kind))
            elif hasattr(event, "delivery_id"):
                last[event.delivery_id] = kind
        return sorted(d for d, kind in last.items() if kind == "DeliveryFailed")

    def inbox_notification(self, notification_id: str, audiences: list[str]) -> dict | None:
        found = self.notification(notification_id)
        if found and any(d["channel"] == "inbox" and d["audience"] in audiences for d in found["deliveries"]):
            return found
        return None

    def notified(self, tenant_id: str, dedupe_key: str) -> bool:
        return any(envelope.tenant_id == tenant_id and getattr(event, "dedupe_key", None) == dedupe_key
                   for envelope, event in self._events())

    def keep_webhook_secret(self, tenant_id: str, webhook_id: str, secret: str, url: str) -> None:
        self.secrets[webhook_id] = {"tenant_id": tenant_id, "secret": secret, "url": url}

    def forget_webhook_secret(self, webhook_id: str) -> None:
        self.secrets.pop(webhook_id, None)


def notify_unit_of_work(store: MemoryEventStore, tenant: str | None, secrets: dict | None = None,
                        **context_options) -> MemoryUnitOfWork:
    from services.notify.events import registry
    return MemoryUnitOfWork(registry, context(tenant, **context_options), store=store,
                            queries=NotifyQueries(store.for_tenant(tenant), secrets))


# --- activities -------------------------------------------------------------------------------------------------

class ActivitiesQueries:
    """The activities service's named queries (``services.activities.queries.HANDLERS``): the roster and the rules
    as the members service's events made them (given, as the ``sources`` consumer would have built them), the
    rest folded from the activities events in the memory store."""

    def __init__(self, store: MemoryEventStore, roster, rules, pledges: dict | None = None) -> None:
        from services.activities.events import registry
        self.store, self.registry, self.roster, self.rules = store, registry, roster, rules
        self.kept_pledges = {} if pledges is None else pledges

    def _events(self, kind: str) -> list:
        return [self.registry.deserialise(e.event_type, e.schema_version, e.data)
                for _, e in self.store.read_all(0, 1_000_000) if e.event_type == f"activities.{kind}"]

    def load_roster(self, member_ids=(), branch_id: str | None = None):
        return self.roster

    def load_rules(self, bureau_id: str):
        return self.rules

    def load_circumstances(self, bureau_id: str, member_ids=(), branch_id: str | None = None):
        return self.load_roster(member_ids, branch_id), self.load_rules(bureau_id), self.closed_periods()

    def closed_periods(self) -> tuple:
        from contracts.rulebook.calendar import parse_period
        return tuple(parse_period(event.period) for event in self._events("PeriodClosed"))

    def period_is_closed(self, period: str) -> bool:
        return any(event.period == period for event in self._events("PeriodClosed"))

    def has_newspaper(self, member_id: str, year: int) -> bool:
        withdrawn = {event.care_id for event in self._events("CareWithdrawn")}
        return any(event.kind == "newspaper" and event.member_id == member_id and event.year == year
                   and event.care_id not in withdrawn for event in self._events("CareRecorded"))

    def keep_pledge(self, tenant_id: str, signed, statement: str, document_ref: str | None, recorded_at) -> None:
        self.kept_pledges[signed.pledge_id] = {
            "pledge_id": signed.pledge_id, "branch_id": signed.branch_id, "member_id": signed.member_id,
            "kind": signed.kind, "signed_on": signed.signed_on, "statement": statement, "document_ref": document_ref}

    def pledges(self, pledge_ids: list[str] | None, branch_id: str | None) -> list[dict]:
        return [dict(row) for row in self.kept_pledges.values()
                if (pledge_ids is None or row["pledge_id"] in pledge_ids) and branch_id in (None, row["branch_id"])]


def activities_unit_of_work(store: MemoryEventStore, tenant: str | None, roster, rules, pledges: dict | None = None,
                            **context_options) -> MemoryUnitOfWork:
    from services.activities.events import registry
    return MemoryUnitOfWork(registry, context(tenant, **context_options), store=store,
                            queries=ActivitiesQueries(store.for_tenant(tenant), roster, rules, pledges))


class MemoryHeadLedger:
    """The audit's ``HeadLedger`` in memory: a journal of leaves with its index rows, and the kept heads and
    cosignatures, with the PostgreSQL ledger's semantics (newest head of a size first, one cosignature a witness
    a head)."""

    def __init__(self, tenant_id: str, leaves: list[bytes], index: list[tuple[str, str, int]]) -> None:
        from shared.merkle import MemoryTree
        self.tenant_id, self.tree, self.index = tenant_id, MemoryTree(leaves), index
        self.heads: list[dict] = []
        self.cosignatures: dict[int, list[dict]] = {}

    def size(self) -> int:
        return self.tree.size

    def root(self, size: int) -> bytes:
        return self.tree.root(size)

    def index_rows(self, size: int) -> list[tuple[str, str, int]]:
        assert size == self.tree.size, "the twin knows the index of its current size only"
        return sorted(self.index)

    def heads_of_size(self, size: int) -> list[dict]:
        return [head for head in reversed(self.heads) if head["tree_size"] == size and head["checkpoint"]]

    def keep_head(self, head: dict, moment: datetime) -> int:
        self.heads.append({**head, "id": len(self.heads) + 1, "signed_at": moment})
        return len(self.heads)

    def keep_cosignature(self, head_id: int, witness_key: str, line: str, cosigned_at: datetime) -> bool:
        kept = self.cosignatures.setdefault(head_id, [])
        if any(c["witness_key"] == witness_key for c in kept):
            return False
        kept.append({"witness_key": witness_key, "signature": line, "cosigned_at": cosigned_at})
        return True

    def cosignatures_of(self, head_id: int) -> list[dict]:
        return list(self.cosignatures.get(head_id, []))
