"""The outbox relay against a bare kafka-python producer sending the same messages (acks=all).

5,000 events are appended first; the relay then drains the outbox (reading rows, sending them, marking
them published) while the baseline only sends the same payloads.
"""

from __future__ import annotations

import threading
import time
import uuid

from kafka import KafkaProducer

from bench.stack import Stack
from shared import db, eventstore
from shared.relay import OutboxRelay
from tests.support import IsolatedService, sample_envelopes

EVENTS = 5000


def relay_section(stack: Stack) -> dict:
    service = IsolatedService("members", [], stack.env)
    settings = service.create(topic_services=("members",))
    try:
        tenant = str(uuid.uuid4())
        with db.connect(settings.owner_dsn) as conn:
            for _ in range(EVENTS // 100):
                stream = f"member-{uuid.uuid4()}"
                with conn.transaction():
                    eventstore.append(conn, stream, 0, sample_envelopes(stream, 1, 100, tenant), settings.topic())
        payloads = [e.sealed("0" * 64).to_json().encode() for e in sample_envelopes("bench", 1, EVENTS, tenant)]
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
        started = time.perf_counter()
        for payload in payloads:
            producer.send(settings.topic(), key=b"bench", value=payload)
        producer.flush()
        raw = time.perf_counter() - started
        producer.close()
        relay, stop = OutboxRelay(settings), threading.Event()
        thread = threading.Thread(target=relay.run, args=(stop,))
        started = time.perf_counter()
        thread.start()
        with db.connect(settings.owner_dsn, autocommit=True) as conn:
            while conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]:
                time.sleep(0.01)
        drained = time.perf_counter() - started
        stop.set()
        thread.join()
    finally:
        service.drop()
    return {"events": EVENTS, "producer_per_s": round(EVENTS / raw), "relay_per_s": round(EVENTS / drained),
            "ratio_to_producer": round(raw / drained, 4)}
