"""Signed notes, checkpoints and cosignatures as transparency-log tooling writes them, the signing keys'
settings and rotation, and the offline verifier's small footprint.

The signed-note vectors are the published ones: golang.org/x/mod/sumdb/note (note_test.go: the key
"PeterNeumann" and its signature of the Neumann quotation) and c2sp.org/signed-note (the example.com/foo
verifier key and its example note).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import datetime, UTC

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import formats
from services.audit.settings import DEV_KEY, AuditSettings, KeySpec, signing_keys
from services.audit.signing import Keyring, NoSigningKey
from shared import note
from tests.support import REPO_ROOT

GO_SKEY_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
                "BwJnAM=\n")
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = ("This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Z"
             "tg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")


def test_signing_the_go_vector_gives_the_published_signature_and_vkey():
    key = Ed25519PrivateKey.from_private_bytes(GO_SKEY_SEED)
    assert note.sign(GO_TEXT, "PeterNeumann", key).line == GO_SIGNATURE
    assert note.verifier("PeterNeumann", note.public_key_of(key)).vkey == GO_VKEY


@pytest.mark.parametrize("vkey, signed", [(GO_VKEY, GO_TEXT + "\n" + GO_SIGNATURE), (C2SP_VKEY, C2SP_NOTE)])
def test_the_published_notes_verify_and_a_changed_one_does_not(vkey, signed):
    key = note.parse_vkey(vkey)
    assert note.signed_by(note.parse(signed), key) is True
    changed = note.parse(signed.replace("problem", "puzzle", 1).replace("example message", "example massage"))
    assert note.signed_by(changed, key) is False
    stranger = note.verifier("someone.else", note.public_key_of(Ed25519PrivateKey.generate()))
    assert note.signed_by(note.parse(signed), stranger) is None


def test_mangled_verifier_keys_are_refused():
    for bad in (GO_VKEY[:-1], GO_VKEY.replace("c74f20a3", "c74f20a4"), GO_VKEY.replace("+", " ", 1),
                "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "a+b"):
        with pytest.raises(note.NoteError):
            note.parse_vkey(bad)


def test_a_cosignature_signs_the_header_the_time_and_the_checkpoint():
    witness = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    checkpoint = note.Checkpoint("example.com/log", 20852163, bytes(32), ("timestamp 2026-01-01T00:00:00.000000Z",))
    signature = note.cosign(checkpoint.text, "witness.example/w1", witness, 1679315147)
    key = note.verifier("witness.example/w1", note.public_key_of(witness), note.COSIGNATURE_V1)
    assert note.cosignature_time(signature) == 1679315147 and len(signature.value) == 72
    message = b"cosignature/v1\ntime 1679315147\n" + checkpoint.text.encode()
    witness.public_key().verify(signature.value[8:], message)  # the exact bytes of the specification
    assert note.verify(checkpoint.text, signature, key)
    assert not note.verify(checkpoint.text.replace("20852163", "20852164"), signature, key)
    assert key.key_hash != note.verifier("witness.example/w1", key.public_key).key_hash  # 0x04, not 0x01


def test_a_checkpoint_reads_back_and_refuses_malformed_text():
    checkpoint = note.Checkpoint("branchwork.local/audit/t", 7, bytes(range(32)), ("index 3 " + "A" * 44,))
    assert note.parse_checkpoint(checkpoint.text) == checkpoint
    for bad in ("o\n07\n" + base64.b64encode(bytes(32)).decode() + "\n", "o\n7\n", "o\n7\nAAAA\n", "o\n7\nx"):
        with pytest.raises(note.NoteError):
            note.parse_checkpoint(bad)


def test_signing_keys_come_from_one_json_setting_with_validity_periods():
    env = {"BRANCHWORK_AUDIT_SIGNING_KEYS": json.dumps([
        {"public_key": base64.b64encode(DEV_KEY.public_key).decode(), "valid_to": "2026-02-01"},
        {"seed": "11" * 32, "valid_from": "2026-02-01T00:00:00+08:00"}])}
    old, new = signing_keys(env)
    assert old.seed is None and old.valid_to == datetime(2026, 2, 1, tzinfo=UTC)
    assert new.valid_from == datetime(2026, 1, 31, 16, tzinfo=UTC) and new.seed == bytes([0x11]) * 32
    assert signing_keys({}) == (DEV_KEY,)
    assert signing_keys({"BRANCHWORK_AUDIT_SIGNING_KEY": "22" * 32})[0].seed == bytes([0x22]) * 32


@pytest.mark.parametrize("value", ["not json", "[]", '[{"seed": "11"}]', '[{"seed": "' + "11" * 32 + '", '
                                   '"valid_from": "2026-03-01", "valid_to": "2026-02-01"}]', '[{"valid_to": "2026"}]'])
def test_a_bad_signing_key_setting_is_refused_at_start(value):
    with pytest.raises(ValueError):
        AuditSettings.from_env({"BRANCHWORK_AUDIT_SIGNING_KEYS": value})


def test_the_key_valid_at_a_moment_signs_and_a_retired_one_only_verifies():
    old = KeySpec.from_seed(bytes([1]) * 32, valid_to=datetime(2026, 2, 1, tzinfo=UTC))
    new = KeySpec.from_seed(bytes([2]) * 32, valid_from=datetime(2026, 2, 1, tzinfo=UTC))
    keyring = Keyring((old, new))
    assert keyring.signing_key(datetime(2026, 1, 31, 23, tzinfo=UTC)).spec == old
    assert keyring.signing_key(datetime(2026, 2, 1, tzinfo=UTC)).spec == new
    retired = Keyring((KeySpec(old.public_key, None, None, old.valid_to),))
    with pytest.raises(NoSigningKey):
        retired.signing_key(datetime(2026, 1, 1, tzinfo=UTC))
    listing = keyring.listing("branchwork.local/audit/t")
    assert [k["key_id"] for k in listing["keys"]] == [formats.key_id(old.public_key), formats.key_id(new.public_key)]
    assert listing["keys"][0]["valid_to"] == "2026-02-01T00:00:00.000000Z"
    assert note.parse_vkey(listing["keys"][1]["vkey"]).public_key == new.public_key


def test_a_head_is_signed_as_json_and_as_a_checkpoint_note_with_the_same_key():
    key = Keyring((DEV_KEY,)).signing_key(datetime(2026, 1, 1, tzinfo=UTC))
    head = key.sign_head("t", "branchwork.local/audit/t", 3, bytes(32), (2, bytes(range(32))),
                         datetime(2026, 1, 1, tzinfo=UTC))
    signed = note.parse(head["checkpoint"])
    checkpoint = note.parse_checkpoint(signed.text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == ("branchwork.local/audit/t", 3, bytes(32))
    assert formats.read_extensions(checkpoint.extensions) == {
        "timestamp": "2026-01-01T00:00:00.000000Z", "index_size": 2, "index_root": bytes(range(32))}
    assert note.signed_by(signed, note.verifier("branchwork.local/audit/t", DEV_KEY.public_key)) is True


def test_the_verifier_needs_only_the_standard_library_and_cryptography():
    """An auditor reads and runs it alone: importing it pulls in nothing of the services' stack."""
    probe = ("import json, sys; import services.audit.verifier; "
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    ours = [m for m in loaded if m.split(".")[0] in ("services", "shared")]
    others = {m.split(".")[0] for m in loaded} - {"services", "shared", "__main__"}
    assert ours == ["services", "services.audit", "services.audit.formats", "services.audit.verifier", "shared",
                    "shared.canonical", "shared.merkle", "shared.note"]
    assert {m for m in others if not m.startswith(("__editable__", "_distutils_hack"))} <= {
        "cryptography", "_cffi_backend", "_openssl"}


def test_branchwork_verify_dispatches_on_its_argument(tmp_path):
    from shared import cli
    assert cli.main(["verify", str(tmp_path / "missing.json")]) == 2  # a bundle needs --key
    assert cli.main(["verify", "members", "--key", "k.json"]) == 2    # a service takes no key
    assert cli.main(["verify", str(tmp_path / "missing.json"), "--key", str(tmp_path / "k.json")]) == 2


def test_a_verifier_key_whose_base64_holds_a_plus_reads_back():
    seeds = (bytes([n]) * 32 for n in range(256))
    keys = (note.verifier("w.example", note.public_key_of(Ed25519PrivateKey.from_private_bytes(s)), note.COSIGNATURE_V1)
            for s in seeds)
    key = next(k for k in keys if "+" in k.vkey.split("+", 2)[2])
    assert note.parse_vkey(key.vkey) == key
