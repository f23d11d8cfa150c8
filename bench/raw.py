"""The raw limit: pgbench writing one event row and one outbox row per transaction on the stack's PostgreSQL.

The tables are the event store's own (the shared migrations, in a database of the benchmark's), the
row is the size of a registered member's event, and the clients are as many as the platform run's.
Nothing of the platform runs: this is what the server and its disk allow, the yardstick of the rest.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from bench.stack import Stack
from tests.support import IsolatedService

TRANSACTION = r"""
BEGIN;
INSERT INTO events (event_id, event_type, schema_version, stream_id, stream_version, tenant_id, branch_id,
    occurred_at, recorded_at, actor, correlation_id, causation_id, data, prev_hash, hash)
VALUES (gen_random_uuid(), 'members.MemberRegistered', 1, 'member-' || gen_random_uuid(), 1,
    '6a0c4a53-3f51-4b43-9e0e-0b2ba2d1f3c1', '0d2f6f5e-5a9b-4a53-8f34-2d5c8e0c6b11', now(), now(),
    '{"role": "bureau_admin", "user": "bench"}', gen_random_uuid()::text, gen_random_uuid()::text,
    '{"address": null, "birth_date": "1950-05-04", "branch_id": "0d2f6f5e-5a9b-4a53-8f34-2d5c8e0c6b11",
      "gender": "female", "health": "good", "joined_on": "2015-01-01",
      "member_id": "3656b4f1-1449-465d-99c2-e38bec651c0e", "mobility": "mobile", "name": "成员八-12",
      "origins": [], "party_join_date": "1975-07-01", "party_member": true,
      "pension_base": "4800.00", "phone": null, "retirement_kind": "retired", "transfer_id": null}',
    md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text));
INSERT INTO outbox (event_position, topic) VALUES (currval('events_position_seq'), 'branchwork.members.events');
COMMIT;
"""


def pgbench_rate(stack: Stack, clients: int = 8, seconds: int = 10) -> dict:
    """Transactions per second of the raw write, measured with pgbench."""
    binary = shutil.which("pgbench")
    if binary is None:
        raise RuntimeError("pgbench is missing (Debian: postgresql-client)")
    service = IsolatedService("members", [], stack.env)
    settings = service.create(topic_services=())
    try:
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "event.sql"
            script.write_text(TRANSACTION, encoding="utf-8")
            params = conninfo_to_dict(settings.owner_dsn)
            env = {"PGPASSWORD": params.get("password", ""), "PATH": "/usr/bin:/bin"}
            result = subprocess.run(
                [binary, "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), "-f", str(script),
                 "-h", params["host"], "-p", str(params["port"]), "-U", params["user"], params["dbname"]],
                env=env, capture_output=True, text=True, check=True)
    finally:
        service.drop()
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", result.stdout).group(1))
    return {"tx_per_s": round(tps, 1), "latency_ms": latency, "clients": clients, "seconds": seconds}
