"""The audit service's own settings, read once from ``BRANCHWORK_AUDIT_*`` variables beside the shared ones."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, UTC
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import note

DEV_SIGNING_SEED = hashlib.sha256(b"branchwork-local-development-audit-signing-key-not-for-production").digest()


@dataclass(frozen=True)
class KeySpec:
    """A tree-head signing key and the time it may sign in (``[valid_from, valid_to)``, open where None).

    ``seed`` is None for a retired key kept only so that the heads it signed still verify.
    """

    public_key: bytes
    seed: bytes | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @classmethod
    def from_seed(cls, seed: bytes, valid_from: datetime | None = None, valid_to: datetime | None = None) -> KeySpec:
        return cls(note.public_key_of(Ed25519PrivateKey.from_private_bytes(seed)), seed, valid_from, valid_to)


DEV_KEY = KeySpec.from_seed(DEV_SIGNING_SEED)


@dataclass(frozen=True)
class AuditSettings:
    """``signing_keys`` sign tree heads (one valid at any moment); ``log_origin`` prefixes each bureau's
    checkpoint origin; the checkpoint worker looks every ``checkpoint_interval`` seconds. Days (of bundles,
    ``known_on`` and the daily checkpoint) are the bureaus' local days of the rulebook's calendar."""

    signing_keys: tuple[KeySpec, ...] = (DEV_KEY,)
    log_origin: str = "branchwork.local/audit"
    checkpoint_interval: float = 3600.0
    dev_login: bool = False
    views_batch_size: int = 500
    journal_linger_ms: int = 20
    """The journal consumer's linger (``BRANCHWORK_CONSUMER_LINGER_MS`` is the others'): it is on the way
    from a command to the auditors' views, so it gathers its batches for less time than the rest."""
    web_url: str = "http://127.0.0.1:8005"
    """The secretaries' pages, where the dashboard sends a secretary who signs in here."""

    @property
    def signing_key_is_dev(self) -> bool:
        return any(spec.seed == DEV_SIGNING_SEED for spec in self.signing_keys)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuditSettings:
        env = os.environ if environ is None else environ
        return cls(signing_keys=signing_keys(env),
                   log_origin=env.get("BRANCHWORK_AUDIT_LOG_ORIGIN", cls.log_origin),
                   checkpoint_interval=float(env.get("BRANCHWORK_AUDIT_CHECKPOINT_INTERVAL",
                                                     cls.checkpoint_interval)),
                   dev_login=env.get("BRANCHWORK_DEV_LOGIN", "") == "1",
                   views_batch_size=int(env.get("BRANCHWORK_AUDIT_VIEWS_BATCH", cls.views_batch_size)),
                   journal_linger_ms=int(env.get("BRANCHWORK_AUDIT_JOURNAL_LINGER_MS", cls.journal_linger_ms)),
                   web_url=env.get("BRANCHWORK_WEB_URL", _web_url(env)).rstrip("/"))


def _web_url(env: Mapping[str, str]) -> str:
    """The secretaries' pages on this host, next to the dashboard's port (as the local stack starts them)."""
    port = int(env.get("BRANCHWORK_WEB_PORT", int(env.get("BRANCHWORK_AUDIT_PORT", 8004)) + 1))
    return f"http://127.0.0.1:{port}"


def signing_keys(env: Mapping[str, str]) -> tuple[KeySpec, ...]:
    """``BRANCHWORK_AUDIT_SIGNING_KEYS`` (a JSON list, for rotation), or the single
    ``BRANCHWORK_AUDIT_SIGNING_KEY``, or the development key."""
    many, one = env.get("BRANCHWORK_AUDIT_SIGNING_KEYS"), env.get("BRANCHWORK_AUDIT_SIGNING_KEY")
    if many and one:
        raise ValueError("set BRANCHWORK_AUDIT_SIGNING_KEYS or BRANCHWORK_AUDIT_SIGNING_KEY, not both")
    if one:
        return (KeySpec.from_seed(decode_seed(one)),)
    if not many:
        return (DEV_KEY,)
    try:
        entries = json.loads(many)
    except json.JSONDecodeError:
        raise ValueError("BRANCHWORK_AUDIT_SIGNING_KEYS must be a JSON list") from None
    if not isinstance(entries, list) or not entries:
        raise ValueError("BRANCHWORK_AUDIT_SIGNING_KEYS must be a non-empty JSON list")
    return tuple(_key_spec(entry) for entry in entries)


def _key_spec(entry) -> KeySpec:
    """``{"seed": …}`` or ``{"public_key": …}`` (32 bytes, hex or base64), with ``valid_from``/``valid_to``."""
    if not isinstance(entry, dict) or ("seed" in entry) == ("public_key" in entry):
        raise ValueError("each signing key has either a seed or a public_key")
    window = _moment(entry.get("valid_from")), _moment(entry.get("valid_to"))
    if window[0] and window[1] and window[0] >= window[1]:
        raise ValueError("a signing key's valid_to must come after its valid_from")
    if "seed" in entry:
        return KeySpec.from_seed(decode_seed(entry["seed"]), *window)
    return KeySpec(decode_seed(entry["public_key"]), None, *window)


def _moment(text: str | None) -> datetime | None:
    """An ISO 8601 date or date-time; a date means its midnight UTC, a date-time without a zone is UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"BRANCHWORK_AUDIT_SIGNING_KEYS: {text!r} is not an ISO 8601 date or time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def decode_seed(text: str) -> bytes:
    """32 bytes written as 64 hex digits or as base64."""
    text = str(text).strip()
    try:
        seed = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("an audit signing key must be 32 bytes as hex or base64") from None
    if len(seed) != 32:
        raise ValueError("an audit signing key must be 32 bytes as hex or base64")
    return seed
