"""Landing, the list of branches, this month's list of a branch, its figures and its report."""

from __future__ import annotations

from datetime import date, timedelta

import flask
from flask import g, redirect, request

from services.web import agenda, signin
from services.web.client import Refused, Unavailable
from services.web.pages import DONE, year_asked, api, blueprint, load_branch, page, runtime, today


@blueprint.get("/")
def home():
    return redirect(signin.home_of(g.principal))


@blueprint.get("/branches")
def branches():
    principal = g.principal
    if principal.has_role("bureau_admin"):
        listed = api().get("members", "/branches")
    else:
        listed = [api().get("members", f"/branches/{branch_id}") for branch_id in sorted(principal.branches)]
    return page("branches.html", branches=listed, dashboard_url=runtime().settings.dashboard_url)


@blueprint.get("/branches/<uuid:branch_id>")
def month_list(branch_id):
    branch = load_branch(str(branch_id))
    day = today()
    sections, missing = agenda.build(_sources(branch["id"], day)), getattr(g, "missing", [])
    return page("month.html", sections=sections, today=day, done=DONE.get(request.args.get("done", "")),
                missing=missing)


def _sources(branch_id: str, day: date) -> agenda.Sources:
    """Each answer the list is made of; one that cannot be read leaves its section empty and says so."""
    quarter = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    years = sorted({day.year, (day + timedelta(days=agenda.HORIZON_DAYS)).year})
    cards = {name: _read("audit", f"/branches/{branch_id}/scorecard", {}, period=period)
             for name, period in (("month", f"{day:%Y-%m}"), ("quarter", quarter), ("year", str(day.year)))}
    return agenda.Sources(
        branch_id=branch_id, today=day, cards=cards,
        planned=_read("activities", "/activities", [], branch_id=branch_id, status="planned"),
        coverage=_read("activities", f"/branches/{branch_id}/coverage", {}),
        members=_read("members", f"/branches/{branch_id}/members", {}).get("members", []),
        care={year: _read("activities", f"/branches/{branch_id}/care", {}, year=year) for year in years},
        holidays=[h for year in years for h in _read("activities", "/holidays", [], year=year)],
        dues=_read("members", f"/branches/{branch_id}/dues/summary", {}, year=day.year),
        inbox=_read("notify", "/inbox", [], unread="true"))


def _read(service: str, path: str, empty, **params):
    try:
        return api().get(service, path, **params)
    except (Refused, Unavailable):
        g.missing = [*g.get("missing", []), service]
        return empty


@blueprint.post("/inbox/<uuid:notification_id>/read")
def read_notice(notification_id):
    api().post("notify", f"/inbox/{notification_id}/actions/read", {})
    back = request.form.get("back") or "/"
    return redirect(back if back.startswith("/branches/") else "/")


# --- meetings -----------------------------------------------------------------------------------------


@blueprint.get("/branches/<uuid:branch_id>/scorecard")
def scorecard(branch_id):
    branch = load_branch(str(branch_id))
    period = request.args.get("period") or f"{today():%Y-%m}"
    card = api().get("audit", f"/branches/{branch['id']}/scorecard", period=period)
    return page("scorecard.html", card=card, period=period, year=int(period[:4]))


@blueprint.get("/branches/<uuid:branch_id>/report.pdf")
def report_pdf(branch_id):
    branch = load_branch(str(branch_id))
    year = year_asked(request.args.get("year"))
    answer = api().raw("audit", f"/branches/{branch['id']}/reports/annual.pdf", year=year)
    headers = {name: answer.headers[name] for name in ("Content-Disposition",) if name in answer.headers}
    return flask.Response(answer.iter_content(64 * 1024), mimetype="application/pdf", headers=headers)
