"""Command handlers: load what a decision needs (stream, roster, rules), let the domain decide, record.

``authorise(branch_id)`` is passed in by the API for commands whose branch is only known once the
stream or the roster has been read (a correction, an outreach for a member).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from shared import chinese
from shared.envelope import start_of_day
from shared.errors import ConcurrencyError, Conflict, Forbidden, NotFound
from shared.unit_of_work import DuplicateRecord, UnitOfWork
from services.activities.commands import (CancelActivity, ClosePeriod, CorrectActivity, EvidenceChecklistItem,
                                          FormTeam, JoinTeam, LeaveTeam, MoveCentre, PlanActivity, RecordActivity,
                                          RecordCare, RecordOutreach, RecordPerformance, RecordPlannedActivity,
                                          RecordTalk, SetUpCentre, SignPledge, WithdrawRecord)
from services.activities.domain import activities as domain, records
from contracts.rulebook.calendar import local_date
from services.activities.domain.activities import Circumstances

Authorise = Callable[[str], None]


def activity_stream(activity_id: str) -> str:
    return f"activity-{activity_id}"


def centre_stream(branch_id: str) -> str:
    return f"centre-{branch_id}"


def circumstances(uow: UnitOfWork, member_ids: Iterable[str] = (), branch_id: str | None = None) -> Circumstances:
    roster, rules, closed_periods = uow.queries.load_circumstances(uow.context.tenant_id, member_ids, branch_id)
    return Circumstances(today=local_date(uow.context.recorded_at), roster=roster, rules=rules,
                         closed_periods=closed_periods)


def _new_id() -> str:
    return str(uuid.uuid4())


def _reply(recorded, record_id: str, event=None) -> dict:
    """The response to a command: the record's id and stream version, its late flags, the attendees who sat in
    by invitation and the quorum, if it has them."""
    body = {"id": record_id, "version": recorded[-1].stream_version}
    if event is not None and hasattr(event, "late"):
        body.update(late=event.late, late_reasons=list(event.late_reasons))
    if event is not None and hasattr(event, "invited"):
        body.update(invited=list(event.invited))
    if event is not None and getattr(event, "quorate", None) is not None:
        body.update(quorate=event.quorate, voting_members=event.voting_members, voting_present=event.voting_present)
    return body


# --- activities ---------------------------------------------------------------------------------

def _people(record) -> list[str]:
    return [*record.get("attendees", ()), *(a["member_id"] for a in record.get("absentees", ())),
            *(g["member_id"] for g in record.get("guests", ()) if g.get("member_id"))]


def plan_activity(uow: UnitOfWork, command: PlanActivity) -> dict:
    activity_id = _new_id()
    events = domain.plan_activity(activity_id, None, command, circumstances(uow))
    recorded = uow.record(activity_stream(activity_id), 0, events, branch_id=command.branch_id)
    return {"id": activity_id, "version": recorded[-1].stream_version, "status": "planned"}


def record_activity(uow: UnitOfWork, command: RecordActivity) -> dict:
    activity_id = _new_id()
    c = circumstances(uow, _people(command.__dict__), command.branch_id)
    events = domain.record_activity(activity_id, None, command, c)
    recorded = uow.record(activity_stream(activity_id), 0, events, branch_id=command.branch_id,
                          occurred_at=start_of_day(command.occurred_on))
    return _reply(recorded, activity_id, events[0])


def _require_version(stream: str, expected_version: int | None, version: int) -> None:
    """The version the client last saw (If-Match), if it sent one, is still the stream's: else a 409."""
    if expected_version is not None and expected_version != version:
        raise ConcurrencyError(stream, expected_version, version)


def _load_activity(uow: UnitOfWork, activity_id: str, authorise: Authorise, expected_version: int | None):
    stream = activity_stream(activity_id)
    state, version = uow.load(stream, domain.evolve_activity, None)
    if state is None:
        raise NotFound("本局没有这条活动记录")
    authorise(state.branch_id)
    _require_version(stream, expected_version, version)
    return state, version


def record_planned(uow: UnitOfWork, activity_id: str, command: RecordPlannedActivity, authorise: Authorise,
                   expected_version: int | None = None) -> dict:
    state, version = _load_activity(uow, activity_id, authorise, expected_version)
    c = circumstances(uow, _people(command.__dict__), state.branch_id)
    events = domain.record_planned(state, command, c)
    recorded = uow.record(activity_stream(activity_id), version, events, branch_id=state.branch_id,
                          occurred_at=start_of_day(events[0].occurred_on))
    return _reply(recorded, activity_id, events[0])


