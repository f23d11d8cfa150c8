"""The web dashboard at ``/``: server-rendered pages in Chinese over the same queries as the API.

Signing in (a pasted API token, or the guarded development login) starts a server-side session
(``shared.websession``) that holds a token minted for the dashboard's own audience, which the APIs
refuse: the browser gets only an opaque session id. Charts are inline SVG: no script, no CDN,
nothing fetched from the network.
"""

from __future__ import annotations

import time
from pathlib import Path
from datetime import date, datetime, UTC

import flask
from flask import Blueprint, redirect, request
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from contracts.rulebook.calendar import FIRST_YEAR, LAST_YEAR, year_in_range
from shared import websession
from shared.auth import Principal, issue_token
from shared.errors import BranchworkError, Forbidden, NotFound, RequestInvalid, Unauthenticated
from shared.web import HTTP_MESSAGES, runtime
from shared import chinese
from contracts.rulebook.calendar import local_date, parse_period
from services.audit import charts, csv_export, handlers, labels, queries, report
from services.audit.bundles import Period, Scope
from services.audit.demonstration import assess
from services.audit.api.views import READER_ROLES

# The service's stylesheet and scripts live beside its templates, in services/audit/static.
dashboard = Blueprint("dashboard", __name__, static_folder=str(Path(__file__).parent.parent / "static"),
                      static_url_path="/static/audit")
websession.attach(dashboard)
ROLE_LABELS = {"auditor": "审计员", "bureau_admin": "局管理员"}
DASHBOARD_AUDIENCE = "branchwork-audit-dashboard"
SESSION_POLICY = websession.SessionPolicy(cookie_name="branchwork_audit")


def audit_settings():
    return flask.current_app.extensions["audit"].settings


def dev_login() -> websession.DevLogin:
    return websession.DevLogin(enabled=audit_settings().dev_login)


def render(template: str, **context) -> str:
    principal = context.pop("principal", None)
    # a page outside the dashboard's routes (an unknown address) has no session loaded, and no form to protect
    csrf = websession.current().csrf_token() if flask.g.get("web_session_id") else ""
    return report.environment.get_template(template).render(
        principal=principal, role_labels=ROLE_LABELS, csrf_token=csrf, web_url=audit_settings().web_url, **context)


def signed_in() -> Principal | None:
    """The principal of the session's dashboard token, or None (an expired token ends the session)."""
    session = websession.current().data
    if not session:
        return None
    try:
        principal = runtime().settings.verify_token(session.get("token", ""), audience=DASHBOARD_AUDIENCE)
    except Unauthenticated:
        websession.current().sign_out()
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


@dashboard.app_errorhandler(404)
@dashboard.app_errorhandler(405)
def no_such_page(error: HTTPException):
    """An address that is no page: a page saying so in Chinese (the API keeps its JSON error)."""
    if request.path.startswith("/api/"):
        code = "not_found" if error.code == 404 else "method_not_allowed"
        return flask.jsonify(BranchworkError(HTTP_MESSAGES[error.code], code=code).to_body()), error.code
    problem = (NotFound("没有这个页面，请从概览进入") if error.code == 404
               else BranchworkError("这个页面不能这样打开", code="method_not_allowed"))
    return render("error.html", principal=flask.g.get("principal"), error=problem), error.code


@dashboard.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            _start_session(_principal_from_form(request.form))
            return redirect("/")
        except BranchworkError as problem:
            error = problem
    bureaus = _existing_bureaus() if dev_login().available() else None
    secretary = error is not None and error.code == "use_the_secretary_pages"
    return render("login.html", error=error and error.message, dev_bureaus=bureaus,
                  secretary_pages=audit_settings().web_url if secretary else None), error.status if error else 200


