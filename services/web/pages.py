"""The pages of a branch: this month's list, the forms that record its work, its figures and its records.

Every read and every command goes to the services' public APIs with the signed-in person's token, so
a secretary sees and records exactly what the API lets them — their own branches only; another
branch is a 404 here as it is there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from collections.abc import Callable

import flask
import requests
from flask import Blueprint, g, redirect, request
from werkzeug.datastructures import MultiDict

from contracts import words
from contracts.rulebook.calendar import local_date, timezone
from shared import chinese, websession
from shared.errors import BranchworkError, NotFound
from contracts.rulebook.holidays import HOLIDAY_LABELS, holiday_label
from services.web import agenda, forms, signin
from services.web.client import Api, Refused, SignedOut, Unavailable
from services.web.settings import WebSettings

blueprint = Blueprint("pages", __name__)
websession.attach(blueprint)
MEETING_KINDS = {k: v for k, v in words.ACTIVITY_KINDS.items() if k != "talk_given"}
DONE = {"meeting": "会议已记录", "planned": "会议已安排，召开后请回来记录出席情况", "record": "召开情况已记录",
        "correction": "更正已记录，原记录保留在历史中", "outreach": "走访送学已记录", "care": "关怀慰问已记录",
        "dues": "党费缴纳已记录", "read": "提醒已标为已读"}


@dataclass
class WebRuntime:
    settings: WebSettings
    http: requests.Session
    clock: Callable[[], datetime]


def runtime() -> WebRuntime:
    return flask.current_app.extensions["web"]


def today() -> date:
    """Today on the bureaus' calendar, as the services judge it."""
    return local_date(runtime().clock())


def install_filters(app: flask.Flask) -> None:
    app.jinja_env.filters.update(day=chinese.day, short_day=chinese.short_day, month=chinese.month,
                                 period=chinese.period, percent=chinese.percent, amount=chinese.amount,
                                 moment=lambda value: chinese.moment(value, timezone()))
    app.jinja_env.globals.update(words=words, word=words.word, holiday_label=holiday_label,
                                 csrf_token=lambda: websession.current().csrf_token())
    app.register_error_handler(404, lambda _: (page("error.html", title="找不到这个页面",
                                                    message="这个地址没有页面，请从首页进入。"), 404))
    app.register_error_handler(405, lambda _: (page("error.html", title="无法这样打开",
                                                    message="这个页面不能这样打开，请从首页进入。"), 405))


def page(template: str, **context) -> str:
    return flask.render_template(template, person=g.get("person"), branch=g.get("branch"), **context)


@blueprint.before_request
def require_person():
    found = signin.signed_in()
    if found is None:
        return redirect("/login")
    principal, token = found
    g.principal = principal
    g.person = {"role": words.word(words.USER_ROLES, principal.primary_role),
                "name": (websession.current().data or {}).get("name") or ""}
    g.api = Api(runtime().settings, runtime().http, token, correlation_id=str(uuid.uuid4()))
    return None


@blueprint.errorhandler(SignedOut)
def signed_out(_):
    websession.current().sign_out()
    return redirect("/login")


@blueprint.errorhandler(Unavailable)
def unavailable(_):
    message = "平台的服务暂时没有响应，您填写的内容没有保存。请稍后再试。"
    return page("error.html", title="暂时无法办理", message=message), 503


@blueprint.errorhandler(Refused)
def refused(problem: Refused):
    title = {404: "找不到", 403: "无权查看"}.get(problem.status, "无法办理")
    return page("error.html", title=title, message=problem.message), problem.status


@blueprint.errorhandler(BranchworkError)
def page_error(problem: BranchworkError):
    return page("error.html", title="无法办理", message=problem.message), problem.status


def api() -> Api:
    return g.api


def submit(service: str, path: str, body: dict, done: str, refused: Callable[[Refused], object],
           if_match: int | None = None):
    """Send the form's command once (its Idempotency-Key makes a double click record once); on success go
    where ``done`` says, on a refusal show the form again with the service's reasons beside its fields."""
    try:
        api().post(service, path, body, idempotency_key=request.form.get("idempotency_key"), if_match=if_match)
    except Refused as refusal:
        return refused(refusal)
    return redirect(done)


def load_branch(branch_id: str) -> dict:
    """The branch, if the person may work in it: a secretary's own branches only (another is a 404)."""
    principal = g.principal
    if not principal.has_role("bureau_admin") and branch_id not in principal.branches:
        raise NotFound("没有这个支部，或您不是这个支部的书记")
    g.branch = api().get("members", f"/branches/{branch_id}")
    return g.branch


# --- landing ------------------------------------------------------------------------------------------

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

def _roster(branch_id: str, on: str | None) -> tuple[list[dict], str]:
    """The branch's members on the meeting's day (the day typed, when it is a date; else today)."""
    day = chinese.as_date(on) if _is_date(on) else today()
    answer = api().get("activities", f"/branches/{branch_id}/roster", on=day.isoformat())
    return sorted(answer.get("members") or [], key=lambda m: m["name"]), day.isoformat()


