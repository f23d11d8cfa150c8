"""The rules, on demand: evaluate the caller's bureau now, and the scheduler's run log."""

from __future__ import annotations

import flask
from flask.views import MethodView

from shared.db import tenant_transaction
from shared.web import ApiBlueprint, command_context, current_principal, read_transaction, runtime
from services.notify import queries
from services.notify.api.schemas import RunLogSchema, RunSchema

scheduler = ApiBlueprint("scheduler", __name__, description="Evaluating the rules")


@scheduler.route("/scheduler/runs")
class SchedulerRuns(MethodView):
    @scheduler.response(201, RunSchema)
    def post(self):
        """Evaluate the rules for your bureau now (the scheduler does this by itself; this is for impatience).

        A bureau's admin only: ``ops`` acts for the platform and holds no bureau to evaluate.
        """
        principal = current_principal()
        principal.require_role("bureau_admin")
        rules = flask.current_app.extensions["notify"]["scheduler"]
        actor = command_context(principal, principal.tenant).actor
        with tenant_transaction(runtime().pool, principal.tenant) as conn:
            scheduled = rules.run_tenant(conn, principal.tenant, actor)
        return {"as_of": rules.today(), "scheduled": scheduled}

    @scheduler.response(200, RunLogSchema(many=True))
    def get(self):
        """The latest evaluations for your bureau: the first of each day and those that scheduled something."""
        principal = current_principal()
        principal.require_role("bureau_admin", "ops", "auditor")
        with read_transaction(principal.tenant) as conn:
            return queries.scheduler_runs(conn)
