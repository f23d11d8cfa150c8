"""Check an audit bundle offline: ``branchwork verify BUNDLE --key KEYS [--witness KEY …]``.

Needs the bundle, the bureau's key list (``GET /api/v1/keys``, obtained on one's own) and, if wanted, the
witnesses' keys — no database, no network, nothing beyond the standard library and ``cryptography``
(with ``shared.merkle``, ``shared.note``, ``shared.canonical`` and ``services.audit.formats``, which
define what is checked). The checks run in this order and stop at the first fault, which is named:

1. the file is a bundle in its one byte form;
2. each tree head is signed by a listed key that was valid when it signed; witnesses' cosignatures;
3. each head is proved consistent with the next (the later extends the earlier);
4. each event hashes as it says, and its leaf proves into the upper head;
5. the streams' own hash chains hold between the events the bundle holds;
6. completeness: the signed index names the scope's last entry, and the chain from it back past the lower
   head has no gap and nothing added (a bureau-wide bundle: every entry between the heads);
7. the bundle's own signature, over everything else in it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared import merkle, note
from shared.canonical import event_hash
from services.audit import formats

GENESIS = "0" * 64
ROLES = ("lower", "upper", "latest")


class Fault(Exception):
    """The first thing found wrong: which check, and which event, head or proof."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"[{check}] {message}")
        self.check = check
        self.message = message


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    public_key: bytes
    valid_from: datetime | None
    valid_to: datetime | None
    note_key: note.Verifier

    def valid_at(self, moment: datetime) -> bool:
        return ((self.valid_from is None or self.valid_from <= moment)
                and (self.valid_to is None or moment < self.valid_to))


@dataclass(frozen=True)
class Head:
    role: str
    size: int
    root: bytes
    timestamp: datetime
    key_id: str
    index: tuple[int, bytes] | None
    signed: note.Note | None

    @property
    def name(self) -> str:
        return f"the {self.role} head (size {self.size})"


def load_keys(document: dict) -> tuple[str, list[TrustedKey]]:
    """The bureau's origin and keys from its key list; a key whose id does not match its key is refused."""
    try:
        origin, keys = document["origin"], []
        for entry in document["keys"]:
            public_key = base64.b64decode(entry["public_key"], validate=True)
            if formats.key_id(public_key) != entry["key_id"]:
                raise Fault("keys", f"key {entry['key_id']} in the key list does not match its public key")
            keys.append(TrustedKey(entry["key_id"], public_key, _time(entry.get("valid_from")),
                                   _time(entry.get("valid_to")), note.verifier(origin, public_key)))
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise Fault("keys", f"the key list is not one GET /api/v1/keys gives: {error}") from None
    return origin, keys


def verify_bundle(raw: bytes, keys_document: dict, witnesses: list[note.Verifier] = ()) -> dict:
    """Check everything in a bundle; return what it proves, or raise the first Fault."""
    origin, keys = load_keys(keys_document)
    bundle = _parse(raw)
    try:
        return _verify(bundle, origin, keys, list(witnesses))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, binascii.Error) as error:
        raise Fault("format", f"the bundle is malformed: {type(error).__name__}: {error}") from None


def _parse(raw: bytes) -> dict:
    try:
        bundle = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Fault("format", f"the file is not JSON: {error}") from None
    if not isinstance(bundle, dict) or bundle.get("format") != formats.BUNDLE_FORMAT:
        raise Fault("format", f"the file is not a {formats.BUNDLE_FORMAT}")
    if formats.render_bundle(bundle) != raw:
        raise Fault("format", "the file is not in the bundle's one byte form: it was re-indented or edited")
    return bundle


def _verify(bundle: dict, origin: str, keys: list[TrustedKey], witnesses: list[note.Verifier]) -> dict:
    manifest = bundle["manifest"]
    if manifest["origin"] != origin:
        raise Fault("keys", f"the key list is for {origin}, the bundle for {manifest['origin']}")
    heads = _heads(bundle["heads"], manifest["tenant_id"], keys)
    _check_witnesses(heads, witnesses)
    _check_consistency(heads, bundle["consistency"])
    lower, upper = heads.get("lower"), heads["upper"]
    bounds = _check_bounds(manifest, lower, upper)
    entries = _check_entries(bundle["entries"], manifest, bounds, upper)
    scope = manifest["scope"]
    _check_streams(entries, whole=scope["kind"] == formats.STREAM)
    if scope["kind"] == "bureau":
        _check_every_entry(entries, bounds)
    else:
        last = _check_index(bundle["index"], (scope["kind"], scope["id"]), upper)
        _check_chain(entries, (scope["kind"], scope["id"]), last, bounds)
    _check_bundle_signature(bundle, keys)
    held = sum(1 for item in bundle["entries"] if "envelope" in item)
    return _summary(manifest, heads, (held, len(entries) - held), witnesses)


