"""The audit's two writes on the in-memory ledger: signing the journal's head and keeping a witness's
cosignature, with the same refusals as against PostgreSQL."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, UTC

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import heads
from services.audit.settings import KeySpec
from services.audit.signing import Keyring, verify_tree_head
from shared import merkle, note
from shared.errors import NotFound, RequestInvalid
from tests.unit.fakes import MemoryHeadLedger

TENANT = "7d2f0c3e-0000-4000-8000-00000000b001"
ROTATED_ON = datetime(2026, 2, 1, tzinfo=UTC)
OLD, NEW = KeySpec.from_seed(bytes([1]) * 32, valid_to=ROTATED_ON), KeySpec.from_seed(bytes([2]) * 32,
                                                                                       valid_from=ROTATED_ON)
KEYRING = Keyring((OLD, NEW))
ORIGIN = "branchwork.example/audit"
NOW = datetime(2026, 4, 10, 3, tzinfo=UTC)
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32)
WITNESS_KEY = note.verifier("witness.example/w1", note.public_key_of(WITNESS), note.COSIGNATURE_V1)
LEAVES = [f"entry {n}".encode() for n in range(1, 8)]
INDEX = [("branch", "b1", 5), ("branch", "b2", 7), ("stream", "s1", 6), ("stream", "s2", 7)]


@pytest.fixture
def ledger() -> MemoryHeadLedger:
    return MemoryHeadLedger(TENANT, LEAVES, INDEX)


def cosignature(head: dict, at: datetime = NOW, witness=WITNESS) -> str:
    return note.cosign(note.parse(head["checkpoint"]).text, WITNESS_KEY.name, witness, int(at.timestamp())).line


def test_a_signed_head_commits_to_the_journals_root_and_index_and_is_kept(ledger):
    head = heads.sign_head(ledger, KEYRING, ORIGIN, NOW)
    assert (head["tree_size"], head["root_hash"]) == (7, merkle.MemoryTree(LEAVES).root().hex())
    assert verify_tree_head(head, base64.b64decode(head["public_key"]))
    assert (head["index_size"], head["index_root"]) == (4, heads.index_tree(sorted(INDEX)).root().hex())
    checkpoint = heads.checkpoint_of(head)
    assert (checkpoint.size, checkpoint.root) == (7, merkle.MemoryTree(LEAVES).root())
    assert [kept["id"] for kept in ledger.heads_of_size(7)] == [head["id"]]


def test_the_key_valid_at_the_moment_signs(ledger):
    before, after = heads.sign_head(ledger, KEYRING, ORIGIN, ROTATED_ON - timedelta(days=1)), \
        heads.sign_head(ledger, KEYRING, ORIGIN, NOW)
    assert before["public_key"] == base64.b64encode(OLD.public_key).decode()
    assert after["public_key"] == base64.b64encode(NEW.public_key).decode()
    assert before["index_root"] == after["index_root"]  # the second head of a size takes the first's index


def test_a_witness_cosignature_is_kept_once_and_appended_to_the_checkpoint(ledger):
    head = heads.sign_head(ledger, KEYRING, ORIGIN, NOW)
    line = cosignature(head)
    kept, created = heads.cosign(ledger, 7, WITNESS_KEY.vkey, line, NOW)
    assert created and kept["checkpoint"] == head["checkpoint"] + line
    assert kept["witness_key"] == WITNESS_KEY.vkey and kept["cosigned_at"] == NOW.isoformat()
    again, created_again = heads.cosign(ledger, 7, WITNESS_KEY.vkey, line, NOW)
    assert not created_again and again["checkpoint"] == kept["checkpoint"]
    assert len(ledger.cosignatures_of(head["id"])) == 1


def test_a_cosignature_of_another_head_or_by_another_key_is_refused(ledger):
    head = heads.sign_head(ledger, KEYRING, ORIGIN, NOW)
    stranger = Ed25519PrivateKey.from_private_bytes(bytes([8]) * 32)
    with pytest.raises(heads.CosignatureRefused):
        heads.cosign(ledger, 7, WITNESS_KEY.vkey, cosignature(head, witness=stranger), NOW)
    other = MemoryHeadLedger(TENANT, LEAVES[:6], [("branch", "b1", 5), ("stream", "s1", 6)])
    elsewhere = heads.sign_head(other, KEYRING, ORIGIN, NOW)
    with pytest.raises(heads.CosignatureRefused):
        heads.cosign(ledger, 7, WITNESS_KEY.vkey, cosignature(elsewhere), NOW)
    assert ledger.cosignatures_of(head["id"]) == []


def test_a_cosignature_from_the_future_or_of_a_size_never_signed_is_refused(ledger):
    head = heads.sign_head(ledger, KEYRING, ORIGIN, NOW)
    with pytest.raises(heads.CosignatureRefused):
        heads.cosign(ledger, 7, WITNESS_KEY.vkey, cosignature(head, at=NOW + timedelta(hours=1)), NOW)
    with pytest.raises(NotFound):
        heads.cosign(ledger, 6, WITNESS_KEY.vkey, cosignature(head), NOW)


def test_a_malformed_witness_key_or_line_names_its_field(ledger):
    head = heads.sign_head(ledger, KEYRING, ORIGIN, NOW)
    with pytest.raises(RequestInvalid) as bad_key:
        heads.cosign(ledger, 7, "not a key", cosignature(head), NOW)
    assert "witness_key" in bad_key.value.fields
    with pytest.raises(RequestInvalid) as bad_line:
        heads.cosign(ledger, 7, WITNESS_KEY.vkey, "— not a signature line", NOW)
    assert "cosignature" in bad_line.value.fields
