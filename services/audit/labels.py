"""The Chinese words the views and the dashboard use for the platform's codes (kinds, channels, roles, events)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from contracts import words
from contracts.rulebook.calendar import timezone
from shared import chinese


def zone() -> tzinfo:
    """The bureaus' clock (Beijing by default): times on pages, timelines and exports are shown in it, while the
    platform records UTC."""
    return timezone()

# The contracts' vocabulary, under the names the views have always used.
ACTIVITY_KINDS = words.ACTIVITY_KINDS
OUTREACH_CHANNELS = words.OUTREACH_CHANNELS
CARE_KINDS = words.CARE_KINDS
RETIREMENT_KINDS = words.RETIREMENT_KINDS
HEALTH = words.HEALTH
MOBILITY = words.MOBILITY
POSTS = words.POSTS
CHANNELS = words.DELIVERY_CHANNELS
DELIVERY_STATUS = words.DELIVERY_STATUS

# A member's part in an event, as the timeline says it.
ROLES = {"subject": "本人", "attendee": "参加", "absentee": "缺席", "speaker": "宣讲人", "performer": "演出",
         "leader": "负责人", "elected": "当选", "recipient": "通知本人", "concerned": "通知涉及"}

EVENT_TYPES = {
    "members.BureauRegistered": "单位登记", "members.BureauRulesPublished": "发布规则",
    "members.BranchEstablished": "支部成立", "members.BranchClosed": "支部撤销",
    "members.PartyGroupFormed": "成立党小组",
    "members.MemberRegistered": "登记入册", "members.MemberProfileUpdated": "信息变更",
    "members.MemberHealthChanged": "健康状况变化", "members.MemberAssignedToGroup": "编入党小组",
    "members.MemberMoved": "调整支部", "members.MemberRejoined": "重新编入",
    "members.MemberTransferredOut": "组织关系转出",
    "members.MemberDied": "去世", "members.MemberLeftParty": "离开党组织", "members.ElectionHeld": "支部换届选举",
    "members.CommitteeTermOpened": "支委会任期开始", "members.PostFilled": "任职", "members.PostVacated": "离任",
    "members.AllowancePaid": "发放书记工作补贴", "members.TransferLetterIssued": "开具介绍信",
    "members.IncomingTransferAnnounced": "接收介绍信", "members.TransferReceived": "组织关系转入",
    "members.TransferReturnSlipReturned": "回执寄回", "members.TransferCancelled": "转接取消",
    "members.TransferExpired": "介绍信过期", "members.DuesAssessed": "核定党费", "members.DuesReduced": "党费减免",
    "members.DuesPaid": "缴纳党费", "members.DuesArrearsReviewRaised": "欠缴党费提请审议",
    "activities.ActivityPlanned": "活动计划", "activities.ActivityRecorded": "活动记录",
    "activities.ActivityCorrected": "活动更正", "activities.ActivityCancelled": "活动取消",
    "activities.TalkGiven": "宣讲", "activities.OutreachRecorded": "走访送学",
    "activities.OutreachWithdrawn": "撤回走访记录",
    "activities.CareRecorded": "关怀慰问", "activities.CareWithdrawn": "撤回关怀记录",
    "activities.TeamFormed": "成立团队",
    "activities.MemberJoinedTeam": "加入团队", "activities.MemberLeftTeam": "退出团队",
    "activities.TeamPerformed": "团队演出", "activities.PledgeSigned": "签订承诺书",
    "activities.PledgeRead": "查阅承诺书",
    "activities.CentreSetUp": "设立活动阵地", "activities.CentreMoved": "活动阵地搬迁",
    "activities.CentreChecklistItemEvidenced": "阵地标准佐证", "activities.PeriodClosed": "期间关账",
    "notify.NotificationScheduled": "平台提醒", "notify.NotificationSent": "提醒已送达",
    "notify.DeliveryAttemptFailed": "提醒发送重试", "notify.DeliveryFailed": "提醒发送失败",
    "notify.DeliveryRetried": "提醒重新发送", "notify.NotificationRead": "提醒已读",
    "notify.RecipientConfigured": "设置接收人", "notify.WebhookConfigured": "设置推送接口",
    "notify.WebhookRemoved": "移除推送接口",
}

PLEDGE_EVENTS = ("activities.PledgeSigned", "activities.PledgeRead")
"""Need-to-know records: the views count pledges and never show who signed what."""


# What kind of record a stream is (the part of its id before the first dash).
STREAMS = {"bureau": "局", "branch": "支部", "member": "党员", "committee": "支委会", "incoming": "转入介绍信",
           "activity": "活动", "outreach": "走访送学", "care": "关怀慰问", "team": "团队", "pledge": "承诺书",
           "centre": "活动阵地", "period": "期间关账", "notification": "平台提醒", "recipient": "提醒接收人",
           "webhook": "推送接口"}

# Who recorded an event when it was not a person: the platform's own workers, and the demo's loader.
SYSTEM_ACTORS = {"members-transfer-saga": "组织关系转接流程", "members-daily": "每日检查",
                 "notify-delivery": "提醒发送", "notify-scheduler": "提醒规则", "demo-loader": "演示数据导入"}

# The figures of a scorecard, by their path: the evidence page's heading and the CSV's figure column.
FIGURES = {
    "members": "离退休干部和党员", "meetings": "三会一课等会议", "briefings": "情况通报",
    "general_meeting_quorum": "党员大会到会过半", "heart_talks": "谈心谈话", "coverage": "教育覆盖",
    "study_hours": "学习学时", "care": "关怀慰问", "care.birthdays": "生日关怀", "care.holiday_visits": "节日慰问",
    "care.health_checks": "体检", "care.newspapers": "订阅党报", "dues": "党费收缴", "committee": "支委会任期和任职",
    "committee.allowance": "书记工作补贴", "centre": "阵地“六有”", "transfers": "组织关系转接（办理中）",
    "pledges": "承诺书", "talks": "宣讲", "teams": "团队", "community": "社区活动", "inspections": "上级督查",
    "late_entries": "补录（迟报）记录", "finding": "发现的问题",
    **{f"meetings.{kind}": label for kind, label in words.ACTIVITY_KINDS.items()},
}


def figure(path: str) -> str:
    return FIGURES.get(path, path)


# Which figure a finding is about: a figure is shown red only when a finding stands behind it.
FINDING_FIGURES = {
    "general_meeting_not_quorate": "general_meeting_quorum", "coverage_incomplete": "coverage",
    "study_hours_short": "study_hours", "birthday_care_missed": "care.birthdays",
    "holiday_visit_missed": "care.holiday_visits", "health_check_missing": "care.health_checks",
    "newspaper_missing": "care.newspapers", "dues_not_assessed": "dues", "dues_arrears": "dues",
    "dues_review_due": "dues", "no_committee_term": "committee", "term_expired": "committee",
    "secretary_missing": "committee", "post_vacant": "committee", "branch_too_small": "members",
    "committee_required": "committee", "election_attendance": "committee", "election_candidates": "committee",
    "allowance_unpaid": "committee.allowance", "allowance_below_standard": "committee.allowance",
    "allowance_above_ratio": "committee.allowance", "centre_missing": "centre",
    "centre_checklist_incomplete": "centre", "transfer_letter_overdue": "transfers", "return_slip_overdue": "transfers",
    "briefing_short": "briefings",
    **{f"{kind}_short": f"meetings.{kind}" for kind in words.ACTIVITY_KINDS},
}


def flagged_figures(findings: list[dict]) -> set[str]:
    """The figures some finding is about (a figure with none behind it is never shown red)."""
    return {FINDING_FIGURES.get(f["code"], f["code"]) for f in findings}


def event_type(name: str) -> str:
    return EVENT_TYPES.get(name, name)


def actor(user: str | None, role: str | None, names: dict[str, str] | None = None) -> str:
    """Who recorded an event, by name: a member of the bureau (a secretary signs in as their member id),
    one of the platform's own workers, or else the role and the login name."""
    if not user:
        return ""
    if names and user in names:
        return names[user]
    if user in SYSTEM_ACTORS:
        return SYSTEM_ACTORS[user]
    return f"{words.word(words.USER_ROLES, role)} {user}" if role and role != "system" else user


def moment(value) -> str:
    """A recorded time as 2026年11月30日 12:49, Beijing time."""
    return chinese.moment(value, zone())


def local_day(value) -> str:
    """The day a moment fell on in Beijing (a dated fact, recorded at midnight UTC, keeps its date)."""
    if not value:
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return chinese.day(when.astimezone(zone()) if when.tzinfo else when)


def stream(stream_id: str) -> str:
    """``member-…`` → 党员."""
    return STREAMS.get(stream_id.split("-")[0], stream_id.split("-")[0])