def _is_date(text: str | None) -> bool:
    try:
        return bool(text) and chinese.as_date(text) is not None
    except ValueError:
        return False


def _form_page(template: str, branch_id: str, values, refusal: Refused | None = None, **context):
    roster, roster_on = _roster(branch_id, values.get("occurred_on"))
    errors = forms.field_errors(refusal) if refusal else {}
    marked = forms.member_errors(refusal, "attendees", "absentees", "guests") if refusal else {}
    return page(template, values=values, roster=roster, roster_on=roster_on, errors=errors, marked=marked,
                refusal=refusal, kinds=MEETING_KINDS, key=values.get("idempotency_key") or str(uuid.uuid4()),
                **context), refusal.status if refusal else 200


@blueprint.route("/branches/<uuid:branch_id>/meetings/new", methods=["GET", "POST"])
def new_meeting(branch_id):
    branch = load_branch(str(branch_id))
    if request.method == "GET" or "show_roster" in request.form:
        values = request.form if request.method == "POST" else MultiDict({
            "kind": request.args.get("kind", "committee_meeting"), "occurred_on": today().isoformat(),
            "status": "planned" if request.args.get("status") == "planned" else "recorded"})
        return _form_page("meeting.html", branch["id"], values)
    roster, _ = _roster(branch["id"], request.form.get("occurred_on"))
    body = forms.meeting_body(branch["id"], request.form, roster)
    done = f"/branches/{branch['id']}?done={'planned' if body.get('status') == 'planned' else 'meeting'}"
    return submit("activities", "/activities", body, done,
                  lambda refusal: _form_page("meeting.html", branch["id"], request.form, refusal))


@blueprint.route("/branches/<uuid:branch_id>/meetings/<uuid:activity_id>/record", methods=["GET", "POST"])
def record_meeting(branch_id, activity_id):
    branch = load_branch(str(branch_id))
    planned = _activity(branch["id"], str(activity_id))
    if request.method == "GET" or "show_roster" in request.form:
        values = request.form if request.method == "POST" else MultiDict({
            "occurred_on": planned.get("planned_on"), "title": planned["title"], "place": planned.get("place") or "",
            "topics": "\n".join(planned.get("topics") or [])})
        return _form_page("record.html", branch["id"], values, activity=planned)
    roster, _ = _roster(branch["id"], request.form.get("occurred_on"))
    return submit("activities", f"/activities/{activity_id}/actions/record", forms.record_body(request.form, roster),
                  f"/branches/{branch['id']}?done=record",
                  lambda refusal: _form_page("record.html", branch["id"], request.form, refusal, activity=planned),
                  if_match=planned["version"])


def _activity(branch_id: str, activity_id: str) -> dict:
    activity = api().get("activities", f"/activities/{activity_id}")
    if activity.get("branch_id") != branch_id:
        raise NotFound("这个支部没有这条活动记录")
    return activity


@blueprint.get("/branches/<uuid:branch_id>/activities")
def activities(branch_id):
    branch = load_branch(str(branch_id))
    year = _year(request.args.get("year"))
    listed = api().get("activities", "/activities", branch_id=branch["id"], **{"from": f"{year}-01-01"},
                       to=f"{year}-12-31")
    listed.sort(key=lambda a: a.get("occurred_on") or a.get("planned_on") or "", reverse=True)
    return page("activities.html", activities=listed, year=year)


