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


@dataclass(frozen=True)
class Head:
    """A stream's recorded head: its version and the hash of its last event."""

    version: int
    hash: str


def seal_after(stream_id: str, expected_version: int, envelopes: Iterable[Envelope], prev_hash: str) -> list[Envelope]:
    """Chain ``envelopes`` after the stream's head: each must be the next version of this stream."""
    sealed = []
    for offset, envelope in enumerate(envelopes, start=1):
        if envelope.stream_id != stream_id or envelope.stream_version != expected_version + offset:
            raise ValueError("envelope stream or version does not follow the stream")
        envelope = envelope.sealed(prev_hash)
        prev_hash = envelope.hash
        sealed.append(envelope)
    return sealed


def check_stored_stream(stream_id: str, stored: list[tuple[int, Envelope]], head: Head | None) -> list[Problem]:
    """Check one stream as stored: ``(position, envelope)`` in version order, against its recorded head."""
    problems = check_chain(stream_id, [envelope for _, envelope in stored])
    positions = [position for position, _ in stored]
    if positions != sorted(positions):
        problems.append(Problem(stream_id, None, "reordered", "events are stored out of their stream's order"))
    last = stored[-1][1]
    if head is None:
        problems.append(Problem(stream_id, None, "head_missing", "events exist for a stream with no head"))
    elif head.version != last.stream_version or head.hash != last.hash:
        problems.append(Problem(stream_id, head.version, "head_mismatch",
                                "the last stored event is not the stream's recorded head"))
    return problems


def check_heads_without_events(heads: dict[str, Head], seen: set[str]) -> list[Problem]:
    """Heads that name events of which none is stored any more."""
    return [Problem(stream_id, None, "stream_missing", "the stream head names events that are gone")
            for stream_id in sorted(set(heads) - seen) if heads[stream_id].version > 0]
