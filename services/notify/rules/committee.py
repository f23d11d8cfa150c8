"""Committee (支部委员会): the term's end coming (election reminders) and posts left vacant."""

from __future__ import annotations

from datetime import date, timedelta

from services.notify.rules.model import BUREAU, POST_LABELS, BureauSnapshot, Reminder


def term_ending_reminders(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """``term_reminder_days`` (90 and 30) before a term ends: an election reminder to the bureau.

    Only the nearest stage already reached fires, so a scheduler coming back inside the 30-day
    window sends the 30-day reminder and not a stale 90-day one.
    """
    stages = sorted(int(days) for days in rules["term_reminder_days"])
    branches = {b.branch_id: b for b in snapshot.open_branches()}
    reminders = []
    for branch_id, branch in branches.items():
        term = snapshot.current_term(branch_id, today)
        if term is None or today > term.ends_on:
            continue
        reached = [days for days in stages if today >= term.ends_on - timedelta(days=days)]
        if not reached:
            continue
        days = reached[0]
        left = (term.ends_on - today).days
        reminders.append(Reminder(
            rule="committee.term_ending", subject=f"term-{term.term_id}", period=f"{days}d",
            branch_id=branch_id, audiences=(BUREAU,), due_on=term.ends_on - timedelta(days=days),
            title=f"换届提醒：{branch.name}本届任期 {left} 天后（{term.ends_on.isoformat()}）届满",
            body=(f"{branch.name}本届{'支部委员会' if term.committee else '支部书记'}任期自 "
                  f"{term.starts_on.isoformat()} 起，"
                  f"将于 {term.ends_on.isoformat()} 届满，请及时筹备换届选举（提前或推迟换届须报上级党组织批准）。"),
            records=(("committee_term", term.term_id),),
            details={"term_id": term.term_id, "ends_on": term.ends_on.isoformat(), "stage_days": days,
                     "days_left": left}))
    return reminders


def vacant_post_alerts(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """A post of the current term vacated ``vacant_post_days`` ago and not filled since: alert the bureau."""
    after = int(rules["vacant_post_days"])
    reminders = []
    for branch in snapshot.open_branches():
        term = snapshot.current_term(branch.branch_id, today)
        if term is None:
            continue
        for holding in snapshot.posts:
            if holding.term_id != term.term_id or holding.vacated_on is None:
                continue
            refilled = any(p.term_id == term.term_id and p.post == holding.post and p.filled_on >= holding.vacated_on
                           and p is not holding for p in snapshot.posts)
            if refilled or today < holding.vacated_on + timedelta(days=after):
                continue
            post = POST_LABELS.get(holding.post, holding.post)
            reminders.append(Reminder(
                rule="committee.post_vacant", subject=f"post-{term.term_id}-{holding.post}-{holding.member_id}",
                period=holding.vacated_on.isoformat(), branch_id=branch.branch_id, audiences=(BUREAU,),
                due_on=holding.vacated_on + timedelta(days=after),
                title=f"{branch.name}{post}空缺已 {(today - holding.vacated_on).days} 天",
                body=(f"{branch.name}{post}（原由{holding.person_name}担任）自 {holding.vacated_on.isoformat()} 空缺，"
                      "请及时补选或报批。"),
                records=(("committee_term", term.term_id), ("member", holding.member_id)),
                details={"term_id": term.term_id, "post": holding.post, "vacated_on": holding.vacated_on.isoformat(),
                         "previous_holder": holding.person_name}))
    return reminders