def _heads(listed: list[dict], tenant_id: str, keys: list[TrustedKey]) -> dict[str, Head]:
    heads: dict[str, Head] = {}
    for item in listed:
        if item["role"] not in ROLES or item["role"] in heads:
            raise Fault("heads", f"unexpected head role {item['role']!r}")
        head = _checkpoint_head(item, keys) if "note" in item else _json_head(item, tenant_id, keys)
        key = next(k for k in keys if k.key_id == head.key_id)
        if not key.valid_at(head.timestamp):
            raise Fault("keys", f"{head.name} was signed at {head.timestamp.isoformat()} by key {key.key_id},"
                                " outside that key's validity")
        heads[head.role] = head
    if "upper" not in heads or (heads["upper"].index is None):
        raise Fault("heads", "the bundle has no signed upper head with an index")
    sizes = [heads[r].size for r in ROLES if r in heads]
    if sizes != sorted(sizes):
        raise Fault("heads", "the heads are not in the order of their sizes")
    return heads


def _checkpoint_head(item: dict, keys: list[TrustedKey]) -> Head:
    role = item["role"]
    try:
        signed = note.parse(item["note"])
        checkpoint = note.parse_checkpoint(signed.text)
        extensions = formats.read_extensions(checkpoint.extensions)
    except (note.NoteError, KeyError) as error:
        raise Fault("heads", f"the {role} head is not a signed checkpoint: {error}") from None
    found = [(key, note.signed_by(signed, key.note_key)) for key in keys]
    if any(verdict is False for _, verdict in found):
        raise Fault("heads", f"the {role} head (size {checkpoint.size}): its signature does not verify"
                             " with the listed key — the head was forged or changed")
    signer = next((key for key, verdict in found if verdict), None)
    if signer is None:
        raise Fault("keys", f"the {role} head (size {checkpoint.size}) is signed by no key in the key list"
                            " (the wrong key list, or a key never published)")
    return Head(role, checkpoint.size, checkpoint.root, _time(extensions["timestamp"]), signer.key_id,
                (extensions["index_size"], extensions["index_root"]), signed)


def _json_head(item: dict, tenant_id: str, keys: list[TrustedKey]) -> Head:
    """A head signed before heads were checkpoints: its JSON signature, by the key it names."""
    key = next((k for k in keys if k.key_id == item["key_id"]), None)
    name = f"the {item['role']} head (size {item['tree_size']})"
    if key is None:
        raise Fault("keys", f"{name} is signed by key {item['key_id']}, which is not in the key list")
    payload = formats.json_head_payload(item["tenant_id"], item["tree_size"], item["root_hash"], item["timestamp"])
    if item["tenant_id"] != tenant_id or not _ed25519(key.public_key, base64.b64decode(item["signature"]), payload):
        raise Fault("heads", f"{name}: its signature does not verify — the head was forged or changed")
    return Head(item["role"], item["tree_size"], bytes.fromhex(item["root_hash"]), _time(item["timestamp"]),
                key.key_id, None, None)


def _check_witnesses(heads: dict[str, Head], witnesses: list[note.Verifier]) -> None:
    """Every cosignature by a witness we were told of must verify, and each must have cosigned a head at
    least as large as the one the entries are proved against (the others are proved consistent with it)."""
    for witness in witnesses:
        for head in heads.values():
            if head.signed and note.signed_by(head.signed, witness) is False:
                raise Fault("witness", f"the cosignature by {witness.name} on {head.name} does not verify:"
                                       " forged, or made for another head")
        covering = [h for h in heads.values() if h.size >= heads["upper"].size and h.signed
                    and note.signed_by(h.signed, witness)]
        if not covering:
            raise Fault("witness", f"{witness.name} has not cosigned the head the entries are proved against"
                                   " (nor a later head in the bundle)")


