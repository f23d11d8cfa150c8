"""HTTP API of the audit views: scorecards, roll-ups, demonstration sites, timelines, rosters, the annual report.

Every view answers JSON, or CSV with ``format=csv`` (or ``Accept: text/csv``). Readers are the bureau's
auditors and admins, and a secretary for the branches in their token (the secretaries' pages show
them their own figures); another bureau's branch, or another branch to a secretary, is a 404;
another bureau's roll-up a 403.
"""

from __future__ import annotations

from datetime import date

import flask
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from contracts.rulebook.calendar import validate_day, validate_year
from services.audit import csv_export, queries, report
from contracts.rulebook.calendar import local_date
from shared.errors import NotFound
from shared.web import ApiBlueprint, current_principal, runtime

views = ApiBlueprint("views", __name__, description="Branch-work audit views of your bureau")

READER_ROLES = ("auditor", "bureau_admin")
FORMATS = validate.OneOf(["json", "csv"])
LANG = fields.String(validate=validate.OneOf(["zh", "en"]),
                     metadata={"description": "CSV for people (zh, default: Chinese words, Beijing time)"
                                              " or machines (en)"})


KNOWN_ON = {"description": "only what the journal had received by the end of this day (default: all of it);"
                           " as_of defaults to it"}


class PeriodQuerySchema(Schema):
    period = fields.String(metadata={"description": "2026-11, 2026-Q4 or 2026; default: this month"})
    as_of = fields.Date(validate=validate_day,
                        metadata={"description": "judge the period as on this day (default: today)"})
    known_on = fields.Date(validate=validate_day, metadata=KNOWN_ON)
    format = fields.String(validate=FORMATS)
    lang = LANG


class YearQuerySchema(Schema):
    year = fields.Integer(validate=validate_year)
    as_of = fields.Date(validate=validate_day)
    known_on = fields.Date(validate=validate_day, metadata=KNOWN_ON)
    format = fields.String(validate=validate.OneOf(["json", "csv", "html", "pdf"]))
    lang = LANG


class FormatQuerySchema(Schema):
    format = fields.String(validate=FORMATS)
    as_of = fields.Date(validate=validate_day)
    known_on = fields.Date(validate=validate_day, metadata=KNOWN_ON)
    lang = LANG


BODIES = {"application/json": {"type": "object", "description": "the view, as built by the audit's queries"},
          "text/csv": {"type": "string", "description": "the view's rows, with a header line"},
          "text/html": {"type": "string"}, "application/pdf": {"type": "string", "format": "binary"}}


def answers(*media_types: str):
    """Document the 200 answer of a view in each of its media types."""
    return views.doc(responses={"200": {"description": "OK", "content": {
        media_type: {"schema": BODIES[media_type]} for media_type in media_types}}})


def _reader() -> str:
    principal = current_principal()
    principal.require_role(*READER_ROLES)
    return principal.tenant


def _branch_reader(branch_id) -> str:
    """The caller's bureau, if they may read this branch: its auditors and admins, or its own secretary."""
    principal = current_principal()
    principal.require_role(*READER_ROLES, "secretary")
    if not principal.has_role(*READER_ROLES) and str(branch_id) not in principal.branches:
        raise NotFound("本局没有这个支部，或您不是这个支部的书记")
    return principal.tenant


def _today(query: dict) -> date:
    """The day things are judged on: ``as_of``, else the day whose knowledge is asked for, else today."""
    return query.get("as_of") or query.get("known_on") or local_date(runtime().clock())


def _period(query: dict):
    """The day the period is judged on, and the period asked for (this month by default)."""
    today = _today(query)
    return today, queries.requested_period(query.get("period"), today)


def _reply(body, query: dict, rows_of, name: str):
    """JSON, or the view's rows as CSV when asked for."""
    wants_csv = query.get("format") == "csv" or (
        "format" not in query and flask.request.accept_mimetypes.best == "text/csv")
    if wants_csv:
        return csv_export.response(rows_of(body), name, query.get("lang", "zh"))
    return flask.jsonify(body)


@views.route("/branches/<uuid:branch_id>/scorecard")
class BranchScorecard(MethodView):
    @views.arguments(PeriodQuerySchema, location="query")
    @answers("application/json", "text/csv")
    def get(self, query, branch_id):
        """A branch's figures, findings and compliance for a month, a quarter or a year."""
        tenant = _branch_reader(branch_id)
        today, period = _period(query)
        card = queries.branch_scorecard(tenant, str(branch_id), period, today, query.get("known_on"))
        return _reply(card, query, csv_export.scorecard_rows, f"scorecard-{period.id}")


