"""Party dues: the yearly assessment, reductions, payments, a member's ledger, the branch's summary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from contracts.rulebook.calendar import validate_year
from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction
from services.members import commands as c, queries
from contracts.rulebook.calendar import month_of, months_between
from contracts.rulebook.dues import DuesLedger, branch_answering
from services.members.api import bureau_today, one, writer_of_branch, writer_of_member
from services.members.api.schemas import CreatedSchema
from services.members.handlers import dues, today as dues_today

blueprint = ApiBlueprint("dues", __name__, description="Party dues (党费)")


class YearQuerySchema(Schema):
    year = fields.Integer(validate=validate_year)


class AssessmentResultSchema(Schema):
    id = fields.String()
    year = fields.Integer()
    assessed = fields.List(fields.Dict())
    skipped = fields.List(fields.Dict())


class DuesMonthSchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    due = fields.Decimal(as_string=True, required=True)
    status = fields.String(required=True, validate=validate.OneOf(["paid", "exempt", "arrears", "due"]))
    paid_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    payer = fields.String(required=True, allow_none=True)


class DuesReviewSchema(Schema):
    since_month = fields.String(required=True)
    raised_on = fields.String(required=True, metadata={"format": "date"})


class LedgerSchema(Schema):
    member_id = fields.String(required=True)
    year = fields.Integer(required=True)
    monthly_amount = fields.Decimal(as_string=True, required=True, allow_none=True)
    base = fields.Decimal(as_string=True, required=True, allow_none=True)
    rate = fields.Decimal(as_string=True, required=True, allow_none=True)
    months = fields.List(fields.Nested(DuesMonthSchema), required=True)
    arrears = fields.List(fields.String(), required=True)
    reviews = fields.List(fields.Nested(DuesReviewSchema), required=True)


class SummaryRowSchema(Schema):
    member_id = fields.String(required=True)
    name = fields.String(required=True)
    monthly_amount = fields.Decimal(as_string=True, required=True, allow_none=True)
    due = fields.Decimal(as_string=True, required=True)
    paid = fields.Decimal(as_string=True, required=True)
    arrears = fields.List(fields.String(), required=True)


class SummarySchema(Schema):
    branch_id = fields.String(required=True)
    year = fields.Integer(required=True)
    total_due = fields.Decimal(as_string=True, required=True)
    total_paid = fields.Decimal(as_string=True, required=True)
    members = fields.List(fields.Nested(SummaryRowSchema), required=True)


class ReviewResultSchema(Schema):
    raised = fields.List(fields.String())
    on = fields.String()


@blueprint.route("/branches/<uuid:branch_id>/dues/assessments")
class Assessments(MethodView):
    @blueprint.arguments(c.AssessDuesSchema)
    @blueprint.response(201, AssessmentResultSchema)
    def post(self, command, branch_id):
        """Fix each member's monthly dues for the year from their pension base and the national rates."""
        tenant = writer_of_branch(branch_id)
        return execute_command(tenant, lambda uow: dues.assess_branch(uow, str(branch_id), command))


@blueprint.route("/branches/<uuid:branch_id>/dues/actions/review-arrears")
class ReviewArrears(MethodView):
    @blueprint.arguments(c.ReviewArrearsSchema)
    @blueprint.response(200, ReviewResultSchema)
    def post(self, command, branch_id):
        """Raise a review for members six months in arrears (the daily worker does this too)."""
        tenant = writer_of_branch(branch_id)
        return execute_command(tenant, lambda uow: dues.review_arrears(
            uow, str(branch_id), command.on or dues_today(uow)))


def _member_dues_command(path: str, schema, handler, doc: str) -> None:
    @blueprint.route(f"/members/<uuid:member_id>/dues/{path}", endpoint=f"dues_{path}")
    class Command(MethodView):
        @blueprint.arguments(schema)
        @blueprint.response(201, CreatedSchema)
        def post(self, command, member_id):
            tenant = writer_of_member(member_id)
            return execute_command(tenant, lambda uow: handler(uow, str(member_id), command))
    Command.post.__doc__ = doc


_member_dues_command("reductions", c.ReduceDuesSchema, dues.reduce, "A hardship reduction or exemption by resolution.")
_member_dues_command("payments", c.PayDuesSchema, dues.pay,
                     "Record a payment for one or more months (by the member, a relative or another member).")


