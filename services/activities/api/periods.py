"""The bureau's periods (closing a month or quarter) and the holidays of care visits."""

from __future__ import annotations

from datetime import date

from flask.views import MethodView
from marshmallow import Schema, fields

from shared.web import ApiBlueprint, execute_command, read_transaction
from services.activities import handlers, queries
from services.activities.api.common import RecordedSchema, YearQuerySchema, bureau_today, reader, writer
from services.activities.commands import ClosePeriodSchema
from contracts.rulebook.holidays import KNOWN_HOLIDAYS, holidays_of

periods = ApiBlueprint("periods", __name__, description="Closing months and quarters; the holidays of care visits")


class PeriodSchema(Schema):
    period = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    closed_on = fields.Date()


@periods.route("/periods")
class Periods(MethodView):
    @periods.arguments(ClosePeriodSchema)
    @periods.response(201, RecordedSchema)
    def post(self, command):
        """Close a month or quarter: later records dated in it are flagged late (bureau admins only)."""
        principal = writer()
        principal.require_role("bureau_admin")
        return execute_command(principal.tenant, lambda uow: handlers.close_period(uow, command))

    @periods.response(200, PeriodSchema(many=True))
    def get(self):
        principal = reader()
        with read_transaction(principal.tenant) as conn:
            return queries.periods_closed(conn)


class HolidaySchema(Schema):
    holiday = fields.String()
    date = fields.Date()
    visits_required = fields.Boolean()


@periods.route("/holidays")
class Holidays(MethodView):
    @periods.arguments(YearQuerySchema, location="query")
    @periods.response(200, HolidaySchema(many=True))
    def get(self, query):
        """The holidays of care visits in a year (lunar ones converted), and which the bureau's rules require."""
        principal = reader()
        today = bureau_today()
        year = query.get("year") or today.year
        with read_transaction(principal.tenant) as conn:
            required = queries.load_rules(conn, principal.tenant).on(min(date(year, 12, 31), today))["holiday_visits"]
        dates = holidays_of(year, dict.fromkeys([*KNOWN_HOLIDAYS, *required]))
        return [{"holiday": name, "date": day, "visits_required": name in required}
                for name, day in sorted(dates.items(), key=lambda item: item[1])]
