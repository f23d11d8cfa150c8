"""The audit service's own settings, read once from ``BRANCHWORK_AUDIT_*`` variables beside the shared ones."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from collections.abc import Mapping

DEV_SIGNING_SEED = hashlib.sha256(b"branchwork-local-development-audit-signing-key-not-for-production").digest()


@dataclass(frozen=True)
class AuditSettings:
    """``signing_seed`` is the 32-byte Ed25519 private key that signs tree heads."""

    signing_seed: bytes = DEV_SIGNING_SEED
    dev_login: bool = False
    views_batch_size: int = 500

    @property
    def signing_key_is_dev(self) -> bool:
        return self.signing_seed == DEV_SIGNING_SEED

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuditSettings:
        env = os.environ if environ is None else environ
        key = env.get("BRANCHWORK_AUDIT_SIGNING_KEY")
        return cls(signing_seed=decode_seed(key) if key else DEV_SIGNING_SEED,
                   dev_login=env.get("BRANCHWORK_DEV_LOGIN", "") == "1",
                   views_batch_size=int(env.get("BRANCHWORK_AUDIT_VIEWS_BATCH", cls.views_batch_size)))


def decode_seed(text: str) -> bytes:
    """A 32-byte seed written as 64 hex digits or as base64."""
    text = text.strip()
    try:
        seed = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("BRANCHWORK_AUDIT_SIGNING_KEY must be 32 bytes as hex or base64") from None
    if len(seed) != 32:
        raise ValueError("BRANCHWORK_AUDIT_SIGNING_KEY must be 32 bytes as hex or base64")
    return seed