def _year(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 2000 <= int(text) <= 2200 else today().year


@blueprint.route("/branches/<uuid:branch_id>/activities/<uuid:activity_id>/correct", methods=["GET", "POST"])
def correct(branch_id, activity_id):
    branch = load_branch(str(branch_id))
    before = _activity(branch["id"], str(activity_id))
    if request.method == "GET" or "show_roster" in request.form:
        return _form_page("correct.html", branch["id"], request.form if request.method == "POST"
                          else _as_form(before), activity=before)
    roster, _ = _roster(branch["id"], request.form.get("occurred_on"))
    body = forms.correction_body(request.form, roster, before)
    version = request.form.get("version", "")
    return submit("activities", f"/activities/{activity_id}/actions/correct", body,
                  f"/branches/{branch['id']}/activities?done=correction",
                  lambda refusal: _form_page("correct.html", branch["id"], request.form, refusal, activity=before),
                  if_match=int(version) if version.isdigit() else before["version"])


def _as_form(activity: dict) -> MultiDict:
    """A recorded activity as the correction form shows it, before anything is changed."""
    guests = "\n".join(g["name"] + (f"，{g['unit']}" if g.get("unit") else "") for g in activity.get("guests") or [])
    values = MultiDict({"kind": activity["kind"], "occurred_on": activity.get("occurred_on"),
                        "title": activity["title"], "place": activity.get("place") or "",
                        "topics": "\n".join(activity.get("topics") or []), "guests": guests,
                        "hours": activity.get("hours") or "", "minutes": activity.get("minutes") or "",
                        "version": str(activity["version"])})
    for member_id in activity.get("attendees") or []:
        values.add("attendee", member_id)
    for absence in activity.get("absentees") or []:
        values[f"absence-{absence['member_id']}"] = absence["reason"]
    return values


# --- outreach, care, dues -----------------------------------------------------------------------------

def _simple_form(template: str, branch_id: str, values, refusal: Refused | None = None, **context):
    members = api().get("members", f"/branches/{branch_id}/members").get("members") or []
    return page(template, values=values, members=sorted(members, key=lambda m: m["name"]),
                errors=forms.field_errors(refusal) if refusal else {}, refusal=refusal,
                key=values.get("idempotency_key") or str(uuid.uuid4()), **context), refusal.status if refusal else 200


def _defaults(**extra) -> MultiDict:
    return MultiDict({"occurred_on": request.args.get("on") or today().isoformat(),
                      "member_id": request.args.get("member", ""), **extra})


@blueprint.route("/branches/<uuid:branch_id>/outreach/new", methods=["GET", "POST"])
def new_outreach(branch_id):
    branch = load_branch(str(branch_id))
    if request.method == "GET":
        return _simple_form("outreach.html", branch["id"], _defaults(channel=request.args.get("channel", "visit")))
    body = {**forms.outreach_body(request.form), "branch_id": branch["id"]}
    return submit("activities", "/outreach", body, f"/branches/{branch['id']}?done=outreach",
                  lambda refusal: _simple_form("outreach.html", branch["id"], request.form, refusal))


@blueprint.route("/branches/<uuid:branch_id>/care/new", methods=["GET", "POST"])
def new_care(branch_id):
    branch = load_branch(str(branch_id))
    holidays = {code: label for code, label in HOLIDAY_LABELS.items()}
    if request.method == "GET":
        values = _defaults(kind=request.args.get("kind", "birthday"), holiday=request.args.get("holiday", ""),
                           year=str(today().year))
        return _simple_form("care.html", branch["id"], values, holidays=holidays)
    body = {**forms.care_body(request.form), "branch_id": branch["id"]}
    return submit("activities", "/care", body, f"/branches/{branch['id']}?done=care",
                  lambda refusal: _simple_form("care.html", branch["id"], request.form, refusal, holidays=holidays))


@blueprint.route("/branches/<uuid:branch_id>/dues/new", methods=["GET", "POST"])
def new_dues(branch_id):
    branch = load_branch(str(branch_id))
    values = request.form if request.method == "POST" else MultiDict(
        [("member_id", request.args.get("member", "")), ("paid_on", today().isoformat()), ("payer", "self")]
        + [("months", m) for m in request.args.get("months", "").split(",") if m])
    member_id = values.get("member_id") or ""
    ledger = _ledger(member_id) if member_id else None
    if request.method == "GET" or "show_months" in request.form or not member_id:
        return _simple_form("dues.html", branch["id"], values, ledger=ledger)
    return submit("members", f"/members/{member_id}/dues/payments", forms.dues_body(request.form),
                  f"/branches/{branch['id']}?done=dues",
                  lambda refusal: _simple_form("dues.html", branch["id"], values, refusal, ledger=ledger))


def _ledger(member_id: str) -> dict | None:
    try:
        return api().get("members", f"/members/{member_id}/dues", year=today().year)
    except Refused:
        return None


# --- figures and reports ------------------------------------------------------------------------------

@blueprint.get("/branches/<uuid:branch_id>/scorecard")
def scorecard(branch_id):
    branch = load_branch(str(branch_id))
    period = request.args.get("period") or f"{today():%Y-%m}"
    card = api().get("audit", f"/branches/{branch['id']}/scorecard", period=period)
    return page("scorecard.html", card=card, period=period, year=int(period[:4]))


@blueprint.get("/branches/<uuid:branch_id>/report.pdf")
def report_pdf(branch_id):
    branch = load_branch(str(branch_id))
    answer = api().raw("audit", f"/branches/{branch['id']}/reports/annual.pdf", year=_year(request.args.get("year")))
    headers = {name: answer.headers[name] for name in ("Content-Disposition",) if name in answer.headers}
    return flask.Response(answer.iter_content(64 * 1024), mimetype="application/pdf", headers=headers)


def readyz():
    """Ready when every API the pages call answers its own readiness."""
    checks = {}
    for service, url in runtime().settings.api_urls.items():
        try:
            checks[service] = runtime().http.get(f"{url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            checks[service] = False
    status = 200 if all(checks.values()) else 503
    return {"status": "ready" if status == 200 else "not_ready", "checks": checks}, status


