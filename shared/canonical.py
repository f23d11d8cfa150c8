"""The canonical JSON text every hash in the platform is computed over, and an event's own hash.

Standard library only, so that an auditor's offline verifier can use exactly the definition the
services use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII text kept as it is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(body: Mapping[str, Any]) -> str:
    """sha256(prev_hash ‖ canonical envelope without its hash), as hex: the link of a stream's hash chain."""
    unhashed = {key: value for key, value in body.items() if key != "hash"}
    digest = hashlib.sha256()
    digest.update(body["prev_hash"].encode("ascii"))
    digest.update(canonical_json(unhashed).encode("utf-8"))
    return digest.hexdigest()
