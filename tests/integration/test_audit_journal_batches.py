"""The journal takes a consumer's whole batch at once: the entries, back-links and Merkle tree it leaves are
those of the same events appended one by one — for several bureaus in one batch, with duplicates, after a
tree left behind."""

from __future__ import annotations

import random

import psycopg
from psycopg.conninfo import make_conninfo

from services.audit import journal
from services.audit.tree import JournalTree, verify_journal
from shared import db, merkle
from tests.support import chained_events, new_id

ENTRY = "seq, event_id, envelope, entry_format, branch_prev_seq, stream_prev_seq"


def _plan(rng: random.Random, branches: list[str], length: int) -> list[tuple[str, str | None]]:
    return [(f"s{rng.randrange(6)}", rng.choice(branches)) for _ in range(length)]


def _state(conn, tenant: str) -> tuple:
    entries = conn.execute(f"SELECT {ENTRY} FROM journal WHERE tenant_id = %s ORDER BY seq", (tenant,)).fetchall()
    keys = conn.execute("SELECT kind, key, last_seq FROM journal_keys WHERE tenant_id = %s ORDER BY kind, key",
                        (tenant,)).fetchall()
    head = conn.execute("SELECT size, tree_size FROM journal_heads WHERE tenant_id = %s", (tenant,)).fetchone()
    nodes = conn.execute("SELECT level, idx, hash FROM journal_nodes WHERE tenant_id = %s ORDER BY level, idx",
                         (tenant,)).fetchall()
    return ([(r["seq"], str(r["event_id"]), r["branch_prev_seq"], r["stream_prev_seq"]) for r in entries],
            [tuple(k.values()) for k in keys], head, [(n["level"], n["idx"], bytes(n["hash"])) for n in nodes])


def test_a_batch_of_several_bureaus_leaves_what_appending_one_by_one_leaves(audit_settings):
    rng = random.Random(12)
    one, other = new_id(), new_id()
    branches = [new_id(), new_id(), None]
    events = {tenant: chained_events(tenant, _plan(rng, branches, 45)) for tenant in (one, other)}
    arrivals = [e for pair in zip(events[one], events[other]) for e in pair]
    twin = {tenant: new_id() for tenant in (one, other)}  # the same plans, one by one, under other tenant ids
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for tenant in (one, other):
                for envelope in chained_events(twin[tenant], [(e.stream_id, e.branch_id) for e in events[tenant]]):
                    journal.append(conn, envelope)
        with conn.transaction():
            journal.append_batch(conn, arrivals[:30] + arrivals[5:12])  # a redelivered stretch inside the batch
        with conn.transaction():
            journal.append_batch(conn, arrivals[20:])
        for tenant in (one, other):
            batched, single = _state(conn, tenant), _state(conn, twin[tenant])
            assert [link[2:] for link in batched[0]] == [link[2:] for link in single[0]]
            assert [e[1] for e in batched[0]] == [e.event_id for e in events[tenant]]
            assert batched[2] == {"size": 45, "tree_size": 45}
            assert verify_journal(conn, tenant) == []
            leaves = [journal_leaf(conn, tenant, seq) for seq in range(1, 46)]
            assert JournalTree(conn, tenant).root(45) == merkle.reference_root(leaves)


def test_a_batch_after_a_tree_left_behind_grows_it_first(audit_settings):
    tenant, branch = new_id(), new_id()
    events = chained_events(tenant, [("s1", branch), ("s2", branch), ("s1", branch), ("s3", None), ("s2", branch)])
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            journal.append_batch(conn, events[:2])
    admin_dsn = make_conninfo(audit_settings.admin_dsn, dbname=audit_settings.database)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:  # as if journalled before the tree existed
        admin.execute("SET session_replication_role = replica")  # only a superuser can skip the triggers
        admin.execute("DELETE FROM journal_nodes WHERE tenant_id = %s", (tenant,))
        admin.execute("UPDATE journal_heads SET tree_size = 0 WHERE tenant_id = %s", (tenant,))
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            journal.append_batch(conn, events[2:])
        assert _state(conn, tenant)[2] == {"size": 5, "tree_size": 5}
        assert verify_journal(conn, tenant) == []


def test_a_batch_of_events_journalled_already_gives_their_numbers_back_in_pipeline_mode(audit_settings):
    one, other = new_id(), new_id()
    first = {tenant: chained_events(tenant, [("s1", None), ("s2", None), ("s1", None)]) for tenant in (one, other)}
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction(), conn.pipeline():
            journal.append_batch(conn, first[one] + first[other][:2])
        before = {tenant: _state(conn, tenant) for tenant in (one, other)}
        with conn.transaction(), conn.pipeline():
            assert journal.append_batch(conn, first[one][1:] + first[other][:1]) == {}
        assert {tenant: _state(conn, tenant) for tenant in (one, other)} == before
        with conn.transaction(), conn.pipeline():  # one bureau's events all known, the other's one new
            added = journal.append_batch(conn, first[one] + first[other])
        assert list(added) == [other] and added[other][0] == 3
        assert _state(conn, one) == before[one]
        assert _state(conn, other)[2] == {"size": 3, "tree_size": 3} and verify_journal(conn, other) == []


def test_a_batch_waits_for_the_server_once_before_its_writes(audit_settings, round_trips):
    """In the consumer's pipeline, what is journalled already, the numbers, the chains' ends and the trees' edges
    come back in one round trip; the writes then go out without waiting (each wait is a busy server's turn)."""
    tenant = new_id()
    events = chained_events(tenant, [("s1", None), ("s2", new_id()), ("s1", None)])
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction(), conn.pipeline():
            round_trips.clear()
            journal.append_batch(conn, events, notify=False)
            assert len(round_trips) == 1
        assert _state(conn, tenant)[2] == {"size": 3, "tree_size": 3} and verify_journal(conn, tenant) == []


def journal_leaf(conn, tenant: str, seq: int) -> bytes:
    from services.audit.tree import leaf_data
    row = conn.execute(f"SELECT {ENTRY} FROM journal WHERE tenant_id = %s AND seq = %s", (tenant, seq)).fetchone()
    return leaf_data(row)
