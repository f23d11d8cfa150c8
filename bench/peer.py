"""Our event store against a peer: the eventsourcing library's PostgreSQL recorder, same server, same threads.

Each of THREADS threads appends one event per transaction to a stream of its own making (a member
registered), for SECONDS: our store through ``eventstore.append`` (hash chain, stream head, outbox row,
NOTIFY), the library through ``PostgresApplicationRecorder.insert_events`` with the same envelope as
its stored state. Both in databases of their own on the stack's PostgreSQL. Our store's database has no
relay; its wake-up flag is set as an awake relay sets it under load (``shared.relay``), so appends do not
NOTIFY — as on the platform while events keep coming.
"""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench.stack import Stack
from shared import db, eventstore
from tests.support import IsolatedService, sample_envelopes

THREADS, SECONDS, ROUNDS = 8, 6, 2


def _run(threads: int, seconds: float, work) -> int:
    """Call ``work(thread_index)`` in a loop on each thread until time is up; return how many calls finished."""
    done = [0] * threads
    stop = threading.Event()

    def loop(index: int) -> None:
        while not stop.is_set():
            work(index)
            done[index] += 1

    workers = [threading.Thread(target=loop, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    stop.wait(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(done)


def ours(stack: Stack) -> float:
    service = IsolatedService("members", [], stack.env)
    settings = service.create(topic_services=())
    with db.connect(settings.owner_dsn, autocommit=True) as conn:
        conn.execute("UPDATE relay_wakeup SET listening = false")
    tenant = str(uuid.uuid4())
    conns = [db.connect(settings.owner_dsn) for _ in range(THREADS)]
    try:
        def append(index: int) -> None:
            stream = f"member-{uuid.uuid4()}"
            with conns[index].transaction():
                eventstore.append(conns[index], stream, 0, sample_envelopes(stream, 1, 1, tenant), settings.topic())

        started = time.perf_counter()
        count = _run(THREADS, SECONDS, append)
        return count / (time.perf_counter() - started)
    finally:
        for conn in conns:
            conn.close()
        service.drop()


def library(stack: Stack) -> float:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    database = f"bwbench_peer_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    params = conninfo_to_dict(stack.admin_dsn)
    datastore = PostgresDatastore(dbname=database, host=params["host"], port=params["port"], user=params["user"],
                                  password=params.get("password", ""), pool_size=THREADS)
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        tenant = str(uuid.uuid4())

        def append(_index: int) -> None:
            stream = uuid.uuid4()
            envelope = sample_envelopes(f"member-{stream}", 1, 1, tenant)[0].sealed("0" * 64)
            recorder.insert_events([StoredEvent(originator_id=stream, originator_version=1,
                                                topic="members.MemberRegistered",
                                                state=envelope.to_json().encode("utf-8"))])

        started = time.perf_counter()
        count = _run(THREADS, SECONDS, append)
        return count / (time.perf_counter() - started)
    finally:
        datastore.close()
        with psycopg.connect(stack.admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def peer_section(stack: Stack) -> dict:
    """ROUNDS rounds, the library first in one and our store first in the next, so that neither always runs on
    a warmer server or in a quieter moment of a shared machine; each side's rate is over all its rounds."""
    ours_rates, library_rates = [], []
    for index in range(ROUNDS):
        pair = (library, ours) if index % 2 == 0 else (ours, library)
        for side in pair:
            (library_rates if side is library else ours_rates).append(side(stack))
    our_rate, library_rate = sum(ours_rates) / ROUNDS, sum(library_rates) / ROUNDS
    return {"threads": THREADS, "seconds": SECONDS, "rounds": ROUNDS, "ours_per_s": round(our_rate, 1),
            "library_per_s": round(library_rate, 1), "ratio_to_library": round(our_rate / library_rate, 3),
            "rounds_per_s": {"ours": [round(r) for r in ours_rates], "library": [round(r) for r in library_rates]}}