def _principal_from_form(form) -> Principal:
    if form.get("mode") == "dev":
        role = form.get("role", "auditor")
        bureau_id = dev_login().choose(form.get("bureau_id"), _existing_bureaus(), "bureau_id")
        if role not in READER_ROLES:
            raise RequestInvalid("请选择审计员或局管理员", fields={"role": ["不支持的角色"]})
        return Principal(f"dev-{role}", bureau_id, frozenset({role}), expires_at=int(time.time()) + 8 * 3600)
    try:
        principal = runtime().settings.verify_token((form.get("token") or "").strip())
    except Unauthenticated:
        raise Unauthenticated("令牌无效、已过期或不是本平台签发的", fields={"token": ["无效"]}) from None
    if principal.has_role("secretary") and not principal.has_role(*READER_ROLES):
        raise Forbidden("支部书记请到支部工作页面登录", code="use_the_secretary_pages")
    if not principal.has_role(*READER_ROLES) or not principal.tenant:
        raise Forbidden("审计看板只供本局的审计员和局管理员使用")
    return principal


def _start_session(principal: Principal) -> None:
    """Hold a token for the dashboard's audience only, never longer than the token the person showed."""
    settings = runtime().settings
    ttl = max(1, min(principal.expires_at - int(time.time()), SESSION_POLICY.lifetime_seconds))
    token = issue_token(settings.jwt_secret, subject=principal.subject, roles=sorted(principal.roles),
                        tenant=principal.tenant, branches=sorted(principal.branches), issuer=settings.jwt_issuer,
                        audience=DASHBOARD_AUDIENCE, ttl_seconds=ttl)
    websession.current().sign_in({"token": token}, ends_at=datetime.fromtimestamp(time.time() + ttl, UTC))


def _existing_bureaus() -> dict[str, str]:
    """Every bureau the journal knows, for the development login's list (read across bureaus, as the owner)."""
    return queries.bureau_names(runtime().settings.owner_dsn)


@dashboard.post("/logout")
def logout():
    websession.current().sign_out()
    return redirect("/login")


def _today() -> date:
    """Today on the bureaus' clock (Beijing), as the services judge it."""
    return local_date(runtime().clock())


@dashboard.get("/")
def overview():
    principal = flask.g.principal
    period = _period(request.args.get("period"))
    body = queries.bureau_scorecard(principal.tenant, period, _today())
    for row in body["branches"]:
        row["flagged"] = labels.flagged_figures(row["findings"])
    return render("overview.html", principal=principal, body=body, period=period, choices=_choices(period))


@dashboard.get("/branches/<uuid:branch_id>")
def branch_page(branch_id):
    principal, today = flask.g.principal, _today()
    period = _period(request.args.get("period"))
    card = queries.branch_scorecard(principal.tenant, str(branch_id), period, today)
    trend = queries.branch_trend(principal.tenant, str(branch_id), today, parse_period(str(period.year)).months)
    members = queries.roster(principal.tenant, str(branch_id), min(period.end, today))
    told = queries.branch_notifications(principal.tenant, str(branch_id), period)
    return render("branch.html", principal=principal, card=card, period=period, members=members,
                  charts=charts.branch_charts(trend), branch_id=str(branch_id), year=period.year, told=told,
                  demonstration=assess(card), flagged=labels.flagged_figures(card["findings"]),
                  choices=_choices(period))


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
        raise NotFound("记分卡中没有这一项")
    return labels.figure(figure), list(value.get("events") or [])


@dashboard.get("/members/<uuid:member_id>")
def member_page(member_id):
    principal = flask.g.principal
    body = queries.member_timeline(principal.tenant, str(member_id))
    return render("member.html", principal=principal, body=body, labels=labels)


HISTORY_PAGE = 200


