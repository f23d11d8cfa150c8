"""The evidence API over HTTP against real PostgreSQL: the key list, checkpoints in the C2SP format, witnesses'
cosignatures (verified, kept, forged ones refused), bundles that the offline verifier accepts, clear 4xx for
bad requests, and the checkpoint worker that signs every bureau's head daily."""

from __future__ import annotations

import base64
import threading
from datetime import datetime, timedelta, UTC

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import journal, views_feed
from services.audit.app import create_app
from services.audit.bootstrap import bootstrap
from services.audit.checkpoints import CheckpointWorker
from services.audit.settings import AuditSettings
from services.audit.verifier import Fault, verify_bundle
from shared import db, note
from tests.fixtures import serving
from tests.support import bearer, chained_events, dashboard_sign_in, dashboard_sign_out, new_id, token, wait_for
from tests.audit_month import BRANCH, TENANT, month_of_work

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
WITNESS_KEY = note.verifier("committee.example/witness", note.public_key_of(WITNESS), note.COSIGNATURE_V1)


@pytest.fixture(scope="module")
def client(audit_settings):
    history = month_of_work()
    with db.connect(audit_settings.owner_dsn) as conn:
        with conn.transaction():
            for envelope in history.envelopes:
                journal.append(conn, envelope)
        while views_feed.catch_up(conn):
            pass
    with serving(create_app(bootstrap(audit_settings, AuditSettings(dev_login=True))), clock=lambda: NOW) as app:
        yield app.test_client()


@pytest.fixture(scope="module")
def auditor(audit_settings):
    return bearer(token(audit_settings, "auditor", tenant=TENANT))


def cosign(checkpoint: str, key=WITNESS, name=WITNESS_KEY.name, when=NOW) -> str:
    return note.cosign(note.parse(checkpoint).text, name, key, int(when.timestamp())).line


def test_the_key_list_names_each_key_with_its_validity_and_note_key(client, auditor):
    listing = client.get("/api/v1/keys", headers=auditor).get_json()
    assert listing["origin"] == f"branchwork.local/audit/{TENANT}"
    (key,) = listing["keys"]
    assert key["valid_from"] is None and key["algorithm"] == "Ed25519"
    assert note.parse_vkey(key["vkey"]).public_key == base64.b64decode(key["public_key"])


def test_a_signed_head_is_a_c2sp_checkpoint_that_tooling_can_read(client, auditor):
    head = client.get("/api/v1/tree-head", headers=auditor).get_json()
    served = client.get("/api/v1/checkpoint", headers=auditor)
    assert served.mimetype == "text/plain" and served.get_data(as_text=True) == head["checkpoint"]
    checkpoint = note.parse_checkpoint(note.parse(head["checkpoint"]).text)
    assert (checkpoint.size, checkpoint.root.hex()) == (head["tree_size"], head["root_hash"])
    keys = client.get("/api/v1/keys", headers=auditor).get_json()
    assert note.signed_by(note.parse(head["checkpoint"]), note.parse_vkey(keys["keys"][0]["vkey"])) is True


def test_a_witness_cosigns_a_head_and_the_cosignature_is_kept_and_served(client, auditor):
    head = client.get("/api/v1/tree-head", headers=auditor).get_json()
    body = {"witness_key": WITNESS_KEY.vkey, "cosignature": cosign(head["checkpoint"])}
    created = client.post(f"/api/v1/tree-heads/{head['tree_size']}/cosignatures", json=body, headers=auditor)
    assert created.status_code == 201, created.get_json()
    again = client.post(f"/api/v1/tree-heads/{head['tree_size']}/cosignatures", json=body, headers=auditor)
    assert again.status_code == 200
    served = note.parse(client.get("/api/v1/checkpoint", headers=auditor).get_data(as_text=True))
    assert note.signed_by(served, WITNESS_KEY) is True
    listed = client.get("/api/v1/tree-heads", headers=auditor).get_json()["tree_heads"][0]
    assert listed["cosignatures"][0]["witness_key"] == WITNESS_KEY.vkey


