"""Events published by the activities service on ``branchwork.activities.events``.

Dates are ISO dates, periods are ``YYYY-MM`` (month) or ``YYYY-Qn`` (quarter), hours are a decimal
string. Every record of something that happened carries ``late`` and ``late_reasons``
(``period_closed``: its date falls in a period the bureau had closed; ``entered_after_days``: it was
recorded more than the rules' ``late_entry_days`` after it happened) so that auditors can see it.

Streams: ``activity-<id>`` (planned → recorded → corrected / cancelled; a talk also lives in its
activity's stream), ``outreach-<id>`` and ``care-<id>`` (recorded → withdrawn), ``team-<id>``,
``pledge-<id>``, ``centre-<branch id>``, ``period-<bureau id>-<period>``.

A pledge's content never leaves the service: pledge events carry only ids, kind and date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from shared.contracts import EventRegistry

registry = EventRegistry()
event = registry.event

ACTIVITY_KINDS = (
    "committee_meeting", "general_meeting", "group_meeting", "party_lecture", "theme_day", "study",
    "life_meeting", "appraisal", "heart_talk", "briefing", "talk_given", "team_activity",
    "community_activity", "inspection",
)
OUTREACH_CHANNELS = ("visit", "phone", "home_study")
CARE_KINDS = ("birthday", "holiday_visit", "health_check", "hospital_visit", "newspaper", "condolence")
HOLIDAYS = ("spring_festival", "july_1", "double_ninth", "mid_autumn", "summer_heat", "new_year", "dragon_boat",
            "national_day")
"""Named holidays (``contracts.rulebook.holidays``); a rule set may also name ``lunar:MM-DD`` or ``solar:MM-DD``."""
LATE_REASONS = ("period_closed", "entered_after_days")

# How to reach a member study has not reached is the rulebook's (re-exported for the pages that import it here).
from contracts.rulebook.coverage import suggested_channel  # noqa: E402,F401


# --- activities (三会一课 and every other kind of branch work) -------------------------------------

@event("activities.ActivityPlanned")
@dataclass(frozen=True)
class ActivityPlanned:
    """An activity scheduled ahead (``status: planned``); recording it later completes the stream."""
    activity_id: str
    branch_id: str
    kind: str
    planned_on: date
    title: str
    place: str | None
    topics: list[str]
    group_id: str | None = None


@event("activities.ActivityRecorded")
@dataclass(frozen=True)
class ActivityRecorded:
    """What happened. ``attendees`` are members of the branch on ``occurred_on``; ``guests`` are
    invited people from outside it ({name, member_id?, unit?}); ``absentees`` are {member_id, reason}.

    For a general meeting ``voting_members`` (full Party members of the branch on the day),
    ``voting_present`` and ``quorate`` (more than half present) are set; otherwise they are null.

    ``invited`` lists the attendees who were there without belonging to the meeting's body (列席):
    at a committee meeting, members who held no committee post that day (when the register knows
    the branch's post holders); at a group meeting, members who were not in its party group. They
    are also in ``attendees`` (present, from the branch); a count of the body's own attendance
    leaves them out.
    """
    activity_id: str
    branch_id: str
    kind: str
    occurred_on: date
    title: str
    place: str | None
    topics: list[str]
    attendees: list[str]
    guests: list[dict]
    absentees: list[dict]
    minutes: str | None
    hours: Decimal | None
    voting_members: int | None
    voting_present: int | None
    quorate: bool | None
    late: bool
    late_reasons: list[str]
    planned_on: date | None = None
    group_id: str | None = None
    invited: list[str] = field(default_factory=list)


@event("activities.ActivityCorrected")
@dataclass(frozen=True)
class ActivityCorrected:
    """The full corrected record, replacing the previous one for every reader (never an edit in place);
    ``invited`` as in ``ActivityRecorded``, judged again for the corrected record."""
    activity_id: str
    branch_id: str
    kind: str
    occurred_on: date
    title: str
    place: str | None
    topics: list[str]
    attendees: list[str]
    guests: list[dict]
    absentees: list[dict]
    minutes: str | None
    hours: Decimal | None
    voting_members: int | None
    voting_present: int | None
    quorate: bool | None
    late: bool
    late_reasons: list[str]
    reason: str
    corrected_fields: list[str]
    group_id: str | None = None
    invited: list[str] = field(default_factory=list)


@event("activities.ActivityCancelled")
@dataclass(frozen=True)
class ActivityCancelled:
    """A planned activity that will not take place, or a recorded one withdrawn as entered in error."""
    activity_id: str
    branch_id: str
    kind: str
    cancelled_on: date
    reason: str


# --- outreach (走访谈心, 电话沟通, 送学上门) ------------------------------------------------------------

@event("activities.OutreachRecorded")
@dataclass(frozen=True)
class OutreachRecorded:
    """The branch reached a member who could not attend; recorded by the secretary on their behalf.

    ``hours`` is the length of study brought to the home, when it counts towards the member's study hours."""
    outreach_id: str
    branch_id: str
    member_id: str
    channel: str
    occurred_on: date
    topic: str
    note: str | None
    late: bool
    late_reasons: list[str]
    hours: Decimal | None = None


@event("activities.OutreachWithdrawn")
@dataclass(frozen=True)
class OutreachWithdrawn:
    """An outreach record entered in error is withdrawn (it no longer counts for coverage); never edited."""
    outreach_id: str
    branch_id: str
    member_id: str
    withdrawn_on: date
    reason: str


# --- care (慰问, 体检, 生日关怀, 订阅党报) ---------------------------------------------------------------

@event("activities.CareRecorded")
@dataclass(frozen=True)
class CareRecorded:
    """``holiday`` and ``holiday_date`` are set for a holiday visit (the holiday's date that year);
    ``year`` is the subscription year of a newspaper."""
    care_id: str
    branch_id: str
    member_id: str
    kind: str
    occurred_on: date
    note: str | None
    holiday: str | None
    holiday_date: date | None
    year: int | None
    late: bool
    late_reasons: list[str]


@event("activities.CareWithdrawn")
@dataclass(frozen=True)
class CareWithdrawn:
    """A care record entered in error is withdrawn; never edited."""
    care_id: str
    branch_id: str
    member_id: str
    kind: str
    withdrawn_on: date
    reason: str


# --- talks given by retired cadres (宣讲) -----------------------------------------------------------

@event("activities.TalkGiven")
@dataclass(frozen=True)
class TalkGiven:
    """The details of a ``talk_given`` activity (same stream): who spoke, to whom, on what."""
    activity_id: str
    branch_id: str
    speakers: list[str]
    audience: str
    topic: str
    occurred_on: date
    audience_size: int | None
    late: bool
    late_reasons: list[str]


# --- interest teams (合唱队, 舞蹈队) ------------------------------------------------------------------

@event("activities.TeamFormed")
@dataclass(frozen=True)
class TeamFormed:
    """``kind`` is choir, dance or other."""
    team_id: str
    branch_id: str
    name: str
    kind: str
    formed_on: date
    leader_id: str | None


@event("activities.MemberJoinedTeam")
@dataclass(frozen=True)
class MemberJoinedTeam:
    team_id: str
    branch_id: str
    member_id: str
    joined_on: date


@event("activities.MemberLeftTeam")
@dataclass(frozen=True)
class MemberLeftTeam:
    team_id: str
    branch_id: str
    member_id: str
    left_on: date


@event("activities.TeamPerformed")
@dataclass(frozen=True)
class TeamPerformed:
    """A performance (e.g. at a community event); the performers are team members."""
    team_id: str
    performance_id: str
    branch_id: str
    occurred_on: date
    title: str
    place: str | None
    performers: list[str]
    audience: str | None
    late: bool
    late_reasons: list[str]


# --- pledges (承诺书): ids, kind and date only --------------------------------------------------------

@event("activities.PledgeSigned")
@dataclass(frozen=True)
class PledgeSigned:
    pledge_id: str
    branch_id: str
    member_id: str
    kind: str
    signed_on: date


@event("activities.PledgeRead")
@dataclass(frozen=True)
class PledgeRead:
    """Someone the bureau allows read a pledge; every read is recorded."""
    pledge_id: str
    branch_id: str
    member_id: str
    reader: str
    reader_role: str
    read_at: datetime


# --- the activity centre (阵地) and its checklist (六有) ---------------------------------------------

@event("activities.CentreSetUp")
@dataclass(frozen=True)
class CentreSetUp:
    """``checklist`` is the bureau's centre checklist in force on ``set_up_on``."""
    branch_id: str
    place: str
    set_up_on: date
    checklist: list[str]


@event("activities.CentreMoved")
@dataclass(frozen=True)
class CentreMoved:
    branch_id: str
    from_place: str
    to_place: str
    moved_on: date


@event("activities.CentreChecklistItemEvidenced")
@dataclass(frozen=True)
class CentreChecklistItemEvidenced:
    """Evidence that the centre has ``item`` (text and/or a photo reference), as of ``evidenced_on``."""
    branch_id: str
    item: str
    evidenced_on: date
    evidence: str
    photo_ref: str | None


# --- periods -------------------------------------------------------------------------------------

@event("activities.PeriodClosed")
@dataclass(frozen=True)
class PeriodClosed:
    """The bureau closed a month or quarter; later records dated inside it are flagged late."""
    bureau_id: str
    period: str
    starts_on: date
    ends_on: date
    closed_on: date


