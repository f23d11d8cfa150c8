"""Outreach, care, teams, pledges, the activity centre and periods: each record checked against the roster."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from collections.abc import Mapping, Sequence

from services.activities.events import (CareRecorded, CareWithdrawn, OutreachWithdrawn, CentreChecklistItemEvidenced,
                                        CentreMoved, CentreSetUp, MemberJoinedTeam, MemberLeftTeam, OutreachRecorded,
                                        PeriodClosed, PledgeRead, PledgeSigned, TeamFormed, TeamPerformed)
from contracts import words
from shared import chinese
from services.activities.domain import ActivitiesConflict, ActivitiesRuleBroken
from services.activities.domain.activities import Circumstances, _name, check_participants
from contracts.rulebook.calendar import Period, parse_period
from contracts.rulebook.holidays import holiday_in_window, holiday_label, holiday_visited_by
from contracts.rulebook.people import birthday_near
from services.activities.domain.roster import DEPARTURES, NOT_A_MEMBER_CODES

if TYPE_CHECKING:  # the commands' types only: the domain never loads their request schemas
    from services.activities.commands import (ClosePeriod, EvidenceChecklistItem, FormTeam, JoinTeam, LeaveTeam,
                                              MoveCentre, RecordCare, RecordOutreach, RecordPerformance, SetUpCentre,
                                              SignPledge, WithdrawRecord)


def branch_of_member(c: Circumstances, member_id: str, day: date, branch_id: str | None = None, *,
                     deceased_too: bool = False) -> str:
    """The branch ``member_id`` belonged to on ``day`` (for a condolence, the last one before death)."""
    standing = c.roster.standing(member_id, day)
    if standing.status == "died" and deceased_too:
        standing = c.roster.standing(member_id, standing.since - timedelta(days=1))
    if not standing.is_member:
        raise ActivitiesRuleBroken(f"{chinese.day(day)}这名党员不在本局任何支部"
                                   f"（{words.word(words.NOT_A_MEMBER, NOT_A_MEMBER_CODES[standing.status])}）",
                                   field="member_id", code=NOT_A_MEMBER_CODES[standing.status])
    if branch_id is not None and standing.branch_id != branch_id:
        raise ActivitiesRuleBroken(f"{chinese.day(day)}这名党员不在本支部", field="member_id",
                                   code="member_not_in_branch")
    return standing.branch_id


# --- outreach and care ------------------------------------------------------------------------------

def record_outreach(outreach_id: str, command: RecordOutreach, c: Circumstances) -> list:
    c.require_past(command.occurred_on, "occurred_on")
    branch_id = branch_of_member(c, command.member_id, command.occurred_on, command.branch_id)
    reasons = c.late_reasons(command.occurred_on)
    return [OutreachRecorded(outreach_id=outreach_id, branch_id=branch_id, member_id=command.member_id,
                             channel=command.channel, occurred_on=command.occurred_on, topic=command.topic,
                             note=command.note, hours=command.hours, late=bool(reasons), late_reasons=reasons)]


def record_care(care_id: str, command: RecordCare, c: Circumstances) -> list:
    day = command.occurred_on
    c.require_past(day, "occurred_on")
    branch_id = branch_of_member(c, command.member_id, day, command.branch_id,
                                 deceased_too=command.kind == "condolence")
    holiday, holiday_date = _holiday(command, c) if command.kind == "holiday_visit" else (None, None)
    year = _newspaper_year(command) if command.kind == "newspaper" else None
    if command.kind == "birthday":
        _require_near_birthday(c.roster.members[command.member_id].birth_date, day, c.rules.on(day))
    reasons = c.late_reasons(day)
    return [CareRecorded(care_id=care_id, branch_id=branch_id, member_id=command.member_id, kind=command.kind,
                         occurred_on=day, note=command.note, holiday=holiday, holiday_date=holiday_date, year=year,
                         late=bool(reasons), late_reasons=reasons)]


@dataclass(frozen=True)
class PersonalRecord:
    """An outreach or care record: whose, in which branch, and whether it was withdrawn."""
    record_id: str
    branch_id: str
    member_id: str
    kind: str
    withdrawn: bool = False


def evolve_personal_record(state: PersonalRecord | None, event) -> PersonalRecord | None:
    if isinstance(event, OutreachRecorded):
        return PersonalRecord(event.outreach_id, event.branch_id, event.member_id, event.channel)
    if isinstance(event, CareRecorded):
        return PersonalRecord(event.care_id, event.branch_id, event.member_id, event.kind)
    if isinstance(event, (OutreachWithdrawn, CareWithdrawn)):
        return replace(state, withdrawn=True)
    return state


def withdraw_record(record: PersonalRecord, outreach: bool, command: WithdrawRecord, today: date) -> list:
    """Withdraw a record entered in error: it stays in the history, marked, and no longer counts."""
    if record.withdrawn:
        raise ActivitiesRuleBroken("这条记录已经撤回", code="record_already_withdrawn")
    if outreach:
        return [OutreachWithdrawn(outreach_id=record.record_id, branch_id=record.branch_id,
                                  member_id=record.member_id, withdrawn_on=today, reason=command.reason)]
    return [CareWithdrawn(care_id=record.record_id, branch_id=record.branch_id, member_id=record.member_id,
                          kind=record.kind, withdrawn_on=today, reason=command.reason)]


def _holiday(command: RecordCare, c: Circumstances) -> tuple[str, date]:
    """The holiday a visit belongs to: the one named, or the bureau's holiday nearest the visit."""
    if command.holiday:
        when = holiday_in_window(command.holiday, command.occurred_on)
        if when is None:
            raise ActivitiesRuleBroken(f"{chinese.day(command.occurred_on)}离{holiday_label(command.holiday)}太远，"
                                       "不算这个节日的慰问", field="occurred_on",
                                       code="no_holiday_near_date")
        return command.holiday, when
    found = holiday_visited_by(command.occurred_on, c.rules.on(command.occurred_on)["holiday_visits"])
    if found is None:
        raise ActivitiesRuleBroken("这个日期附近没有本局规定慰问的节日，请选择是哪个节日的慰问",
                                   field="holiday", code="no_holiday_near_date")
    return found


