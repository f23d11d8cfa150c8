"""Audit bundles: one self-contained file holding a bureau's (a branch's, a stream's) journal entries over a
period with everything needed to check them offline (``services/audit/verifier.py``): each entry with its
inclusion proof, the signed heads, consistency proofs between them, the signed index rows that name the
scope's last entry, the key list, a manifest and the bundle's own signature.

A bundle holds every entry of its scope between two heads: the last head signed by the start of the
period's first day (the lower) and the newest head — signed now unless the newest kept one already covers
the whole journal — or, with ``known_on``, the last head signed by the end of that day (the upper). Entries
of events that happened in the period come in full; the others in that stretch of the chain come as their
signed headers, which is enough to walk the chain and to see that they happened on other dates.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg

from contracts.rulebook.calendar import day_start, timezone
from shared import merkle
from shared.canonical import canonical_json
from shared.envelope import format_timestamp, parse_timestamp
from shared.errors import NotFound
from services.audit import formats, heads
from services.audit.settings import AuditSettings
from services.audit.signing import Keyring
from services.audit.tree import ENTRY_COLUMNS, JournalTree
from services.audit.domain import AuditRuleBroken

MAX_ENTRIES = 50_000


class BundleTooLarge(AuditRuleBroken):
    """The period holds more entries than one bundle may; ask for a shorter period."""

    code = "bundle_too_large"


@dataclass(frozen=True)
class Scope:
    kind: str            # "bureau", "branch" or "stream"
    id: str | None = None

    @property
    def label(self) -> str:
        return self.kind if self.id is None else f"{self.kind}-{self.id}"


@dataclass(frozen=True)
class Period:
    """The days asked about, and which head to prove against: as known on a day, a kept head of a given size
    (one a witness cosigned), or — neither given — now."""

    first: date
    last: date
    known_on: date | None = None
    tree_size: int | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        """From the start of the first day to the start of the day after the last, in the bureaus' days."""
        return day_start(self.first), day_start(self.last + timedelta(days=1))


class NothingKnownYet(AuditRuleBroken):
    """No tree head had been signed by the end of that day."""

    code = "no_head_by_then"


def build(conn: psycopg.Connection, tenant_id: str, scope: Scope, period: Period, settings: AuditSettings,
          keyring: Keyring, now: datetime) -> dict:
    """The bundle (call inside ``tenant_snapshot``: the heads, entries and proofs come from one snapshot)."""
    from_at, until_at = period.bounds()
    lower = heads.signed_by(conn, tenant_id, from_at)
    upper = _upper(conn, tenant_id, period, settings, keyring, now)
    latest = heads.newest_cosigned(conn, tenant_id, upper["tree_size"] - 1)
    latest = latest if latest and latest["id"] != upper["id"] else None
    after, through = (lower["tree_size"] if lower else 0), upper["tree_size"]
    tree = JournalTree(conn, tenant_id)
    rows = _entries(conn, tenant_id, scope, after, through)
    origin = formats.origin(settings.log_origin, tenant_id)
    bundle = {"format": formats.BUNDLE_FORMAT,
              "manifest": {"tenant_id": tenant_id, "origin": origin,
                           "scope": {"kind": scope.kind, "id": scope.id},
                           "period": {"from": period.first.isoformat(), "to": period.last.isoformat(),
                                      "timezone": timezone().key, "from_at": format_timestamp(from_at),
                                      "until_at": format_timestamp(until_at)},
                           "bounds": {"after_seq": after, "through_seq": through},
                           "entries": len(rows), "created_at": format_timestamp(now)},
              "keys": keyring.listing(origin),
              "heads": [_head(conn, role, row, tenant_id) for role, row in
                        (("lower", lower), ("upper", upper), ("latest", latest)) if row],
              "consistency": _consistency(tree, [row for row in (lower, upper, latest) if row]),
              "entries": _with_proofs(tree, rows, through, (from_at, until_at))}
    if scope.kind != "bureau":
        bundle["index"] = {"rows": _index_rows(conn, tenant_id, scope, upper)}
    key = keyring.signing_key(now)
    bundle["signature"] = {"key_id": key.key_id,
                           "value": base64.b64encode(key.sign(formats.bundle_digest(bundle))).decode("ascii")}
    return bundle


def _upper(conn: psycopg.Connection, tenant_id: str, period: Period, settings: AuditSettings, keyring: Keyring,
           now: datetime) -> dict:
    """The head the entries are proved against: as known on a day, or now (the newest kept head if the journal
    has not grown since, so that a head witnesses have cosigned serves)."""
    if period.known_on:
        known = heads.signed_by(conn, tenant_id, day_start(period.known_on + timedelta(days=1)), checkpoint=True)
        if known is None:
            raise NothingKnownYet(f"{period.known_on.isoformat()} 日终前还没有签名的树头", field="known_on")
        return known
    if period.tree_size is not None:
        kept = heads.of_size(conn, tenant_id, period.tree_size)
        if kept is None:
            raise NotFound(f"没有大小为 {period.tree_size} 的已签名树头", fields={"tree_size": ["no such head"]})
        return kept
    newest = heads.latest(conn, tenant_id)
    if newest and newest["tree_size"] == JournalTree(conn, tenant_id).size():
        return newest
    return heads.sign_and_keep(conn, tenant_id, keyring, settings.log_origin, now)


