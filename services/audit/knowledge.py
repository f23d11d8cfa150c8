"""History as known on a day: the views' second time axis.

``as_of`` judges by the dates things happened; ``known_on=D`` uses only what the journal had received by the
end of D — what an auditor looking on D would have seen. It is chosen where facts are selected, never inside
a rule: the facts are rebuilt from the journal's first entries by the same pure projections the views worker
runs, and every rule then reads them as it reads today's. Where the two differ, ``differences`` names each
figure that changed and the later-entered records that changed it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg

from shared.envelope import Envelope
from services.audit.domain.roster import Register
from services.audit.projections import facts_of
from services.audit.store import FactStore, MemoryStore, SqlStore, put_all


def journal_size_by(conn: psycopg.Connection, tenant_id: str, moment: datetime) -> int:
    """How many entries the bureau's journal had received before ``moment``."""
    row = conn.execute("SELECT coalesce(max(seq), 0) AS seq FROM journal WHERE tenant_id = %s AND received_at < %s",
                       (tenant_id, moment)).fetchone()
    return row["seq"]


def fact_store(conn: psycopg.Connection, tenant_id: str, known_through: int | None,
               branch_id: str | None = None) -> FactStore:
    """Today's facts, or the facts the first ``known_through`` journal entries give.

    For one branch only the events that can bear on it are replayed: the members' (the register, transfers
    and rules span branches), bureau-level ones, the branch's own, and other branches' that name one of its
    members past or present (a member who came from another branch was reached, and paid, there too). Who
    those members are is taken from the register as known now: history only grows, so it names everyone the
    register known then did, and the views' own selection narrows it again.
    """
    if known_through is None:
        return SqlStore(conn)
    where, params = "tenant_id = %s AND seq <= %s", [tenant_id, known_through]
    if branch_id:
        members = _ever_in(SqlStore(conn), tenant_id, branch_id)
        where += " AND (event_type LIKE 'members.%%' OR branch_id IS NULL OR branch_id = %s OR envelope LIKE ANY(%s))"
        params += [branch_id, [f"%{member_id}%" for member_id in members]]
    store = MemoryStore()
    for row in conn.execute(f"SELECT envelope FROM journal WHERE {where} ORDER BY seq", params):
        put_all(store, facts_of(Envelope.from_dict(json.loads(row["envelope"]))))
    return store


def _ever_in(store: SqlStore, tenant_id: str, branch_id: str) -> list[str]:
    return Register(store.rows("members", tenant_id), store.rows("member_changes", tenant_id)).ever_in(branch_id)


def differences(then: dict, now: dict) -> dict:
    """Each figure whose value or records differ between a scorecard as known then and as known now, and the
    findings raised or cleared since; ``added`` and ``removed`` are the figure's event ids (``explain``
    names the later records behind them)."""
    changes = [{"figure": path, "then": _value(old), "now": _value(new),
                "added": sorted(set(new.get("events", [])) - set(old.get("events", []))),
                "removed": sorted(set(old.get("events", [])) - set(new.get("events", [])))}
               for path, old, new in _figure_pairs(then["figures"], now["figures"])
               if _value(old) != _value(new) or set(old.get("events", [])) != set(new.get("events", []))]
    then_findings, now_findings = _finding_keys(then["findings"]), _finding_keys(now["findings"])
    return {"changes": changes,
            "findings_raised_since": [f for f in now["findings"] if _finding_key(f) not in then_findings],
            "findings_cleared_since": [f for f in then["findings"] if _finding_key(f) not in now_findings]}


def explain(conn: psycopg.Connection, known_through: int, found: dict) -> dict:
    """Name, for each changed figure, the records journalled after entry ``known_through`` that changed it: a
    record it counts now that came later, or a later record of the stream of one it no longer counts (a
    correction or a withdrawal)."""
    for change in found["changes"]:
        rows = conn.execute(
            f"SELECT {LATER_COLUMNS} FROM journal WHERE seq > %(known)s AND (event_id = ANY(%(added)s::uuid[])"
            " OR stream_id IN (SELECT stream_id FROM journal WHERE event_id = ANY(%(removed)s::uuid[])))"
            " ORDER BY seq", {"known": known_through, "added": change["added"], "removed": change["removed"]})
        change["records"] = [_later(row) for row in rows]
    return found


def entered_since(conn: psycopg.Connection, known_through: int, branch_id: str, start: datetime,
                  end: datetime) -> list[dict]:
    """The branch's records of things that happened in ``[start, end)`` but were journalled after the day."""
    rows = conn.execute(f"SELECT {LATER_COLUMNS} FROM journal WHERE seq > %s AND branch_id = %s"
                        " AND occurred_at >= %s AND occurred_at < %s ORDER BY seq",
                        (known_through, branch_id, start, end))
    return [_later(row) for row in rows]


LATER_COLUMNS = "seq, event_id, event_type, occurred_at, received_at"


def _later(row: dict) -> dict:
    return {"event_id": str(row["event_id"]), "event_type": row["event_type"],
            "occurred_at": row["occurred_at"].isoformat(), "journalled_at": row["received_at"].isoformat(),
            "seq": row["seq"]}


def _figure_pairs(old: Any, new: Any, path: str = ""):
    """(path, then, now) for every figure — a mapping that carries ``events``, or a bare count — in either."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        yield path, {"value": old}, {"value": new}
    elif "events" in old or "events" in new:
        yield path, old, new
    else:
        for key in sorted(set(old) | set(new)):
            yield from _figure_pairs(old.get(key, {}), new.get(key, {}), f"{path}.{key}" if path else key)


def _value(figure: dict) -> dict:
    return {key: value for key, value in figure.items() if key != "events"}


def _finding_key(finding: dict) -> tuple:
    return finding["code"], finding["message"]


def _finding_keys(findings: list[dict]) -> set[tuple]:
    return {_finding_key(f) for f in findings}