def correct_activity(uow: UnitOfWork, activity_id: str, command: CorrectActivity, authorise: Authorise,
                     expected_version: int) -> dict:
    state, version = _load_activity(uow, activity_id, authorise, expected_version)
    c = circumstances(uow, _people({**state.record, **command.changes}), state.branch_id)
    events = domain.correct_activity(state, command, c)
    recorded = uow.record(activity_stream(activity_id), version, events, branch_id=state.branch_id,
                          occurred_at=start_of_day(events[0].occurred_on))
    return _reply(recorded, activity_id, events[0])


def cancel_activity(uow: UnitOfWork, activity_id: str, command: CancelActivity, authorise: Authorise,
                    expected_version: int | None = None) -> dict:
    state, version = _load_activity(uow, activity_id, authorise, expected_version)
    events = domain.cancel_activity(state, command, local_date(uow.context.recorded_at))
    recorded = uow.record(activity_stream(activity_id), version, events, branch_id=state.branch_id)
    return {"id": activity_id, "version": recorded[-1].stream_version, "status": "cancelled"}


def record_talk(uow: UnitOfWork, command: RecordTalk) -> dict:
    activity_id = _new_id()
    events = domain.record_talk(activity_id, command, circumstances(uow, command.speakers, command.branch_id))
    recorded = uow.record(activity_stream(activity_id), 0, events, branch_id=command.branch_id,
                          occurred_at=start_of_day(command.occurred_on))
    return _reply(recorded, activity_id, events[0])


# --- outreach and care ------------------------------------------------------------------------------

def record_outreach(uow: UnitOfWork, command: RecordOutreach, authorise: Authorise) -> dict:
    outreach_id = _new_id()
    events = records.record_outreach(outreach_id, command, circumstances(uow, [command.member_id]))
    authorise(events[0].branch_id)
    recorded = uow.record(f"outreach-{outreach_id}", 0, events, branch_id=events[0].branch_id,
                          occurred_at=start_of_day(command.occurred_on))
    return _reply(recorded, outreach_id, events[0])


def record_care(uow: UnitOfWork, command: RecordCare, authorise: Authorise) -> dict:
    care_id = _new_id()
    events = records.record_care(care_id, command, circumstances(uow, [command.member_id]))
    authorise(events[0].branch_id)
    if command.kind == "newspaper":
        records.require_no_newspaper(uow.queries.has_newspaper(command.member_id, events[0].year),
                                     events[0].year)
    try:
        recorded = uow.record(f"care-{care_id}", 0, events, branch_id=events[0].branch_id,
                              occurred_at=start_of_day(command.occurred_on))
    except DuplicateRecord:  # a concurrent subscription for the same year won
        records.require_no_newspaper(True, events[0].year)
    body = _reply(recorded, care_id, events[0])
    if events[0].holiday:
        body.update(holiday=events[0].holiday, holiday_date=events[0].holiday_date.isoformat())
    return body


RECORD_KINDS = {"outreach": "走访送学", "care": "关怀慰问"}


def withdraw_record(uow: UnitOfWork, kind: str, record_id: str, command: WithdrawRecord,
                    authorise: Authorise, expected_version: int | None = None) -> dict:
    """Withdraw an outreach (``kind`` outreach) or care record entered in error."""
    stream = f"{kind}-{record_id}"
    record, version = uow.load(stream, records.evolve_personal_record, None)
    if record is None:
        raise NotFound(f"本局没有这条{RECORD_KINDS.get(kind, kind)}记录")
    authorise(record.branch_id)
    _require_version(stream, expected_version, version)
    events = records.withdraw_record(record, kind == "outreach", command, local_date(uow.context.recorded_at))
    recorded = uow.record(stream, version, events, branch_id=record.branch_id)
    return {"id": record_id, "version": recorded[-1].stream_version, "status": "withdrawn"}


# --- teams ------------------------------------------------------------------------------------------

def form_team(uow: UnitOfWork, command: FormTeam) -> dict:
    team_id = _new_id()
    people = [*command.members, *([command.leader_id] if command.leader_id else [])]
    events = records.form_team(team_id, command, circumstances(uow, people))
    recorded = uow.record(f"team-{team_id}", 0, events, branch_id=command.branch_id,
                          occurred_at=start_of_day(command.formed_on))
    return {"id": team_id, "version": recorded[-1].stream_version}


def _load_team(uow: UnitOfWork, team_id: str, authorise: Authorise, expected_version: int | None):
    team, version = uow.load(f"team-{team_id}", records.evolve_team, None)
    if team is None:
        raise NotFound("本局没有这个团队")
    authorise(team.branch_id)
    _require_version(f"team-{team_id}", expected_version, version)
    return team, version


