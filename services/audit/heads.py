"""Signed tree heads kept per bureau: signing one now (with the index of every branch's and stream's last
entry), finding the heads a bundle needs, and the cosignatures witnesses add to them.

Callers pass a connection inside ``shared.db.tenant_snapshot`` when a head is signed, so the size, the root
and the index it commits to are read from one snapshot while the journal keeps growing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from typing import Protocol

import psycopg

from shared import merkle, note
from shared.errors import NotFound, RequestInvalid
from services.audit import formats
from services.audit.signing import Keyring
from services.audit.tree import JournalTree
from services.audit.domain import AuditRuleBroken

HEAD_COLUMNS = "id, tree_size, root_hash, signed_at, key_id, signature, checkpoint, public_key"
FUTURE_SLACK = timedelta(minutes=10)  # a witness's clock may run a little ahead of ours


class CosignatureRefused(AuditRuleBroken):
    """The cosignature does not verify against a kept head of that size."""

    code = "cosignature_invalid"


def index_rows(conn: psycopg.Connection, tenant_id: str, size: int) -> list[tuple[str, str, int]]:
    """Every branch's and stream's last entry in the tree of ``size``, in the index's order."""
    journal = conn.execute("SELECT size FROM journal_heads WHERE tenant_id = %s", (tenant_id,)).fetchone()
    if journal and journal["size"] == size:
        rows = conn.execute("SELECT kind, key, last_seq FROM journal_keys WHERE tenant_id = %s",
                            (tenant_id,)).fetchall()
        return sorted((row["kind"], row["key"], row["last_seq"]) for row in rows)
    return index_rows_from_journal(conn, tenant_id, size)


def index_rows_from_journal(conn: psycopg.Connection, tenant_id: str, size: int) -> list[tuple[str, str, int]]:
    """The index at an earlier size, worked out from the journal itself."""
    rows = conn.execute(
        "SELECT 'branch' AS kind, coalesce(branch_id, '') AS key, max(seq) AS last_seq FROM journal"
        " WHERE tenant_id = %(t)s AND seq <= %(n)s GROUP BY coalesce(branch_id, '')"
        " UNION ALL SELECT 'stream', stream_id, max(seq) FROM journal"
        " WHERE tenant_id = %(t)s AND seq <= %(n)s GROUP BY stream_id", {"t": tenant_id, "n": size}).fetchall()
    return sorted((row["kind"], row["key"], row["last_seq"]) for row in rows)


def index_tree(rows: list[tuple[str, str, int]]) -> merkle.MemoryTree:
    return merkle.MemoryTree(formats.index_leaf_data(*row) for row in rows)


class HeadLedger(Protocol):
    """What signing a head and keeping a witness's cosignature need of one bureau's journal and kept heads: the
    port the two writes of the audit run over (``SqlHeadLedger`` in PostgreSQL; an in-memory twin in tests)."""

    tenant_id: str

    def size(self) -> int: ...

    def root(self, size: int) -> bytes: ...

    def index_rows(self, size: int) -> list[tuple[str, str, int]]: ...

    def heads_of_size(self, size: int) -> list[dict]: ...

    def keep_head(self, head: dict, moment: datetime) -> int: ...

    def keep_cosignature(self, head_id: int, witness_key: str, line: str, cosigned_at: datetime) -> bool: ...

    def cosignatures_of(self, head_id: int) -> list[dict]: ...