def _newspaper_year(command: RecordCare) -> int:
    year = command.year or command.occurred_on.year
    if year not in (command.occurred_on.year, command.occurred_on.year + 1):
        raise ActivitiesRuleBroken("党报只能订阅今年或明年的", field="year",
                                   code="newspaper_year_mismatch")
    return year


def _require_near_birthday(birth_date: date, day: date, rules: Mapping) -> None:
    """Within the rules' window of the birthday (the rulebook's one window, for recording, reminding, judging)."""
    if birthday_near(birth_date, day, rules) is None:
        raise ActivitiesRuleBroken(f"生日关怀应在生日前后 {rules['birthday_window_days']} 天内", field="occurred_on",
                                   code="not_near_birthday")


def require_no_newspaper(already: bool, year: int | None) -> None:
    if already:
        raise ActivitiesConflict(f"这名党员{year}年的党报已经订过了", code="newspaper_already_subscribed", field="year",
                                 details=["已经订过"])


# --- interest teams ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Team:
    team_id: str
    branch_id: str
    formed_on: date
    spans: tuple[tuple[str, date, date | None], ...] = ()

    def member_on(self, member_id: str, day: date) -> bool:
        return any(m == member_id and joined <= day and (left is None or day < left) for m, joined, left in self.spans)

    def current(self, member_id: str) -> tuple[str, date, date | None] | None:
        return next((s for s in self.spans if s[0] == member_id and s[2] is None), None)


def form_team(team_id: str, command: FormTeam, c: Circumstances) -> list:
    c.require_past(command.formed_on, "formed_on")
    c.require_open_branch(command.branch_id, command.formed_on, "formed_on")
    people = list(dict.fromkeys([*command.members, *([command.leader_id] if command.leader_id else [])]))
    check_participants(c.roster, command.branch_id, command.formed_on, people, (), (), "members")
    return [TeamFormed(team_id=team_id, branch_id=command.branch_id, name=command.name, kind=command.kind,
                       formed_on=command.formed_on, leader_id=command.leader_id),
            *[MemberJoinedTeam(team_id=team_id, branch_id=command.branch_id, member_id=m, joined_on=command.formed_on)
              for m in people]]


