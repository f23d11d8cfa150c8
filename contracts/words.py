"""The Chinese words for the codes the contracts publish, as pages, reports and exports say them.

One vocabulary for every reader of the events (the audit views, the secretaries' pages): a kind of
meeting or a channel of outreach is called the same everywhere.
"""

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
GENDERS = {"male": "男", "female": "女"}
HEALTH = {"good": "良好", "fair": "一般", "poor": "较差"}
MOBILITY = {"mobile": "行动自如", "limited": "行动不便", "homebound": "居家难出门"}
POSTS = {"secretary": "书记", "deputy_secretary": "副书记", "member": "委员"}
TEAM_KINDS = {"choir": "合唱队", "dance": "舞蹈队", "other": "兴趣团队"}
PLEDGE_KINDS = {"no_religion": "不信仰宗教承诺", "integrity": "廉洁承诺", "confidentiality": "保密承诺",
                "other": "其他承诺"}
PAYERS = {"self": "本人缴纳", "relative": "亲属代缴", "member": "他人代缴"}
LATE_REASONS = {"period_closed": "所属期间已关账", "entered_after_days": "超过规定天数补录"}
ACTIVITY_STATUS = {"planned": "已计划", "recorded": "已记录", "held": "已召开", "cancelled": "已取消"}
MEMBER_STATUS = {"active": "在册", "deceased": "已去世", "left_party": "已离开党组织", "transferred_out": "已转出"}
USER_ROLES = {"platform_admin": "平台管理员", "bureau_admin": "局管理员", "secretary": "支部书记",
              "auditor": "审计员", "ops": "运维人员"}
YES_NO = {True: "是", False: "否"}
NOTIFY_RULES = {
    "meeting.reminder": "会议提醒", "meeting.cancelled": "会议取消", "meeting.committee_monthly": "支委会按月召开",
    "meeting.general_quarterly": "支部党员大会按季召开", "meeting.lecture_quota": "党课按季完成",
    "coverage.unreached": "学习教育全覆盖", "care.birthday": "生日关怀", "care.holiday_visit": "节日走访慰问",
    "care.health_check": "年度体检", "committee.term_ending": "换届提醒", "committee.post_vacant": "支委职务空缺",
    "dues.arrears_reminder": "党费收缴提醒", "dues.arrears_review": "党费欠缴审查",
    "transfer.letter_expiring": "介绍信即将到期", "transfer.return_slip_overdue": "回执逾期未回",
}
DELIVERY_CHANNELS = {"email": "电子邮件", "webhook": "推送接口", "inbox": "站内信"}
DELIVERY_STATUS = {"scheduled": "待发送", "retrying": "重试中", "sent": "已送达", "failed": "发送失败"}
MOVE_REASONS = {"transfer": "组织关系转接", "merger": "支部合并"}
NOT_A_MEMBER = {"unknown_member": "不是本局登记的人员", "member_not_yet_joined": "当天尚未加入本支部",
                "member_deceased": "当天已去世", "member_transferred_out": "当天已转出",
                "member_left_party": "当天已离开党组织", "member_branch_closed": "所在支部当天已撤销",
                "member_of_another_branch": "当天属于其他支部"}
"""Why someone could not attend as a member of the branch on the day (the activities service's reason codes)."""


def word(table: dict, code, default: str = "") -> str:
    """The word for ``code``, or the code itself when the vocabulary does not know it yet (a newer producer)."""
    if code is None:
        return default
    return table.get(code, str(code))