def _check_consistency(heads: dict[str, Head], proofs: list[dict]) -> None:
    chain = [heads[r] for r in ROLES if r in heads]
    used = 0
    for earlier, later in zip(chain, chain[1:]):
        if earlier.size == later.size:
            if earlier.root != later.root:
                raise Fault("consistency", f"{earlier.name} and {later.name} have the same size, different roots")
            continue
        if earlier.size == 0:
            continue
        proof = next((p for p in proofs if (p["first"], p["second"]) == (earlier.size, later.size)), None)
        if proof is None:
            raise Fault("consistency", f"no consistency proof from {earlier.name} to {later.name}")
        used += 1
        if not merkle.verify_consistency(earlier.size, later.size, earlier.root, later.root,
                                         [bytes.fromhex(h) for h in proof["path"]]):
            raise Fault("consistency", f"the consistency proof from {earlier.name} to {later.name} does not"
                                       " verify: the later head does not extend the earlier")
    if used != len(proofs):
        raise Fault("consistency", "the bundle holds a consistency proof between heads it does not name")


def _check_bounds(manifest: dict, lower: Head | None, upper: Head) -> tuple[int, int]:
    after, through = manifest["bounds"]["after_seq"], manifest["bounds"]["through_seq"]
    if after != (lower.size if lower else 0) or through != upper.size:
        raise Fault("heads", "the bundle's bounds are not the sizes of its lower and upper heads")
    if lower and lower.timestamp > _time(manifest["period"]["from_at"]):
        raise Fault("heads", f"{lower.name} was signed after the period began: entries journalled in between"
                             " would not be covered")
    return after, through


def _check_entries(listed: list[dict], manifest: dict, bounds: tuple[int, int], upper: Head) -> dict[int, dict]:
    """Each entry in journal order within the bounds; its event hashing as recorded; its leaf proved into the
    upper head. Returns each entry's facts (its header, or a legacy entry's envelope) by number."""
    facts: dict[int, dict] = {}
    previous = bounds[0]
    period = _time(manifest["period"]["from_at"]), _time(manifest["period"]["until_at"])
    for item in listed:
        seq, fact = item["seq"], _facts(item)
        label = f"event {fact['event_id']} (seq {seq})"
        if seq <= previous:
            raise Fault("order", f"{label} comes after seq {previous}: entries out of order or repeated")
        if seq > bounds[1]:
            raise Fault("order", f"{label} lies beyond the upper head (size {bounds[1]})")
        previous = seq
        if fact["tenant_id"] != manifest["tenant_id"]:
            raise Fault("event", f"{label} belongs to another bureau")
        _check_content(item, fact, label, period)
        proof = [bytes.fromhex(h) for h in item["proof"]]
        if not merkle.verify_inclusion(merkle.leaf_hash(_leaf_data(item)), seq - 1, upper.size, proof, upper.root):
            raise Fault("inclusion", f"{label}: its inclusion proof does not lead to the root of {upper.name}"
                                     " — the entry or its proof was changed, or it was never journalled there")
        facts[seq] = fact
    return facts


def _facts(item: dict) -> dict:
    if item["format"] == formats.ENTRY_FORMAT:
        if item["header"].get("entry") != formats.ENTRY_FORMAT or item["header"].get("seq") != item["seq"]:
            raise Fault("format", f"entry seq {item['seq']}: its header names another entry")
        return item["header"]
    if item["format"] == 1 and set(item) == {"format", "seq", "envelope", "proof"}:
        return item["envelope"]
    raise Fault("format", f"entry seq {item['seq']} has an unknown format")


def _check_content(item: dict, fact: dict, label: str, period: tuple[datetime, datetime]) -> None:
    """The event, where the bundle holds it, hashes as recorded and is the one its header names; an event that
    happened in the period is always there in full."""
    envelope = item.get("envelope")
    if envelope is None:
        if period[0] <= _time(fact["occurred_at"]) < period[1]:
            raise Fault("completeness", f"{label} happened in the period, but the bundle holds only its header")
        return
    if event_hash(envelope) != envelope["hash"]:
        raise Fault("event", f"{label}: its content does not match its own hash — the event was changed")
    if any(envelope[name] != fact[name] for name in formats.HEADER_FIELDS):
        raise Fault("event", f"{label}: the event is not the one its journal entry names")


