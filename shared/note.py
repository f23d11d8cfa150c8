"""Signed notes (c2sp.org/signed-note), transparency-log checkpoints (c2sp.org/tlog-checkpoint) and
timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature): the text formats that transparency-log
tooling and witnesses read and write.

Only the standard library and ``cryptography``: an auditor's offline verifier uses this module as is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01          # a note signature (a log signing its checkpoint)
COSIGNATURE_V1 = 0x04   # a timestamped Ed25519 cosignature (a witness)
DASH = "\u2014"
MAX_SIGNATURES = 64


class NoteError(ValueError):
    """A note, key or signature that is not well formed."""


@dataclass(frozen=True)
class Verifier:
    """A public key as a note verifier: its name, 4-byte key ID, signature type and raw key."""

    name: str
    key_hash: bytes
    algorithm: int
    public_key: bytes

    @property
    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_hash.hex()}+{material}"


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name, its 4-byte ID and the signature bytes after the ID."""

    name: str
    key_hash: bytes
    value: bytes

    @property
    def line(self) -> str:
        return f"{DASH} {self.name} {base64.b64encode(self.key_hash + self.value).decode('ascii')}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii"), *self.extensions]
        return "".join(line + "\n" for line in lines)


def key_hash(name: str, algorithm: int, public_key: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], the key ID the specification recommends."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key).digest()[:4]


def verifier(name: str, public_key: bytes, algorithm: int = ED25519) -> Verifier:
    _check_name(name)
    if len(public_key) != 32:
        raise NoteError("an Ed25519 public key is 32 bytes")
    return Verifier(name, key_hash(name, algorithm, public_key), algorithm, public_key)


def public_key_of(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def parse_vkey(text: str) -> Verifier:
    """``<name>+<hex key ID>+<base64(type ‖ public key)>``; the ID must match the key."""
    parts = text.strip().split("+", 2)  # the base64 key itself may hold "+"
    if len(parts) != 3:
        raise NoteError("a verifier key is name+keyid+key")
    name, hex_id, material = parts
    try:
        raw = base64.b64decode(material, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise NoteError("a verifier key's ID or key is not hex and base64") from None
    if len(hex_id) != 8 or len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError("only Ed25519 note and cosignature keys are supported")
    found = verifier(name, raw[1:], raw[0])
    if found.key_hash != claimed:
        raise NoteError("the verifier key's ID does not match its key")
    return found


def parse(note: str) -> Note:
    """Split a signed note into its text and its signature lines (after the last blank line)."""
    if any(ord(c) < 0x20 and c != "\n" for c in note) or not note.endswith("\n"):
        raise NoteError("a note has no control characters and ends with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a note has a blank line before its signatures")
    text, lines = note[:split + 1], note[split + 2:].splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError("a note has between 1 and 64 signatures")
    return Note(text, tuple(_signature(line) for line in lines))


def _signature(line: str) -> Signature:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != DASH:
        raise NoteError(f"not a signature line: {line!r}")
    try:
        raw = base64.b64decode(parts[2], validate=True)
    except binascii.Error:
        raise NoteError(f"a signature is not base64: {line!r}") from None
    if len(raw) < 5:
        raise NoteError(f"a signature is too short: {line!r}")
    _check_name(parts[1])
    return Signature(parts[1], raw[:4], raw[4:])


def sign(text: str, name: str, private_key: Ed25519PrivateKey) -> Signature:
    """An Ed25519 note signature (type 0x01) over the note text."""
    _check_text(text)
    found = verifier(name, public_key_of(private_key))
    return Signature(name, found.key_hash, private_key.sign(text.encode("utf-8")))


def cosign(text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> Signature:
    """A cosignature/v1 (type 0x04): Ed25519 over the header, the time line and the checkpoint text."""
    found = verifier(name, public_key_of(private_key), COSIGNATURE_V1)
    signed = private_key.sign(_cosigned_message(text, timestamp))
    return Signature(name, found.key_hash, struct.pack(">Q", timestamp) + signed)


def cosignature_time(signature: Signature) -> int:
    if len(signature.value) != 8 + 64:
        raise NoteError("a cosignature is an 8-byte time and a 64-byte signature")
    return struct.unpack(">Q", signature.value[:8])[0]


def verify(text: str, signature: Signature, key: Verifier) -> bool:
    """Whether ``signature`` is a valid signature by ``key`` over the note text (False for another key)."""
    if (signature.name, signature.key_hash) != (key.name, key.key_hash):
        return False
    if key.algorithm == ED25519:
        message, value = text.encode("utf-8"), signature.value
    else:
        if len(signature.value) != 72 or cosignature_time(signature) >= 1 << 63:
            return False
        message, value = _cosigned_message(text, cosignature_time(signature)), signature.value[8:]
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(value, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_by(note: Note, key: Verifier) -> bool | None:
    """True when the note carries a valid signature by ``key``, False when it carries one that fails,
    None when the key did not sign it at all."""
    mine = [s for s in note.signatures if (s.name, s.key_hash) == (key.name, key.key_hash)]
    if not mine:
        return None
    return all(verify(note.text, s, key) for s in mine)


def parse_checkpoint(text: str) -> Checkpoint:
    """Origin, tree size (decimal, no leading zeros) and base64 root, then any extension lines."""
    if not text.endswith("\n"):
        raise NoteError("a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise NoteError("a checkpoint has an origin, a size and a root, each on a non-empty line")
    origin, size, root = lines[:3]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError("a checkpoint's size is a decimal number without leading zeros")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise NoteError("a checkpoint's root is not base64") from None
    if len(root_hash) != 32:
        raise NoteError("a checkpoint's root is 32 bytes")
    return Checkpoint(origin, int(size), root_hash, tuple(lines[3:]))


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError("a key name is non-empty, without spaces or '+'")


def _check_text(text: str) -> None:
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note text ends with a newline and has no other control characters")
