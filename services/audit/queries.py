"""Read-side use cases behind the views API and the dashboard: load facts in one tenant-scoped read, compute."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from shared.errors import NotFound
from shared.web import read_transaction
from services.audit import facts as facts_module
from services.audit.demonstration import assess
from services.audit.periods import Period, last_twelve_months, parse_period
from services.audit.scorecard import scorecard
from services.audit.store import SqlStore


def _load(conn: psycopg.Connection, tenant_id: str, start: date, end: date, branch_id: str | None = None):
    return facts_module.load(SqlStore(conn), tenant_id, start, end, branch_id)


def _window(period: Period) -> tuple[date, date]:
    """Facts a period's scorecard reads: from the start of its year (yearly care, dues) to its end."""
    return date(period.year, 1, 1) - timedelta(days=45), period.end


def branch_scorecard(tenant_id: str, branch_id: str, period: Period, today: date) -> dict:
    with read_transaction(tenant_id) as conn:
        loaded = _load(conn, tenant_id, *_window(period), branch_id=branch_id)
    require_branch(loaded, branch_id)
    return scorecard(loaded, branch_id, period, today)


def bureau_scorecard(tenant_id: str, period: Period, today: date) -> dict:
    """Every branch of the bureau, sorted by name: no ranking and no points, only figures and findings."""
    with read_transaction(tenant_id) as conn:
        loaded = _load(conn, tenant_id, *_window(period))
        bureau = conn.execute("SELECT name, code FROM bureaus WHERE bureau_id = %s", (tenant_id,)).fetchone()
    cards = [scorecard(loaded, branch_id, period, today) for branch_id in loaded.branches]
    cards.sort(key=lambda c: (c["branch"]["name"] or "", c["branch"]["id"]))
    return {"bureau": {"id": tenant_id, "name": bureau["name"] if bureau else None},
            "period": period.to_dict(today), "as_of": today.isoformat(),
            "branches": [{"branch": c["branch"], "compliant": c["compliant"], "findings": c["findings"],
                          "members": c["figures"]["members"]["total"],
                          "summary": _summary(c["figures"])} for c in cards]}


def _summary(figures: dict) -> dict:
    """A few headline figures for the roll-up, each still ``{required, done}``."""
    meetings = figures["meetings"]
    return {"committee_meeting": _pair(meetings["committee_meeting"]), "general_meeting": _pair(meetings["general_meeting"]),
            "theme_day": _pair(meetings["theme_day"]), "coverage": _pair(figures["coverage"]),
            "briefings": _pair(figures["briefings"]), "care": {"count": figures["care"]["done"]}}


def _pair(figure: dict) -> dict:
    return {"required": figure["required"], "done": figure["done"]}


def demonstration(tenant_id: str, branch_id: str, year: int, today: date) -> dict:
    card = branch_scorecard(tenant_id, branch_id, parse_period(str(year)), today)
    return assess(card)


def branch_trend(tenant_id: str, branch_id: str, today: date) -> list[dict]:
    """Twelve monthly scorecards' headline figures, for the dashboard's charts."""
    months = [parse_period(m) for m in last_twelve_months(today)]
    with read_transaction(tenant_id) as conn:
        loaded = _load(conn, tenant_id, months[0].start - timedelta(days=45), months[-1].end, branch_id=branch_id)
    require_branch(loaded, branch_id)
    trend = []
    for month in months:
        card = scorecard(loaded, branch_id, month, today)
        meetings = card["figures"]["meetings"]
        trend.append({"month": month.id,
                      "meetings_required": sum(m["required"] for m in meetings.values()),
                      "meetings_done": sum(m["done"] for m in meetings.values()),
                      "coverage_rate": card["figures"]["coverage"]["rate"],
                      "care": card["figures"]["care"]["done"], "findings": len(card["findings"])})
    return trend


def roster(tenant_id: str, branch_id: str, day: date) -> list[dict]:
    with read_transaction(tenant_id) as conn:
        loaded = _load(conn, tenant_id, day, day, branch_id=branch_id)
    require_branch(loaded, branch_id)
    return [{"member_id": m.member_id, "name": m.name, "gender": m.gender, "birth_date": m.birth_date.isoformat(),
             "party_member": m.party_member, "retirement_kind": m.retirement_kind, "health": m.health,
             "mobility": m.mobility, "joined_on": m.joined_on.isoformat(), "group_id": m.group_id}
            for m in loaded.register.in_branch(branch_id, day)]


def member_timeline(tenant_id: str, member_id: str) -> dict:
    with read_transaction(tenant_id) as conn:
        member = conn.execute("SELECT member_id, name, branch_id FROM members WHERE member_id = %s",
                              (member_id,)).fetchone()
        rows = conn.execute("SELECT event_id, event_type, role, branch_id, occurred_at, recorded_at, data"
                            " FROM member_events WHERE member_id = %s ORDER BY occurred_at, recorded_at, event_id",
                            (member_id,)).fetchall()
    if member is None and not rows:
        raise NotFound("no such member in your bureau")
    return {"member": member, "events": [{**row, "event_id": str(row["event_id"]),
                                          "occurred_at": row["occurred_at"].isoformat(),
                                          "recorded_at": row["recorded_at"].isoformat()} for row in rows]}


def branches(tenant_id: str) -> list[dict]:
    with read_transaction(tenant_id) as conn:
        return conn.execute("SELECT branch_id, name, established_on FROM branches ORDER BY name").fetchall()


def require_branch(loaded, branch_id: str) -> None:
    """Another bureau's branch is invisible under row-level security: as absent as a missing one."""
    if branch_id not in loaded.branches:
        raise NotFound("no such branch in your bureau")