def _leaf_data(item: dict) -> bytes:
    if item["format"] == formats.ENTRY_FORMAT:
        return formats.entry_leaf_data(item["header"])
    return formats.legacy_leaf_data(item["envelope"])


def _check_streams(facts: dict[int, dict], whole: bool) -> None:
    """Between two events of one stream in the bundle with consecutive versions, the later names the earlier's
    hash; a stream's first version starts from the genesis hash; in a stream's own bundle (``whole``) no
    version between the first and the last is missing."""
    last: dict[str, dict] = {}
    for seq in sorted(facts):
        fact = facts[seq]
        stream, label = fact["stream_id"], f"event {fact['event_id']} (seq {seq})"
        before = last.get(stream)
        if fact["stream_version"] == 1 and fact["prev_hash"] != GENESIS:
            raise Fault("chain", f"{label} is the first of stream {stream} but does not start its hash chain")
        if before and fact["stream_version"] <= before["stream_version"]:
            raise Fault("chain", f"{label}: stream {stream} goes back to version {fact['stream_version']}")
        if before and whole and fact["stream_version"] != before["stream_version"] + 1:
            raise Fault("chain", f"{label}: stream {stream} skips from version {before['stream_version']} to"
                                 f" {fact['stream_version']}")
        if before and fact["stream_version"] == before["stream_version"] + 1 and fact["prev_hash"] != before["hash"]:
            raise Fault("chain", f"{label}: its prev_hash is not the hash of event {before['event_id']},"
                                 f" the previous version of stream {stream}")
        last[stream] = fact


def _check_every_entry(entries: dict[int, dict], bounds: tuple[int, int]) -> None:
    for seq in range(bounds[0] + 1, bounds[1] + 1):
        if seq not in entries:
            raise Fault("completeness", f"entry seq {seq} is missing: the bureau's journal has a gap there")


def _check_index(index: dict, scope: tuple[str, str], upper: Head) -> int:
    """The scope's last entry at the upper head, from adjacent rows of the signed index (sorted by kind and
    key): the scope's own row between its two neighbours, or the two rows it would fall between."""
    size, root = upper.index
    rows = []
    for row in index["rows"]:
        data = formats.index_leaf_data(row["kind"], row["key"], row["last_seq"])
        if not merkle.verify_inclusion(merkle.leaf_hash(data), row["position"], size,
                                       [bytes.fromhex(h) for h in row["proof"]], root):
            raise Fault("index", f"index row {row['position']} does not prove into the index of {upper.name}")
        rows.append(((row["kind"], row["key"]), row["position"], row["last_seq"]))
    rows.sort(key=lambda r: r[1])
    if any(b[1] != a[1] + 1 or b[0] <= a[0] for a, b in zip(rows, rows[1:])):
        raise Fault("index", "the index rows are not adjacent and in order")
    before, after = [r for r in rows if r[0] < scope], [r for r in rows if r[0] > scope]
    own = [r for r in rows if r[0] == scope]
    low = before[-1][1] if before else (-1 if not rows or rows[0][1] == 0 else None)
    high = after[0][1] if after else (size if (rows[-1][1] if rows else -1) == size - 1 else None)
    if low is None or high is None or high - low != (2 if own else 1):
        raise Fault("index", f"the index rows do not show where {scope[0]} {scope[1]} stands")
    return own[0][2] if own else 0


def _check_chain(entries: dict[int, dict], scope: tuple[str, str], last: int, bounds: tuple[int, int]) -> None:
    """Walk the scope's chain from its last entry back past the lower head: every link must be in the bundle;
    entries journalled before the chains (format 1) are covered by every entry down to the lower head."""
    kind, key = scope
    reached: set[int] = set()
    current, named_by = last, "the signed index"
    while current > bounds[0]:
        fact = entries.get(current)
        if fact is None:
            raise Fault("completeness", f"a gap in {kind} {key}: entry seq {current}, named by {named_by},"
                                        " is not in the bundle")
        if _key_of(fact, kind) != key:
            raise Fault("completeness", f"entry seq {current}, named by {named_by} as part of {kind} {key},"
                                        " belongs elsewhere")
        reached.add(current)
        if fact.get("entry") != formats.ENTRY_FORMAT:
            reached |= _legacy_range(entries, current, bounds[0])
            break
        following = fact[f"{kind}_prev"]
        if following >= current:
            raise Fault("completeness", f"entry seq {current} names a later entry as its predecessor")
        current, named_by = following, f"entry seq {current}"
    stray = sorted(set(entries) - reached)
    if stray:
        raise Fault("completeness", f"event {entries[stray[0]]['event_id']} (seq {stray[0]}) is not in {kind} {key}'s"
                                    " chain: an entry was inserted or moved")


