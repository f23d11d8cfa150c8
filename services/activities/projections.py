"""The activities service's own read models, written in the same transaction as the events they reflect.

Pledges are not projected here: their statement never enters an event, so the handler writes the
pledge row itself (``handlers.sign_pledge``); only the record of each read is projected. ``TABLES``
are the tables ``branchwork rebuild activities`` empties and fills again from the event store (the
roster's tables come from Kafka, the pledges table from commands: neither is rebuilt from the store).
Rows are written through a ``RowWriter``: a command writes one event's rows, a rebuild a whole batch's, with the
same statements.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable, Iterable

import psycopg
from psycopg.types.json import Jsonb

from shared.envelope import Envelope
from shared.rowwriter import Fill, RowSet, RowWriter
from services.activities import events as ev

RECORD = ("tenant_id", "activity_id", "branch_id", "kind", "status", "planned_on", "occurred_on", "title", "place",
          "topics", "guests", "minutes", "hours", "group_id", "voting_members", "voting_present", "quorate", "late",
          "late_reasons", "corrections", "version", "recorded_at")
PLANNED = RowSet("activities", ("tenant_id", "activity_id", "branch_id", "kind", "status", "planned_on", "title",
                                "place", "topics", "group_id", "version", "recorded_at"),
                 "(activity_id) DO NOTHING", key="activity_id", positional=True, json=("topics",),
                 types={"planned_on": "date", "version": "integer", "recorded_at": "timestamptz"})
RECORDED = RowSet(  # a recorded or corrected activity: the whole record replaces the previous one
    "activities", RECORD,
    "(activity_id) DO UPDATE SET kind = EXCLUDED.kind, status = 'recorded', occurred_on = EXCLUDED.occurred_on,"
    " title = EXCLUDED.title, place = EXCLUDED.place, topics = EXCLUDED.topics, guests = EXCLUDED.guests,"
    " minutes = EXCLUDED.minutes, hours = EXCLUDED.hours, group_id = EXCLUDED.group_id,"
    " voting_members = EXCLUDED.voting_members, voting_present = EXCLUDED.voting_present,"
    " quorate = EXCLUDED.quorate, late = EXCLUDED.late, late_reasons = EXCLUDED.late_reasons,"
    " corrections = activities.corrections + EXCLUDED.corrections, version = EXCLUDED.version,"
    " recorded_at = EXCLUDED.recorded_at WHERE activities.version < EXCLUDED.version",
    key="activity_id", positional=True, json=("topics", "guests", "late_reasons"),
    types={"planned_on": "date", "occurred_on": "date", "hours": "numeric(5,2)", "voting_members": "integer",
           "voting_present": "integer", "quorate": "boolean", "late": "boolean", "corrections": "integer",
           "version": "integer", "recorded_at": "timestamptz"})
PARTICIPANTS = RowSet("activity_participants", ("tenant_id", "activity_id", "member_id", "presence", "reason",
                                                "invited"), conflict="", key="activity_id", replaces=True,
                      types={"invited": "boolean"}, copies=True)
OUTREACH = RowSet("outreach", ("tenant_id", "outreach_id", "branch_id", "member_id", "channel", "occurred_on", "topic",
                               "note", "hours", "late", "late_reasons", "recorded_at"),
                  "(outreach_id) DO NOTHING", key="outreach_id", positional=True, json=("late_reasons",),
                  types={"occurred_on": "date", "hours": "numeric(5,2)", "late": "boolean",
                         "recorded_at": "timestamptz"})
CARE = RowSet("care", ("tenant_id", "care_id", "branch_id", "member_id", "kind", "occurred_on", "note", "holiday",
                       "holiday_date", "year", "late", "late_reasons", "recorded_at"),
              "(care_id) DO NOTHING", key="care_id", positional=True, json=("late_reasons",),
              types={"occurred_on": "date", "holiday_date": "date", "year": "integer", "late": "boolean",
                     "recorded_at": "timestamptz"})
TEAMS = RowSet("teams", ("tenant_id", "team_id", "branch_id", "name", "kind", "formed_on", "leader_id", "version"),
               "(team_id) DO NOTHING", positional=True, types={"formed_on": "date", "version": "integer"})
TEAM_MEMBERS = RowSet("team_members", ("tenant_id", "team_id", "member_id", "joined_on"), positional=True,
                      types={"joined_on": "date"})
PERFORMANCES = RowSet("team_performances", ("tenant_id", "performance_id", "team_id", "branch_id", "occurred_on",
                                            "title", "place", "performers", "audience", "late", "late_reasons"),
                      "(performance_id) DO NOTHING", positional=True, json=("performers", "late_reasons"),
                      types={"occurred_on": "date", "late": "boolean"})
PLEDGE_READS = RowSet("pledge_reads", ("tenant_id", "pledge_id", "seq", "reader", "reader_role", "read_at"),
                      positional=True, types={"seq": "integer", "read_at": "timestamptz"})
CENTRES = RowSet("centres", ("tenant_id", "branch_id", "place", "set_up_on", "checklist", "version"),
                 "(branch_id) DO NOTHING", positional=True, json=("checklist",),
                 types={"set_up_on": "date", "version": "integer"})
CENTRE_HISTORY = RowSet("centre_history", ("tenant_id", "branch_id", "seq", "kind", "on_date", "place", "from_place",
                                           "item", "evidence", "photo_ref"),
                        positional=True, types={"seq": "integer", "on_date": "date"})
CLOSED_PERIODS = RowSet("closed_periods", ("tenant_id", "period", "starts_on", "ends_on", "closed_on", "closed_at"),
                        positional=True, types={"starts_on": "date", "ends_on": "date", "closed_on": "date",
                                                "closed_at": "timestamptz"})
ROW_SETS = (PLANNED, RECORDED, PARTICIPANTS, OUTREACH, CARE, TEAMS, TEAM_MEMBERS, PERFORMANCES, PLEDGE_READS, CENTRES,
            CENTRE_HISTORY, CLOSED_PERIODS)
"""In the order they are written: an activity before its participants, a team before its members (foreign keys)."""


def _planned(w: RowWriter, e: Envelope, event: ev.ActivityPlanned) -> None:
    w.add(PLANNED, {"tenant_id": e.tenant_id, "activity_id": event.activity_id, "branch_id": event.branch_id,
                    "kind": event.kind, "status": "planned", "planned_on": event.planned_on, "title": event.title,
                    "place": event.place, "topics": event.topics, "group_id": event.group_id,
                    "version": e.stream_version, "recorded_at": e.recorded_at})


def _recorded(w: RowWriter, e: Envelope, event: Any) -> None:
    """A recorded or corrected activity: the whole record replaces the previous one in the read model."""
    corrected = isinstance(event, ev.ActivityCorrected)
    w.add(RECORDED, {
        "tenant_id": e.tenant_id, "activity_id": event.activity_id, "branch_id": event.branch_id, "kind": event.kind,
        "status": "recorded", "planned_on": None if corrected else event.planned_on, "occurred_on": event.occurred_on,
        "title": event.title, "place": event.place, "topics": event.topics, "guests": event.guests,
        "minutes": event.minutes, "hours": event.hours, "group_id": event.group_id,
        "voting_members": event.voting_members, "voting_present": event.voting_present, "quorate": event.quorate,
        "late": event.late, "late_reasons": event.late_reasons, "corrections": 1 if corrected else 0,
        "version": e.stream_version, "recorded_at": e.recorded_at})
    invited, tenant_id, activity_id = set(event.invited), e.tenant_id, event.activity_id
    people = [(tenant_id, activity_id, member_id, "attended", None, member_id in invited)
              for member_id in event.attendees]  # PARTICIPANTS' columns, in their order
    people += [(tenant_id, activity_id, a["member_id"], "absent", a["reason"], False) for a in event.absentees]
    w.replace(PARTICIPANTS, activity_id, people)


def _cancelled(w: RowWriter, e: Envelope, event: ev.ActivityCancelled) -> None:
    w.execute("UPDATE activities SET status = 'cancelled', cancel_reason = %s, version = %s"
              " WHERE activity_id = %s AND version < %s",
              (event.reason, e.stream_version, event.activity_id, e.stream_version))


def _talk(w: RowWriter, e: Envelope, event: ev.TalkGiven) -> None:
    talk = {"speakers": event.speakers, "audience": event.audience, "topic": event.topic,
            "audience_size": event.audience_size}
    w.execute("UPDATE activities SET talk = %s, version = greatest(version, %s) WHERE activity_id = %s",
              (Jsonb(talk), e.stream_version, event.activity_id))


def _outreach(w: RowWriter, e: Envelope, event: ev.OutreachRecorded) -> None:
    w.add(OUTREACH, {"tenant_id": e.tenant_id, "outreach_id": event.outreach_id, "branch_id": event.branch_id,
                     "member_id": event.member_id, "channel": event.channel, "occurred_on": event.occurred_on,
                     "topic": event.topic, "note": event.note, "hours": event.hours, "late": event.late,
                     "late_reasons": event.late_reasons, "recorded_at": e.recorded_at})


def _care(w: RowWriter, e: Envelope, event: ev.CareRecorded) -> None:
    w.add(CARE, {"tenant_id": e.tenant_id, "care_id": event.care_id, "branch_id": event.branch_id,
                 "member_id": event.member_id, "kind": event.kind, "occurred_on": event.occurred_on,
                 "note": event.note, "holiday": event.holiday, "holiday_date": event.holiday_date, "year": event.year,
                 "late": event.late, "late_reasons": event.late_reasons, "recorded_at": e.recorded_at})


def _withdrawn(w: RowWriter, e: Envelope, event: Any) -> None:
    table, key, record_id = (("outreach", "outreach_id", event.outreach_id) if isinstance(event, ev.OutreachWithdrawn)
                             else ("care", "care_id", event.care_id))
    w.execute(f"UPDATE {table} SET withdrawn_on = %s, withdraw_reason = %s WHERE {key} = %s",
              (event.withdrawn_on, event.reason, record_id))


def _team_formed(w: RowWriter, e: Envelope, event: ev.TeamFormed) -> None:
    w.add(TEAMS, {"tenant_id": e.tenant_id, "team_id": event.team_id, "branch_id": event.branch_id,
                  "name": event.name, "kind": event.kind, "formed_on": event.formed_on, "leader_id": event.leader_id,
                  "version": e.stream_version})


def _team_version(w: RowWriter, e: Envelope, team_id: str) -> None:
    """The team's version is its stream's: the one to send in If-Match."""
    w.execute("UPDATE teams SET version = greatest(version, %s) WHERE team_id = %s", (e.stream_version, team_id))


def _team_joined(w: RowWriter, e: Envelope, event: ev.MemberJoinedTeam) -> None:
    w.add(TEAM_MEMBERS, {"tenant_id": e.tenant_id, "team_id": event.team_id, "member_id": event.member_id,
                         "joined_on": event.joined_on})
    _team_version(w, e, event.team_id)


def _team_left(w: RowWriter, e: Envelope, event: ev.MemberLeftTeam) -> None:
    w.execute("UPDATE team_members SET left_on = %s WHERE team_id = %s AND member_id = %s AND left_on IS NULL",
              (event.left_on, event.team_id, event.member_id))
    _team_version(w, e, event.team_id)


def _performed(w: RowWriter, e: Envelope, event: ev.TeamPerformed) -> None:
    w.add(PERFORMANCES, {"tenant_id": e.tenant_id, "performance_id": event.performance_id, "team_id": event.team_id,
                         "branch_id": event.branch_id, "occurred_on": event.occurred_on, "title": event.title,
                         "place": event.place, "performers": event.performers, "audience": event.audience,
                         "late": event.late, "late_reasons": event.late_reasons})
    _team_version(w, e, event.team_id)


def _pledge_read(w: RowWriter, e: Envelope, event: ev.PledgeRead) -> None:
    w.add(PLEDGE_READS, {"tenant_id": e.tenant_id, "pledge_id": event.pledge_id, "seq": e.stream_version,
                         "reader": event.reader, "reader_role": event.reader_role, "read_at": event.read_at})


def _centre(w: RowWriter, e: Envelope, event: Any) -> None:
    if isinstance(event, ev.CentreSetUp):
        w.add(CENTRES, {"tenant_id": e.tenant_id, "branch_id": event.branch_id, "place": event.place,
                        "set_up_on": event.set_up_on, "checklist": event.checklist, "version": e.stream_version})
        row = dict(kind="set_up", on_date=event.set_up_on, place=event.place)
    elif isinstance(event, ev.CentreMoved):
        w.execute("UPDATE centres SET place = %s, moved_on = %s, version = %s WHERE branch_id = %s AND version < %s",
                  (event.to_place, event.moved_on, e.stream_version, event.branch_id, e.stream_version))
        row = dict(kind="moved", on_date=event.moved_on, place=event.to_place, from_place=event.from_place)
    else:
        w.execute("UPDATE centres SET version = greatest(version, %s) WHERE branch_id = %s",
                  (e.stream_version, event.branch_id))
        row = dict(kind="evidenced", on_date=event.evidenced_on, item=event.item, evidence=event.evidence,
                   photo_ref=event.photo_ref)
    w.add(CENTRE_HISTORY, {"place": None, "from_place": None, "item": None, "evidence": None, "photo_ref": None,
                           **row, "tenant_id": e.tenant_id, "branch_id": event.branch_id, "seq": e.stream_version})


def _period_closed(w: RowWriter, e: Envelope, event: ev.PeriodClosed) -> None:
    w.add(CLOSED_PERIODS, {"tenant_id": e.tenant_id, "period": event.period, "starts_on": event.starts_on,
                           "ends_on": event.ends_on, "closed_on": event.closed_on, "closed_at": e.recorded_at})


TABLES = ("activity_participants", "activities", "outreach", "care", "team_performances", "team_members", "teams",
          "pledge_reads", "centre_history", "centres", "closed_periods")
INDEXES_AFTER_FILL = True
"""A rebuild adds the other indexes and the foreign keys after filling the tables: every statement here finds its
rows by a key, and every row it writes passed its foreign keys when the event was first recorded."""
KEYS_AFTER_FILL = ("activity_participants",)
"""… and the participants' key too: their rows are inserted without a conflict clause (each passed the key when
first recorded) and looked up only to be replaced, which adds the key first (``Fill``)."""

PROJECTORS: dict[type, Callable[[RowWriter, Envelope, Any], None]] = {
    ev.ActivityPlanned: _planned, ev.ActivityRecorded: _recorded, ev.ActivityCorrected: _recorded,
    ev.ActivityCancelled: _cancelled, ev.TalkGiven: _talk, ev.OutreachRecorded: _outreach, ev.CareRecorded: _care,
    ev.OutreachWithdrawn: _withdrawn, ev.CareWithdrawn: _withdrawn,
    ev.TeamFormed: _team_formed, ev.MemberJoinedTeam: _team_joined, ev.MemberLeftTeam: _team_left,
    ev.TeamPerformed: _performed, ev.PledgeRead: _pledge_read, ev.CentreSetUp: _centre, ev.CentreMoved: _centre,
    ev.CentreChecklistItemEvidenced: _centre, ev.PeriodClosed: _period_closed,
}


def project(conn: psycopg.Connection, envelope: Envelope, event) -> None:
    """Upsert the rows an event changes; keyed so that applying it twice has the effect of once."""
    project_batch(conn, ((envelope, event),))


def project_batch(conn: psycopg.Connection, events: Iterable[tuple[Envelope, Any]],
                  fill: Fill | None = None) -> None:
    """Write the rows a run of events changes, as if one event after another: what a rebuild replays (with
    ``fill``, into the empty tables of a rebuild)."""
    writer = RowWriter(conn, ROW_SETS, fill)
    for envelope, event in events:
        projector = PROJECTORS.get(type(event))
        if projector is not None:
            projector(writer, envelope, event)
    writer.flush()


project_batch.writes_behind = True  # a rebuild writes its batches while it projects the next (shared/rebuild.py)
project_batch.by_bureau = True
