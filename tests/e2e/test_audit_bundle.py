"""A branch's quarter recorded over HTTP on the running platform, its audit bundle downloaded with the bureau's
key list, cosigned by a witness, and checked by ``branchwork verify`` in a clean directory — a separate process
with no database or broker settings at all, as an auditor would run it."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, UTC
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import note
from tests.support import wait_for

BRANCHWORK = Path(sys.executable).parent / "branchwork"
MEMBERS = {"王建国": "1950-03-14", "李秀英": "1948-05-03", "张德明": "1945-07-01"}


def previous_quarter(today: date) -> tuple[date, date]:
    first_of_this = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last = first_of_this - timedelta(days=1)
    return date(last.year, last.month - 2, 1), last


@pytest.fixture(scope="module")
def quarter(platform):
    """A bureau with one branch of three, and last quarter's committee meetings and studies, one a month."""
    bureau = platform.new_bureau()
    started = (date.today() - timedelta(days=400)).isoformat()
    branch = platform.post("members", "/api/v1/branches", {"name": "离退休干部第一党支部", "established_on": started},
                           bureau["admin"])
    assert branch.status_code == 201, branch.text
    branch_id = branch.json()["id"]
    ids = []
    for name, born in MEMBERS.items():
        created = platform.post("members", "/api/v1/members", {
            "name": name, "gender": "male", "birth_date": born, "party_member": True, "party_join_date": "1975-07-01",
            "retirement_kind": "retired", "health": "fair", "mobility": "mobile", "branch_id": branch_id,
            "joined_on": started}, bureau["admin"])
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    first, last = previous_quarter(date.today())
    wait_for(lambda: len(platform.get("activities", f"/api/v1/branches/{branch_id}/roster", bureau["admin"],
                                      on=first.isoformat()).json().get("members", [])) == 3,
             timeout=30, message="activities knows the branch's members")
    recorded = []
    for month in range(3):
        day = date(first.year, first.month + month, 10)
        for kind, hours in (("committee_meeting", None), ("study", "2")):
            body = {"branch_id": branch_id, "kind": kind, "occurred_on": day.isoformat(), "title": f"{kind} {day}",
                    "place": "局三楼活动室", "attendees": ids}
            if hours:
                body["hours"] = hours
            response = platform.post("activities", "/api/v1/activities", body, bureau["admin"])
            assert response.status_code == 201, response.text
            recorded.append(response.json()["id"])
    wait_for(lambda: len(platform.get("audit", "/api/v1/events", bureau["auditor"], branch_id=branch_id,
                                      event_type="activities.ActivityRecorded").json()["events"]) == 6,
             timeout=30, message="the quarter reaches the audit journal")
    return {"bureau": bureau, "branch_id": branch_id, "first": first, "last": last, "activities": recorded}


def test_a_recorded_quarter_is_bundled_witnessed_and_verified_offline(platform, quarter, tmp_path):
    auditor = quarter["bureau"]["auditor"]
    (tmp_path / "keys.json").write_bytes(platform.get("audit", "/api/v1/keys", auditor).content)
    witness = Ed25519PrivateKey.generate()
    witness_key = note.verifier("party-committee.example/witness", note.public_key_of(witness), note.COSIGNATURE_V1)
    head = platform.get("audit", "/api/v1/tree-head", auditor).json()
    cosignature = note.cosign(note.parse(head["checkpoint"]).text, witness_key.name, witness,
                              int(datetime.now(UTC).timestamp()))
    posted = platform.post("audit", f"/api/v1/tree-heads/{head['tree_size']}/cosignatures",
                           {"witness_key": witness_key.vkey, "cosignature": cosignature.line}, auditor)
    assert posted.status_code == 201, posted.text
    (tmp_path / "witness.vkey").write_text(witness_key.vkey)
    # proved against the head the witness cosigned, whatever the platform journals meanwhile
    bundle = platform.get("audit", "/api/v1/bundles", auditor, branch_id=quarter["branch_id"],
                          tree_size=head["tree_size"],
                          **{"from": quarter["first"].isoformat(), "to": quarter["last"].isoformat()})
    assert bundle.status_code == 200, bundle.text
    (tmp_path / "bundle.json").write_bytes(bundle.content)

    result = verify(tmp_path, "bundle.json", "--key", "keys.json", "--witness", "witness.vkey")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "events that happened in the period: 6" in result.stdout and result.stdout.rstrip().endswith("OK")
    assert "witness: cosigned by party-committee.example/witness" in result.stdout

    changed = bundle.content.replace(b'"title": "study', b'"title": "Study', 1)
    (tmp_path / "changed.json").write_bytes(changed)
    result = verify(tmp_path, "changed.json", "--key", "keys.json")
    assert result.returncode == 1 and result.stdout.startswith("FAULT [event] event ")


def verify(directory: Path, *args: str) -> subprocess.CompletedProcess:
    """``branchwork verify`` as an auditor runs it: its own process, its own folder, no platform settings."""
    return subprocess.run([str(BRANCHWORK), "verify", *args], cwd=directory, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
