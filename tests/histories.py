"""Generated bureau histories (hypothesis) and the same history in each service's own terms.

A history is a bureau's register and records over a few months: members joining, moving between its
branches, transferring out to another bureau, dying or leaving the Party; Party and non-Party, healthy
and frail; study, theme days and briefings with their attendees, outreach, birthday care, dues assessed
and paid. ``envelopes`` seals it as the services would have recorded it (for the audit's projections);
``roster``, ``reaches`` and ``sessions`` are what the activities service's queries read from its tables;
``snapshot`` is notify's projection on the day; ``members`` are the members service's aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from contracts import activities as A
from contracts import members as M
from contracts.rulebook.coverage import Reach, StudySession, activity_counts_as_study, outreach_counts_hours, \
    outreach_reaches
from contracts.rulebook.dues import Stay
from contracts.rulebook.people import HealthRecord
from contracts.rulebook.rules import DEFAULT_RULES
from services.activities.domain.roster import BranchRecord, Placement, Roster, RosterMember, roster_of
from services.members.domain.member import Member, evolve_member
from services.notify.rules import model as notify

TENANT = "7d2f0c3e-0000-4000-8000-00000000c001"
BRANCHES = ("7d2f0c3e-0000-4000-8000-00000000c101", "7d2f0c3e-0000-4000-8000-00000000c102")
ESTABLISHED = date(2020, 1, 1)
FIRST_DAY, TODAY = date(2026, 1, 1), date(2026, 8, 25)
MONTHS = [f"2026-{m:02d}" for m in range(1, 9)]
KINDS = ("study", "theme_day", "briefing", "committee_meeting", "inspection")
DEPARTURES = {"transferred_out": "left_on", "died": "died_on", "left_party": "left_on"}


@dataclass
class Person:
    member_id: str
    name: str
    party: bool
    kind: str
    health: str
    birth: date
    placements: list[tuple[date, str, str | None]]    # (on, joined / moved / a departure, branch)
    health_changes: list[tuple[date, str]] = field(default_factory=list)

    def branch_on(self, day: date) -> str | None:
        branch = None
        for on, kind, to in sorted(self.placements, key=lambda p: p[0]):
            if on <= day:
                branch = to if kind in ("joined", "moved") else None
        return branch

    def departed(self) -> bool:
        return self.placements[-1][1] in DEPARTURES


@dataclass
class History:
    people: list[Person]
    facts: list[tuple[str, object, date, str | None]]     # (stream, contract event, day, branch) in date order
    today: date = TODAY
    rules: dict = field(default_factory=lambda: dict(DEFAULT_RULES))

    def of(self, kind: type) -> list:
        return [event for _, event, _, _ in self.facts if isinstance(event, kind)]

    # --- the audit: the envelopes the services would have recorded --------------------------------------

    def envelopes(self) -> list:
        from tests.audit_month import History as Sealer
        sealer = Sealer(TENANT)
        for stream, event, day, branch in self.facts:
            sealer.record(stream, event, on=day, branch_id=branch)
        return sealer.envelopes

    # --- activities: the roster and what its queries read ----------------------------------------------

    def roster(self) -> Roster:
        members = [RosterMember(
            p.member_id, p.name, p.birth, p.party,
            placements=tuple(Placement(kind, on, to, i) for i, (on, kind, to) in enumerate(p.placements)),
            health=tuple(HealthRecord(on, health, "mobile", i)
                         for i, (on, health) in enumerate([(p.placements[0][0], p.health), *p.health_changes])),
            retirement_kind=p.kind) for p in self.people]
        return roster_of(members, [BranchRecord(b, f"支部{i}", ESTABLISHED) for i, b in enumerate(BRANCHES)])

    def reaches(self) -> list[Reach]:
        found = [Reach(m, a.occurred_on, f"activity:{a.kind}", a.activity_id, a.branch_id)
                 for a in self.of(A.ActivityRecorded) if activity_counts_as_study(a.kind, self.rules)
                 for m in a.attendees]
        return found + [Reach(o.member_id, o.occurred_on, f"outreach:{o.channel}", o.outreach_id, o.branch_id)
                        for o in self.of(A.OutreachRecorded) if outreach_reaches(o.channel, self.rules)]

    def sessions(self) -> list[StudySession]:
        found = [StudySession(m, a.occurred_on, a.hours, f"activity:{a.kind}", a.activity_id)
                 for a in self.of(A.ActivityRecorded) if a.hours and activity_counts_as_study(a.kind, self.rules)
                 for m in a.attendees]
        return found + [StudySession(o.member_id, o.occurred_on, o.hours, "outreach:home_study", o.outreach_id)
                        for o in self.of(A.OutreachRecorded) if o.hours and outreach_counts_hours(o.channel)]

    # --- notify: its projections on the day --------------------------------------------------------------

    def snapshot(self) -> notify.BureauSnapshot:
        return notify.BureauSnapshot(
            TENANT, rule_sets=(notify.RuleSetVersion(1, ESTABLISHED, self.rules),),
            branches=tuple(notify.Branch(b, f"支部{i}") for i, b in enumerate(BRANCHES)),
            members=tuple(self._notify_member(p) for p in self.people),
            activities=tuple(notify.Activity(a.activity_id, a.branch_id, a.kind, a.title, "held",
                                             occurred_on=a.occurred_on, attendees=tuple(a.attendees))
                             for a in self.of(A.ActivityRecorded)),
            outreach=tuple(notify.Outreach(o.member_id, o.branch_id, o.channel, o.occurred_on)
                           for o in self.of(A.OutreachRecorded)),
            dues=tuple(self._notify_dues(member_id) for member_id in {e.member_id for e in self.of(M.DuesAssessed)}))

    def _notify_member(self, person: Person) -> notify.Member:
        health = ([person.health] + [h for _, h in person.health_changes])[-1]
        current = next((to for _, kind, to in reversed(person.placements) if to), None)
        return notify.Member(person.member_id, current, person.name, person.birth, health=health,
                             party_member=person.party, active=not person.departed(),
                             joined_on=person.placements[0][0], retirement_kind=person.kind,
                             party_join_date=date(1975, 7, 1) if person.party else None, stays=stays(person))

    def _notify_dues(self, member_id: str) -> notify.Dues:
        assessed = {e.year: str(e.monthly_amount) for e in self.of(M.DuesAssessed) if e.member_id == member_id}
        paid = frozenset(m for e in self.of(M.DuesPaid) if e.member_id == member_id for m in e.months)
        return notify.Dues(member_id, assessed, paid=paid)

    # --- members: the aggregates ----------------------------------------------------------------------------

    def members(self) -> dict[str, Member]:
        found: dict[str, Member] = {}
        for stream, event, _, _ in self.facts:
            if stream.startswith("member-"):
                member_id = stream.removeprefix("member-")
                found[member_id] = evolve_member(found.get(member_id), event)
        return found


def stays(person: Person) -> tuple[Stay, ...]:
    """The member's stays in this bureau's branches, as notify's projection keeps them."""
    found: list[Stay] = []
    for on, kind, to in person.placements:
        if found and found[-1].ends_on is None and kind != "joined":
            last = found[-1]
            found[-1] = Stay(last.branch_id, last.starts_on, on, kind)
        if to:
            found.append(Stay(to, on))
    return tuple(found)


