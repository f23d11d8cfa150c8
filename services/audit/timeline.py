"""A line of Chinese for each event on a member's timeline, from the data the journal holds (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from contracts import words
from contracts.rulebook.holidays import holiday_label
from shared import chinese
from services.audit import labels

NAMES: Mapping[str, Mapping[str, str]] = {}
"""Names the journal's data refers to by id — ``{"branches": {id: name}, "teams": {id: name}}`` — when known."""


def describe(event_type: str, data: dict, member_id: str, names: Mapping[str, Mapping[str, str]] = NAMES) -> str:
    """What happened, as a secretary would write it in the branch's book."""
    describer = DESCRIBERS.get(event_type)
    if describer is None:
        return labels.event_type(event_type)
    named = NAMED.get(event_type)
    return (named(data, names) if named else describer(data, member_id)) or labels.event_type(event_type)


def _hours(data: dict) -> str:
    hours = data.get("hours")
    return f"（{_number(hours)}学时）" if hours not in (None, "", "0", "0.00") else ""


def _number(value) -> str:
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _activity(data: dict, member_id: str) -> str:
    kind = labels.ACTIVITY_KINDS.get(data.get("kind"), data.get("kind") or "活动")
    text = f"{_titled(kind, data.get('title'))}{_hours(data)}"
    if data.get("place"):
        text += f"，地点：{data['place']}"
    reasons = [a.get("reason") for a in data.get("absentees") or [] if isinstance(a, dict)
               and a.get("member_id") == member_id and a.get("reason")]
    return text + (f"；缺席原因：{reasons[0]}" if reasons else "")


def _registered(data: dict, _member_id: str) -> str:
    kind = labels.RETIREMENT_KINDS.get(data.get("retirement_kind"), data.get("retirement_kind"))
    party = "中共党员" if data.get("party_member") else "非党员"
    health = labels.HEALTH.get(data.get("health"), data.get("health"))
    return f"登记入册：{kind}，{party}，健康{health}，{labels.MOBILITY.get(data.get('mobility'), '')}"


def _health(data: dict, _member_id: str) -> str:
    return (f"健康状况：{labels.HEALTH.get(data.get('health'), data.get('health'))}，"
            f"{labels.MOBILITY.get(data.get('mobility'), data.get('mobility'))}")


def _labelled(label: str, text: str | None) -> str:
    """``label：text``, or the text alone when it already says what it is (送学上门：…, 春节慰问)."""
    if not text:
        return label
    return text if text.startswith(label[:2]) else f"{label}：{text}"


def _titled(kind: str, title: str | None) -> str:
    """``支委会：议题``, or the title alone when it already names its kind (11月支委会, 集体学习：…,
    第3季度党员大会)."""
    if not title:
        return kind
    core = kind.removeprefix("支部")
    return title if kind in title or core in title else f"{kind}：{title}"


def _outreach(data: dict, _member_id: str) -> str:
    channel = labels.OUTREACH_CHANNELS.get(data.get("channel"), data.get("channel"))
    return _labelled(channel, data.get("topic")) + _hours(data)


def _care(data: dict, _member_id: str) -> str:
    kind = labels.CARE_KINDS.get(data.get("kind"), data.get("kind"))
    if data.get("holiday"):
        kind = f"{holiday_label(data['holiday'])}慰问"
    return _labelled(kind, data.get("note"))


def _dues_paid(data: dict, _member_id: str) -> str:
    months = [chinese.month(m) for m in data.get("months") or []]
    span = months[0] if len(months) == 1 else f"{months[0]}至{months[-1]}" if months else ""
    payer = {"relative": "亲属代缴", "member": "他人代缴"}.get(data.get("payer"), "")
    by = f"（{payer}{' ' + data['payer_name'] if data.get('payer_name') else ''}）" if payer else ""
    amount = chinese.amount(data["amount"]) if data.get("amount") is not None else ""
    return f"缴纳党费{span}，共{amount}{by}"


def _moved(data: dict, names) -> str:
    """调入另一支部, by its name, and why (a transfer within the bureau, a merger)."""
    branch = (names.get("branches") or {}).get(data.get("to_branch_id"), "另一支部")
    reason = words.word(words.MOVE_REASONS, data.get("reason"))
    return f"调整支部：调入{branch}" + (f"（{reason}）" if reason else "")


