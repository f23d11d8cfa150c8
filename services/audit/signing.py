"""Signed tree heads: the journal's size and root at a moment, signed with the audit service's Ed25519 key.

A head is signed twice with the same key: as canonical JSON (the four fields, as heads always were) and as
a C2SP checkpoint note that also carries the time and the index of last entries, which transparency-log
tooling and witnesses read. Keys rotate: each has a validity period, one signs at any moment, and a
retired key (kept, perhaps without its private half) still verifies the heads it signed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared import note
from shared.envelope import format_timestamp
from services.audit import formats
from services.audit.settings import KeySpec

ALGORITHM = "Ed25519"


class NoSigningKey(RuntimeError):
    """No configured key may sign at this moment (all retired, or none valid yet)."""


@dataclass(frozen=True)
class SigningKey:
    spec: KeySpec

    @property
    def key_id(self) -> str:
        return formats.key_id(self.spec.public_key)

    def valid_at(self, moment: datetime) -> bool:
        return ((self.spec.valid_from is None or self.spec.valid_from <= moment)
                and (self.spec.valid_to is None or moment < self.spec.valid_to))

    def describe(self, origin: str) -> dict:
        """The key as the key list publishes it: id, raw public key, validity and the note verifier key."""
        return {"key_id": self.key_id, "algorithm": ALGORITHM,
                "public_key": base64.b64encode(self.spec.public_key).decode("ascii"),
                "valid_from": _iso(self.spec.valid_from), "valid_to": _iso(self.spec.valid_to),
                "vkey": note.verifier(origin, self.spec.public_key).vkey}

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.spec.seed).sign(message)

    def sign_head(self, tenant_id: str, origin: str, size: int, root: bytes, index: tuple[int, bytes],
                  moment: datetime) -> dict:
        """Both signatures of one head, and the head as the API shows it."""
        private = Ed25519PrivateKey.from_private_bytes(self.spec.seed)
        timestamp = format_timestamp(moment)
        json_signature = private.sign(formats.json_head_payload(tenant_id, size, root.hex(), timestamp))
        checkpoint = note.Checkpoint(origin, size, root, formats.head_extensions(timestamp, *index))
        signed = note.Note(checkpoint.text, (note.sign(checkpoint.text, origin, private),))
        return {"tenant_id": tenant_id, "tree_size": size, "root_hash": root.hex(), "timestamp": timestamp,
                "algorithm": ALGORITHM, "key_id": self.key_id,
                "public_key": base64.b64encode(self.spec.public_key).decode("ascii"),
                "signature": base64.b64encode(json_signature).decode("ascii"),
                "index_size": index[0], "index_root": index[1].hex(), "checkpoint": signed.render()}


class Keyring:
    """Every configured signing key, past and present."""

    def __init__(self, specs: tuple[KeySpec, ...]) -> None:
        self.keys = tuple(SigningKey(spec) for spec in specs)

    def signing_key(self, moment: datetime) -> SigningKey:
        """The key that signs at ``moment``: valid then and holding its private half; the newest if several."""
        usable = [k for k in self.keys if k.spec.seed is not None and k.valid_at(moment)]
        if not usable:
            raise NoSigningKey(f"no audit signing key is valid at {format_timestamp(moment)}")
        return max(usable, key=lambda k: k.spec.valid_from or datetime.min.replace(tzinfo=moment.tzinfo))

    def listing(self, origin: str) -> dict:
        """The key list an auditor gives the verifier (``--key``): every key with its validity."""
        return {"origin": origin, "keys": [k.describe(origin) for k in self.keys]}


def verify_tree_head(head: dict, public_key: bytes) -> bool:
    """Check a head's JSON signature with a public key the auditor obtained on their own."""
    payload = formats.json_head_payload(head["tenant_id"], head["tree_size"], head["root_hash"], head["timestamp"])
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(base64.b64decode(head["signature"]), payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def _iso(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment else None
