"""Checking a stream's hash chain: the one test both the event store and the audit journal apply."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from collections.abc import Iterable

from shared.envelope import GENESIS_HASH, Envelope


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stored history."""

    stream_id: str
    stream_version: int | None
    code: str
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def check_chain(stream_id: str, envelopes: Iterable[Envelope]) -> list[Problem]:
    """Walk one stream in version order: versions 1..n without gaps, each linked to and hashing as stored."""
    problems = []
    prev_hash = GENESIS_HASH
    for expected_version, envelope in enumerate(envelopes, start=1):
        version = envelope.stream_version
        if version != expected_version:
            problems.append(Problem(stream_id, version, "version_gap", f"expected version {expected_version}"))
        if envelope.prev_hash != prev_hash:
            problems.append(Problem(stream_id, version, "chain_broken", "prev_hash does not match the previous event"))
        if envelope.compute_hash() != envelope.hash:
            problems.append(Problem(stream_id, version, "hash_mismatch", "the event's content does not match its hash"))
        prev_hash = envelope.hash
    return problems
