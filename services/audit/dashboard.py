"""The web dashboard at ``/``: server-rendered pages in Chinese over the same queries as the API.

A token is pasted once and kept in a signed, HTTP-only session cookie; with ``BRANCHWORK_DEV_LOGIN=1``
(local stacks only) a form mints an auditor's or admin's token for a bureau. Charts are inline SVG:
no script, no CDN, nothing fetched from the network.
"""

from __future__ import annotations

from datetime import date

import flask
from flask import Blueprint, redirect, request, session

from shared.auth import issue_token, verify_token
from shared.errors import BranchworkError, Forbidden, NotFound, RequestInvalid, Unauthenticated
from shared.web import runtime
from services.audit import charts, handlers, labels, queries, report
from services.audit.bundles import Period, Scope
from services.audit.periods import current_period, parse_period
from services.audit.views_api import READER_ROLES

dashboard = Blueprint("dashboard", __name__, static_folder="static", static_url_path="/static/audit")
ROLE_LABELS = {"auditor": "审计员", "bureau_admin": "局管理员"}


def audit_settings():
    return flask.current_app.extensions["audit"].settings


def render(template: str, **context) -> str:
    principal = context.pop("principal", None)
    return report.environment.get_template(template).render(principal=principal, dev_login=audit_settings().dev_login,
                                                             role_labels=ROLE_LABELS, **context)


def signed_in():
    """The principal of the session's token, or None (an expired or foreign token signs the user out)."""
    token = session.get("token")
    if not token:
        return None
    settings = runtime().settings
    try:
        principal = verify_token(settings.jwt_secret, token, issuer=settings.jwt_issuer)
    except Unauthenticated:
        session.pop("token", None)
        return None
    return principal if principal.has_role(*READER_ROLES) and principal.tenant else None


@dashboard.before_request
def require_login():
    if request.endpoint in ("dashboard.login", "dashboard.static"):
        return None
    flask.g.principal = signed_in()
    if flask.g.principal is None:
        return redirect("/login")
    return None


@dashboard.errorhandler(BranchworkError)
def page_error(error: BranchworkError):
    return render("error.html", principal=flask.g.get("principal"), error=error), error.status


@dashboard.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            session["token"] = _token_from_form(request.form)
            return redirect("/")
        except (Unauthenticated, Forbidden, ValueError) as problem:
            error = str(getattr(problem, "message", problem))
    return render("login.html", error=error), 400 if error else 200


def _token_from_form(form) -> str:
    settings = runtime().settings
    if form.get("mode") == "dev":
        if not audit_settings().dev_login:
            raise Forbidden("development login is off")
        role = form.get("role", "auditor")
        if role not in READER_ROLES or not form.get("bureau_id"):
            raise ValueError("choose a bureau and a role")
        token = issue_token(settings.jwt_secret, subject=f"dev-{role}", roles=[role],
                            tenant=form["bureau_id"].strip(), issuer=settings.jwt_issuer, ttl_seconds=8 * 3600)
    else:
        token = (form.get("token") or "").strip()
    principal = verify_token(settings.jwt_secret, token, issuer=settings.jwt_issuer)
    if not principal.has_role(*READER_ROLES) or not principal.tenant:
        raise Forbidden("the dashboard is for a bureau's auditors and admins")
    return token


@dashboard.post("/logout")
def logout():
    session.pop("token", None)
    return redirect("/login")


def _today() -> date:
    return runtime().clock().date()


@dashboard.get("/")
def overview():
    principal = flask.g.principal
    period = _period(request.args.get("period"))
    body = queries.bureau_scorecard(principal.tenant, period, _today())
    return render("overview.html", principal=principal, body=body, period=period)


