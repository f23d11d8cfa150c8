"""The activities service's own read models, written in the same transaction as the events they reflect.

Pledges are not projected here: their statement never enters an event, so the handler writes the
pledge row itself (``handlers.sign_pledge``); only the record of each read is projected. ``TABLES``
are the tables ``branchwork rebuild activities`` empties and fills again from the event store (the
roster's tables come from Kafka, the pledges table from commands: neither is rebuilt from the store).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

import psycopg
from psycopg.types.json import Jsonb

from shared.envelope import Envelope
from services.activities import events as ev


def _planned(conn: psycopg.Connection, e: Envelope, event: ev.ActivityPlanned) -> None:
    conn.execute(
        "INSERT INTO activities (tenant_id, activity_id, branch_id, kind, status, planned_on, title, place, topics,"
        " group_id, version, recorded_at) VALUES (%s, %s, %s, %s, 'planned', %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (activity_id) DO NOTHING",
        (e.tenant_id, event.activity_id, event.branch_id, event.kind, event.planned_on, event.title, event.place,
         Jsonb(event.topics), event.group_id, e.stream_version, e.recorded_at))


def _recorded(conn: psycopg.Connection, e: Envelope, event: Any) -> None:
    """A recorded or corrected activity: the whole record replaces the previous one in the read model."""
    corrected = isinstance(event, ev.ActivityCorrected)
    conn.execute(
        "INSERT INTO activities (tenant_id, activity_id, branch_id, kind, status, planned_on, occurred_on, title,"
        " place, topics, guests, minutes, hours, group_id, voting_members, voting_present, quorate, late, late_reasons,"
        " corrections, version, recorded_at) VALUES (%(tenant)s, %(id)s, %(branch)s, %(kind)s, 'recorded', %(planned)s,"
        " %(on)s, %(title)s, %(place)s, %(topics)s, %(guests)s, %(minutes)s, %(hours)s, %(group)s, %(voting)s,"
        " %(present)s, %(quorate)s, %(late)s, %(reasons)s, %(corrections)s, %(version)s, %(at)s)"
        " ON CONFLICT (activity_id) DO UPDATE SET kind = EXCLUDED.kind, status = 'recorded',"
        " occurred_on = EXCLUDED.occurred_on, title = EXCLUDED.title, place = EXCLUDED.place,"
        " topics = EXCLUDED.topics, guests = EXCLUDED.guests, minutes = EXCLUDED.minutes, hours = EXCLUDED.hours,"
        " group_id = EXCLUDED.group_id, voting_members = EXCLUDED.voting_members,"
        " voting_present = EXCLUDED.voting_present, quorate = EXCLUDED.quorate, late = EXCLUDED.late,"
        " late_reasons = EXCLUDED.late_reasons, corrections = activities.corrections + %(corrections)s,"
        " version = EXCLUDED.version, recorded_at = EXCLUDED.recorded_at"
        " WHERE activities.version < EXCLUDED.version",
        {"tenant": e.tenant_id, "id": event.activity_id, "branch": event.branch_id, "kind": event.kind,
         "planned": None if corrected else event.planned_on, "on": event.occurred_on, "title": event.title,
         "place": event.place, "topics": Jsonb(event.topics), "guests": Jsonb(event.guests), "minutes": event.minutes,
         "hours": event.hours, "group": event.group_id, "voting": event.voting_members,
         "present": event.voting_present, "quorate": event.quorate, "late": event.late,
         "reasons": Jsonb(event.late_reasons), "corrections": 1 if corrected else 0, "version": e.stream_version,
         "at": e.recorded_at})
    conn.execute("DELETE FROM activity_participants WHERE activity_id = %s", (event.activity_id,))
    invited = set(event.invited)
    people = [(member_id, "attended", None, member_id in invited) for member_id in event.attendees]
    people += [(a["member_id"], "absent", a["reason"], False) for a in event.absentees]
    if people:  # one statement for the whole list, not one per person
        member_ids, presence, reasons, invitations = (list(column) for column in zip(*people))
        conn.execute("INSERT INTO activity_participants (tenant_id, activity_id, member_id, presence, reason, invited)"
                     " SELECT %s, %s, * FROM unnest(%b::text[], %b::text[], %b::text[], %b::boolean[])",
                     (e.tenant_id, event.activity_id, member_ids, presence, reasons, invitations))


def _cancelled(conn: psycopg.Connection, e: Envelope, event: ev.ActivityCancelled) -> None:
    conn.execute("UPDATE activities SET status = 'cancelled', cancel_reason = %s, version = %s"
                 " WHERE activity_id = %s AND version < %s",
                 (event.reason, e.stream_version, event.activity_id, e.stream_version))


def _talk(conn: psycopg.Connection, e: Envelope, event: ev.TalkGiven) -> None:
    talk = {"speakers": event.speakers, "audience": event.audience, "topic": event.topic,
            "audience_size": event.audience_size}
    conn.execute("UPDATE activities SET talk = %s, version = greatest(version, %s) WHERE activity_id = %s",
                 (Jsonb(talk), e.stream_version, event.activity_id))


def _outreach(conn: psycopg.Connection, e: Envelope, event: ev.OutreachRecorded) -> None:
    conn.execute(
        "INSERT INTO outreach (tenant_id, outreach_id, branch_id, member_id, channel, occurred_on, topic, note, hours,"
        " late, late_reasons, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (outreach_id) DO NOTHING",
        (e.tenant_id, event.outreach_id, event.branch_id, event.member_id, event.channel, event.occurred_on,
         event.topic, event.note, event.hours, event.late, Jsonb(event.late_reasons), e.recorded_at))


def _care(conn: psycopg.Connection, e: Envelope, event: ev.CareRecorded) -> None:
    conn.execute(
        "INSERT INTO care (tenant_id, care_id, branch_id, member_id, kind, occurred_on, note, holiday, holiday_date,"
        " year, late, late_reasons, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (care_id) DO NOTHING",
        (e.tenant_id, event.care_id, event.branch_id, event.member_id, event.kind, event.occurred_on, event.note,
         event.holiday, event.holiday_date, event.year, event.late, Jsonb(event.late_reasons), e.recorded_at))


def _withdrawn(conn: psycopg.Connection, e: Envelope, event: Any) -> None:
    table, key, record_id = (("outreach", "outreach_id", event.outreach_id) if isinstance(event, ev.OutreachWithdrawn)
                             else ("care", "care_id", event.care_id))
    conn.execute(f"UPDATE {table} SET withdrawn_on = %s, withdraw_reason = %s WHERE {key} = %s",
                 (event.withdrawn_on, event.reason, record_id))


def _team_formed(conn: psycopg.Connection, e: Envelope, event: ev.TeamFormed) -> None:
    conn.execute("INSERT INTO teams (tenant_id, team_id, branch_id, name, kind, formed_on, leader_id, version)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (team_id) DO NOTHING",
                 (e.tenant_id, event.team_id, event.branch_id, event.name, event.kind, event.formed_on,
                  event.leader_id, e.stream_version))


def _team_version(conn: psycopg.Connection, e: Envelope, team_id: str) -> None:
    """The team's version is its stream's: the one to send in If-Match."""
    conn.execute("UPDATE teams SET version = greatest(version, %s) WHERE team_id = %s", (e.stream_version, team_id))


def _team_joined(conn: psycopg.Connection, e: Envelope, event: ev.MemberJoinedTeam) -> None:
    conn.execute("INSERT INTO team_members (tenant_id, team_id, member_id, joined_on) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT DO NOTHING", (e.tenant_id, event.team_id, event.member_id, event.joined_on))
    _team_version(conn, e, event.team_id)


def _team_left(conn: psycopg.Connection, e: Envelope, event: ev.MemberLeftTeam) -> None:
    conn.execute("UPDATE team_members SET left_on = %s WHERE team_id = %s AND member_id = %s AND left_on IS NULL",
                 (event.left_on, event.team_id, event.member_id))
    _team_version(conn, e, event.team_id)


def _performed(conn: psycopg.Connection, e: Envelope, event: ev.TeamPerformed) -> None:
    conn.execute(
        "INSERT INTO team_performances (tenant_id, performance_id, team_id, branch_id, occurred_on, title, place,"
        " performers, audience, late, late_reasons) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (performance_id) DO NOTHING",
        (e.tenant_id, event.performance_id, event.team_id, event.branch_id, event.occurred_on, event.title,
         event.place, Jsonb(event.performers), event.audience, event.late, Jsonb(event.late_reasons)))
    _team_version(conn, e, event.team_id)


def _pledge_read(conn: psycopg.Connection, e: Envelope, event: ev.PledgeRead) -> None:
    conn.execute("INSERT INTO pledge_reads (tenant_id, pledge_id, seq, reader, reader_role, read_at)"
                 " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (e.tenant_id, event.pledge_id, e.stream_version, event.reader, event.reader_role, event.read_at))


def _centre(conn: psycopg.Connection, e: Envelope, event: Any) -> None:
    if isinstance(event, ev.CentreSetUp):
        conn.execute("INSERT INTO centres (tenant_id, branch_id, place, set_up_on, checklist, version)"
                     " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (branch_id) DO NOTHING",
                     (e.tenant_id, event.branch_id, event.place, event.set_up_on, Jsonb(event.checklist),
                      e.stream_version))
        row = dict(kind="set_up", on_date=event.set_up_on, place=event.place)
    elif isinstance(event, ev.CentreMoved):
        conn.execute("UPDATE centres SET place = %s, moved_on = %s, version = %s WHERE branch_id = %s AND version < %s",
                     (event.to_place, event.moved_on, e.stream_version, event.branch_id, e.stream_version))
        row = dict(kind="moved", on_date=event.moved_on, place=event.to_place, from_place=event.from_place)
    else:
        conn.execute("UPDATE centres SET version = greatest(version, %s) WHERE branch_id = %s",
                     (e.stream_version, event.branch_id))
        row = dict(kind="evidenced", on_date=event.evidenced_on, item=event.item, evidence=event.evidence,
                   photo_ref=event.photo_ref)
    row = {"place": None, "from_place": None, "item": None, "evidence": None, "photo_ref": None, **row}
    conn.execute("INSERT INTO centre_history (tenant_id, branch_id, seq, kind, on_date, place, from_place, item,"
                 " evidence, photo_ref) VALUES (%(tenant)s, %(branch)s, %(seq)s, %(kind)s, %(on_date)s, %(place)s,"
                 " %(from_place)s, %(item)s, %(evidence)s, %(photo_ref)s) ON CONFLICT DO NOTHING",
                 {**row, "tenant": e.tenant_id, "branch": event.branch_id, "seq": e.stream_version})


def _period_closed(conn: psycopg.Connection, e: Envelope, event: ev.PeriodClosed) -> None:
    conn.execute("INSERT INTO closed_periods (tenant_id, period, starts_on, ends_on, closed_on, closed_at)"
                 " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (e.tenant_id, event.period, event.starts_on, event.ends_on, event.closed_on, e.recorded_at))


TABLES = ("activity_participants", "activities", "outreach", "care", "team_performances", "team_members", "teams",
          "pledge_reads", "centre_history", "centres", "closed_periods")

PROJECTORS: dict[type, Callable[[psycopg.Connection, Envelope, Any], None]] = {
    ev.ActivityPlanned: _planned, ev.ActivityRecorded: _recorded, ev.ActivityCorrected: _recorded,
    ev.ActivityCancelled: _cancelled, ev.TalkGiven: _talk, ev.OutreachRecorded: _outreach, ev.CareRecorded: _care,
    ev.OutreachWithdrawn: _withdrawn, ev.CareWithdrawn: _withdrawn,
    ev.TeamFormed: _team_formed, ev.MemberJoinedTeam: _team_joined, ev.MemberLeftTeam: _team_left,
    ev.TeamPerformed: _performed, ev.PledgeRead: _pledge_read, ev.CentreSetUp: _centre, ev.CentreMoved: _centre,
    ev.CentreChecklistItemEvidenced: _centre, ev.PeriodClosed: _period_closed,
}


def project(conn: psycopg.Connection, envelope: Envelope, event) -> None:
    """Upsert the rows an event changes; keyed so that applying it twice has the effect of once."""
    projector = PROJECTORS.get(type(event))
    if projector is not None:
        projector(conn, envelope, event)
