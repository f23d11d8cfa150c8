"""The rules in force: the platform's defaults, a bureau's published versions, and the national floors.

A bureau publishes versions of its local rule set (``members.BureauRulesPublished``), each in force
from its effective date. On any day every reader takes the same set: the latest version already in
force (before any version took effect, none: a version waits for its date), merged over the defaults
(a key a version lacks keeps its default, so a rule the platform adds later reaches every bureau), and
held to the national floors (a bureau's rules may be stricter than national rules, never weaker).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from collections.abc import Iterable, Mapping

DEFAULT_RULES: dict = {
    # required frequencies, per year
    "general_meeting_per_year": 4,
    "committee_meeting_per_year": 12,
    "group_meeting_per_year": 12,
    "party_lecture_per_year": 4,
    "theme_day_per_year": 12,
    "briefing_per_year": 4,
    "life_meeting_per_year": 1,
    "appraisal_per_year": 1,
    # education coverage and study hours
    "coverage_period": "month",
    "coverage_channels": ["visit", "phone", "home_study"],
    "study_hours_member": 32,
    "study_hours_committee": 56,
    "study_exempt_health": ["poor"],
    "study_exempt_age": None,  # members this old or older are exempt from the hours yardstick (None: no age rule)
    # care
    "holiday_visits": ["spring_festival", "july_1"],
    "newspaper_per_member": True,
    "health_check_by_month": 10,
    "birthday_window_days": 15,  # birthday care is given within this many days of the birthday
    # the activity centre's checklist (the seed's 六有)
    "centre_checklist": ["有场所", "有标志", "有书报", "有制度", "有宣传", "有党旗"],
    # committee and allowance
    "term_years": 3,
    "secretary_allowance_monthly": "300.00",
    "deputy_allowance_ratio": "0.70",
    # transfers
    "transfer_letter_valid_days": 90,
    "return_slip_days": 30,
    # records and access
    "late_entry_days": 30,
    "pledge_readers": ["bureau_admin"],
    "demonstration_criteria": ["organisation", "committee", "membership", "study", "role", "rules"],
    # reminders and alerts (the notify service)
    "notify_disabled_rules": [],
    "meeting_reminder_days": 1,
    "meeting_reminder_kinds": ["committee_meeting", "general_meeting", "group_meeting", "party_lecture",
                               "theme_day", "study", "life_meeting", "appraisal", "briefing"],
    "monthly_check_day": 20,
    "quarter_end_warning_days": 14,
    "coverage_activity_kinds": ["study", "party_lecture", "general_meeting", "group_meeting", "theme_day",
                                "life_meeting", "briefing"],
    "birthday_days_ahead": 1,
    "holiday_visit_days_ahead": 7,
    "term_reminder_days": [90, 30],
    "vacant_post_days": 30,
    "dues_reminder_months": 3,
    "dues_review_months": 6,
    "transfer_expiry_warning_days": 14,
    # the annual work report's own words (the seed's 在市委的正确领导下… and 明年是……的关键之年)
    "report_leadership": "在上级党组织的正确领导下",
    "report_superior": "上级党组织",
    "report_key_year": "推进离退休干部党支部标准化规范化建设",
}
"""The defaults every new bureau starts with (from the seed); ``BureauRulesPublished`` replaces them."""


# --- the national floors ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Floor:
    """A national rule a bureau's own may tighten but never loosen: at least ``least``, at most ``most``."""

    rule: str
    says: str
    least: int | None = None
    most: int | None = None

    def allows(self, value: Any) -> bool:
        if value is None:
            return False
        return (self.least is None or value >= self.least) and (self.most is None or value <= self.most)

    def held(self, value: Any) -> Any:
        """The value as the floor lets it stand (a weaker one is raised, or lowered, to the floor)."""
        if value is None or (self.least is not None and value < self.least):
            return self.least if self.least is not None else value
        return self.most if self.most is not None and value > self.most else value


NATIONAL_FLOORS: dict[str, Floor] = {floor.rule: floor for floor in (
    Floor("general_meeting_per_year", "支部党员大会一般每季度召开一次（每年至少4次）", least=4),
    Floor("committee_meeting_per_year", "支委会一般每月召开一次（每年至少12次）", least=12),
    Floor("group_meeting_per_year", "党小组会一般每月召开一次（每年至少12次）", least=12),
    Floor("theme_day_per_year", "主题党日每月固定一天开展（每年至少12次）", least=12),
    Floor("life_meeting_per_year", "组织生活会每年至少召开一次", least=1),
    Floor("appraisal_per_year", "民主评议党员每年开展一次", least=1),
    Floor("study_hours_member", "党员每年集中学习培训不少于32学时", least=32),
    Floor("study_hours_committee", "支部书记和支委每年集中学习培训不少于56学时", least=56),
    Floor("term_years", "党支部委员会每届任期3年", least=3, most=3),
    Floor("transfer_letter_valid_days", "组织关系介绍信有效期一般不超过3个月（90天）", most=90),
    Floor("return_slip_days", "接收方应在1个月（30天）内寄回回执", most=30),
    Floor("dues_review_months", "连续6个月未交纳党费应进行审查（不得更晚）", most=6),
)}


def floor_violations(rules: Mapping[str, Any]) -> dict[str, str]:
    """The rules set weaker than their national floor: rule → what the national rule says."""
    return {name: floor.says for name, floor in NATIONAL_FLOORS.items()
            if name in rules and not floor.allows(rules[name])}


def held_to_floors(rules: Mapping[str, Any]) -> dict:
    return {**rules, **{name: floor.held(rules.get(name)) for name, floor in NATIONAL_FLOORS.items()}}


# --- the rule set in force ----------------------------------------------------------------------

@dataclass(frozen=True)
class RuleVersion:
    """A published version; ``effective_from`` None: in force from the beginning."""

    version: int
    effective_from: date | None
    rules: Mapping[str, Any]


class RuleBook:
    """Every version of one bureau's rules; ``on(day)`` is the set in force that day, for every reader."""

    def __init__(self, versions: Iterable[RuleVersion] = ()) -> None:
        self.versions = sorted(versions, key=lambda v: (v.effective_from or date.min, v.version))

    def version_on(self, day: date) -> RuleVersion | None:
        """The latest version in force on ``day`` (None before any took effect: the defaults apply)."""
        in_force = [v for v in self.versions if (v.effective_from or date.min) <= day]
        return in_force[-1] if in_force else None

    def on(self, day: date) -> dict[str, Any]:
        version = self.version_on(day)
        return in_force({} if version is None else version.rules)


def in_force(published: Mapping[str, Any]) -> dict[str, Any]:
    """A published rule set as readers apply it: over the defaults, held to the national floors."""
    return held_to_floors({**DEFAULT_RULES, **published})


def occasions_due(per_year: float, months: int) -> int:
    """A yearly frequency over ``months`` months: the whole occasions owed (4 a year → 1 a quarter)."""
    return int(per_year * months / 12 + 1e-9) if per_year > 0 else 0


def study_kinds(rules: Mapping[str, Any]) -> tuple[str, ...]:
    """The activities at which attending counts as study, for coverage and study hours."""
    return tuple(rules["coverage_activity_kinds"] or DEFAULT_RULES["coverage_activity_kinds"])


def coverage_channels(rules: Mapping[str, Any]) -> tuple[str, ...]:
    """The outreach channels that count as reaching a member who could not attend."""
    return tuple(rules["coverage_channels"] or ())
