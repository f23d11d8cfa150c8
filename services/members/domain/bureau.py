"""Bureaus and their local rule sets: versioned, each in force from its effective date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.members import BureauRegistered, BureauRulesPublished
from contracts.rulebook.rules import DEFAULT_RULES, RuleBook, RuleVersion, floor_violations
from shared import chinese
from services.members.domain import MembersRuleBroken, refuse


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
        """The rule set in force on ``day``, as every service reads it (the rulebook's ``RuleBook``)."""
        return RuleBook(RuleVersion(r.version, r.effective_from, r.rules) for r in self.rule_sets).on(day)


def register_bureau(bureau_id: str, existing: Bureau | None, name: str, code: str, today: date) -> list:
    if existing is not None:
        raise refuse("这个局已经登记过了", "bureau_exists")
    return [BureauRegistered(bureau_id=bureau_id, name=name, code=code),
            BureauRulesPublished(bureau_id=bureau_id, rules_version=1, effective_from=today,
                                 rules=dict(DEFAULT_RULES))]


def publish_rules(bureau: Bureau, rules: dict, effective_from: date, amend: bool = False) -> list:
    """A new version, effective no earlier than the last one: the given rules over the defaults (a whole new
    rule set), or with ``amend`` over the latest version (only the rules sent change)."""
    latest = bureau.rule_sets[-1]
    base = latest.rules if amend else DEFAULT_RULES
    if effective_from < latest.effective_from:
        raise refuse(f"新的规则不能早于第 {latest.version} 版的施行日期"
                     f"（{chinese.day(latest.effective_from)}）生效", "rules_effective_too_early", "effective_from")
    require_floors(rules)
    return [BureauRulesPublished(bureau_id=bureau.bureau_id, rules_version=latest.version + 1,
                                 effective_from=effective_from, rules={**base, **rules})]


def require_floors(rules: dict) -> None:
    """A bureau may be stricter than the national rules, never weaker: name the first rule set below its floor."""
    below = floor_violations(rules)
    if below:
        name, says = next(iter(below.items()))
        error = MembersRuleBroken(f"{name} 低于全国统一规定：{says}", code="below_national_floor",
                                  field=f"rules.{name}")
        error.fields = {f"rules.{rule}": [f"低于全国统一规定：{text}"] for rule, text in below.items()}
        raise error


def evolve_bureau(state: Bureau | None, event) -> Bureau | None:
    if isinstance(event, BureauRegistered):
        return Bureau(event.bureau_id, event.name, event.code)
    if isinstance(event, BureauRulesPublished) and state is not None:
        rule_set = RuleSet(event.rules_version, event.effective_from, dict(event.rules))
        return Bureau(state.bureau_id, state.name, state.code, state.rule_sets + (rule_set,))
    return state
