"""Scorecards over years of data for many branches, as a ratio to reading the same records raw.

Synthesises a bureau of BRANCHES branches with YEARS years of the seed's routine (ten members each,
monthly committee meetings, study and theme days, quarterly general meetings and briefings), puts
the events through the audit journal and a views rebuild — the paths the platform itself uses —
then times the branch and bureau scorecards through the HTTP API against a raw baseline: one query
that reads every journal entry of the branch (or bureau) for the period.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.audit import journal  # noqa: E402
from services.audit.app import MIGRATIONS, create_app  # noqa: E402
from services.audit.bootstrap import bootstrap  # noqa: E402
from services.audit.views_feed import rebuild  # noqa: E402
from shared import db  # noqa: E402
from shared.envelope import Actor, Envelope, new_event_id, start_of_day  # noqa: E402
from tests.support import IsolatedService, bearer, stack_environment, token  # noqa: E402

BRANCHES, YEARS, MEMBERS, REPEAT = 100, 3, 10, 20
FIRST_YEAR = date.today().year - YEARS
ACTOR = Actor("bench", "bureau_admin")


def envelope(tenant: str, branch: str | None, event_type: str, stream: str, version: int, day: date,
             data: dict, prev: str = "0" * 64) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(event_id=new_event_id(), event_type=event_type, schema_version=1, stream_id=stream,
                    stream_version=version, tenant_id=tenant, branch_id=branch, occurred_at=start_of_day(day),
                    recorded_at=now, actor=ACTOR, correlation_id=None, causation_id=None, data=data).sealed(prev)


def activity(tenant: str, branch: str, kind: str, day: date, members: list[str]) -> Envelope:
    activity_id = str(uuid.uuid4())
    general = kind == "general_meeting"
    data = {"activity_id": activity_id, "branch_id": branch, "kind": kind, "occurred_on": day.isoformat(),
            "title": kind, "place": "活动室", "topics": [], "attendees": members, "guests": [], "absentees": [],
            "minutes": None, "hours": "2.0", "voting_members": len(members) if general else None,
            "voting_present": len(members) if general else None, "quorate": True if general else None,
            "late": False, "late_reasons": [], "planned_on": None, "group_id": None, "invited": []}
    return envelope(tenant, branch, "activities.ActivityRecorded", f"activity-{activity_id}", 1, day, data)


def branch_history(tenant: str, index: int) -> list[Envelope]:
    branch = str(uuid.uuid4())
    start = date(FIRST_YEAR, 1, 1)
    events = [envelope(tenant, branch, "members.BranchEstablished", f"branch-{branch}", 1, start,
                       {"branch_id": branch, "name": f"第{index:03d}支部", "established_on": start.isoformat()})]
    members = []
    for number in range(MEMBERS):
        member = str(uuid.uuid4())
        members.append(member)
        events.append(envelope(tenant, branch, "members.MemberRegistered", f"member-{member}", 1, start, {
            "member_id": member, "branch_id": branch, "name": f"成员{index}-{number}", "gender": "male",
            "birth_date": "1950-01-01", "party_member": True, "party_join_date": "1975-07-01",
            "retirement_kind": "retired", "pension_base": "4800.00", "health": "good", "mobility": "mobile",
            "phone": None, "address": None, "joined_on": start.isoformat(), "transfer_id": None, "origins": []}))
    for year in range(FIRST_YEAR, FIRST_YEAR + YEARS):
        for month in range(1, 13):
            for kind in ("committee_meeting", "study", "theme_day"):
                events.append(activity(tenant, branch, kind, date(year, month, 10), members))
            if month % 3 == 0:
                for kind in ("general_meeting", "briefing"):
                    events.append(activity(tenant, branch, kind, date(year, month, 20), members))
    return events, branch


def load(settings) -> tuple[str, list[str], int]:
    tenant = str(uuid.uuid4())
    bureau = envelope(tenant, None, "members.BureauRegistered", f"bureau-{tenant}", 1, date(FIRST_YEAR, 1, 1),
                      {"bureau_id": tenant, "name": "基准局", "code": "bench"})
    count, branches = 1, []
    with db.connect(settings.owner_dsn) as conn:
        with conn.transaction():
            journal.append(conn, bureau)
        for index in range(BRANCHES):
            events, branch = branch_history(tenant, index)
            branches.append(branch)
            with conn.transaction():
                for item in events:
                    journal.append(conn, item)
            count += len(events)
    rebuild(settings)
    return tenant, branches, count


def timed(work, repeat: int = REPEAT) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - start) / repeat


def measure(settings, tenant: str, branches: list[str]) -> dict:
    app = create_app(bootstrap(settings))
    client = app.test_client()
    headers = bearer(token(settings, "auditor", tenant=tenant))
    year = str(FIRST_YEAR + 1)
    branch = branches[len(branches) // 2]

    def get(path: str) -> None:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    with db.connect(settings.owner_dsn) as conn:
        def raw(where: str, *params) -> None:
            conn.execute(f"SELECT envelope FROM journal WHERE tenant_id = %s AND {where}"
                         " AND occurred_at >= %s AND occurred_at < %s",
                         (tenant, *params, date(int(year), 1, 1), date(int(year) + 1, 1, 1))).fetchall()

        results = {
            "branch scorecard, one year": (timed(lambda: raw("branch_id = %s", branch)),
                                           timed(lambda: get(f"/api/v1/branches/{branch}/scorecard?period={year}"))),
            "branch scorecard, one month": (
                timed(lambda: raw("branch_id = %s", branch)),
                timed(lambda: get(f"/api/v1/branches/{branch}/scorecard?period={year}-06"))),
            f"bureau roll-up of {BRANCHES} branches, one quarter": (
                timed(lambda: raw("true"), 3),
                timed(lambda: get(f"/api/v1/bureaus/{tenant}/scorecard?period={year}-Q2"), 3)),
        }
    app.extensions["branchwork"].pool.close()
    return results


def main() -> None:
    audit = IsolatedService("audit", [MIGRATIONS], stack_environment())
    settings = audit.create()
    try:
        started = time.perf_counter()
        tenant, branches, count = load(settings)
        elapsed = time.perf_counter() - started
        print(f"loaded {count} events for {BRANCHES} branches over {YEARS} years in {elapsed:.0f} s")
        results = measure(settings, tenant, branches)
    finally:
        audit.drop()
    print(f"{'benchmark':50} {'raw read s':>11} {'scorecard s':>12} {'ratio':>7}")
    for name, (baseline, platform) in results.items():
        print(f"{name:50} {baseline:11.4f} {platform:12.4f} {platform / baseline:7.1f}")
    out = Path(__file__).resolve().parent.parent / ".run" / "bench-scorecards.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({k: {"baseline_s": b, "platform_s": p, "ratio": p / b} for k, (b, p) in results.items()},
                              indent=2))


if __name__ == "__main__":
    main()
