"""Signed tree heads: the journal's size and root at a moment, signed with the audit service's Ed25519 key."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.envelope import canonical_json, format_timestamp

ALGORITHM = "Ed25519"


def signed_payload(tenant_id: str, tree_size: int, root_hash: str, timestamp: str) -> bytes:
    """The exact bytes that are signed: canonical JSON of the head's four fields."""
    return canonical_json({"tenant_id": tenant_id, "tree_size": tree_size, "root_hash": root_hash,
                           "timestamp": timestamp}).encode("utf-8")


class TreeHeadSigner:
    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(self.public_key).hexdigest()[:16]

    def sign(self, tenant_id: str, tree_size: int, root_hash: str, moment: datetime) -> dict:
        timestamp = format_timestamp(moment)
        signature = self._key.sign(signed_payload(tenant_id, tree_size, root_hash, timestamp))
        return {"tenant_id": tenant_id, "tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp,
                "algorithm": ALGORITHM, "key_id": self.key_id,
                "public_key": base64.b64encode(self.public_key).decode("ascii"),
                "signature": base64.b64encode(signature).decode("ascii")}


def verify_tree_head(head: dict, public_key: bytes) -> bool:
    """Check a head's signature with a public key the auditor obtained on their own."""
    payload = signed_payload(head["tenant_id"], head["tree_size"], head["root_hash"], head["timestamp"])
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(base64.b64decode(head["signature"]), payload)
    except (InvalidSignature, ValueError):
        return False
    return True
