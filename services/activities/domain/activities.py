"""Activities (三会一课 and the rest): planned → recorded → corrected / cancelled, each an event.

Attendees must be members of the branch on the day; invited people from outside it are guests,
flagged as such. Members of the branch who sit in on a body they do not belong to — a committee
meeting without holding a post, another party group's meeting — are recorded as ``invited`` (列席),
never counted as the body's own. A general meeting records whether more than half of its voting
members were there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any
from collections.abc import Mapping, Sequence

from services.activities.events import (ActivityCancelled, ActivityCorrected, ActivityPlanned, ActivityRecorded,
                                  TalkGiven)
from contracts import words
from shared import chinese
from services.activities.domain import ActivitiesRuleBroken
from contracts.rulebook.calendar import Period, late_reasons
from contracts.rulebook.people import is_full_member
from contracts.rulebook.rules import RuleBook
from services.activities.domain.roster import Roster

RECORD_FIELDS = ("kind", "occurred_on", "title", "place", "topics", "attendees", "guests", "absentees", "minutes",
                 "hours", "group_id")

if TYPE_CHECKING:  # the commands' types only: the domain never loads their request schemas
    from services.activities.commands import (CancelActivity, CorrectActivity, PlanActivity, RecordActivity,
                                              RecordPlannedActivity, RecordTalk)


@dataclass(frozen=True)
class Circumstances:
    """What a decision knows besides the command: today's local date, the roster, the rules, closed periods."""

    today: date
    roster: Roster
    rules: RuleBook = field(default_factory=RuleBook)
    closed_periods: tuple[Period, ...] = ()

    def late_reasons(self, occurred_on: date) -> list[str]:
        days = int(self.rules.on(occurred_on)["late_entry_days"])
        return late_reasons(occurred_on, self.today, self.closed_periods, days)

    def require_past(self, day: date, field_name: str) -> None:
        if day > self.today:
            raise ActivitiesRuleBroken(f"已经发生的事，日期不能在今天（{chinese.day(self.today)}）之后",
                                       field=field_name, code="date_in_future")

    def require_open_branch(self, branch_id: str, day: date, field_name: str = "occurred_on") -> None:
        problem = self.roster.branch_open_on(branch_id, day)
        if problem == "unknown_branch":
            raise ActivitiesRuleBroken("本局没有这个支部", field="branch_id", code="unknown_branch")
        if problem:
            raise ActivitiesRuleBroken(f"{chinese.day(day)}这个支部{BRANCH_NOT_OPEN.get(problem, '不在开展活动')}",
                                       field=field_name, code=problem)


@dataclass(frozen=True)
class Activity:
    """An activity's state: its status and its current record (as planned, recorded or corrected)."""

    activity_id: str
    branch_id: str
    status: str
    record: Mapping[str, Any]
    planned_on: date | None = None


# --- deciding -------------------------------------------------------------------------------------

def plan_activity(activity_id: str, existing: Activity | None, command: PlanActivity, c: Circumstances) -> list:
    if existing is not None:
        raise ActivitiesRuleBroken("这条活动已经记录过了", code="activity_exists")
    c.require_open_branch(command.branch_id, command.planned_on)
    check_group(c.roster, command.branch_id, command.kind, command.group_id)
    if command.planned_on < c.today:
        raise ActivitiesRuleBroken("计划的活动日期应是今天或以后；已经开过的会请选择“已经召开，现在记录”",
                                   field="occurred_on", code="planned_in_past")
    return [ActivityPlanned(activity_id=activity_id, branch_id=command.branch_id, kind=command.kind,
                            planned_on=command.planned_on, title=command.title, place=command.place,
                            topics=list(command.topics), group_id=command.group_id)]


def record_activity(activity_id: str, existing: Activity | None, command: RecordActivity, c: Circumstances) -> list:
    if existing is not None:
        raise ActivitiesRuleBroken("这条活动已经记录过了", code="activity_exists")
    record = {name: getattr(command, name) for name in RECORD_FIELDS}
    return [ActivityRecorded(activity_id=activity_id, branch_id=command.branch_id,
                             **checked_record(command.branch_id, record, c))]


def record_planned(existing: Activity | None, command: RecordPlannedActivity, c: Circumstances) -> list:
    """Record what happened at a planned activity; the plan's kind, branch and (unless given) title stay."""
    _require_status(existing, "planned", "activity_not_planned", "已经记录过的活动，如有错误请更正")
    given = {name: getattr(command, name) for name in ("occurred_on", "attendees", "guests", "absentees",
                                                       "minutes", "hours", "title", "place", "topics")}
    record = {**existing.record, **{k: v for k, v in given.items() if v is not None}}
    return [ActivityRecorded(activity_id=existing.activity_id, branch_id=existing.branch_id,
                             planned_on=existing.planned_on, **checked_record(existing.branch_id, record, c))]


