"""Commands on bureaus and their rules, branches and members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marshmallow import Schema, fields, post_load, validate

from contracts.activities import ACTIVITY_KINDS
from contracts.rulebook.rules import DEFAULT_RULES
from services.members.commands.common import GENDERS, HEALTH, MOBILITY, RETIREMENT_KINDS, CommandSchema, money, text


@dataclass(frozen=True)
class RegisterBureau:
    name: str
    code: str


class RegisterBureauSchema(CommandSchema):
    command = RegisterBureau
    name = text(200, required=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$",
                         error="2–40 lower-case letters, digits or hyphens"))


class RulesSchema(Schema):
    """The local rules a bureau may set; anything left out keeps the default."""

    general_meeting_per_year = fields.Integer(validate=validate.Range(min=0, max=52))
    committee_meeting_per_year = fields.Integer(validate=validate.Range(min=0, max=52))
    group_meeting_per_year = fields.Integer(validate=validate.Range(min=0, max=52))
    party_lecture_per_year = fields.Integer(validate=validate.Range(min=0, max=52))
    theme_day_per_year = fields.Integer(validate=validate.Range(min=0, max=52))
    briefing_per_year = fields.Integer(validate=validate.Range(min=0, max=52))
    life_meeting_per_year = fields.Integer(validate=validate.Range(min=1, max=12))
    appraisal_per_year = fields.Integer(validate=validate.Range(min=1, max=12))
    coverage_period = fields.String(validate=validate.OneOf(("month", "quarter")))
    coverage_channels = fields.List(fields.String(validate=validate.OneOf(("visit", "phone", "home_study"))))
    study_hours_member = fields.Integer(validate=validate.Range(min=0, max=500))
    study_hours_committee = fields.Integer(validate=validate.Range(min=0, max=500))
    study_exempt_health = fields.List(fields.String(validate=validate.OneOf(HEALTH)))
    study_exempt_age = fields.Integer(allow_none=True, validate=validate.Range(min=60, max=120))
    holiday_visits = fields.List(fields.String(validate=validate.OneOf(
        ("spring_festival", "july_1", "double_ninth", "summer_heat", "mid_autumn", "national_day"))))
    newspaper_per_member = fields.Boolean()
    health_check_by_month = fields.Integer(validate=validate.Range(min=1, max=12))
    birthday_window_days = fields.Integer(validate=validate.Range(min=0, max=45))
    centre_checklist = fields.List(text(40), validate=validate.Length(min=1, max=20))
    term_years = fields.Integer(validate=validate.Range(min=1, max=5))
    secretary_allowance_monthly = fields.Decimal(as_string=True, places=2, validate=validate.Range(min=0))
    deputy_allowance_ratio = fields.Decimal(as_string=True, places=2, validate=validate.Range(min=0, max=1))
    transfer_letter_valid_days = fields.Integer(validate=validate.Range(min=7, max=365))
    return_slip_days = fields.Integer(validate=validate.Range(min=1, max=180))
    late_entry_days = fields.Integer(validate=validate.Range(min=0, max=365))
    pledge_readers = fields.List(fields.String(validate=validate.OneOf(("bureau_admin", "secretary", "auditor"))))
    demonstration_criteria = fields.List(text(40))
    notify_disabled_rules = fields.List(text(60))
    meeting_reminder_days = fields.Integer(validate=validate.Range(min=0, max=30))
    meeting_reminder_kinds = fields.List(fields.String(validate=validate.OneOf(ACTIVITY_KINDS)))
    monthly_check_day = fields.Integer(validate=validate.Range(min=1, max=28))
    quarter_end_warning_days = fields.Integer(validate=validate.Range(min=0, max=60))
    coverage_activity_kinds = fields.List(fields.String(validate=validate.OneOf(ACTIVITY_KINDS)))
    birthday_days_ahead = fields.Integer(validate=validate.Range(min=0, max=30))
    holiday_visit_days_ahead = fields.Integer(validate=validate.Range(min=0, max=60))
    term_reminder_days = fields.List(fields.Integer(validate=validate.Range(min=1, max=365)))
    vacant_post_days = fields.Integer(validate=validate.Range(min=1, max=365))
    dues_reminder_months = fields.Integer(validate=validate.Range(min=1, max=12))
    dues_review_months = fields.Integer(validate=validate.Range(min=1, max=12))
    transfer_expiry_warning_days = fields.Integer(validate=validate.Range(min=0, max=90))
    report_leadership = text(300)
    report_superior = text(60)
    report_key_year = text(200)


assert set(RulesSchema().fields) == set(DEFAULT_RULES), "every default rule must be settable"


@dataclass(frozen=True)
class PublishRules:
    effective_from: date
    rules: dict


class PublishRulesSchema(CommandSchema):
    command = PublishRules
    effective_from = fields.Date(required=True)
    rules = fields.Nested(RulesSchema, required=True)

    @post_load
    def build(self, data, **_):
        return PublishRules(data["effective_from"], RulesSchema().dump(data["rules"]))


# --- branches ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EstablishBranch:
    name: str
    established_on: date | None = None


class EstablishBranchSchema(CommandSchema):
    command = EstablishBranch
    name = text(200, required=True)
    established_on = fields.Date()


@dataclass(frozen=True)
class FormPartyGroup:
    name: str


class FormPartyGroupSchema(CommandSchema):
    command = FormPartyGroup
    name = text(100, required=True)


@dataclass(frozen=True)
class CloseBranch:
    closed_on: date
    reason: str


class CloseBranchSchema(CommandSchema):
    command = CloseBranch
    closed_on = fields.Date(required=True)
    reason = text(500, required=True)


@dataclass(frozen=True)
class MergeBranch:
    into_branch_id: str
    merged_on: date


class MergeBranchSchema(CommandSchema):
    command = MergeBranch
    into_branch_id = fields.UUID(required=True)
    merged_on = fields.Date(required=True)

    @post_load
    def build(self, data, **_):
        return MergeBranch(**{**data, "into_branch_id": str(data["into_branch_id"])})


# --- members ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegisterMember:
    branch_id: str
    name: str
    gender: str
    birth_date: date
    party_member: bool
    retirement_kind: str
    health: str
    mobility: str
    party_join_date: date | None = None
    pension_base: Decimal | None = None
    phone: str | None = None
    address: str | None = None
    joined_on: date | None = None


class RegisterMemberSchema(CommandSchema):
    command = RegisterMember
    branch_id = fields.UUID(required=True)
    name = text(100, required=True)
    gender = fields.String(required=True, validate=validate.OneOf(GENDERS))
    birth_date = fields.Date(required=True)
    party_member = fields.Boolean(required=True)
    party_join_date = fields.Date(allow_none=True)
    retirement_kind = fields.String(required=True, validate=validate.OneOf(RETIREMENT_KINDS))
    pension_base = money(allow_none=True)
    health = fields.String(required=True, validate=validate.OneOf(HEALTH))
    mobility = fields.String(required=True, validate=validate.OneOf(MOBILITY))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 -]{5,20}$"))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    joined_on = fields.Date()

    @post_load
    def build(self, data, **_):
        return RegisterMember(**{**data, "branch_id": str(data["branch_id"])})


class UpdateProfileSchema(Schema):
    """Only the fields to change; at least one."""

    name = text(100)
    gender = fields.String(validate=validate.OneOf(GENDERS))
    birth_date = fields.Date()
    party_join_date = fields.Date(allow_none=True)
    retirement_kind = fields.String(validate=validate.OneOf(RETIREMENT_KINDS))
    pension_base = money(allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 -]{5,20}$"))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))


@dataclass(frozen=True)
class ChangeHealth:
    health: str
    mobility: str
    changed_on: date


class ChangeHealthSchema(CommandSchema):
    command = ChangeHealth
    health = fields.String(required=True, validate=validate.OneOf(HEALTH))
    mobility = fields.String(required=True, validate=validate.OneOf(MOBILITY))
    changed_on = fields.Date(required=True)


@dataclass(frozen=True)
class RecordDeath:
    died_on: date


class RecordDeathSchema(CommandSchema):
    command = RecordDeath
    died_on = fields.Date(required=True)


@dataclass(frozen=True)
class RemoveFromParty:
    left_on: date
    decision: str


class RemoveFromPartySchema(CommandSchema):
    command = RemoveFromParty
    left_on = fields.Date(required=True)
    decision = text(500, required=True)


@dataclass(frozen=True)
class AssignGroup:
    group_id: str | None
    assigned_on: date | None = None


class AssignGroupSchema(CommandSchema):
    command = AssignGroup
    group_id = fields.String(required=True, allow_none=True)
    assigned_on = fields.Date(metadata={"description": "the day (default today)"})
