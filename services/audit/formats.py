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


HEADER_FIELDS = ("tenant_id", "event_id", "event_type", "stream_id", "stream_version", "branch_id", "occurred_at",
                 "recorded_at", "prev_hash", "hash")


def entry_header(seq: int, envelope: Mapping[str, Any], branch_prev: int, stream_prev: int) -> dict:
    """A journal entry as its leaf records it (format 2): its number, the event's identity, dates and own hash
    (which commits to the whole envelope), and the numbers of the previous entries of the same branch and of
    the same stream (0 for none) — so each branch and each stream is a chain of leaves inside the signed tree,
    and an entry can be shown by its header alone where its content is not asked for."""
    return {"entry": ENTRY_FORMAT, "seq": seq, **{name: envelope[name] for name in HEADER_FIELDS},
            "branch_prev": branch_prev, "stream_prev": stream_prev}


def entry_leaf_data(header: Mapping[str, Any]) -> bytes:
    return canonical_json(header).encode("utf-8")


def legacy_leaf_data(envelope: Mapping[str, Any]) -> bytes:
    """A leaf journalled before entries named their predecessors (format 1): the envelope alone."""
    return canonical_json(envelope).encode("utf-8")


def chain_keys(entry: Mapping[str, Any]) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two chains an entry (envelope or header) belongs to: its branch ("" for bureau-level) and stream."""
    return (BRANCH, entry.get("branch_id") or ""), (STREAM, entry["stream_id"])


def index_leaf_data(kind: str, key: str, last_seq: int) -> bytes:
    """One row of the index signed with each head: a branch's or stream's last entry at that tree size."""
    return canonical_json([kind, key, last_seq]).encode("utf-8")


def json_head_payload(tenant_id: str, tree_size: int, root_hash: str, timestamp: str) -> bytes:
    """The bytes of a head's JSON signature: canonical JSON of its four fields (heads have always had it)."""
    return canonical_json({"tenant_id": tenant_id, "tree_size": tree_size, "root_hash": root_hash,
                           "timestamp": timestamp}).encode("utf-8")


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