# --- the strategy ------------------------------------------------------------------------------------------

def day_between(start: date, end: date):
    return st.integers(0, (end - start).days).map(lambda n: start + timedelta(days=n))


@st.composite
def people(draw) -> list[Person]:
    count = draw(st.integers(1, 5))
    found = []
    for i in range(count):
        branch = draw(st.sampled_from(BRANCHES))
        joined = draw(day_between(date(2025, 11, 1), date(2026, 3, 31)))
        placements: list[tuple[date, str, str | None]] = [(joined, "joined", branch)]
        fate = draw(st.sampled_from(("stays", "stays", "moves", "moves_then_leaves", "leaves")))
        if fate in ("moves", "moves_then_leaves"):
            other = BRANCHES[1 - BRANCHES.index(branch)]
            placements.append((draw(day_between(joined + timedelta(days=1), date(2026, 6, 30))), "moved", other))
        if fate in ("leaves", "moves_then_leaves"):
            how = draw(st.sampled_from(tuple(DEPARTURES)))
            placements.append((draw(day_between(placements[-1][0] + timedelta(days=1), TODAY)), how, None))
        person = Person(f"7d2f0c3e-0000-4000-8000-0000000000{i:02d}", f"成员{i}", draw(st.booleans()),
                        draw(st.sampled_from(("retired", "retired", "lixiu", "in_service"))),
                        draw(st.sampled_from(("good", "fair", "poor"))),
                        draw(day_between(date(1935, 1, 1), date(1962, 12, 31))), placements)
        if draw(st.booleans()):
            person.health_changes.append((draw(day_between(joined, TODAY)), draw(st.sampled_from(("good", "poor")))))
        found.append(person)
    return found