def correct_activity(existing: Activity | None, command: CorrectActivity, c: Circumstances) -> list:
    """A corrected record, complete, replacing the previous one; the original stays in the history."""
    _require_status(existing, "recorded", "activity_not_recorded", "只有已经召开并记录的活动才能更正")
    record = {**existing.record, **command.changes}
    changed = sorted(name for name, value in command.changes.items()
                     if _normal(value) != _normal(existing.record.get(name)))
    if not changed:
        raise ActivitiesRuleBroken("更正的内容与原记录相同，没有要更正的", code="nothing_to_correct")
    return [ActivityCorrected(activity_id=existing.activity_id, branch_id=existing.branch_id,
                              reason=command.reason, corrected_fields=changed,
                              **checked_record(existing.branch_id, record, c))]


def cancel_activity(existing: Activity, command: CancelActivity, today: date) -> list:
    if existing.status == "cancelled":
        raise ActivitiesRuleBroken("这条活动已经取消", code="activity_already_cancelled")
    return [ActivityCancelled(activity_id=existing.activity_id, branch_id=existing.branch_id,
                              kind=existing.record["kind"], cancelled_on=today, reason=command.reason)]


def record_talk(activity_id: str, command: RecordTalk, c: Circumstances) -> list:
    """A talk given by retired cadres: a ``talk_given`` activity (the speakers attend) and its details."""
    record = dict(kind="talk_given", occurred_on=command.occurred_on, title=command.title or command.topic,
                  place=command.place, topics=(command.topic,), attendees=command.speakers, guests=(), absentees=(),
                  minutes=None, hours=command.hours, group_id=None)
    recorded = ActivityRecorded(activity_id=activity_id, branch_id=command.branch_id,
                                **checked_record(command.branch_id, record, c, field_of_attendees="speakers"))
    return [recorded, TalkGiven(activity_id=activity_id, branch_id=command.branch_id, speakers=list(command.speakers),
                                audience=command.audience, topic=command.topic, occurred_on=command.occurred_on,
                                audience_size=command.audience_size, late=recorded.late,
                                late_reasons=recorded.late_reasons)]


def _require_status(existing: Activity, status: str, code: str, hint: str) -> None:
    if existing.status != status:
        raise ActivitiesRuleBroken(f"这条活动{words.word(words.ACTIVITY_STATUS, existing.status)}：{hint}", code=code)