def join_team(team: Team, command: JoinTeam, c: Circumstances) -> list:
    c.require_past(command.joined_on, "joined_on")
    if team.current(command.member_id):
        raise ActivitiesRuleBroken("这名党员已经在这个团队里", field="member_id", code="already_in_team")
    if command.joined_on < team.formed_on:
        raise ActivitiesRuleBroken("加入日期不能早于团队成立的日期", field="joined_on",
                                   code="joined_before_team")
    check_participants(c.roster, team.branch_id, command.joined_on, [command.member_id], (), (), "member_id")
    return [MemberJoinedTeam(team_id=team.team_id, branch_id=team.branch_id, member_id=command.member_id,
                             joined_on=command.joined_on)]


def leave_team(team: Team, command: LeaveTeam, c: Circumstances) -> list:
    c.require_past(command.left_on, "left_on")
    current = team.current(command.member_id)
    if current is None:
        raise ActivitiesRuleBroken("这名党员不在这个团队里", field="member_id", code="not_in_team")
    if command.left_on < current[1]:
        raise ActivitiesRuleBroken("退出日期不能早于加入日期", field="left_on", code="left_before_joining")
    return [MemberLeftTeam(team_id=team.team_id, branch_id=team.branch_id, member_id=command.member_id,
                           left_on=command.left_on)]


def record_performance(team: Team, performance_id: str, command: RecordPerformance, c: Circumstances) -> list:
    c.require_past(command.occurred_on, "occurred_on")
    outsiders = [m for m in command.performers if not team.member_on(m, command.occurred_on)]
    if outsiders:
        raise ActivitiesRuleBroken("演出的人当天须是团队成员", field="performers",
                                   code="performer_not_in_team", details=outsiders)
    _refuse_departed(c, command.performers, command.occurred_on, "performers")
    reasons = c.late_reasons(command.occurred_on)
    return [TeamPerformed(team_id=team.team_id, performance_id=performance_id, branch_id=team.branch_id,
                          occurred_on=command.occurred_on, title=command.title, place=command.place,
                          performers=list(command.performers), audience=command.audience, late=bool(reasons),
                          late_reasons=reasons)]


def _refuse_departed(c: Circumstances, member_ids: Sequence[str], day: date, field_name: str) -> None:
    """Nobody who had died, left the Party or transferred out of the bureau by ``day`` took part that day."""
    gone = [(m, c.roster.standing(m, day).status) for m in member_ids]
    gone = [(m, NOT_A_MEMBER_CODES[status]) for m, status in gone if status in DEPARTURES]
    if gone:
        raise ActivitiesRuleBroken(f"以下人员{chinese.day(day)}已不在册："
                                   + "、".join(f"{_name(c.roster, m)}（{words.word(words.NOT_A_MEMBER, code)}）"
                                              for m, code in gone),
                                   field=field_name, code=gone[0][1], details=[f"{m}: {code}" for m, code in gone])


def evolve_team(state: Team | None, event) -> Team | None:
    if isinstance(event, TeamFormed):
        return Team(event.team_id, event.branch_id, event.formed_on)
    if isinstance(event, MemberJoinedTeam):
        return replace(state, spans=(*state.spans, (event.member_id, event.joined_on, None)))
    if isinstance(event, MemberLeftTeam):
        spans = tuple((m, j, event.left_on if m == event.member_id and left is None else left)
                      for m, j, left in state.spans)
        return replace(state, spans=spans)
    return state


# --- pledges ------------------------------------------------------------------------------------

def sign_pledge(pledge_id: str, command: SignPledge, c: Circumstances) -> list:
    c.require_past(command.signed_on, "signed_on")
    branch_id = branch_of_member(c, command.member_id, command.signed_on, command.branch_id)
    return [PledgeSigned(pledge_id=pledge_id, branch_id=branch_id, member_id=command.member_id, kind=command.kind,
                         signed_on=command.signed_on)]


def may_read_pledges(roles: frozenset[str], rules: Mapping) -> bool:
    return bool(set(roles) & set(rules.get("pledge_readers") or ()))