def change_team(uow: UnitOfWork, team_id: str, command: JoinTeam | LeaveTeam | RecordPerformance,
                authorise: Authorise, expected_version: int | None = None) -> dict:
    """A member joins or leaves a team, or the team performs."""
    team, version = _load_team(uow, team_id, authorise, expected_version)
    people = command.performers if isinstance(command, RecordPerformance) else [command.member_id]
    c = circumstances(uow, people)
    if isinstance(command, JoinTeam):
        events, record_id, on = records.join_team(team, command, c), team_id, command.joined_on
    elif isinstance(command, LeaveTeam):
        events, record_id, on = records.leave_team(team, command, c), team_id, command.left_on
    else:
        record_id, on = _new_id(), command.occurred_on
        events = records.record_performance(team, record_id, command, c)
    recorded = uow.record(f"team-{team_id}", version, events, branch_id=team.branch_id, occurred_at=start_of_day(on))
    return _reply(recorded, record_id, events[0] if record_id != team_id else None)


# --- pledges ------------------------------------------------------------------------------------

def sign_pledge(uow: UnitOfWork, command: SignPledge, authorise: Authorise) -> dict:
    """Record the signing as an event (ids, kind, date) and keep the statement only in the pledges table."""
    pledge_id = _new_id()
    [event] = records.sign_pledge(pledge_id, command, circumstances(uow, [command.member_id]))
    authorise(event.branch_id)
    recorded = uow.record(f"pledge-{pledge_id}", 0, [event], branch_id=event.branch_id,
                          occurred_at=start_of_day(command.signed_on))
    uow.queries.keep_pledge(uow.context.tenant_id, event, command.statement, command.document_ref,
                            uow.context.recorded_at)
    return {"id": pledge_id, "version": recorded[-1].stream_version}


def read_pledges(uow: UnitOfWork, pledge_ids: list[str] | None, branch_id: str | None, roles: frozenset[str]) -> list:
    """Pledges for a reader the bureau's rules allow; every pledge returned is recorded as read."""
    rules = uow.queries.load_rules(uow.context.tenant_id).on(local_date(uow.context.recorded_at))
    if not records.may_read_pledges(roles, rules):
        raise Forbidden("按本局规定，您的角色不能查阅承诺书")
    rows = uow.queries.pledges(pledge_ids, branch_id)
    actor = uow.context.actor
    # Two people reading the same pledge at once both append a PledgeRead to its stream; held, the heads make
    # the second wait for the first instead of finding the version moved (a GET failing with a 409).
    versions = uow.lock([f"pledge-{row['pledge_id']}" for row in rows])
    for row in rows:
        stream = f"pledge-{row['pledge_id']}"
        uow.record(stream, versions[stream], records.read_pledge(row, actor.user, actor.role,
                                                                 uow.context.recorded_at), branch_id=row["branch_id"])
    return rows


# --- the activity centre ------------------------------------------------------------------------

def set_up_centre(uow: UnitOfWork, branch_id: str, command: SetUpCentre) -> dict:
    stream = centre_stream(branch_id)
    centre, version = uow.load(stream, records.evolve_centre, None)
    events = records.set_up_centre(branch_id, centre, command, circumstances(uow))
    recorded = uow.record(stream, version, events, branch_id=branch_id, occurred_at=start_of_day(command.set_up_on))
    return {"id": branch_id, "version": recorded[-1].stream_version}


def change_centre(uow: UnitOfWork, branch_id: str, command: MoveCentre | EvidenceChecklistItem,
                  expected_version: int | None = None) -> dict:
    stream = centre_stream(branch_id)
    centre, version = uow.load(stream, records.evolve_centre, None)
    if centre is None:
        raise NotFound("这个支部还没有录入活动阵地", fields={"branch_id": ["没有活动阵地"]})
    _require_version(stream, expected_version, version)
    c = circumstances(uow)
    if isinstance(command, MoveCentre):
        events, on = records.move_centre(centre, command, c), command.moved_on
    else:
        events, on = records.evidence_item(centre, command, c), command.evidenced_on
    recorded = uow.record(stream, version, events, branch_id=branch_id, occurred_at=start_of_day(on))
    return {"id": branch_id, "version": recorded[-1].stream_version}


# --- periods --------------------------------------------------------------------------------------

def close_period(uow: UnitOfWork, command: ClosePeriod) -> dict:
    bureau_id = uow.context.tenant_id
    stream = f"period-{bureau_id}-{command.period}"
    events = records.close_period(bureau_id, uow.queries.period_is_closed(command.period), command,
                                  circumstances(uow))
    try:
        recorded = uow.record(stream, 0, events)
    except ConcurrencyError:  # closed by a concurrent request
        raise Conflict(f"{chinese.period(command.period)}已经关账", code="period_already_closed",
                       fields={"period": ["已经关账"]}) from None
    return {"id": command.period, "version": recorded[-1].stream_version}
