"""The branch committee (支部委员会): elections, terms, posts filled and vacated, the secretary's allowance.

National rules: the members entitled to vote are the branch's full Party members on the election day
(probationary members attend but do not vote); the count may leave out members excused by name, each
with a reason. An election is valid only if more than 4/5 of the voters attend; there are at least
20 % more candidates than seats; a candidate needs more than half the votes of those present, and
seats no one won stay vacant (flagged until filled). A branch of under 7 full members has a secretary
(and perhaps a deputy) and no committee; 7 or more elect a committee of 3 to 7. A term lasts three
years; an election more than 90 days early or late needs the upper organisation's approval, and is
never more than a year early or late. The work allowance is paid for months within the term; a
deputy's or member's is at most the rules' share of what the secretary is actually paid that month.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from contracts.members import AllowancePaid, CommitteeTermOpened, ElectionHeld, PostFilled, PostVacated
from contracts.rulebook.calendar import month_of
from contracts.rulebook.people import BRANCH_MIN_FULL_MEMBERS, COMMITTEE_MIN_FULL_MEMBERS
from contracts import words
from shared import chinese
from services.members.domain import refuse, require_not_future

POST_WORDS = words.POSTS

POSTS = ("secretary", "deputy_secretary", "member")
SINGLE_POSTS = ("secretary", "deputy_secretary")
APPROVAL_WINDOW = timedelta(days=90)
FURTHEST = timedelta(days=366)   # an election is never brought forward or delayed by more than a year


@dataclass(frozen=True)
class Term:
    term_id: str
    starts_on: date
    ends_on: date
    committee: bool


@dataclass(frozen=True)
class Committee:
    branch_id: str
    terms: tuple = ()
    posts: dict = field(default_factory=dict)          # (post, member_id) -> filled_on, current term only
    allowances: dict = field(default_factory=dict)     # (member_id, month) -> (post, amount)

    @property
    def current(self) -> Term | None:
        return self.terms[-1] if self.terms else None

    def holder(self, post: str) -> str | None:
        return next((member for (p, member) in self.posts if p == post), None)

    def secretary_paid(self, month: str) -> Decimal | None:
        """What the secretary was actually paid for ``month`` (None: not recorded yet)."""
        return next((amount for (_, paid_month), (post, amount) in self.allowances.items()
                     if paid_month == month and post == "secretary"), None)


@dataclass(frozen=True)
class Ballot:
    """``eligible_voters``: the number the caller entered (None: the roster's count); ``excused``: members left
    out of it by id, each with a reason ({member_id, reason})."""
    eligible_voters: int | None
    attendees: int
    seats: int
    candidates: list        # [{"member_id", "name", "votes", "unit"?}]
    excused: list = field(default_factory=list)


def elect(committee: Committee | None, branch_id: str, election_id: str, term_id: str, ballot: Ballot,
          posts: list[dict], held_on: date, branch_members: frozenset, term_years: int, approval: str | None,
          today: date) -> list:
    """Check the election against the rules and open a term with its posts.

    ``branch_members``: the ids of the branch's full Party members on the day (from the roster) — the size
    rules count them, they are the members entitled to vote, and only they can stand.
    """
    require_not_future(held_on, "held_on", today)
    full_members = len(branch_members)
    _check_size(full_members, ballot.seats)
    voters = _voters(ballot, branch_members)
    _check_ballot(ballot, voters, branch_members)
    elected = _elected(ballot)
    _check_timing(committee, held_on, approval)
    committee_term = full_members >= COMMITTEE_MIN_FULL_MEMBERS
    _check_posts(posts, elected, committee_term)
    ends_on = held_on.replace(year=held_on.year + term_years) if not (held_on.month == 2 and held_on.day == 29) \
        else date(held_on.year + term_years, 2, 28)
    names = {c["member_id"]: c["name"] for c in ballot.candidates}
    units = {c["member_id"]: c.get("unit") for c in ballot.candidates}
    return ([ElectionHeld(branch_id=branch_id, election_id=election_id, held_on=held_on,
                          eligible_voters=voters, attendees=ballot.attendees, seats=ballot.seats,
                          candidates=ballot.candidates, elected=elected, excused=list(ballot.excused),
                          vacant_seats=ballot.seats - len(elected)),
             CommitteeTermOpened(branch_id=branch_id, term_id=term_id, election_id=election_id, starts_on=held_on,
                                 ends_on=ends_on, committee=committee_term)]
            + _vacate_previous(committee, held_on)
            + [PostFilled(branch_id=branch_id, term_id=term_id, post=p["post"], member_id=p["member_id"],
                          filled_on=held_on, person_name=names[p["member_id"]], unit=units.get(p["member_id"]))
               for p in posts])


def _check_size(full_members: int, seats: int) -> None:
    if full_members < BRANCH_MIN_FULL_MEMBERS:
        raise refuse("支部至少要有 3 名正式党员才能选举", "branch_too_small")
    if full_members < COMMITTEE_MIN_FULL_MEMBERS and seats > 2:
        raise refuse("正式党员不足 7 名的支部只选书记（可选副书记），不设支部委员会",
                     "no_committee_under_seven", "seats")
    if full_members >= 7 and not 3 <= seats <= 7:
        raise refuse("支部委员会设 3 至 7 人（一般 3 至 5 人）", "committee_size", "seats")


def _voters(ballot: Ballot, entitled: frozenset) -> int:
    """The members entitled to vote, from the roster, less those excused by id with a reason; a number entered
    that differs from it is refused (list who is excused instead)."""
    excused = [e["member_id"] for e in ballot.excused]
    strangers = sorted(set(excused) - entitled)
    if strangers:
        raise refuse(f"只有当天有表决权的正式党员可以列为不计入应到人数：{', '.join(strangers)}",
                     "excused_not_entitled", "excused")
    if len(set(excused)) != len(excused):
        raise refuse("同一党员重复列出", "excused_twice", "excused")
    if any(not (e.get("reason") or "").strip() for e in ballot.excused):
        raise refuse("不计入应到人数须写明原因", "excuse_reason_required", "excused")
    voters = len(entitled) - len(excused)
    if ballot.eligible_voters is not None and ballot.eligible_voters != voters:
        raise refuse(f"当天有表决权的正式党员 {len(entitled)} 名，不计入 {len(excused)} 名，应到 {voters} 名；"
                     "填写其他人数须逐一列出不计入的党员及原因", "eligible_voters_mismatch", "eligible_voters")
    return voters


def _check_ballot(ballot: Ballot, voters: int, branch_members: frozenset) -> None:
    if ballot.attendees > voters:
        raise refuse("到会人数不能多于有表决权的党员", "attendees_exceed_voters", "attendees")
    if ballot.attendees * 5 <= voters * 4:
        raise refuse("有表决权的党员须超过五分之四到会", "quorum_not_met", "attendees")
    if len(ballot.candidates) * 5 < ballot.seats * 6:
        raise refuse("候选人须比应选人数多 20% 以上", "too_few_candidates", "candidates")
    if sum(c["votes"] for c in ballot.candidates) > ballot.attendees * ballot.seats:
        raise refuse("得票数不能多于投票人数", "votes_exceed_ballots", "candidates")
    if len({c["member_id"] for c in ballot.candidates}) != len(ballot.candidates):
        raise refuse("同一候选人列了两次", "duplicate_candidate", "candidates")
    outsiders = [c["name"] for c in ballot.candidates if c["member_id"] not in branch_members]
    if outsiders:
        raise refuse(f"以下人员当天不是本支部的党员：{'、'.join(outsiders)}",
                     "candidate_not_in_branch", "candidates")


def _elected(ballot: Ballot) -> list[str]:
    """The most voted candidates with more than half the votes of those present, up to the seats."""
    majority = sorted((c for c in ballot.candidates if c["votes"] * 2 > ballot.attendees), key=lambda c: -c["votes"])
    ranked = majority[:ballot.seats]
    if not ranked:
        raise refuse("没有候选人得到到会党员过半数的票", "nobody_elected", "candidates")
    if len(majority) > ballot.seats and majority[ballot.seats]["votes"] == ranked[-1]["votes"]:
        raise refuse("最后一个名额有候选人票数相同：须在他们之间再投票决定",
                     "tie_for_last_seat", "candidates")
    return [c["member_id"] for c in ranked]


def _check_timing(committee: Committee | None, held_on: date, approval: str | None) -> None:
    current = committee.current if committee else None
    if current is None:
        return
    if held_on <= current.starts_on:
        raise refuse("换届日期须在本届任期开始以后", "election_before_term", "held_on")
    if abs(held_on - current.ends_on) > FURTHEST:
        raise refuse(f"换届提前或推迟不得超过一年（本届任期至 {current.ends_on}）", "election_beyond_a_year", "held_on")
    if abs(held_on - current.ends_on) > APPROVAL_WINDOW and not approval:
        raise refuse("提前或推迟换届须经上级党组织批准（请填写批准文号）",
                     "approval_required", "approval_reference")


def _check_posts(posts: list[dict], elected: list[str], committee_term: bool) -> None:
    for post in posts:
        if post["member_id"] not in elected:
            raise refuse("只能由当选的人担任职务", "post_for_unelected", "posts")
        if not committee_term and post["post"] == "member":
            raise refuse("不设支部委员会的支部没有委员", "no_committee_under_seven", "posts")
    for single in SINGLE_POSTS:
        if sum(p["post"] == single for p in posts) > 1:
            raise refuse(f"{POST_WORDS.get(single, single)}只能有一名", "post_taken", "posts")
    if sum(p["post"] == "secretary" for p in posts) != 1:
        raise refuse("选举须产生书记", "secretary_required", "posts")
    if len({p["member_id"] for p in posts}) != len(posts):
        raise refuse("一人只能担任一个职务", "two_posts_one_person", "posts")


def _vacate_previous(committee: Committee | None, on: date) -> list:
    if committee is None or committee.current is None:
        return []
    return [PostVacated(branch_id=committee.branch_id, term_id=committee.current.term_id, post=post,
                        member_id=member, vacated_on=on, reason="term_ended") for (post, member) in committee.posts]


def fill_post(committee: Committee, post: str, member_id: str, person_name: str, unit: str | None,
              filled_on: date, branch_members: frozenset, today: date) -> list:
    """Fill a post during the term with a Party member of the branch on ``filled_on``."""
    term = _term_in_force(committee, filled_on, today)
    if member_id not in branch_members:
        raise refuse("只有本支部的党员可以担任职务", "not_in_branch", "member_id")
    if post in SINGLE_POSTS and committee.holder(post):
        raise refuse(f"{POST_WORDS.get(post, post)}已有人担任，请先办理离任", "post_taken", "post")
    if post == "member" and not term.committee:
        raise refuse("不设支部委员会的支部没有委员", "no_committee_under_seven", "post")
    if any(member == member_id for (_, member) in committee.posts):
        raise refuse("这个人已经担任一个职务", "two_posts_one_person", "member_id")
    return [PostFilled(branch_id=committee.branch_id, term_id=term.term_id, post=post, member_id=member_id,
                       filled_on=filled_on, person_name=person_name, unit=unit)]


def vacate_post(committee: Committee, post: str, member_id: str, vacated_on: date, reason: str, today: date) -> list:
    term = _term_in_force(committee, vacated_on, today)
    if (post, member_id) not in committee.posts:
        raise refuse("这个人没有担任这个职务", "post_not_held", "member_id")
    return [PostVacated(branch_id=committee.branch_id, term_id=term.term_id, post=post, member_id=member_id,
                        vacated_on=vacated_on, reason=reason)]


def pay_allowance(committee: Committee, member_id: str, month: str, amount: Decimal, rules: dict,
                  today: date) -> list:
    """The monthly work allowance, for a month of the term: the secretary's at least the rules' amount, a
    deputy's or member's at most the rules' share of what the secretary is actually paid that month."""
    term = committee.current
    post = next((p for (p, member) in committee.posts if member == member_id), None)
    if term is None or post is None:
        raise refuse("只有现任支委成员可以领取补贴", "post_not_held", "member_id")
    if not month_of(term.starts_on) <= month <= min(month_of(term.ends_on), month_of(today)):
        raise refuse(f"补贴月份须在本届任期内（{term.starts_on} 至 {term.ends_on}）且不晚于本月",
                     "allowance_outside_term", "month")
    if (member_id, month) in committee.allowances:
        raise refuse(f"{chinese.month(month)}的补贴已经发放", "allowance_already_paid", "month")
    standard = Decimal(rules["secretary_allowance_monthly"])
    if post == "secretary" and amount < standard:
        raise refuse(f"书记工作补贴每月不少于 {standard} 元", "allowance_below_standard", "amount")
    if post != "secretary":
        _check_share(committee, month, amount, Decimal(rules["deputy_allowance_ratio"]))
    return [AllowancePaid(branch_id=committee.branch_id, term_id=term.term_id, member_id=member_id, post=post,
                          month=month, amount=amount)]


def _check_share(committee: Committee, month: str, amount: Decimal, ratio: Decimal) -> None:
    secretary = committee.secretary_paid(month)
    if secretary is None:
        raise refuse(f"请先记录书记 {month} 的补贴：副书记、委员的补贴以书记当月实发数为准",
                     "secretary_allowance_missing", "month")
    if amount > secretary * ratio:
        raise refuse(f"副书记、委员补贴不超过书记当月实发 {secretary} 元的 {ratio * 100:.0f}%",
                     "allowance_above_ratio", "amount")


def _term_in_force(committee: Committee, day: date, today: date) -> Term:
    require_not_future(day, "date", today)
    term = committee.current
    if term is None or day < term.starts_on:
        raise refuse("那一天没有在任的支部委员会", "no_term")
    return term


def evolve_committee(state: Committee | None, event) -> Committee:
    state = state or Committee(branch_id=event.branch_id)
    if isinstance(event, CommitteeTermOpened):
        return replace(state, terms=state.terms + (Term(event.term_id, event.starts_on, event.ends_on,
                                                        event.committee),))
    if isinstance(event, PostFilled):
        return replace(state, posts={**state.posts, (event.post, event.member_id): event.filled_on})
    if isinstance(event, PostVacated):
        return replace(state, posts={k: v for k, v in state.posts.items() if k != (event.post, event.member_id)})
    if isinstance(event, AllowancePaid):
        return replace(state, allowances={**state.allowances, (event.member_id, event.month): (event.post,
                                                                                                event.amount)})
    return state