@blueprint.route("/members/<uuid:member_id>/dues")
class MemberDues(MethodView):
    @blueprint.arguments(YearQuerySchema, location="query")
    @blueprint.alt_response(200, schema=LedgerSchema, success=True, description="The member's dues year")
    def get(self, query, member_id):
        """The member's year: each month due, paid or in arrears, and any review raised."""
        member = {"member_id": one(queries.member, str(member_id))["member_id"]}
        today = bureau_today()
        year = query.get("year") or today.year
        with read_transaction(current_principal().tenant) as conn:
            rows = queries.dues_rows(conn, str(member_id), year)
        return ledger(member, year, rows, today)


def ledger(member: dict, year: int, rows: dict, today: date, branch_id: str | None = None) -> dict:
    """The member's months of ``year`` on the register (only those ``branch_id`` answers for, when given)."""
    assessment, book = rows["assessment"], _book(rows)
    paid = {p["month"]: p for p in rows["payments"]}
    owed = [m for m in months_between(f"{year}-01", f"{year}-12")
            if (owner := branch_answering(rows["stays"], m)) is not None and branch_id in (None, owner)]
    months = [_month(month, book, paid, today) for month in (owed if assessment else [])]
    return {"member_id": member["member_id"], "year": year,
            "monthly_amount": str(assessment["monthly_amount"]) if assessment else None,
            "base": str(assessment["base"]) if assessment else None,
            "rate": str(assessment["rate"]) if assessment else None, "months": months,
            "arrears": [m["month"] for m in months if m["status"] == "arrears"],
            "reviews": [{"since_month": r["since_month"], "raised_on": r["raised_on"].isoformat()}
                        for r in rows["reviews"]]}


def _book(rows: dict) -> DuesLedger:
    """The year's ledger from the projection's rows, so the rulebook judges each month."""
    assessment = rows["assessment"]
    return DuesLedger(assessed={assessment["year"]: assessment["monthly_amount"]} if assessment else {},
                      reductions={r["from_month"]: r["monthly_amount"] for r in rows["reductions"]},
                      paid={p["month"]: p["amount"] for p in rows["payments"]},
                      carried={c["month"]: c["transfer_id"] for c in rows["carried"]})


def _month(month: str, book: DuesLedger, paid: dict, today: date) -> dict:
    due = book.due_for(month)
    state = ("paid" if month in paid else "carried" if month in book.carried else "exempt" if due == 0
             else "arrears" if month < month_of(today) else "due")
    return {"month": month, "due": str(due), "status": state,
            "paid_on": paid[month]["paid_on"].isoformat() if month in paid else None,
            "payer": paid[month]["payer"] if month in paid else None,
            "carried_by": book.carried.get(month)}


@blueprint.route("/branches/<uuid:branch_id>/dues/summary")
class BranchDuesSummary(MethodView):
    @blueprint.arguments(YearQuerySchema, location="query")
    @blueprint.alt_response(200, schema=SummarySchema, success=True, description="The branch's dues year")
    def get(self, query, branch_id):
        """The branch's yearly collection: due, paid and in arrears per member and in total (published yearly)."""
        one(queries.branch, str(branch_id))
        today = bureau_today()
        year = query.get("year") or today.year
        with read_transaction(current_principal().tenant) as conn:
            members = queries.members_in_year(conn, str(branch_id), year)
            ledgers = [(m, ledger(m, year, queries.dues_rows(conn, m["member_id"], year), today, str(branch_id)))
                       for m in members]
        rows = [_summary_row(m, book, month_of(today)) for m, book in ledgers]
        return {"branch_id": str(branch_id), "year": year,
                "total_due": str(sum((Decimal(r["due"]) for r in rows), Decimal("0"))),
                "total_paid": str(sum((Decimal(r["paid"]) for r in rows), Decimal("0"))), "members": rows}


def _summary_row(member: dict, book: dict, this_month: str) -> dict:
    """Totals of the year, the months in arrears, and ``open_months``: those and this month, while unpaid."""
    due = sum((Decimal(m["due"]) for m in book["months"]), Decimal("0"))
    paid = sum((Decimal(m["due"]) for m in book["months"] if m["status"] in ("paid", "carried")), Decimal("0"))
    current = [m["month"] for m in book["months"] if m["month"] == this_month and m["status"] == "due"]
    return {"member_id": member["member_id"], "name": member["name"], "monthly_amount": book["monthly_amount"],
            "due": str(due), "paid": str(paid), "arrears": book["arrears"], "open_months": book["arrears"] + current}