def _normal(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def checked_record(branch_id: str, record: Mapping[str, Any], c: Circumstances, *,
                   field_of_attendees: str = "attendees") -> dict:
    """Validate a record of what happened and return the event fields it yields (quorum and late flags too)."""
    day = record["occurred_on"]
    c.require_past(day, "occurred_on")
    c.require_open_branch(branch_id, day)
    check_participants(c.roster, branch_id, day, record["attendees"], record["absentees"], record["guests"],
                       field_of_attendees)
    check_group(c.roster, branch_id, record["kind"], record.get("group_id"))
    invited = sitting_in(c.roster, branch_id, day, record["kind"], record.get("group_id"), record["attendees"])
    quorum = general_meeting_quorum(c.roster, branch_id, day, record["attendees"]) \
        if record["kind"] == "general_meeting" else (None, None, None)
    reasons = c.late_reasons(day)
    return dict(kind=record["kind"], occurred_on=day, title=record["title"], place=record["place"],
                  topics=list(record["topics"] or ()), attendees=list(record["attendees"]),
                  guests=[dict(g) for g in record["guests"]], absentees=[dict(a) for a in record["absentees"]],
                  minutes=record["minutes"], hours=record["hours"], voting_members=quorum[0], voting_present=quorum[1],
                  quorate=quorum[2], late=bool(reasons), late_reasons=reasons, group_id=record.get("group_id"),
                  invited=invited)


# --- attendees and quorum ------------------------------------------------------------------------

def check_participants(roster: Roster, branch_id: str, day: date, attendees: Sequence[str],
                       absentees: Sequence[Mapping], guests: Sequence[Mapping],
                       field_of_attendees: str = "attendees") -> None:
    """Attendees and absentees are members of the branch on ``day``; a guest is not one."""
    if len(set(attendees)) != len(attendees):
        raise ActivitiesRuleBroken("同一个人在出席名单中出现了两次", field=field_of_attendees,
                                   code="duplicate_attendee")
    absent_ids = [a["member_id"] for a in absentees]
    if len(set(absent_ids)) != len(absent_ids):
        raise ActivitiesRuleBroken("同一个人在缺席名单中出现了两次", field="absentees", code="duplicate_absentee")
    both = sorted(set(attendees) & set(absent_ids))
    if both:
        raise ActivitiesRuleBroken("同一个人不能既出席又缺席", field="absentees",
                                   code="attendee_also_absent", details=both)
    _refuse_non_members(roster, branch_id, day, attendees, field_of_attendees)
    _refuse_non_members(roster, branch_id, day, absent_ids, "absentees")
    members_as_guests = sorted(g["member_id"] for g in guests
                               if g.get("member_id") and roster.is_member_of(g["member_id"], branch_id, day))
    if members_as_guests:
        raise ActivitiesRuleBroken("本支部的党员请在出席名单中打勾，不要登记为来宾", field="guests",
                                   code="guest_is_member", details=members_as_guests)


def _refuse_non_members(roster: Roster, branch_id: str, day: date, member_ids: Sequence[str], field_name: str) -> None:
    problems = [(member_id, roster.why_not_member(member_id, branch_id, day)) for member_id in member_ids]
    problems = [(member_id, code) for member_id, code in problems if code]
    if problems:
        first_code = problems[0][1]
        raise ActivitiesRuleBroken(
            f"以下人员{chinese.day(day)}不是本支部的成员（支部以外的人请登记为列席或来宾）："
            + "、".join(f"{_name(roster, member_id)}（{words.word(words.NOT_A_MEMBER, code)}）"
                       for member_id, code in problems),
            field=field_name, code=first_code, details=[f"{member_id}: {code}" for member_id, code in problems])


BRANCH_NOT_OPEN = {"branch_closed": "已经撤销", "branch_not_yet_established": "还没有成立"}


def _name(roster: Roster, member_id: str) -> str:
    """A member's name for a message; one the register does not know is called by the id that was sent."""
    member = roster.members.get(member_id)
    return member.name if member else member_id


def check_group(roster: Roster, branch_id: str, kind: str, group_id: str | None) -> None:
    """A named party group is one of the branch's; a group meeting of a branch with groups names its group."""
    if group_id is not None and roster.party_groups.get(group_id) != branch_id:
        raise ActivitiesRuleBroken("本支部没有这个党小组", field="group_id", code="unknown_group")
    if group_id is None and kind == "group_meeting" and roster.groups_of(branch_id):
        raise ActivitiesRuleBroken("本支部设有党小组，请选择开会的是哪个党小组", field="group_id",
                                   code="group_required", details=roster.groups_of(branch_id))


def sitting_in(roster: Roster, branch_id: str, day: date, kind: str, group_id: str | None,
               attendees: Sequence[str]) -> list[str]:
    """Attendees who do not belong to the meeting's body that day: they sat in (列席) by invitation.

    The body of a committee meeting is the branch's post holders (when the register knows any on
    that day: otherwise there is nothing to judge by); of a group meeting, the members of its group.
    """
    if kind == "committee_meeting":
        body = roster.post_holders_on(branch_id, day)
        if not body:
            return []
    elif kind == "group_meeting" and group_id is not None:
        body = roster.group_members_on(group_id, day)
    else:
        return []
    return [member_id for member_id in attendees if member_id not in body]


def general_meeting_quorum(roster: Roster, branch_id: str, day: date,
                           attendees: Sequence[str]) -> tuple[int, int, bool]:
    """(voting members, voting members present, more than half present): voting = full Party members (the
    rulebook's: probationary members attend but do not vote)."""
    voting = {m.member_id for m in roster.members_on(branch_id, day)
              if is_full_member(m.party_member, m.party_join_date, day)}
    present = len(voting & set(attendees))
    return len(voting), present, present * 2 > len(voting)


# --- evolving -------------------------------------------------------------------------------------

def evolve_activity(state: Activity | None, event) -> Activity | None:
    if isinstance(event, ActivityPlanned):
        record = dict(kind=event.kind, occurred_on=event.planned_on, title=event.title, place=event.place,
                      topics=tuple(event.topics), attendees=(), guests=(), absentees=(), minutes=None, hours=None,
                      group_id=event.group_id)
        return Activity(event.activity_id, event.branch_id, "planned", record, planned_on=event.planned_on)
    if isinstance(event, (ActivityRecorded, ActivityCorrected)):
        record = {name: getattr(event, name) for name in RECORD_FIELDS}
        record.update(topics=tuple(event.topics), attendees=tuple(event.attendees), guests=tuple(event.guests),
                      absentees=tuple(event.absentees))
        planned_on = state.planned_on if state else None
        return Activity(event.activity_id, event.branch_id, "recorded", record, planned_on=planned_on)
    if isinstance(event, ActivityCancelled):
        return replace(state, status="cancelled")
    return state