@st.composite
def histories(draw, local_rules: bool = True) -> History:
    """A bureau of two branches over January to August 2026, its rules the defaults or, with ``local_rules``,
    its own (coverage by month or quarter, an age of exemption from study hours)."""
    crowd = draw(people())
    rules = dict(DEFAULT_RULES)
    if local_rules:
        rules.update(coverage_period=draw(st.sampled_from(("month", "quarter"))),
                     study_exempt_age=draw(st.sampled_from((None, 85))))
    facts: list[tuple[str, object, date, str | None]] = [
        (f"bureau-{TENANT}", M.BureauRegistered(TENANT, "测试局", "cs"), ESTABLISHED, None),
        (f"bureau-{TENANT}", M.BureauRulesPublished(TENANT, 1, ESTABLISHED, rules), ESTABLISHED, None),
        *[(f"branch-{b}", M.BranchEstablished(b, f"支部{i}", ESTABLISHED), ESTABLISHED, b)
          for i, b in enumerate(BRANCHES)]]
    for person in crowd:
        facts += _register(person)
    for n in range(draw(st.integers(0, 6))):
        facts += _activity(draw, crowd, n)
    for n in range(draw(st.integers(0, 4))):
        facts += _outreach(draw, crowd, n)
    for person in crowd:
        facts += _dues(draw, person) + _birthday(draw, person)
    facts.sort(key=lambda fact: fact[2])
    return History(crowd, facts, rules=rules)


def _register(person: Person) -> list:
    joined, _, branch = person.placements[0]
    stream = f"member-{person.member_id}"
    facts = [(stream, M.MemberRegistered(
        member_id=person.member_id, branch_id=branch, name=person.name, gender="male", birth_date=person.birth,
        party_member=person.party, party_join_date=date(1975, 7, 1) if person.party else None,
        retirement_kind=person.kind, pension_base=Decimal("4800.00"), health=person.health, mobility="mobile",
        phone=None, address=None, joined_on=joined), joined, branch)]
    current = branch
    for on, kind, to in person.placements[1:]:
        if kind == "moved":
            facts.append((stream, M.MemberMoved(person.member_id, current, to, on, "transfer"), on, to))
            current = to
        elif kind == "transferred_out":
            facts.append((stream, M.MemberTransferredOut(person.member_id, current, f"x-{person.member_id}",
                                                         "another-bureau", on), on, current))
        elif kind == "died":
            facts.append((stream, M.MemberDied(person.member_id, current, on), on, current))
        else:
            facts.append((stream, M.MemberLeftParty(person.member_id, current, on, "支部大会决定"), on, current))
    for on, health in person.health_changes:
        if person.branch_on(on):
            facts.append((stream, M.MemberHealthChanged(person.member_id, health, "mobile", on), on,
                          person.branch_on(on)))
    return facts