@dashboard.get("/branches/<uuid:branch_id>")
def branch_page(branch_id):
    principal, today = flask.g.principal, _today()
    period = _period(request.args.get("period"))
    card = queries.branch_scorecard(principal.tenant, str(branch_id), period, today)
    trend = queries.branch_trend(principal.tenant, str(branch_id), today)
    members = queries.roster(principal.tenant, str(branch_id), min(period.end, today))
    told = queries.branch_notifications(principal.tenant, str(branch_id), period)
    demonstration = queries.demonstration(principal.tenant, str(branch_id), period.year, today)
    return render("branch.html", principal=principal, card=card, period=period, members=members,
                  charts=charts.branch_charts(trend), branch_id=str(branch_id), year=period.year, told=told,
                  demonstration=demonstration, labels=labels)


@dashboard.get("/branches/<uuid:branch_id>/evidence")
def evidence_page(branch_id):
    """The journal entries behind one figure or one finding of a branch's scorecard."""
    principal, today = flask.g.principal, _today()
    period = _period(request.args.get("period"))
    card = queries.branch_scorecard(principal.tenant, str(branch_id), period, today)
    title, event_ids = _evidence(card, request.args.get("figure", ""), request.args.get("finding", ""))
    rows = queries.event_history(principal.tenant, {}, event_ids, limit=2000) if event_ids else []
    return render("evidence.html", principal=principal, card=card, period=period, title=title, rows=rows,
                  branch_id=str(branch_id))


def _evidence(card: dict, figure: str, finding: str) -> tuple[str, list[str]]:
    if finding.isdigit() and int(finding) < len(card["findings"]):
        item = card["findings"][int(finding)]
        return item["message"], list(item["records"])
    value = card["figures"]
    for part in figure.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, dict):
        raise NotFound("no such figure in the scorecard")
    return value.get("label") or figure, list(value.get("events") or [])


@dashboard.get("/members/<uuid:member_id>")
def member_page(member_id):
    principal = flask.g.principal
    body = queries.member_timeline(principal.tenant, str(member_id))
    return render("member.html", principal=principal, body=body, labels=labels)


@dashboard.get("/events")
def events_page():
    principal = flask.g.principal
    filters = {name: request.args.get(name, "").strip() for name in ("event_type", "stream_id", "branch_id", "actor")}
    dates = {name: _date(request.args.get(name)) for name in ("since", "until")}
    rows = queries.event_history(principal.tenant, {**filters, **dates})
    return render("events.html", principal=principal, rows=rows, filters={**filters, **dates},
                  event_types=sorted(labels.EVENT_TYPES.items()))


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        raise RequestInvalid("a date is YYYY-MM-DD", fields={"date": [text]}) from None


@dashboard.get("/branches/<uuid:branch_id>/report")
def report_page(branch_id):
    principal, today = flask.g.principal, _today()
    year = int(request.args.get("year") or today.year)
    context = report.annual_context(principal.tenant, str(branch_id), year, today)
    if request.args.get("format") == "pdf":
        return flask.Response(report.render_pdf(context), mimetype="application/pdf")
    return report.render_html(context)


@dashboard.get("/branches/<uuid:branch_id>/bundle")
def bundle_download(branch_id):
    """The branch's audit bundle for the days chosen on its page, as a file to check offline."""
    first, last = _date(request.args.get("from")), _date(request.args.get("to"))
    if first is None or last is None or last < first:
        raise RequestInvalid("请选择起止日期，结束日期不早于开始日期",
                             fields={"from": ["YYYY-MM-DD"], "to": ["YYYY-MM-DD"]})
    body = handlers.bundle(flask.g.principal.tenant, Scope("branch", str(branch_id)), Period(first, last))
    name = f"bundle-{branch_id}-{first.isoformat()}-{last.isoformat()}.json"
    return flask.Response(body, mimetype="application/json",
                          headers={"Content-Disposition": f"attachment; filename={name}"})


@dashboard.get("/keys.json")
def keys_download():
    """The bureau's signing keys, the file the verifier takes as ``--key``."""
    return flask.Response(flask.json.dumps(handlers.keys(flask.g.principal.tenant)), mimetype="application/json",
                          headers={"Content-Disposition": "attachment; filename=keys.json"})


def _period(text: str | None):
    return parse_period(text) if text else current_period(_today())
