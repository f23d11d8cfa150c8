"""What the audit journal's evidence is made of, defined once for the service that writes it and for the
offline verifier that checks it: the tree's leaves, the index of each branch's and stream's last entry,
the text of a signed tree head (a C2SP checkpoint), the key list and the bundle file.

Standard library only (with ``shared.canonical``), so that the verifier stays small and readable.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from shared.canonical import canonical_json

ENTRY_FORMAT = 2
BUNDLE_FORMAT = "branchwork-audit-bundle/1"
BUNDLE_SIGNATURE_CONTEXT = b"branchwork-audit-bundle/1\n"
BRANCH, STREAM = "branch", "stream"


def entry_leaf_data(seq: int, envelope: Mapping[str, Any], branch_prev: int, stream_prev: int) -> bytes:
    """A journal entry's leaf (format 2): its number, the event as journalled, and the numbers of the previous
    entries of the same branch and of the same stream (0 for none), so each branch and each stream is a chain
    of leaves inside the signed tree."""
    return canonical_json({"entry": ENTRY_FORMAT, "seq": seq, "envelope": envelope, "branch_prev": branch_prev,
                           "stream_prev": stream_prev}).encode("utf-8")


def legacy_leaf_data(envelope: Mapping[str, Any]) -> bytes:
    """A leaf journalled before entries named their predecessors (format 1): the envelope alone."""
    return canonical_json(envelope).encode("utf-8")


def chain_keys(envelope: Mapping[str, Any]) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two chains an entry belongs to: its branch ("" for a bureau-level event) and its stream."""
    return (BRANCH, envelope.get("branch_id") or ""), (STREAM, envelope["stream_id"])


def index_leaf_data(kind: str, key: str, last_seq: int) -> bytes:
    """One row of the index signed with each head: a branch's or stream's last entry at that tree size."""
    return canonical_json([kind, key, last_seq]).encode("utf-8")


def origin(prefix: str, tenant_id: str) -> str:
    """A bureau's log identity: the first line of its checkpoints and the name of its signing key."""
    return f"{prefix.rstrip('/')}/{tenant_id}"


def head_extensions(timestamp: str, index_size: int, index_root: bytes) -> tuple[str, ...]:
    """The checkpoint's extension lines: when it was signed, and the size and root of its index."""
    return (f"timestamp {timestamp}", f"index {index_size} {base64.b64encode(index_root).decode('ascii')}")


def read_extensions(extensions: tuple[str, ...]) -> dict:
    """``{"timestamp", "index_size", "index_root"}`` from a head's extension lines; KeyError when absent."""
    found: dict[str, Any] = {}
    for line in extensions:
        word, _, rest = line.partition(" ")
        if word == "timestamp":
            found["timestamp"] = rest
        elif word == "index":
            size, _, root = rest.partition(" ")
            found["index_size"], found["index_root"] = int(size), base64.b64decode(root, validate=True)
    if {"timestamp", "index_size", "index_root"} - set(found):
        raise KeyError("a tree head's checkpoint names its time and its index")
    return found


def key_id(public_key: bytes) -> str:
    """The platform's name for a signing key: the first 16 hex digits of sha256 of the raw public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def render_bundle(bundle: Mapping[str, Any]) -> bytes:
    """The one byte form of a bundle: sorted keys, one-space indents, UTF-8, a final newline."""
    return (json.dumps(bundle, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def bundle_digest(bundle: Mapping[str, Any]) -> bytes:
    """What the bundle's own signature covers: everything in it but that signature."""
    unsigned = {key: value for key, value in bundle.items() if key != "signature"}
    return BUNDLE_SIGNATURE_CONTEXT + hashlib.sha256(render_bundle(unsigned)).digest()
