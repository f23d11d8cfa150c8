"""Read-side use cases behind the views API and the dashboard: load facts in one tenant-scoped read, compute."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg

from contracts.rulebook.calendar import (Period, PeriodInvalid, day_start, last_twelve_months, parse_period,
                                         period_of)
from shared.db import connect
from shared.errors import NotFound, RequestInvalid
from shared.web import read_transaction
from services.audit import facts as facts_module
from services.audit import knowledge, labels, notices
from services.audit.demonstration import assess
from services.audit.projections import shown_data
from services.audit.store import Read
from services.audit.domain import scorecard
from services.audit.domain.roster import Register
from services.audit.timeline import describe
from services.audit.tree import ENTRY_COLUMNS


def requested_period(text: str | None, today: date) -> Period:
    """The period a reader asked for (this month by default); anything else is a 400 naming the field."""
    if not text:
        return period_of(today, "month")
    try:
        return parse_period(text)
    except PeriodInvalid:
        raise RequestInvalid("期间写作 2026-11、2026-Q4 或 2026",
                             fields={"period": ["例如 2026-11、2026-Q4、2026"]}) from None


def _load(conn: psycopg.Connection, tenant_id: str, start: date, end: date, branch_id: str | None = None,
          known_through: int | None = None, work: tuple[date, date] | None = None, whole_cards: bool = True):
    store = knowledge.fact_store(conn, tenant_id, known_through, branch_id)
    return facts_module.load(store, tenant_id, start, end, branch_id, work, whole_cards)


def load_facts(conn: psycopg.Connection, tenant_id: str, start: date, end: date, branch_id: str | None,
               known_on: date | None):
    """The facts of a view, as the journal stood at the end of ``known_on`` if given."""
    return _load(conn, tenant_id, start, end, branch_id, known_through(conn, tenant_id, known_on))


def known_through(conn: psycopg.Connection, tenant_id: str, known_on: date | None) -> int | None:
    """The journal entries received by the end of ``known_on`` (in the bureaus' time zone); None for now."""
    if known_on is None:
        return None
    return knowledge.journal_size_by(conn, tenant_id, day_start(known_on + timedelta(days=1)))


def _known_on(known_on: date | None, known: int | None) -> dict:
    return {} if known_on is None else {"known_on": {"date": known_on.isoformat(), "journal_size": known}}


def work_window(period: Period) -> tuple[date, date]:
    """Records of work a period's scorecard counts: the period's own, and its quarters' (study coverage is judged by
    month or by quarter, a month's within its quarter)."""
    return period_of(period.start, "quarter").start, period_of(period.end, "quarter").end


def facts_window(period: Period) -> tuple[date, date]:
    """Facts a period's scorecard reads: from the start of its year (yearly care, dues, visits made ahead of a
    holiday) to the end of the quarter it ends in (a month is covered by study in its quarter when the rules
    count coverage by quarter), with the rules' longest window after it (a birthday greeted a few days late)."""
    return date(period.year, 1, 1) - timedelta(days=45), period_of(period.end, "quarter").end + timedelta(days=45)


@facts_module.collector_paused()
def branch_scorecard(tenant_id: str, branch_id: str, period: Period, today: date, known_on: date | None = None) -> dict:
    """The scorecard; with ``known_on``, as the journal stood at the end of that day, saying which figures
    records entered since have changed and by which records."""
    with read_transaction(tenant_id) as conn:
        known = known_through(conn, tenant_id, known_on)
        loaded = _load(conn, tenant_id, *facts_window(period), branch_id=branch_id, known_through=known,
                       work=work_window(period))
        require_branch(loaded, branch_id)
        card = with_record_count(scorecard(loaded, branch_id, period, today))
        if known is not None:
            card["known_on"] = {**_known_on(known_on, known)["known_on"],
                                **_changed_since(conn, tenant_id, branch_id, period, today, known, card)}
    return card


STANDING = ("members", "committee", "transfers", "centre", "dues")
"""Figures of what a branch is (its register, committee, centre, dues owed) rather than of work done in a period."""


def with_record_count(card: dict) -> dict:
    """The card with ``records``: how many records of the period's work its figures rest on (0: 本期无记录)."""
    return {**card, "records": len(work_record_ids(card["figures"]))}


def work_record_ids(figures: dict) -> set[str]:
    return record_ids({name: value for name, value in figures.items() if name not in STANDING})


def record_ids(figure) -> set[str]:
    """Every event id a figure's ``events`` lists, at any depth (walked without building a set per level, nor a
    generator per dict: a roll-up walks a hundred cards)."""
    found: set[str] = set()
    pending = [figure]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "events":
                    if isinstance(value, list):
                        found.update(value)
                elif isinstance(value, (dict, list)):
                    pending.append(value)
        else:
            pending.extend([value for value in item if isinstance(value, (dict, list))])
    return found


def _changed_since(conn: psycopg.Connection, tenant_id: str, branch_id: str, period: Period, today: date,
                   known: int, card: dict) -> dict:
    now = scorecard(_load(conn, tenant_id, *facts_window(period), branch_id=branch_id, work=work_window(period)),
                    branch_id, period, today)
    found = knowledge.explain(conn, known, knowledge.differences(card, now))
    later = knowledge.entered_since(conn, known, branch_id, day_start(period.start),
                                    day_start(period.end + timedelta(days=1)))
    return {"same_as_now": not (found["changes"] or found["findings_raised_since"]
                                or found["findings_cleared_since"]), **found, "entered_since": later}


@facts_module.collector_paused()
def bureau_scorecard(tenant_id: str, period: Period, today: date, known_on: date | None = None) -> dict:
    """Every branch of the bureau, sorted by name: no ranking and no points, only figures and findings."""
    with read_transaction(tenant_id) as conn:
        known = known_through(conn, tenant_id, known_on)
        loaded = _load(conn, tenant_id, *facts_window(period), known_through=known, work=work_window(period),
                       whole_cards=False)  # the roll-up shows each card's findings and headline figures only
        bureau = conn.execute("SELECT name, code FROM bureaus WHERE bureau_id = %s", (tenant_id,)).fetchone()
    cards = [with_record_count(scorecard(loaded, branch_id, period, today)) for branch_id in loaded.branches]
    cards.sort(key=lambda c: (c["branch"]["name"] or "", c["branch"]["id"]))
    return {"bureau": {"id": tenant_id, "name": bureau["name"] if bureau else None},
            "period": period.to_dict(today), "as_of": today.isoformat(), **_known_on(known_on, known),
            "branches": [rolled_up(c) for c in cards]}


def rolled_up(card: dict) -> dict:
    """What a bureau's roll-up shows of a branch's card."""
    return {"branch": card["branch"], "status": card["status"], "compliant": card["compliant"],
            "findings": card["findings"], "records": card["records"], "members": card["figures"]["members"]["total"],
            "summary": _summary(card["figures"])}


def _summary(figures: dict) -> dict:
    """A few headline figures for the roll-up, each still ``{required, done}``."""
    meetings = figures["meetings"]
    return {"committee_meeting": _pair(meetings["committee_meeting"]),
            "general_meeting": _pair(meetings["general_meeting"]),
            "theme_day": _pair(meetings["theme_day"]), "coverage": _pair(figures["coverage"]),
            "briefings": _pair(figures["briefings"]), "care": {"count": figures["care"]["done"]}}


def _pair(figure: dict) -> dict:
    """``{required, done}``, with ``due_so_far`` while the period runs (what is owed by now)."""
    pair = {"required": figure["required"], "done": figure["done"]}
    if "due_so_far" in figure:
        pair["due_so_far"] = figure["due_so_far"]
    return pair


def demonstration(tenant_id: str, branch_id: str, year: int, today: date, known_on: date | None = None) -> dict:
    card = branch_scorecard(tenant_id, branch_id, parse_period(str(year)), today, known_on)
    return {**assess(card), **({"known_on": card["known_on"]} if known_on else {})}


@facts_module.collector_paused()
def branch_trend(tenant_id: str, branch_id: str, today: date, months: list[str] | None = None,
                 known_on: date | None = None) -> list[dict]:
    """Monthly headline figures for the dashboard's charts: ``months`` (default the last twelve). A month that
    has not begun or lies before the branch existed has no data (``None``), never a 0 % that was not measured."""
    periods = [parse_period(m) for m in months or last_twelve_months(today)]
    with read_transaction(tenant_id) as conn:
        known = known_through(conn, tenant_id, known_on)
        loaded = _load(conn, tenant_id, facts_window(periods[0])[0], facts_window(periods[-1])[1], branch_id=branch_id,
                       known_through=known)
    require_branch(loaded, branch_id)
    established = loaded.branches[branch_id].get("established_on")
    return [_trend_month(loaded, branch_id, month, today, established) for month in periods]


def _trend_month(loaded, branch_id: str, month: Period, today: date, established: date | None) -> dict:
    """A month's headline figures; coverage and care only where the month holds records of work (a month with
    none has no data to measure them by, not a 0 %)."""
    if month.start > today or (established and month.end < established):
        return {"month": month.id, "measured": False, "meetings_required": None, "meetings_done": None,
                "coverage_rate": None, "care": None, "findings": None}
    card = scorecard(loaded, branch_id, month, today)
    meetings, recorded = card["figures"]["meetings"], bool(work_record_ids(card["figures"]))
    return {"month": month.id, "measured": recorded,
            "meetings_required": sum(m["required"] for m in meetings.values()),
            "meetings_done": sum(m["done"] for m in meetings.values()),
            "coverage_rate": card["figures"]["coverage"]["rate"] if recorded else None,
            "care": card["figures"]["care"]["done"] if recorded else None, "findings": len(card["findings"])}


def roster(tenant_id: str, branch_id: str, day: date, known_on: date | None = None) -> list[dict]:
    """The branch's members on ``day``. Only the register is read — the branch, the bureau's members and their
    changes, in one round trip — not the score of tables a scorecard reads: an auditor checks the roster the
    moment a change is recorded, and under load each table read is a wait for a busy server."""
    with read_transaction(tenant_id) as conn:
        store = knowledge.fact_store(conn, tenant_id, known_through(conn, tenant_id, known_on), branch_id)
        branches, members, changes = store.read([
            Read("branches", tenant_id, branch_id), Read("members", tenant_id, columns=facts_module.READ["members"]),
            Read("member_changes", tenant_id)])
    _require_branch_in({row["branch_id"] for row in branches}, branch_id)
    return [{"member_id": m.member_id, "name": m.name, "gender": m.gender, "birth_date": m.birth_date.isoformat(),
             "party_member": m.party_member, "retirement_kind": m.retirement_kind, "health": m.health,
             "mobility": m.mobility, "joined_on": m.joined_on.isoformat(), "group_id": m.group_id}
            for m in Register(members, changes).in_branch(branch_id, day)]


def member_timeline(tenant_id: str, member_id: str, known_on: date | None = None) -> dict:
    """Everything recorded about the member, in the order it happened, each with a line of Chinese saying what;
    the platform's notifications come with what became of each delivery."""
    with read_transaction(tenant_id) as conn:
        known = known_through(conn, tenant_id, known_on)
        member = conn.execute("SELECT member_id, name, branch_id, retirement_kind, party_member, joined_on"
                              " FROM members WHERE member_id = %s", (member_id,)).fetchone()
        rows = [_with_data(row) for row in conn.execute(
            "SELECT m.event_id, m.event_type, m.role, m.branch_id, m.occurred_at, m.recorded_at, m.data,"
            " CASE WHEN m.data IS NULL THEN (SELECT j.envelope FROM journal j WHERE j.event_id = m.event_id) END"
            f" AS envelope FROM member_events m WHERE m.member_id = %s{_journalled_by(known, 'm.event_id')}"
            " ORDER BY m.occurred_at, m.recorded_at, m.event_id", (member_id,)).fetchall()]
        told = _notices(conn, "notification_id = ANY(%s)",
                        [[r["data"]["notification_id"] for r in rows if r["event_type"] == NOTICE_EVENT]], known)
        names = {"branches": {r["branch_id"]: r["name"] for r in conn.execute("SELECT branch_id, name FROM branches")},
                 "teams": {r["team_id"]: r["name"] for r in conn.execute("SELECT team_id, name FROM teams")}}
    if member is None and not rows:
        raise NotFound("本局没有这名党员")
    by_id = {n["notification_id"]: n for n in told}
    events = [_timeline_entry(row, member_id, by_id, names) for row in rows]
    if member:
        member = {**member, "joined_on": member["joined_on"].isoformat() if member["joined_on"] else None}
    return {"member": member, "events": events, **_known_on(known_on, known),
            "notifications": notices.summary([e["notification"] for e in events if e.get("notification")])}


def _with_data(row: dict) -> dict:
    """A timeline row with its event's data: the row's own (a notification's summary), else the journal's."""
    envelope = row.pop("envelope")
    if row["data"] is None and envelope is not None:
        row["data"] = json.loads(envelope)["data"]
    return row


def _journalled_by(known: int | None, column: str = "event_id") -> str:
    """A condition keeping only rows whose event the journal had received as entry ``known`` or before."""
    if known is None:
        return ""
    return f" AND {column} IN (SELECT event_id FROM journal WHERE seq <= {int(known)})"


NOTICE_EVENT = "notify.NotificationScheduled"


def _timeline_entry(row: dict, member_id: str, notices_by_id: dict, names: dict) -> dict:
    entry = {**row, "event_id": str(row["event_id"]), "occurred_at": row["occurred_at"].isoformat(),
             "recorded_at": row["recorded_at"].isoformat(), "event_label": labels.event_type(row["event_type"]),
             "role_label": labels.ROLES.get(row["role"], row["role"]),
             "late": bool((row["data"] or {}).get("late")),
             "summary": describe(row["event_type"], row["data"] or {}, member_id, names)}
    if row["event_type"] == NOTICE_EVENT:
        entry["notification"] = notices_by_id.get(row["data"]["notification_id"])
    return entry


def branch_notifications(tenant_id: str, branch_id: str, period: Period, known_on: date | None = None) -> dict:
    """The notifications the platform sent about a branch in a period, newest first, with their deliveries."""
    with read_transaction(tenant_id) as conn:
        if not conn.execute("SELECT 1 FROM branches WHERE branch_id = %s", (branch_id,)).fetchone():
            raise NotFound("本局没有这个支部")
        known = known_through(conn, tenant_id, known_on)
        told = _notices(conn, "branch_id = %s AND scheduled_at >= %s AND scheduled_at < %s",
                        [branch_id, period.start, period.end + timedelta(days=1)], known)
    told.sort(key=lambda n: (n["scheduled_at"] or "", n["notification_id"]), reverse=True)
    return {"branch_id": branch_id, "period": period.id, "notifications": told, **notices.summary(told),
            **_known_on(known_on, known)}


def _notices(conn: psycopg.Connection, where: str, params: list, known: int | None = None) -> list[dict]:
    found = conn.execute(f"SELECT * FROM notifications WHERE {where}{_journalled_by(known)}", params).fetchall()
    if not found:
        return []
    outcomes: dict[str, list[dict]] = {}
    for row in conn.execute("SELECT * FROM notification_deliveries WHERE notification_id = ANY(%s)"
                            f"{_journalled_by(known)}", ([n["notification_id"] for n in found],)).fetchall():
        outcomes.setdefault(row["notification_id"], []).append(row)
    return [notices.fold(n, outcomes.get(n["notification_id"], [])) for n in found]


def branches(tenant_id: str) -> list[dict]:
    with read_transaction(tenant_id) as conn:
        return conn.execute("SELECT branch_id, name, established_on FROM branches ORDER BY name").fetchall()


def require_branch(loaded, branch_id: str) -> None:
    _require_branch_in(loaded.branches, branch_id)


def _require_branch_in(branches, branch_id: str) -> None:
    """Another bureau's branch is invisible under row-level security: as absent as a missing one."""
    if branch_id not in branches:
        raise NotFound("本局没有这个支部")


HISTORY_FILTERS = {"event_type": "event_type = %s", "stream_id": "stream_id = %s", "branch_id": "branch_id = %s",
                   "actor": "actor_user = %s", "since": "occurred_at >= %s", "until": "occurred_at < %s"}


def event_history(tenant_id: str, filters: dict, event_ids: list[str] | None = None, limit: int = 200,
                  before_seq: int | None = None) -> list[dict]:
    """Journal entries for the dashboard, newest first (``before_seq`` pages further back), each with a line
    saying what happened and who recorded it, by name; a pledge shows only that one was signed or read
    (need-to-know data is counted, never shown)."""
    clauses, params = history_where(filters)
    clauses.insert(0, "TRUE")
    if event_ids is not None:
        clauses.append("event_id = ANY(%s::uuid[])")
        params.append(event_ids)
    if before_seq:
        clauses.append("seq < %s")
        params.append(before_seq)
    with read_transaction(tenant_id) as conn:
        rows = conn.execute(f"SELECT seq, event_id, event_type, stream_id, stream_version, branch_id, actor_user,"
                            f" occurred_at, recorded_at, envelope FROM journal WHERE {' AND '.join(clauses)}"
                            f" ORDER BY seq DESC LIMIT %s", [*params, limit]).fetchall()
        names = people_named(conn, {row["actor_user"] for row in rows})
    return [_history_entry(row, names) for row in rows]


def history_stream(tenant_id: str, where: list[str], params: list, order: str = "seq",
                   limit: int | None = None) -> Iterator[dict]:
    """Every journal entry matching ``where``, read through a server-side cursor: an export of any length
    holds every row without the service holding them all at once."""
    with read_transaction(tenant_id) as conn:
        names = people_named(conn, None)
        with conn.cursor(name="history_export") as cursor:
            cursor.itersize = 1000
            cursor.execute(f"SELECT seq, envelope FROM journal WHERE {' AND '.join(where) or 'TRUE'} ORDER BY {order}"
                           + (" LIMIT %s" if limit else ""), [*params, limit] if limit else params)
            for row in cursor:
                envelope = json.loads(row["envelope"])
                actor = envelope.get("actor") or {}
                yield {"seq": row["seq"], "raw": row["envelope"], "envelope": envelope,
                       "actor": labels.actor(actor.get("user"), actor.get("role"), names)}


def history_where(filters: dict) -> tuple[list[str], list]:
    """The dashboard's history filters (by the day things happened) as SQL."""
    clauses, params = [], []
    for name, value in filters.items():
        if value:
            clauses.append(HISTORY_FILTERS[name])
            params.append(value + timedelta(days=1) if name == "until" else value)
    return clauses, params


# The journal API's filters go by when the journal received an entry (the dashboard's, above, by when it happened).
JOURNAL_FILTERS = {"stream_id": "stream_id = %s", "event_type": "event_type = %s", "branch_id": "branch_id = %s",
                   "actor": "actor_user = %s", "since": "recorded_at >= %s", "until": "recorded_at < %s"}


@dataclass(frozen=True)
class JournalSelection:
    """The journal entries a reader asked for, as SQL, and their order."""

    where: list[str]
    params: list
    order: str


def journal_selection(tenant_id: str, query: dict) -> JournalSelection:
    """Entries after ``after_seq`` matching every filter given (and received by the end of ``known_on``, if
    given): one stream in its own order, anything else in journal order."""
    where = ["seq > %s"] + [JOURNAL_FILTERS[name] for name in JOURNAL_FILTERS if name in query]
    params = [query["after_seq"]] + [query[name] for name in JOURNAL_FILTERS if name in query]
    if "known_on" in query:
        with read_transaction(tenant_id) as conn:
            where.append("seq <= %s")
            params.append(known_through(conn, tenant_id, query["known_on"]))
    return JournalSelection(where, params, "stream_version" if "stream_id" in query else "seq")


def journal_page(tenant_id: str, selection: JournalSelection, limit: int) -> list[dict]:
    with read_transaction(tenant_id) as conn:
        return conn.execute(f"SELECT seq, envelope FROM journal WHERE {' AND '.join(selection.where)}"
                            f" ORDER BY {selection.order} LIMIT %s", [*selection.params, limit]).fetchall()


def journal_entry(conn: psycopg.Connection, event_id: str) -> dict | None:
    """The journal's entry of one event, with what its leaf is made of."""
    return conn.execute(f"SELECT {ENTRY_COLUMNS} FROM journal WHERE event_id = %s", (event_id,)).fetchone()


def branch_known(conn: psycopg.Connection, branch_id: str) -> bool:
    return conn.execute("SELECT 1 FROM branches WHERE branch_id = %s", (branch_id,)).fetchone() is not None


def stream_journalled(conn: psycopg.Connection, stream_id: str) -> bool:
    return conn.execute("SELECT 1 FROM journal WHERE stream_id = %s LIMIT 1", (stream_id,)).fetchone() is not None


def bureau_names(owner_dsn: str) -> dict[str, str]:
    """Every bureau the journal knows, by id, with its name (its id when it has none): read across bureaus,
    as the owner."""
    with connect(owner_dsn) as conn:
        rows = conn.execute("SELECT bureau_id, name FROM bureaus ORDER BY name, bureau_id").fetchall()
    return {row["bureau_id"]: row["name"] or row["bureau_id"] for row in rows}


def people_named(conn: psycopg.Connection, ids) -> dict[str, str]:
    """Members' names by id (all of the bureau's when ``ids`` is None), for actors who are members: a secretary
    signs in as their member id."""
    if ids is None:
        found = conn.execute("SELECT member_id, name FROM members")
    else:
        found = conn.execute("SELECT member_id, name FROM members WHERE member_id = ANY(%s)",
                             (sorted(i for i in ids if i),))
    return {row["member_id"]: row["name"] for row in found.fetchall() if row["name"]}


def _history_entry(row: dict, names: dict[str, str]) -> dict:
    envelope = json.loads(row.pop("envelope"))
    data = shown_data(envelope["event_type"], envelope["schema_version"], envelope["data"])
    private = row["event_type"] in labels.PLEDGE_EVENTS
    return {**row, "event_label": labels.event_type(row["event_type"]), "private": private,
            "actor": labels.actor(row["actor_user"], (envelope.get("actor") or {}).get("role"), names),
            "stream_label": labels.stream(row["stream_id"]),
            "summary": "承诺书（仅计数，不显示签署人及内容）" if private else describe(row["event_type"], data, ""),
            "data": None if private else json.dumps(data, ensure_ascii=False, sort_keys=True)}
