"""Every event of the demo data, as the audit service journalled it, is valid against its catalogue schema.

The demo loader is idempotent (fixed Idempotency-Keys), so it is run here against the running platform:
on a stack that already holds the demo it only replays, on a fresh one (CI) it loads the demo's year.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from jsonschema import Draft202012Validator

from shared import db
from shared.cli import CATALOGUE_DIR
from shared.config import Settings
from tests.support import REPO_ROOT, wait_for

DEMO_CODES = ("zrzy", "jtys")


@pytest.fixture(scope="module")
def demo_tenants(platform, stack_env) -> list[str]:
    loaded = subprocess.run([sys.executable, str(REPO_ROOT / "deploy" / "local" / "demo.py")], env=stack_env,
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert loaded.returncode == 0, loaded.stdout[-2000:] + loaded.stderr[-2000:]
    with db.connect(Settings.from_env("members", stack_env).owner_dsn) as conn:
        tenants = [row["tenant_id"] for row in conn.execute(
            "SELECT tenant_id FROM bureaus WHERE code = ANY(%s)", (list(DEMO_CODES),))]
    assert len(tenants) == len(DEMO_CODES)
    return tenants


def stored_events(env: dict, tenants: list[str]) -> int:
    total = 0
    for service in ("members", "activities", "notify"):
        with db.connect(Settings.from_env(service, env).owner_dsn) as conn:
            total += conn.execute("SELECT count(*) AS n FROM events WHERE tenant_id = ANY(%s)",
                                  (tenants,)).fetchone()["n"]
    return total


def journalled(env: dict, tenants: list[str]) -> list[dict]:
    with db.connect(Settings.from_env("audit", env).owner_dsn) as conn:
        return conn.execute("SELECT event_type, envelope FROM journal WHERE tenant_id = ANY(%s) ORDER BY tenant_id,"
                            " seq", (tenants,)).fetchall()


def test_every_demo_event_in_the_journal_is_valid_against_its_schema(demo_tenants, stack_env):
    expected = stored_events(stack_env, demo_tenants)
    entries = wait_for(lambda: (rows := journalled(stack_env, demo_tenants)) and len(rows) >= expected and rows,
                       timeout=180, message=f"the audit journal to hold the demo's {expected} events")
    validators: dict[str, Draft202012Validator] = {}
    problems = []
    for entry in entries:
        event_type, envelope = entry["event_type"], json.loads(entry["envelope"])
        if event_type not in validators:
            schema = json.loads((CATALOGUE_DIR / f"{event_type}.json").read_text(encoding="utf-8"))
            validators[event_type] = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        validator = validators[event_type]
        problems += [f"{event_type} {envelope['event_id']}: {error.message}"
                     for error in validator.iter_errors(envelope)]
        # The schema lets a newer producer add fields; today's producers must add none the catalogue lacks.
        unknown = set(envelope["data"]) - set(validator.schema["properties"]["data"]["properties"])
        problems += [f"{event_type} {envelope['event_id']}: field {name} not in the catalogue" for name in unknown]
    assert not problems, problems[:10]
    kinds = Counter(entry["event_type"].split(".")[0] for entry in entries)
    assert set(kinds) == {"members", "activities", "notify"} and len(entries) >= expected, kinds