def _team(action: str) -> Callable[[dict, Mapping], str]:
    def text(data: dict, names) -> str:
        return f"{action}{(names.get('teams') or {}).get(data.get('team_id'), '兴趣团队')}"
    return text


def _performed(data: dict, names) -> str:
    team = (names.get("teams") or {}).get(data.get("team_id"), "团队")
    place = f"（{data['place']}）" if data.get("place") else ""
    return f"随{team}演出：{data.get('title') or ''}{place}"


def _post(action: str) -> Callable[[dict, str], str]:
    def text(data: dict, _member_id: str) -> str:
        post = labels.POSTS.get(data.get("post"), data.get("post"))
        reason = f"（{data['reason']}）" if data.get("reason") else ""
        return f"{action}支部{post}{reason}"
    return text


DESCRIBERS: dict[str, Callable[[dict, str], str]] = {
    "members.MemberRegistered": _registered,
    "members.MemberHealthChanged": _health,
    "members.MemberProfileUpdated": lambda d, m: "信息变更：" + "、".join(sorted((d.get("changes") or {}).keys())),
    "members.MemberMoved": lambda d, m: _moved(d, NAMES),
    "members.MemberTransferredOut": lambda d, m: "组织关系转出",
    "members.PostFilled": _post("担任"),
    "members.PostVacated": _post("不再担任"),
    "members.ElectionHeld": lambda d, m: f"支部换届选举（{chinese.day(d.get('held_on'))}），当选支委",
    "members.AllowancePaid": lambda d, m: (f"领取{chinese.month(d.get('month') or '')}书记工作补贴"
                                           f"{chinese.amount(d.get('amount') or 0)}"),
    "members.TransferLetterIssued": lambda d, m: f"开具组织关系介绍信（有效期至{chinese.day(d.get('valid_until'))}）",
    "members.TransferReceived": lambda d, m: "组织关系转入本支部",
    "members.DuesAssessed":
        lambda d, m: f"核定{d.get('year')}年党费：每月{chinese.amount(d.get('monthly_amount') or 0)}",
    "members.DuesReduced": lambda d, m: (f"党费减免：自{chinese.month(d.get('from_month') or '')}起"
                                         f"每月{chinese.amount(d.get('monthly_amount') or 0)}"),
    "members.DuesPaid": _dues_paid,
    "members.DuesArrearsReviewRaised":
        lambda d, m: f"连续{len(d.get('months_unpaid') or [])}个月未缴党费，提请支部了解情况",
    "activities.ActivityRecorded": _activity,
    "activities.ActivityCorrected": lambda d, m: "更正：" + _activity(d, m),
    "activities.ActivityPlanned": lambda d, m: "计划：" + _activity(d, m),
    "activities.ActivityCancelled": lambda d, m: f"活动取消（{d.get('reason') or ''}）",
    "activities.TalkGiven": lambda d, m: f"宣讲：{d.get('topic')}（听众：{d.get('audience')}"
                                         f"{' ' + str(d['audience_size']) + '人' if d.get('audience_size') else ''}）",
    "activities.OutreachRecorded": _outreach,
    "activities.OutreachWithdrawn": lambda d, m: f"撤回走访记录（{d.get('reason') or ''}）",
    "activities.CareRecorded": _care,
    "activities.CareWithdrawn": lambda d, m: f"撤回关怀记录（{d.get('reason') or ''}）",
    "activities.TeamFormed": lambda d, m: f"成立{d.get('name')}",
    "activities.MemberJoinedTeam": lambda d, m: "",
    "activities.MemberLeftTeam": lambda d, m: "",
    "activities.TeamPerformed": lambda d, m: "",
    "notify.NotificationScheduled": lambda d, m: f"平台提醒：{d.get('title')}",
}

# Lines that name something the event refers to by id (a branch, a team).
NAMED: dict[str, Callable[[dict, Mapping], str]] = {
    "members.MemberMoved": _moved,
    "activities.MemberJoinedTeam": _team("加入"),
    "activities.MemberLeftTeam": _team("退出"),
    "activities.TeamPerformed": _performed,
}
