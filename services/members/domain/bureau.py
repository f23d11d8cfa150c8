"""Bureaus and their local rule sets: versioned, each in force from its effective date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.members import DEFAULT_RULES, BureauRegistered, BureauRulesPublished
from services.members.domain import refuse


@dataclass(frozen=True)
class RuleSet:
    version: int
    effective_from: date
    rules: dict


@dataclass(frozen=True)
class Bureau:
    bureau_id: str
    name: str
    code: str
    rule_sets: tuple[RuleSet, ...] = ()

    def rules_on(self, day: date) -> dict:
        """The rule set in force on ``day`` (the first one for days before any took effect)."""
        in_force = [r for r in self.rule_sets if r.effective_from <= day]
        chosen = in_force[-1] if in_force else (self.rule_sets[0] if self.rule_sets else None)
        return dict(chosen.rules) if chosen else dict(DEFAULT_RULES)


def register_bureau(bureau_id: str, existing: Bureau | None, name: str, code: str, today: date) -> list:
    if existing is not None:
        raise refuse("this bureau is already registered", "bureau_exists")
    return [BureauRegistered(bureau_id=bureau_id, name=name, code=code),
            BureauRulesPublished(bureau_id=bureau_id, rules_version=1, effective_from=today,
                                 rules=dict(DEFAULT_RULES))]


def publish_rules(bureau: Bureau, rules: dict, effective_from: date, amend: bool = False) -> list:
    """A new version, effective no earlier than the last one: the given rules over the defaults (a whole new
    rule set), or with ``amend`` over the latest version (only the rules sent change)."""
    latest = bureau.rule_sets[-1]
    base = latest.rules if amend else DEFAULT_RULES
    if effective_from < latest.effective_from:
        raise refuse(f"a new rule set cannot take effect before version {latest.version} "
                     f"({latest.effective_from})", "rules_effective_too_early", "effective_from")
    return [BureauRulesPublished(bureau_id=bureau.bureau_id, rules_version=latest.version + 1,
                                 effective_from=effective_from, rules={**base, **rules})]


def evolve_bureau(state: Bureau | None, event) -> Bureau | None:
    if isinstance(event, BureauRegistered):
        return Bureau(event.bureau_id, event.name, event.code)
    if isinstance(event, BureauRulesPublished) and state is not None:
        rule_set = RuleSet(event.rules_version, event.effective_from, dict(event.rules))
        return Bureau(state.bureau_id, state.name, state.code, state.rule_sets + (rule_set,))
    return state