def test_a_forged_or_mismatched_cosignature_is_refused(client, auditor):
    head = client.get("/api/v1/tree-head", headers=auditor).get_json()
    size, line = head["tree_size"], cosign(head["checkpoint"])
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[-1] ^= 1
    forged = " ".join(line.split(" ")[:2] + [base64.b64encode(bytes(raw)).decode()])
    other_head = head["checkpoint"].replace(f"\n{size}\n", f"\n{size - 1}\n")
    impostor = note.verifier(WITNESS_KEY.name, note.public_key_of(Ed25519PrivateKey.generate()), note.COSIGNATURE_V1)
    for witness_key, cosignature in ((WITNESS_KEY.vkey, forged), (WITNESS_KEY.vkey, cosign(other_head)),
                                     (impostor.vkey, line)):
        refused = client.post(f"/api/v1/tree-heads/{size}/cosignatures", headers=auditor,
                              json={"witness_key": witness_key, "cosignature": cosignature})
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["error"]["code"] == "cosignature_invalid"
        assert "cosignature" in refused.get_json()["error"]["fields"]


@pytest.mark.parametrize("path, body, field, status", [
    ("/api/v1/tree-heads/{size}/cosignatures", {"witness_key": "no-key", "cosignature": "x"}, "witness_key", 400),
    ("/api/v1/tree-heads/{size}/cosignatures", {"witness_key": "{note_key}", "cosignature": "x"}, "witness_key", 400),
    ("/api/v1/tree-heads/{size}/cosignatures", {"witness_key": "{vkey}", "cosignature": "— w AAAA"}, "cosignature",
     400),
    ("/api/v1/tree-heads/{size}/cosignatures", {"witness_key": "{vkey}"}, "cosignature", 400),
    ("/api/v1/tree-heads/99999/cosignatures", {"witness_key": "{vkey}", "cosignature": "{line}"}, "size", 404)])
def test_bad_cosignature_requests_name_their_field(client, auditor, path, body, field, status):
    head = client.get("/api/v1/tree-head", headers=auditor).get_json()
    note_key = note.verifier("x.example", WITNESS_KEY.public_key).vkey  # a log key (0x01), not a witness's
    filled = {k: v.format(vkey=WITNESS_KEY.vkey, note_key=note_key, line=cosign(head["checkpoint"]))
              for k, v in body.items()}
    response = client.post(path.format(size=head["tree_size"]), json=filled, headers=auditor)
    assert response.status_code == status and field in response.get_json()["error"]["fields"]


def test_a_branch_bundle_downloads_and_verifies_with_the_published_keys(client, auditor):
    response = client.get(f"/api/v1/bundles?branch_id={BRANCH}&from=2026-11-01&to=2026-11-30", headers=auditor)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment; filename=bundle-branch-" in response.headers["Content-Disposition"]
    keys = client.get("/api/v1/keys", headers=auditor).get_json()
    summary = verify_bundle(response.get_data(), keys)
    assert summary["events"] > 20 and summary["scope"] == {"kind": "branch", "id": BRANCH}
    whole = client.get("/api/v1/bundles?from=2026-11-01", headers=auditor)
    bureau = verify_bundle(whole.get_data(), keys)
    assert bureau["events"] >= summary["events"] and bureau["headers"] > summary["headers"]
    with pytest.raises(Fault):
        verify_bundle(response.get_data().replace(b"2026-11-30", b"2026-11-29", 1), keys)


