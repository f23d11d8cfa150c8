"""Benchmarks of the event-sourcing core, each reported as a ratio to a raw baseline measured in the same run.

  event store append   vs  a plain INSERT of the same payload, one transaction per command
  outbox relay         vs  a bare kafka-python producer sending the same messages
  consumer (journal)   vs  a plain INSERT per event in one transaction per batch
  stream verification  vs  fetching every stored row and hashing it, with nothing else around it

Ratios near 1 mean the platform adds little to the raw work; the absolute rates are printed too.
Runs against the real stack (make bench starts it) in a database and topics of its own.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
import uuid
from pathlib import Path

from kafka import KafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.audit import journal  # noqa: E402
from services.audit.app import MIGRATIONS as AUDIT_MIGRATIONS  # noqa: E402
from shared import db, eventstore  # noqa: E402
from shared.consumer import ConsumerRunner, Delivery  # noqa: E402
from shared.relay import OutboxRelay  # noqa: E402
from tests.support import IsolatedService, sample_envelopes, stack_environment  # noqa: E402

COMMANDS = 2000
EVENTS = 5000


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bench_append(settings) -> tuple[float, float]:
    tenant = str(uuid.uuid4())
    streams = [f"bench-{uuid.uuid4()}" for _ in range(COMMANDS)]
    envelopes = [sample_envelopes(stream, 1, 1, tenant)[0] for stream in streams]
    with db.connect(settings.owner_dsn) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS raw_rows (id bigserial PRIMARY KEY, body jsonb NOT NULL)")

        def raw():
            for envelope in envelopes:
                with conn.transaction():
                    conn.execute("INSERT INTO raw_rows (body) VALUES (%s::jsonb)", (envelope.to_json(),))

        def store():
            for stream, envelope in zip(streams, envelopes):
                with conn.transaction():
                    eventstore.append(conn, stream, 0, [envelope], settings.topic())
        return timed(raw), timed(store)


def bench_relay(settings) -> tuple[float, float]:
    payloads = [e.sealed("0" * 64).to_json().encode() for e in sample_envelopes("bench", 1, EVENTS, "t")]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)

    def raw():
        for payload in payloads:
            producer.send(settings.topic("activities"), key=b"bench", value=payload)
        producer.flush()

    raw_time = timed(raw)
    producer.close()
    with db.connect(settings.owner_dsn) as conn:
        pending = conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]
    relay, stop = OutboxRelay(settings), threading.Event()

    def drain():
        thread = threading.Thread(target=relay.run, args=(stop,))
        thread.start()
        with db.connect(settings.owner_dsn, autocommit=True) as conn:
            while conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]:
                time.sleep(0.02)
        stop.set()
        thread.join()

    return raw_time / EVENTS, timed(drain) / max(pending, 1)


def bench_consumer(audit_settings) -> tuple[float, float]:
    tenant = str(uuid.uuid4())
    batch = [Delivery("t", 0, i, e.sealed("0" * 64).to_json().encode())
             for i, e in enumerate(sample_envelopes(f"bench-{uuid.uuid4()}", 1, EVENTS, tenant))]
    runner = ConsumerRunner(audit_settings, "bench-journal", ["t"], journal.append)
    with db.connect(audit_settings.owner_dsn) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS raw_rows (id bigserial PRIMARY KEY, body text NOT NULL)")
        conn.commit()

        def raw():
            with conn.transaction():
                for record in batch:
                    conn.execute("INSERT INTO raw_rows (body) VALUES (%s)", (record.value.decode(),))

        def projected():
            for start in range(0, len(batch), 500):
                runner.process(conn, batch[start:start + 500])
        return timed(raw), timed(projected)


def bench_verify(settings) -> tuple[float, float]:
    """Baseline: fetch every stored row and hash its data; verify also rebuilds envelopes and walks chains."""
    with db.connect(settings.owner_dsn) as conn:
        def raw():
            for row in conn.execute("SELECT data::text AS body FROM events"):
                hashlib.sha256(b"0" * 64 + row["body"].encode()).hexdigest()
        return timed(raw), timed(lambda: eventstore.verify(conn))


def main() -> None:
    env = stack_environment()
    members = IsolatedService("members", [], env)
    audit = IsolatedService("audit", [AUDIT_MIGRATIONS], env)
    settings, audit_settings = members.create(), audit.create()
    try:
        results = {
            "event store append (per command)": bench_append(settings),
            "outbox relay (per event)": bench_relay(settings),
            "consumer into journal (per batch of 5000)": bench_consumer(audit_settings),
            "verify every chain": bench_verify(settings),
        }
    finally:
        members.drop()
        audit.drop()
    report(results)


def report(results: dict) -> None:
    print(f"{'benchmark':45} {'baseline s':>11} {'platform s':>11} {'ratio':>7}")
    for name, (baseline, platform) in results.items():
        print(f"{name:45} {baseline:11.4f} {platform:11.4f} {platform / baseline:7.2f}")
    out = Path(__file__).resolve().parent.parent / ".run" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({k: {"baseline_s": b, "platform_s": p, "ratio": p / b}
                               for k, (b, p) in results.items()}, indent=2))


if __name__ == "__main__":
    main()