@views.route("/bureaus/<uuid:bureau_id>/scorecard")
class BureauScorecard(MethodView):
    @views.arguments(PeriodQuerySchema, location="query")
    @answers("application/json", "text/csv")
    def get(self, query, bureau_id):
        """Every branch of the bureau with its findings, sorted by name (no rankings, no points)."""
        tenant = _reader()
        current_principal().require_tenant(str(bureau_id))
        today, period = _period(query)
        body = queries.bureau_scorecard(tenant, period, today, query.get("known_on"))
        return _reply(body, query, csv_export.bureau_rows, f"bureau-{period.id}")


@views.route("/branches/<uuid:branch_id>/demonstration")
class Demonstration(MethodView):
    @views.arguments(YearQuerySchema, location="query")
    @answers("application/json", "text/csv")
    def get(self, query, branch_id):
        """The demonstration-site assessment of a year against the bureau's criteria, with evidence."""
        tenant = _branch_reader(branch_id)
        today = _today(query)
        body = queries.demonstration(tenant, str(branch_id), query.get("year", today.year), today,
                                     query.get("known_on"))
        return _reply(body, query, csv_export.demonstration_rows, "demonstration")


@views.route("/branches/<uuid:branch_id>/trend")
class Trend(MethodView):
    @views.arguments(FormatQuerySchema, location="query")
    @answers("application/json", "text/csv")
    def get(self, query, branch_id):
        """The last twelve months' meetings, coverage and care (the dashboard's charts)."""
        tenant = _branch_reader(branch_id)
        body = {"months": queries.branch_trend(tenant, str(branch_id), _today(query),
                                                    known_on=query.get("known_on"))}
        return _reply(body, query, lambda b: b["months"], "trend")


@views.route("/branches/<uuid:branch_id>/roster")
class Roster(MethodView):
    @views.arguments(FormatQuerySchema, location="query")
    @answers("application/json", "text/csv")
    def get(self, query, branch_id):
        """The branch's members on a day (``as_of``, default today)."""
        tenant = _branch_reader(branch_id)
        body = {"members": queries.roster(tenant, str(branch_id), _today(query), query.get("known_on"))}
        return _reply(body, query, lambda b: b["members"], "roster")


@views.route("/branches/<uuid:branch_id>/notifications")
class BranchNotifications(MethodView):
    @views.arguments(PeriodQuerySchema, location="query")
    @answers("application/json", "text/csv")
    def get(self, query, branch_id):
        """What the platform told whom about the branch in a period: each notification and its deliveries."""
        tenant = _branch_reader(branch_id)
        today, period = _period(query)
        body = queries.branch_notifications(tenant, str(branch_id), period, query.get("known_on"))
        return _reply(body, query, csv_export.notification_rows, f"notifications-{period.id}")


@views.route("/members/<uuid:member_id>/timeline")
class Timeline(MethodView):
    @views.arguments(FormatQuerySchema, location="query")
    @answers("application/json", "text/csv")
    def get(self, query, member_id):
        """Everything recorded about one member, across services, in the order it happened."""
        tenant = _reader()
        body = queries.member_timeline(tenant, str(member_id), query.get("known_on"))
        return _reply(body, query, csv_export.timeline_rows, "timeline")


@views.route("/branches/<uuid:branch_id>/reports/annual")
class AnnualReport(MethodView):
    @views.arguments(YearQuerySchema, location="query")
    @answers("text/html", "application/pdf", "application/json", "text/csv")
    def get(self, query, branch_id):
        """The branch's annual work report in Chinese, every number from the records: HTML, PDF, JSON or CSV."""
        return _annual(query, branch_id, pdf=False)


@views.route("/branches/<uuid:branch_id>/reports/annual.pdf")
class AnnualReportPdf(MethodView):
    @views.arguments(YearQuerySchema, location="query")
    @answers("application/pdf", "text/html", "application/json", "text/csv")
    def get(self, query, branch_id):
        """The annual report as a PDF (CJK fonts embedded)."""
        return _annual(query, branch_id, pdf=True)


def _annual(query: dict, branch_id, pdf: bool):
    tenant = _branch_reader(branch_id)
    today = _today(query)
    context = report.annual_context(tenant, str(branch_id), query.get("year", today.year), today,
                                    query.get("known_on"))
    wanted = query.get("format") or ("pdf" if pdf else _negotiate())
    if wanted == "pdf":
        return report.pdf_response(context)
    if wanted == "json":
        return flask.jsonify(context)
    if wanted == "csv":
        return csv_export.response(csv_export.report_rows(context), report.file_name(context), query.get("lang", "zh"))
    return flask.Response(report.render_html(context), mimetype="text/html")


def _negotiate() -> str:
    best = flask.request.accept_mimetypes.best_match(["text/html", "application/pdf", "application/json", "text/csv"])
    return {"application/pdf": "pdf", "application/json": "json", "text/csv": "csv"}.get(best, "html")