@pytest.mark.parametrize("query, field, status", [
    (f"branch_id={BRANCH}&stream_id=s&from=2026-11-01", "stream_id", 400),
    ("from=2026-11-10&to=2026-11-01", "to", 400),
    ("to=2026-11-01", "from", 400),
    ("from=2026-13-01", "from", 400),
    (f"branch_id={new_id()}&from=2026-11-01", "branch_id", 404),
    ("stream_id=no-such-stream&from=2026-11-01", "stream_id", 404),
    ("from=2026-11-01&known_on=2026-10-01", "known_on", 400),
    ("from=0001-01-01", "from", 400), ("from=2026-11-01&to=9999-12-31", "to", 400),
    ("from=2026-11-01&known_on=2026-12-01&tree_size=3", "tree_size", 400),
    ("from=2026-11-01&tree_size=99999", "tree_size", 404),
    ("from=2020-01-01&known_on=2020-01-02", "known_on", 422)])
def test_bad_bundle_requests_name_their_field(client, auditor, query, field, status):
    response = client.get(f"/api/v1/bundles?{query}", headers=auditor)
    assert response.status_code == status, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_only_the_bureaus_auditors_and_admins_read_evidence(client, audit_settings):
    secretary = bearer(token(audit_settings, "secretary", tenant=TENANT))
    for path in ("/api/v1/keys", "/api/v1/checkpoint", "/api/v1/bundles?from=2026-11-01"):
        assert client.get(path, headers=secretary).status_code == 403
        assert client.get(path).status_code == 401


def test_the_checkpoint_worker_signs_every_bureau_once_a_day(audit_settings):
    tenants = [new_id(), new_id()]
    with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
        for tenant in tenants:
            for envelope in chained_events(tenant, [("s", None)]):
                journal.append(conn, envelope)
    moments = iter([NOW, NOW + timedelta(hours=3), NOW + timedelta(days=1)])
    worker = CheckpointWorker(audit_settings, AuditSettings(), clock=lambda: next(moments))
    with db.connect(audit_settings.owner_dsn, autocommit=True) as conn:
        assert set(tenants) <= set(worker.sign_due(conn))
        assert worker.sign_due(conn) == []                         # later the same day: nothing due
        assert set(tenants) <= set(worker.sign_due(conn))          # the next day: again
        counts = conn.execute("SELECT count(*) AS n FROM tree_heads WHERE tenant_id = ANY(%s)"
                              " AND checkpoint IS NOT NULL", (tenants,)).fetchone()["n"]
    assert counts == 4


def test_the_checkpoint_worker_runs_until_stopped(audit_settings):
    tenant = new_id()
    with db.connect(audit_settings.owner_dsn) as conn, conn.transaction():
        journal.append(conn, chained_events(tenant, [("s", None)])[0])
    worker = CheckpointWorker(audit_settings, AuditSettings(checkpoint_interval=0.2))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        with db.connect(audit_settings.owner_dsn, autocommit=True) as conn:
            wait_for(lambda: conn.execute("SELECT 1 FROM tree_heads WHERE tenant_id = %s", (tenant,)).fetchone(),
                     timeout=10, message="the worker signs the new bureau's checkpoint")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_the_branch_page_offers_its_bundle_with_a_line_on_how_to_verify_it(client, audit_settings):
    assert dashboard_sign_in(client, TENANT).status_code == 302
    try:
        page = client.get(f"/branches/{BRANCH}?period=2026-11").get_data(as_text=True)
        assert f'action="/branches/{BRANCH}/bundle"' in page and 'value="2026-11-01"' in page
        assert "branchwork verify" in page and "--key keys.json" in page
        bundle = client.get(f"/branches/{BRANCH}/bundle?from=2026-11-01&to=2026-11-30")
        keys = client.get("/keys.json")
        assert bundle.status_code == 200 and "attachment" in bundle.headers["Content-Disposition"]
        assert verify_bundle(bundle.get_data(), keys.get_json())["scope"] == {"kind": "branch", "id": BRANCH}
        backwards = client.get(f"/branches/{BRANCH}/bundle?from=2026-11-30&to=2026-11-01")
        assert backwards.status_code == 400 and "请选择起止日期" in backwards.get_data(as_text=True)
    finally:
        dashboard_sign_out(client)