class SqlHeadLedger:
    """One bureau's journal tree and ``tree_heads`` in PostgreSQL, read in the caller's transaction."""

    def __init__(self, conn: psycopg.Connection, tenant_id: str) -> None:
        self.conn, self.tenant_id = conn, tenant_id
        self.tree = JournalTree(conn, tenant_id)

    def size(self) -> int:
        return self.tree.size()

    def root(self, size: int) -> bytes:
        return self.tree.root(size)

    def index_rows(self, size: int) -> list[tuple[str, str, int]]:
        return index_rows(self.conn, self.tenant_id, size)

    def heads_of_size(self, size: int) -> list[dict]:
        return self.conn.execute(f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE tenant_id = %s AND tree_size = %s"
                                 " AND checkpoint IS NOT NULL ORDER BY id DESC", (self.tenant_id, size)).fetchall()

    def keep_head(self, head: dict, moment: datetime) -> int:
        return self.conn.execute(
            "INSERT INTO tree_heads (tenant_id, tree_size, root_hash, signed_at, key_id, signature, checkpoint,"
            " public_key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (self.tenant_id, head["tree_size"], head["root_hash"], moment, head["key_id"], head["signature"],
             head["checkpoint"], head["public_key"])).fetchone()["id"]

    def keep_cosignature(self, head_id: int, witness_key: str, line: str, cosigned_at: datetime) -> bool:
        return self.conn.execute(
            "INSERT INTO tree_head_cosignatures (tenant_id, head_id, witness_key, signature, cosigned_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (head_id, witness_key) DO NOTHING RETURNING id",
            (self.tenant_id, head_id, witness_key, line, cosigned_at)).fetchone() is not None

    def cosignatures_of(self, head_id: int) -> list[dict]:
        return cosignatures_of(self.conn, head_id)


def sign_and_keep(conn: psycopg.Connection, tenant_id: str, keyring: Keyring, origin_prefix: str,
                  moment: datetime) -> dict:
    """Sign the journal's current head in ``conn``'s snapshot and keep it (see ``sign_head``)."""
    return sign_head(SqlHeadLedger(conn, tenant_id), keyring, origin_prefix, moment)


def sign_head(ledger: HeadLedger, keyring: Keyring, origin_prefix: str, moment: datetime) -> dict:
    """Sign the journal's current head (JSON and checkpoint, with the index of every branch's and stream's last
    entry) with the key valid at ``moment``, and keep it, so the bureau's history of heads is on record."""
    size = ledger.size()
    index = _index_summary(ledger, size)
    key = keyring.signing_key(moment)
    head = key.sign_head(ledger.tenant_id, formats.origin(origin_prefix, ledger.tenant_id), size, ledger.root(size),
                         index, moment)
    return {**head, "id": ledger.keep_head(head, moment)}


def _index_summary(ledger: HeadLedger, size: int) -> tuple[int, bytes]:
    """The index's size and root at ``size``: taken from a kept head of that size if there is one (the index
    is a function of the tree), else computed."""
    kept = ledger.heads_of_size(size)
    if kept:
        found = formats.read_extensions(checkpoint_of(kept[0]).extensions)
        return found["index_size"], found["index_root"]
    rows = ledger.index_rows(size)
    return len(rows), index_tree(rows).root()


def checkpoint_of(row: dict) -> note.Checkpoint:
    return note.parse_checkpoint(note.parse(row["checkpoint"]).text)


def history(conn: psycopg.Connection, tenant_id: str, limit: int) -> list[dict]:
    rows = conn.execute(f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE tenant_id = %s ORDER BY id DESC LIMIT %s",
                        (tenant_id, limit)).fetchall()
    return [describe(conn, row) for row in rows]


def describe(conn: psycopg.Connection, row: dict) -> dict:
    """A kept head as the API lists it, its checkpoint with every witness's cosignature appended."""
    body = {key: row[key] for key in ("tree_size", "root_hash", "key_id", "signature")}
    body["signed_at"] = row["signed_at"].isoformat()
    if row["checkpoint"]:
        cosignatures = cosignatures_of(conn, row["id"])
        body["checkpoint"] = with_cosignatures(row["checkpoint"], cosignatures)
        body["cosignatures"] = [{"witness_key": c["witness_key"], "cosigned_at": c["cosigned_at"].isoformat()}
                                for c in cosignatures]
    return body


def cosignatures_of(conn: psycopg.Connection, head_id: int) -> list[dict]:
    return conn.execute("SELECT witness_key, signature, cosigned_at FROM tree_head_cosignatures WHERE head_id = %s"
                        " ORDER BY id", (head_id,)).fetchall()


def with_cosignatures(checkpoint: str, cosignatures: list[dict]) -> str:
    """The signed checkpoint with the witnesses' signature lines after the log's own."""
    return checkpoint + "".join(c["signature"] for c in cosignatures)