def _legacy_range(entries: dict[int, dict], top: int, floor: int) -> set[int]:
    """Below the chains' cut-over there are no back-links: every entry down to the lower head must be there."""
    for seq in range(floor + 1, top + 1):
        if seq not in entries:
            raise Fault("completeness", f"entry seq {seq} is missing from the range journalled before the chains"
                                        f" (seq {floor + 1} to {top}), which must be complete")
    return set(range(floor + 1, top + 1))


def _key_of(fact: dict, kind: str) -> str:
    branch, stream = formats.chain_keys(fact)
    return branch[1] if kind == formats.BRANCH else stream[1]


def _check_bundle_signature(bundle: dict, keys: list[TrustedKey]) -> None:
    signature = bundle["signature"]
    key = next((k for k in keys if k.key_id == signature["key_id"]), None)
    if key is None or not key.valid_at(_time(bundle["manifest"]["created_at"])) or not _ed25519(
            key.public_key, base64.b64decode(signature["value"]), formats.bundle_digest(bundle)):
        raise Fault("bundle", "the bundle's own signature does not verify: something outside the events and"
                              " proofs (its manifest, keys or layout) was changed")


def _summary(manifest: dict, heads: dict[str, Head], counts: tuple[int, int],
             witnesses: list[note.Verifier]) -> dict:
    lower, upper = heads.get("lower"), heads["upper"]
    return {"scope": manifest["scope"], "period": manifest["period"], "events": counts[0], "headers": counts[1],
            "heads": {role: {"size": h.size, "signed": h.timestamp.isoformat(), "key_id": h.key_id}
                      for role, h in heads.items()},
            "complete_from": lower.timestamp.isoformat() if lower else "the journal's beginning",
            "complete_through": upper.timestamp.isoformat(), "witnesses": [w.name for w in witnesses]}


def _ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def witness_key(text: str) -> note.Verifier:
    """A witness's verifier key, given as the key itself or as a file holding it."""
    path = Path(text)
    value = path.read_text(encoding="utf-8").strip() if path.is_file() else text
    return note.parse_vkey(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="branchwork verify", description="Check an audit bundle offline.")
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--key", required=True, type=Path, help="the bureau's key list (GET /api/v1/keys)")
    parser.add_argument("--witness", action="append", default=[], help="a witness's vkey, or a file holding it")
    args = parser.parse_args(argv)
    try:
        raw, keys = args.bundle.read_bytes(), json.loads(args.key.read_text(encoding="utf-8"))
        witnesses = [witness_key(w) for w in args.witness]
    except (OSError, json.JSONDecodeError, note.NoteError) as error:
        print(f"branchwork verify: {error}", file=sys.stderr)
        return 2
    try:
        summary = verify_bundle(raw, keys, witnesses)
    except Fault as fault:
        print(f"FAULT {fault}")
        return 1
    print(report(summary))
    return 0


def report(summary: dict) -> str:
    scope, period = summary["scope"], summary["period"]
    lines = [f"bundle: {scope['kind']} {scope.get('id') or ''} from {period['from']} to {period['to']}"
             f" ({period['timezone']})",
             f"events that happened in the period: {summary['events']}, each hashing as recorded and proved into"
             " the signed tree",
             f"entries of other dates in the same chain: {summary['headers']}, shown by their signed headers"]
    lines += [f"{role} head: size {h['size']}, signed {h['signed']} by key {h['key_id']}"
              for role, h in summary["heads"].items()]
    lines.append(f"complete: every entry journalled from {summary['complete_from']}"
                 f" through {summary['complete_through']} is here, and none is added")
    lines += [f"witness: cosigned by {name}" for name in summary["witnesses"]]
    return "\n".join(lines + ["OK"])


if __name__ == "__main__":
    sys.exit(main())
