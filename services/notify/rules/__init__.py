"""The notify rules, pure: ``evaluate(snapshot, today) -> [Reminder]``, each naming its rule and cause."""

from __future__ import annotations

from datetime import date
from collections.abc import Callable

from services.notify.rules import care, committee, dues, meetings, transfers
from services.notify.rules.model import BureauSnapshot, Reminder

Rule = Callable[[BureauSnapshot, date, dict], list[Reminder]]

RULES: dict[str, Rule] = {
    "meeting.reminder": meetings.meeting_reminders,
    "meeting.cancelled": meetings.cancellation_notices,
    "meeting.committee_monthly": meetings.committee_meeting_alerts,
    "meeting.quarterly": meetings.quarter_meeting_alerts,
    "coverage.unreached": meetings.coverage_tasks,
    "care.birthday": care.birthday_tasks,
    "care.holiday_visit": care.holiday_visit_lists,
    "care.health_check": care.health_check_tasks,
    "committee.term_ending": committee.term_ending_reminders,
    "committee.post_vacant": committee.vacant_post_alerts,
    "dues.arrears": dues.arrears_reminders,
    "transfer.letter_expiring": transfers.letter_expiring_alerts,
    "transfer.return_slip_overdue": transfers.return_slip_overdue_alerts,
}


def evaluate(snapshot: BureauSnapshot, today: date) -> list[Reminder]:
    """Every reminder due on ``today`` under the rule set in force, minus the rules the bureau switched off."""
    rules = snapshot.rules_on(today)
    disabled = set(rules.get("notify_disabled_rules") or [])
    reminders: list[Reminder] = []
    for rule in RULES.values():
        reminders.extend(r for r in rule(snapshot, today, rules) if not _disabled(r.rule, disabled))
    return reminders


def _disabled(rule: str, disabled: set[str]) -> bool:
    """``dues`` switches off every dues rule, ``dues.arrears_review`` just that one."""
    return any(rule == name or rule.startswith(name + ".") for name in disabled)
