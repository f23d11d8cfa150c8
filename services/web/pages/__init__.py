"""The pages of a branch: this month's list, the forms that record its work, its figures and its records.

This package holds what every page shares (the signed-in person, the API client, errors, filters); each
module beside it adds its pages to the one blueprint: ``branch`` (landing, the list, figures), ``meetings``
(meetings planned, recorded and corrected), ``people`` (outreach, care, dues).

Every read and every command goes to the services' public APIs with the signed-in person's token, so
a secretary sees and records exactly what the API lets them — their own branches only; another
branch is a 404 here as it is there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from collections.abc import Callable

import flask
import requests
from flask import Blueprint, g, redirect, request

from contracts import words
from contracts.rulebook.calendar import local_date, timezone, year_in_range
from shared import chinese, websession
from shared.errors import BranchworkError, NotFound
from contracts.rulebook.holidays import holiday_label
from services.web import signin
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


def year_asked(text: str | None) -> int:
    """The year a page was asked for (``?year=``), or this one."""
    return int(text) if text and text.isascii() and text.isdigit() and year_in_range(int(text)) else today().year


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


# Each module registers its pages on the blueprint when imported; they need what is defined above.
from services.web.pages import branch, meetings, people  # noqa: E402,F401
