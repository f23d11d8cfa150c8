"""Care (关怀): birthdays (cake and flowers), holiday visit lists a week ahead, the yearly health check."""

from __future__ import annotations

from datetime import date, timedelta

from contracts.rulebook.holidays import UnknownHoliday, holiday_label, next_occurrence
from contracts.rulebook.people import birthday_on, due_care
from services.notify.rules.model import (
    HEALTH_LABELS, MOBILITY_LABELS, BureauSnapshot, Member, Reminder, secretary_of, within)


def cared_for(snapshot: BureauSnapshot, branch_id: str | None = None) -> list[Member]:
    """The members due care (the retired cadres), of one branch or of the bureau."""
    return [m for m in snapshot.active_members(branch_id) if due_care(m.retirement_kind)]


def birthday_tasks(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """A member's birthday is ``birthday_days_ahead`` away (or today): a task for the secretary."""
    ahead = int(rules["birthday_days_ahead"])
    reminders = []
    for member in cared_for(snapshot):
        birthday = next(b for year in (today.year, today.year + 1)
                        if (b := birthday_on(member.birth_date, year)) >= today)
        if not within(today, birthday - timedelta(days=ahead), birthday):
            continue
        age = birthday.year - member.birth_date.year
        when = ("今天" if birthday == today
                else "明天" if birthday == today + timedelta(days=1) else birthday.isoformat())
        reminders.append(Reminder(
            rule="care.birthday", subject=f"member-{member.member_id}", period=str(birthday.year),
            branch_id=member.branch_id, audiences=(secretary_of(member.branch_id),),
            due_on=birthday - timedelta(days=ahead),
            title=f"生日关怀：{when}是{member.name}同志 {age} 岁生日",
            body=f"{member.name}同志 {birthday.isoformat()} 过 {age} 岁生日，请准备蛋糕和鲜花，代表支部送上祝福。",
            records=(("member", member.member_id),),
            details={"member_id": member.member_id, "name": member.name, "birthday": birthday.isoformat(), "age": age}))
    return reminders


def holiday_visit_lists(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """``holiday_visit_days_ahead`` before each holiday of the rule set: the branch's visit list."""
    ahead = int(rules["holiday_visit_days_ahead"])
    reminders = []
    for holiday in rules["holiday_visits"]:
        try:
            day = next_occurrence(holiday, today)
        except UnknownHoliday:
            continue  # a name the calendar cannot place visits nobody, and stops no other rule
        if not within(today, day - timedelta(days=ahead), day):
            continue
        for branch in snapshot.open_branches():
            visited = {c.member_id for c in snapshot.care if c.kind == "holiday_visit" and c.holiday == holiday
                       and (c.holiday_date or c.occurred_on).year == day.year}
            to_visit = sorted((m for m in cared_for(snapshot, branch.branch_id) if m.member_id not in visited),
                              key=_visit_priority)
            if not to_visit:
                continue
            label = holiday_label(holiday)
            lines = [f"· {m.name}（{HEALTH_LABELS.get(m.health, m.health)}，"
                     f"{MOBILITY_LABELS.get(m.mobility, m.mobility)}"
                     + (f"，电话 {m.phone}" if m.phone else "") + "）" for m in to_visit]
            reminders.append(Reminder(
                rule="care.holiday_visit", subject=f"branch-{branch.branch_id}", period=f"{holiday}-{day.year}",
                branch_id=branch.branch_id, audiences=(secretary_of(branch.branch_id),),
                due_on=day - timedelta(days=ahead),
                title=f"{label}慰问：{branch.name} {len(to_visit)} 名老同志待走访（{day.isoformat()}）",
                body=(f"{label}（{day.isoformat()}）将至，请安排走访慰问以下老同志（行动不便者优先上门）：\n"
                      + "\n".join(lines)),
                records=(("branch", branch.branch_id),) + tuple(("member", m.member_id) for m in to_visit),
                details={"holiday": holiday, "holiday_date": day.isoformat(),
                         "members": [{"member_id": m.member_id, "name": m.name, "health": m.health,
                                      "mobility": m.mobility} for m in to_visit]}))
    return reminders


def _visit_priority(member: Member) -> tuple:
    mobility = {"homebound": 0, "limited": 1}.get(member.mobility, 2)
    health = {"poor": 0, "fair": 1}.get(member.health, 2)
    return mobility, health, member.name


def health_check_tasks(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """From the first day of ``health_check_by_month``: members with no health check this year."""
    by_month = int(rules["health_check_by_month"])
    if not 1 <= by_month <= 12 or today.month < by_month:
        return []
    checked = {c.member_id for c in snapshot.care if c.kind == "health_check" and c.occurred_on.year == today.year}
    reminders = []
    for branch in snapshot.open_branches():
        missing = [m for m in cared_for(snapshot, branch.branch_id) if m.member_id not in checked]
        if not missing:
            continue
        reminders.append(Reminder(
            rule="care.health_check", subject=f"branch-{branch.branch_id}", period=str(today.year),
            branch_id=branch.branch_id, audiences=(secretary_of(branch.branch_id),),
            due_on=date(today.year, by_month, 1),
            title=f"{branch.name}：{len(missing)} 名老同志今年尚未体检",
            body=f"{today.year} 年以下老同志还没有体检记录，请联系安排：\n" + "\n".join(f"· {m.name}" for m in missing),
            records=(("branch", branch.branch_id),) + tuple(("member", m.member_id) for m in missing),
            details={"year": today.year, "members": [{"member_id": m.member_id, "name": m.name} for m in missing]}))
    return reminders
