"""The audit service's rules, pure: facts, the rulebook and today's date come in; no database, no clock.

``scorecard``: a branch's scorecard for a period — figures (each ``{required, done}`` or a count, with the
event ids behind it), findings, and whether the branch complied; one module per section (``meetings``,
``education``, ``care``, ``dues``, ``committee``, ``work``) over a ``context``; ``roster``: who was in which
branch on a day, from the members' facts. ``AuditRuleBroken`` is the service's own refusal.

``status`` is ``compliant``, ``findings`` or ``nothing_to_judge`` — a branch with no members on the day the
period is judged has nothing to judge: no findings and no verdict (``compliant`` is None), never "compliant".
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from contracts.rulebook.calendar import Period
from shared.errors import DomainError
from services.audit.domain import care, committee, dues, education, meetings, work
from services.audit.domain.context import BranchContext

if TYPE_CHECKING:  # the facts come in from a store, loaded by services/audit/facts.py
    from services.audit.facts import Facts


class AuditRuleBroken(DomainError):
    """A rule of the audit service forbids this."""


SECTIONS = (meetings.figures, education.figures, care.figures, dues.figures, committee.figures, work.figures)


def scorecard(facts: Facts, branch_id: str, period: Period, today: date) -> dict:
    ctx = BranchContext.build(facts, branch_id, period, today)
    figures: dict = {"members": ctx.member_counts()}
    findings: list[dict] = []
    for section in SECTIONS:
        section_figures, section_findings = section(ctx)
        figures.update(section_figures)
        findings.extend(section_findings)
    status = judgement(ctx, findings)
    findings = [] if status == NOTHING_TO_JUDGE else findings
    branch = facts.branches.get(branch_id, {})
    closure = facts.closures.get(branch_id)
    return {"branch": {"id": branch_id, "name": branch.get("name"),
                       "established_on": _iso(branch.get("established_on")),
                       "closed_on": _iso(closure["closed_on"]) if closure else None},
            "period": period.to_dict(today), "as_of": today.isoformat(),
            "rules": {"version": ctx.rules["rules_version"], "effective_from": ctx.rules["effective_from"],
                      "demonstration_criteria": list(ctx.rules.get("demonstration_criteria") or [])},
            "figures": figures, "status": status,
            "compliant": None if status == NOTHING_TO_JUDGE else not findings, "findings": findings}


NOTHING_TO_JUDGE = "nothing_to_judge"


def judgement(ctx: BranchContext, findings: list[dict]) -> str:
    """``nothing_to_judge`` for a branch without members on the day the period is judged."""
    if not ctx.members:
        return NOTHING_TO_JUDGE
    return "findings" if findings else "compliant"


def _iso(value) -> str | None:
    return value.isoformat() if value else None