def read_pledge(pledge: Mapping, reader: str, role: str, read_at: datetime) -> list:
    return [PledgeRead(pledge_id=pledge["pledge_id"], branch_id=pledge["branch_id"], member_id=pledge["member_id"],
                       reader=reader, reader_role=role, read_at=read_at)]


# --- the activity centre ------------------------------------------------------------------------

@dataclass(frozen=True)
class Centre:
    branch_id: str
    place: str
    set_up_on: date
    last_change_on: date


def set_up_centre(branch_id: str, existing: Centre | None, command: SetUpCentre, c: Circumstances) -> list:
    if existing is not None:
        raise ActivitiesConflict("这个支部已经有活动阵地了；如已搬迁，请记录搬迁", code="centre_exists")
    c.require_past(command.set_up_on, "set_up_on")
    c.require_open_branch(branch_id, command.set_up_on, "set_up_on")
    checklist = list(c.rules.on(command.set_up_on)["centre_checklist"])
    return [CentreSetUp(branch_id=branch_id, place=command.place, set_up_on=command.set_up_on, checklist=checklist)]


def move_centre(existing: Centre, command: MoveCentre, c: Circumstances) -> list:
    c.require_past(command.moved_on, "moved_on")
    if command.to_place == existing.place:
        raise ActivitiesRuleBroken("活动阵地已经在这里了", field="to_place", code="same_place")
    if command.moved_on < existing.last_change_on:
        raise ActivitiesRuleBroken("搬迁日期不能早于上一次搬迁", field="moved_on",
                                   code="move_before_last")
    return [CentreMoved(branch_id=existing.branch_id, from_place=existing.place, to_place=command.to_place,
                        moved_on=command.moved_on)]


def evidence_item(existing: Centre, command: EvidenceChecklistItem, c: Circumstances) -> list:
    c.require_past(command.evidenced_on, "evidenced_on")
    checklist = c.rules.on(command.evidenced_on)["centre_checklist"]
    if command.item not in checklist:
        raise ActivitiesRuleBroken(f"不是本局阵地标准中的一项（共有：{'、'.join(checklist)}）", field="item",
                                   code="not_a_checklist_item")
    if command.evidenced_on < existing.set_up_on:
        raise ActivitiesRuleBroken("佐证日期不能早于阵地设立的日期", field="evidenced_on",
                                   code="evidence_before_centre")
    return [CentreChecklistItemEvidenced(branch_id=existing.branch_id, item=command.item,
                                         evidenced_on=command.evidenced_on, evidence=command.evidence,
                                         photo_ref=command.photo_ref)]


def evolve_centre(state: Centre | None, event) -> Centre | None:
    if isinstance(event, CentreSetUp):
        return Centre(event.branch_id, event.place, event.set_up_on, event.set_up_on)
    if isinstance(event, CentreMoved):
        return replace(state, place=event.to_place, last_change_on=event.moved_on)
    return state


def checklist_status(checklist: Sequence[str], evidence: Sequence[Mapping], since: date) -> list[dict]:
    """Each item with its latest evidence; evidence older than the centre's last move is stale."""
    status = []
    for item in checklist:
        found = sorted((e for e in evidence if e["item"] == item), key=lambda e: (e["on_date"], e["seq"]))
        latest = found[-1] if found else None
        current = latest is not None and latest["on_date"] >= since
        status.append({"item": item, "met": current, "stale": latest is not None and not current,
                       "evidence": None if latest is None else {
                           "text": latest["evidence"], "photo_ref": latest["photo_ref"],
                           "evidenced_on": latest["on_date"]}})
    return status


# --- periods --------------------------------------------------------------------------------------

def close_period(bureau_id: str, already_closed: bool, command: ClosePeriod, c: Circumstances) -> list:
    period: Period = parse_period(command.period, ("month", "quarter"))
    if already_closed:
        raise ActivitiesConflict(f"{chinese.period(period.id)}已经关账", code="period_already_closed", field="period",
                                 details=["已经关账"])
    if period.end >= c.today:
        raise ActivitiesRuleBroken("期间结束以后才能关账", field="period", code="period_not_ended")
    return [PeriodClosed(bureau_id=bureau_id, period=period.id, starts_on=period.start, ends_on=period.end,
                         closed_on=c.today)]
