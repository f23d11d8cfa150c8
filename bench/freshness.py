"""Freshness: how long a recorded fact takes to reach the auditors, hop by hop, while others write.

While ``WRITERS`` clients run the usual mix, a probe registers a member in a branch of its own and
times each hop of that one event:

  commit   the command's HTTP round trip (its transaction committed when the answer comes)
  relay    answer → the relay's send (the Kafka record's create time)
  kafka    send → a plain consumer of the topic has the record (broker, acks, fetch)
  journal  → the audit journal's row is committed (the journal consumer's poll and batch)
  views    → the audit views hold the member (the views worker following the journal)
  read     an audit API read that shows the member (the roster view over HTTP)

Journal and views are watched with a 2 ms poll on their tables; the sum of the hops is the time
from sending the command to an auditor's read showing it.
"""

from __future__ import annotations

import threading
import time

import psycopg
from kafka import KafkaConsumer, TopicPartition

from bench.load import Branch, run_mix, set_up_branches
from bench.stack import Stack
from bench.throughput import percentile

WRITERS = 4
HOPS = ("commit", "relay", "kafka", "journal", "views", "read")


class TopicWatch:
    """Notes when each record of a topic was created and when a plain consumer received it, by key."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                      fetch_max_wait_ms=100)
        partitions = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic))]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end(*partitions)
        for partition in partitions:
            self.consumer.position(partition)
        self.seen: dict[bytes, tuple[float, float]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for records in self.consumer.poll(timeout_ms=50).values():
                received = time.time()
                for record in records:
                    self.seen.setdefault(record.key, (record.timestamp / 1000, received))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.consumer.close()


def _first_seen(conn: psycopg.Connection, query: str, params: tuple, deadline: float) -> float | None:
    while time.monotonic() < deadline:
        if conn.execute(query, params).fetchone():
            return time.time()
        time.sleep(0.002)
    return None


def probe_once(probe: Branch, watch: TopicWatch, conn: psycopg.Connection, timeout: float = 30.0) -> dict | None:
    """One command followed to an auditor's read; the seconds each hop took (None if it never arrived)."""
    sent = time.time()
    member_id = probe.register_member()["id"]
    answered = time.time()
    deadline = time.monotonic() + timeout
    journalled = _first_seen(conn, "SELECT 1 FROM journal WHERE tenant_id = %s AND stream_id = %s",
                             (probe.bureau_id, f"member-{member_id}"), deadline)
    in_views = journalled and _first_seen(conn, "SELECT 1 FROM views.members WHERE tenant_id = %s AND member_id = %s",
                                          (probe.bureau_id, member_id), deadline)
    if not in_views:
        return None
    read_started = time.time()
    status, reply = probe.http.request("GET", "audit", f"/branches/{probe.branch_id}/roster",
                                       probe.token("auditor", probe.bureau_id))
    read = time.time()
    if status != 200 or member_id not in {m.get("member_id") for m in reply.get("members", [])}:
        return None
    created, received = watch.seen.get(f"member-{member_id}".encode(), (None, None))
    if created is None:
        return None
    return {"commit": answered - sent, "relay": max(created - answered, 0.0), "kafka": max(received - created, 0.0),
            "journal": max(journalled - max(received, answered), 0.0), "views": in_views - journalled,
            "read": read - read_started, "total": read - sent}


def freshness(stack: Stack, samples: int = 120) -> dict:
    writers = set_up_branches(stack, WRITERS, "fresh")
    [probe] = set_up_branches(stack, 1, "probe")
    watch = TopicWatch(stack.bootstrap, stack.settings["members"].topic())
    stop = threading.Event()
    load = threading.Thread(target=run_mix, args=(writers, 3600.0, stop))
    results, missing = [], 0
    load.start()
    try:
        with psycopg.connect(stack.settings["audit"].owner_dsn, autocommit=True) as conn:
            time.sleep(1.0)  # let the writers get going
            while len(results) < samples and missing < samples // 4:
                sample = probe_once(probe, watch, conn)
                if sample is None:
                    missing += 1
                else:
                    results.append(sample)
                time.sleep(0.02)
    finally:
        stop.set()
        load.join()
        watch.close()
        for branch in (*writers, probe):
            branch.http.close()
    return summarise(results, missing)


def summarise(results: list[dict], missing: int) -> dict:
    def stats(values: list[float]) -> dict:
        return {name: round(percentile(values, share) * 1000, 1)
                for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}

    totals = [r["total"] for r in results]
    journal_visible = [r["commit"] + r["relay"] + r["kafka"] + r["journal"] for r in results]
    return {"writers": WRITERS, "samples": len(results), "missing": missing,
            "to_journal_ms": stats(journal_visible), "to_views_read_ms": stats(totals),
            "hops_ms": {hop: stats([r[hop] for r in results]) for hop in HOPS}}