@dashboard.get("/events")
def events_page():
    principal = flask.g.principal
    filters = _history_filters()
    before = request.args.get("before", "")
    rows = queries.event_history(principal.tenant, filters, limit=HISTORY_PAGE,
                                 before_seq=int(before) if before.isdigit() else None)
    more = len(rows) == HISTORY_PAGE and queries.event_history(principal.tenant, filters, limit=1,
                                                                before_seq=rows[-1]["seq"])
    query = {name: value for name, value in request.args.items() if name != "before" and value}
    return render("events.html", principal=principal, rows=rows, filters=filters, query=query,
                  earlier=rows[-1]["seq"] if more else None, branches=queries.branches(principal.tenant),
                  event_types=sorted(labels.EVENT_TYPES.items(), key=lambda pair: pair[0]))


def _history_filters() -> dict:
    filters = {name: request.args.get(name, "").strip() for name in ("event_type", "stream_id", "branch_id", "actor")}
    return {**filters, **{name: _date(request.args.get(name)) for name in ("since", "until")}}


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        raise RequestInvalid("日期应写作 YYYY-MM-DD，例如 2026-11-20", fields={"date": [text]}) from None


@dashboard.get("/branches/<uuid:branch_id>/report")
def report_page(branch_id):
    principal, today = flask.g.principal, _today()
    year = _year(request.args.get("year"), today)
    context = report.annual_context(principal.tenant, str(branch_id), year, today)
    if request.args.get("format") == "pdf":
        return report.pdf_response(context)
    return render("report_page.html", principal=principal, report=Markup(report.render_body(context)),
                  branch_id=str(branch_id), year=year, context=context)


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
    try:
        return queries.requested_period(text, _today())
    except RequestInvalid:
        raise RequestInvalid(f"期间应写作 2026-11、2026-Q4 或 2026，年份在 {FIRST_YEAR} 至 {LAST_YEAR} 之间",
                             fields={"period": [text]}) from None


def _year(text: str | None, today: date) -> int:
    if not text:
        return today.year
    if not (text.isascii() and text.isdigit() and year_in_range(int(text))):
        raise RequestInvalid(f"年份应为 {FIRST_YEAR} 至 {LAST_YEAR} 之间的四位数字", fields={"year": [text]})
    return int(text)


def _choices(period) -> list[tuple[str, str]]:
    """The periods the page offers around the one shown: the year's months, its quarters, the year itself."""
    year = period.year
    ids = [f"{year}-{m:02d}" for m in range(1, 13)] + [f"{year}-Q{q}" for q in range(1, 5)] + [str(year)]
    return [(i, chinese.period(i)) for i in ids]


# --- exports: the same rows as the API's, downloaded with the dashboard's session ----------------------

@dashboard.get("/exports/bureau.csv")
def export_bureau():
    principal = flask.g.principal
    period = _period(request.args.get("period"))
    body = queries.bureau_scorecard(principal.tenant, period, _today())
    return csv_export.response(csv_export.bureau_rows(body), f"各支部工作情况-{period.id}", _lang())


@dashboard.get("/branches/<uuid:branch_id>/scorecard.csv")
def export_scorecard(branch_id):
    principal = flask.g.principal
    period = _period(request.args.get("period"))
    card = queries.branch_scorecard(principal.tenant, str(branch_id), period, _today())
    return csv_export.response(csv_export.scorecard_rows(card), f"{card['branch']['name']}-{period.id}", _lang())


@dashboard.get("/members/<uuid:member_id>/timeline.csv")
def export_timeline(member_id):
    body = queries.member_timeline(flask.g.principal.tenant, str(member_id))
    name = (body["member"] or {}).get("name") or "成员"
    return csv_export.response(csv_export.timeline_rows(body), f"{name}-时间线", _lang())


@dashboard.get("/events.<any(csv, jsonl):kind>")
def export_events(kind):
    """The whole filtered history, oldest first: every row, however many."""
    where, params = queries.history_where(_history_filters())
    entries = queries.history_stream(flask.g.principal.tenant, where, params)
    return csv_export.stream_history(entries, kind, _lang(), name="事件记录")


def _lang() -> str:
    return "en" if request.args.get("lang") == "en" else "zh"