def _entries(conn: psycopg.Connection, tenant_id: str, scope: Scope, after: int, through: int) -> list[dict]:
    """The scope's entries in (after, through]; below the chains' cut-over, every entry down to ``after``."""
    where, params = ("TRUE", []) if scope.kind == "bureau" else (f"{scope.kind}_id = %s", [scope.id])
    where, params = f"tenant_id = %s AND {where}", [tenant_id, *params]
    legacy = conn.execute(f"SELECT max(seq) AS top FROM journal WHERE {where} AND entry_format = 1"
                          " AND seq > %s AND seq <= %s", [*params, after, through]).fetchone()["top"]
    if legacy:
        where, params = f"tenant_id = %s AND (({where}) OR seq <= %s)", [tenant_id, *params, legacy]
    count = conn.execute(f"SELECT count(*) AS n FROM journal WHERE {where} AND seq > %s AND seq <= %s",
                         [*params, after, through]).fetchone()["n"]
    if count > MAX_ENTRIES:
        raise BundleTooLarge(f"该时段有 {count} 条记录，超过一个证据包的上限 {MAX_ENTRIES}，请缩短时段", field="from")
    return conn.execute(f"SELECT {ENTRY_COLUMNS} FROM journal WHERE {where} AND seq > %s AND seq <= %s"
                        " ORDER BY seq", [*params, after, through]).fetchall()


def _with_proofs(tree: JournalTree, rows: list[dict], size: int, period: tuple[datetime, datetime]) -> list[dict]:
    tree.prefetch(lambda read: [merkle.inclusion_proof(row["seq"] - 1, size, read) for row in rows])
    return [{**_entry(row, period), "proof": [node.hex() for node in tree.inclusion_proof(row["seq"] - 1, size)]}
            for row in rows]


def _entry(row: dict, period: tuple[datetime, datetime]) -> dict:
    """An entry in full if its event happened in the period (or it has no header to stand for it), else its
    header alone."""
    envelope = json.loads(row["envelope"])
    if row["entry_format"] == formats.ENTRY_FORMAT:
        entry = {"seq": row["seq"], "format": formats.ENTRY_FORMAT, "header": formats.entry_header(
            row["seq"], envelope, row["branch_prev_seq"], row["stream_prev_seq"])}
        if period[0] <= parse_timestamp(envelope["occurred_at"]) < period[1]:
            entry["envelope"] = envelope
        return entry
    if canonical_json(envelope) != row["envelope"]:
        raise RuntimeError(f"journal entry {row['seq']} is not stored in canonical form")
    return {"seq": row["seq"], "format": 1, "envelope": envelope}


def _head(conn: psycopg.Connection, role: str, row: dict, tenant_id: str) -> dict:
    if row.get("checkpoint"):
        cosignatures = heads.cosignatures_of(conn, row["id"])
        return {"role": role, "note": heads.with_cosignatures(row["checkpoint"], cosignatures)}
    return {"role": role, "tenant_id": tenant_id, "tree_size": row["tree_size"], "root_hash": row["root_hash"],
            "timestamp": format_timestamp(row["signed_at"]), "key_id": row["key_id"], "signature": row["signature"]}


def _consistency(tree: JournalTree, chain: list[dict]) -> list[dict]:
    proofs = []
    for earlier, later in zip(chain, chain[1:]):
        first, second = earlier["tree_size"], later["tree_size"]
        if 0 < first < second:
            proofs.append({"first": first, "second": second,
                           "path": [node.hex() for node in tree.consistency_proof(first, second)]})
    return proofs


def _index_rows(conn: psycopg.Connection, tenant_id: str, scope: Scope, upper: dict) -> list[dict]:
    """The scope's row of the upper head's index with its neighbours, or the two rows it falls between."""
    rows = heads.index_rows(conn, tenant_id, upper["tree_size"])
    index = heads.index_tree(rows)
    signed = formats.read_extensions(heads.checkpoint_of(upper).extensions)
    if (len(rows), index.root()) != (signed["index_size"], signed["index_root"]):
        raise RuntimeError(f"the index at size {upper['tree_size']} differs from the one its head signed")
    wanted = (scope.kind, scope.id)
    position = next((i for i, row in enumerate(rows) if row[:2] >= wanted), len(rows))
    found = position < len(rows) and rows[position][:2] == wanted
    shown = range(max(position - 1, 0), min(position + (2 if found else 1), len(rows)))
    return [{"position": i, "kind": rows[i][0], "key": rows[i][1], "last_seq": rows[i][2],
             "proof": [node.hex() for node in merkle.inclusion_proof(i, len(rows), index.read)]} for i in shown]