def _in_branch(crowd: list[Person], branch: str, day: date) -> list[Person]:
    return [p for p in crowd if p.branch_on(day) == branch]


def _activity(draw, crowd: list[Person], n: int) -> list:
    branch, day = draw(st.sampled_from(BRANCHES)), draw(day_between(FIRST_DAY, TODAY))
    present = [p.member_id for p in _in_branch(crowd, branch, day) if draw(st.booleans())]
    kind = draw(st.sampled_from(KINDS))
    hours = draw(st.sampled_from((None, Decimal("1.5"), Decimal("3"))))
    event = A.ActivityRecorded(
        activity_id=f"a{n}", branch_id=branch, kind=kind, occurred_on=day, title=f"{kind} {day}", place=None,
        topics=[], attendees=present, guests=[], absentees=[], minutes=None, hours=hours, voting_members=None,
        voting_present=None, quorate=None, late=False, late_reasons=[])
    return [(f"activity-a{n}", event, day, branch)]


def _outreach(draw, crowd: list[Person], n: int) -> list:
    person, day = draw(st.sampled_from(crowd)), draw(day_between(FIRST_DAY, TODAY))
    branch = person.branch_on(day)
    if branch is None:
        return []
    channel = draw(st.sampled_from(("visit", "phone", "home_study")))
    hours = Decimal("2") if channel == "home_study" and draw(st.booleans()) else None
    event = A.OutreachRecorded(outreach_id=f"o{n}", branch_id=branch, member_id=person.member_id, channel=channel,
                               occurred_on=day, topic="送学上门", note=None, late=False, late_reasons=[], hours=hours)
    return [(f"outreach-o{n}", event, day, branch)]


def _dues(draw, person: Person) -> list:
    """A Party member assessed for 2026 (most are) and paying some of the months they are on the register."""
    joined, _, branch = person.placements[0]
    if not person.party or not draw(st.integers(0, 4)):
        return []
    stream = f"member-{person.member_id}"
    facts = [(stream, M.DuesAssessed(person.member_id, branch, 2026, Decimal("4800.00"), Decimal("0.005"),
                                     Decimal("24.00")), max(joined, FIRST_DAY), branch)]
    months = [m for m in MONTHS if person.branch_on(date(int(m[:4]), int(m[5:]), 28)) or
              person.branch_on(date(int(m[:4]), int(m[5:]), 1))]
    # paid up to some month (with the odd gap), nothing after it: runs of every length up to eight months unpaid
    stop = draw(st.integers(0, len(months)))
    paid = [m for m in months[:stop] if draw(st.integers(0, 4))]
    if paid:
        day = max(joined, FIRST_DAY)
        payer_branch = person.branch_on(day) or branch
        facts.append((stream, M.DuesPaid(person.member_id, payer_branch, paid, Decimal("24.00") * len(paid), day,
                                         "self", breakdown={m: "24.00" for m in paid}), day, payer_branch))
    return facts


def _birthday(draw, person: Person) -> list:
    """Some retirees get a cake on a day near their birthday this year (care is judged, here only recorded)."""
    cake = date(2026, person.birth.month, 28 if (person.birth.month, person.birth.day) == (2, 29) else person.birth.day)
    branch = person.branch_on(cake)
    if branch is None or cake > TODAY or not draw(st.booleans()):
        return []
    event = A.CareRecorded(care_id=f"c-{person.member_id}", branch_id=branch, member_id=person.member_id,
                           kind="birthday", occurred_on=cake, note=None, holiday=None, holiday_date=None, year=None,
                           late=False, late_reasons=[])
    return [(f"care-c-{person.member_id}", event, cake, branch)]
