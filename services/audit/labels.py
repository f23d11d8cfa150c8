"""The Chinese words the views and the dashboard use for the platform's codes (kinds, channels, roles, events)."""

from __future__ import annotations

ACTIVITY_KINDS = {
    "committee_meeting": "支委会", "general_meeting": "支部党员大会", "group_meeting": "党小组会",
    "party_lecture": "党课", "theme_day": "主题党日", "study": "集体学习", "life_meeting": "组织生活会",
    "appraisal": "民主评议党员", "heart_talk": "谈心谈话", "briefing": "情况通报", "talk_given": "宣讲",
    "team_activity": "团队活动", "community_activity": "社区活动", "inspection": "上级督查",
}
OUTREACH_CHANNELS = {"visit": "走访谈心", "phone": "电话沟通", "home_study": "送学上门"}
CARE_KINDS = {"birthday": "生日关怀", "holiday_visit": "节日慰问", "health_check": "体检", "hospital_visit": "住院探望",
              "newspaper": "订阅党报", "condolence": "慰问"}
RETIREMENT_KINDS = {"lixiu": "离休", "retired": "退休", "in_service": "在职"}
HEALTH = {"good": "良好", "fair": "一般", "poor": "较差"}
MOBILITY = {"mobile": "行动自如", "limited": "行动不便", "homebound": "居家难出门"}
POSTS = {"secretary": "书记", "deputy_secretary": "副书记", "member": "委员"}
CHANNELS = {"email": "电子邮件", "webhook": "推送接口", "inbox": "站内信"}
DELIVERY_STATUS = {"scheduled": "待发送", "retrying": "重试中", "sent": "已送达", "failed": "发送失败"}

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


def event_type(name: str) -> str:
    return EVENT_TYPES.get(name, name)