def latest(conn: psycopg.Connection, tenant_id: str) -> dict | None:
    return conn.execute(f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE tenant_id = %s AND checkpoint IS NOT NULL"
                        " ORDER BY id DESC LIMIT 1", (tenant_id,)).fetchone()


def signed_by(conn: psycopg.Connection, tenant_id: str, moment: datetime, checkpoint: bool = False) -> dict | None:
    """The last head signed before ``moment`` (a checkpoint, if asked): what the journal held by then."""
    kind = "checkpoint IS NOT NULL" if checkpoint else "TRUE"
    return conn.execute(f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE tenant_id = %s AND {kind} AND signed_at < %s"
                        " ORDER BY signed_at DESC, id DESC LIMIT 1", (tenant_id, moment)).fetchone()


def of_size(conn: psycopg.Connection, tenant_id: str, size: int) -> dict | None:
    """The newest checkpoint kept of that size."""
    return conn.execute(f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE tenant_id = %s AND tree_size = %s"
                        " AND checkpoint IS NOT NULL ORDER BY id DESC LIMIT 1", (tenant_id, size)).fetchone()


def newest_cosigned(conn: psycopg.Connection, tenant_id: str, beyond_size: int) -> dict | None:
    """The newest head that witnesses cosigned and that holds more than ``beyond_size`` entries."""
    return conn.execute(f"SELECT {HEAD_COLUMNS} FROM tree_heads h WHERE tenant_id = %s AND checkpoint IS NOT NULL"
                        " AND tree_size > %s AND EXISTS (SELECT 1 FROM tree_head_cosignatures c WHERE c.head_id = h.id)"
                        " ORDER BY tree_size DESC, id DESC LIMIT 1", (tenant_id, beyond_size)).fetchone()


def add_cosignature(conn: psycopg.Connection, tenant_id: str, size: int, witness_key: str, line: str,
                    now: datetime) -> tuple[dict, bool]:
    return cosign(SqlHeadLedger(conn, tenant_id), size, witness_key, line, now)


def cosign(ledger: HeadLedger, size: int, witness_key: str, line: str, now: datetime) -> tuple[dict, bool]:
    """Verify a witness's cosignature of a kept head of ``size`` and keep it; (what is kept, whether new)."""
    witness, signature = _parse_cosignature(witness_key, line)
    rows = ledger.heads_of_size(size)
    if not rows:
        raise NotFound("没有该大小的已签名树头", fields={"size": [f"没有大小为 {size} 的树头"]})
    head = next((row for row in rows if note.verify(note.parse(row["checkpoint"]).text, signature, witness)), None)
    if head is None:
        raise CosignatureRefused("副署签名与该大小的任何树头都不符（伪造、签错了树头或公钥不对）", field="cosignature")
    cosigned_at = datetime.fromtimestamp(note.cosignature_time(signature), tz=UTC)
    if cosigned_at > now + FUTURE_SLACK:
        raise CosignatureRefused("副署签名的时间晚于当前时间", field="cosignature")
    created = ledger.keep_cosignature(head["id"], witness.vkey, signature.line, cosigned_at)
    return {"tree_size": size, "head_signed_at": head["signed_at"].isoformat(), "witness_key": witness.vkey,
            "cosigned_at": cosigned_at.isoformat(), "checkpoint": with_cosignatures(
                head["checkpoint"], ledger.cosignatures_of(head["id"]))}, created


def _parse_cosignature(witness_key: str, line: str) -> tuple[note.Verifier, note.Signature]:
    try:
        witness = note.parse_vkey(witness_key)
    except note.NoteError as error:
        raise RequestInvalid("见证方公钥格式不对", fields={"witness_key": [str(error)]}) from None
    if witness.algorithm != note.COSIGNATURE_V1:
        raise RequestInvalid("见证方公钥须为 cosignature/v1（类型 0x04）",
                             fields={"witness_key": ["signature type must be 0x04"]})
    try:
        (signature,) = note.parse("x\n\n" + line.strip() + "\n").signatures
        note.cosignature_time(signature)
    except (note.NoteError, ValueError) as error:
        raise RequestInvalid("副署签名行格式不对", fields={"cosignature": [str(error)]}) from None
    return witness, signature
