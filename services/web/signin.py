"""Signing in and out of the secretaries' pages, through the platform's browser sessions (``shared.websession``).

A person signs in with the API token their bureau gave them (or, on a developer's own machine, the
guarded development login); the session keeps it on the server and the pages call the APIs with it.
Secretaries land on their branch, bureau admins on their bureau's branches; auditors are sent to the
audit dashboard, which is theirs.
"""

from __future__ import annotations

from datetime import datetime, UTC

import flask
from flask import Blueprint, redirect, request

from shared import websession
from shared.auth import Principal, issue_token
from shared.errors import BranchworkError, Forbidden, RequestInvalid, Unauthenticated
from services.web.client import Api, Refused, Unavailable

blueprint = Blueprint("signin", __name__)
websession.attach(blueprint)
SESSION_POLICY = websession.SessionPolicy(cookie_name="branchwork_web")
PAGE_ROLES = ("secretary", "bureau_admin")
DEV_ROLES = {"secretary": "支部书记", "bureau_admin": "局管理员"}


def runtime():
    return flask.current_app.extensions["web"]


def dev_login() -> websession.DevLogin:
    return websession.DevLogin(enabled=runtime().settings.dev_login)


def principal_of(token: str) -> Principal:
    return runtime().settings.tokens.verify_token(token)


def _name_of(principal: Principal, token: str) -> str:
    """The person's name when they are on the register (a secretary signs in as their member id), else none."""
    try:
        return Api(runtime().settings, runtime().http, token).get("members", f"/members/{principal.subject}")["name"]
    except (Refused, Unavailable, KeyError, TypeError):
        return ""


def signed_in() -> tuple[Principal, str] | None:
    """The signed-in person and their token; None when nobody is (an expired token ends the session)."""
    data = websession.current().data
    if not data or not data.get("token"):
        return None
    try:
        return principal_of(data["token"]), data["token"]
    except Unauthenticated:
        websession.current().sign_out()
        return None


def home_of(principal: Principal) -> str:
    """Where a person lands: a secretary of one branch on it, anyone else on the list of their branches."""
    if not principal.has_role("bureau_admin") and len(principal.branches) == 1:
        return f"/branches/{next(iter(principal.branches))}"
    return "/branches"


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        try:
            token = _token_from(request.form)
            principal = _admit(token)
            websession.current().sign_in({"token": token, "name": _name_of(principal, token)},
                                         ends_at=datetime.fromtimestamp(principal.expires_at, UTC))
            return redirect(home_of(principal))
        except BranchworkError as problem:
            error, status = problem, problem.status
    bureaus, branches = _dev_choices() if dev_login().available() else (None, None)
    return flask.render_template("login.html", error=error, bureaus=bureaus, branches=branches,
                                 chosen=request.values.get("bureau_id", ""), dev_roles=DEV_ROLES,
                                 dashboard_url=runtime().settings.dashboard_url), status


def _token_from(form) -> str:
    if form.get("mode") == "dev":
        return _dev_token(form)
    token = (form.get("token") or "").strip()
    if not token:
        raise RequestInvalid("请粘贴访问令牌", fields={"token": ["必须填写"]})
    return token


def _admit(token: str) -> Principal:
    """The token's person, if these pages are for them."""
    try:
        principal = principal_of(token)
    except Unauthenticated:
        raise Unauthenticated("令牌无效或已过期，请向本局管理员重新领取", fields={"token": ["无效或已过期"]}) from None
    if principal.has_role("auditor") and not principal.has_role(*PAGE_ROLES):
        raise Forbidden("审计员请使用审计看板", code="use_the_dashboard")
    if not principal.tenant or not principal.has_role(*PAGE_ROLES):
        raise Forbidden("支部工作页面供支部书记和局管理员使用", fields={"token": ["角色不符"]})
    if not principal.has_role("bureau_admin") and not principal.branches:
        raise Forbidden("这个书记令牌没有指明支部，请向本局管理员重新领取", fields={"token": ["没有支部"]})
    return principal


@blueprint.post("/logout")
def logout():
    websession.current().sign_out()
    return redirect("/login")


# --- the development login: a developer's own machine only --------------------------------------------

def _dev_token_for(subject: str, role: str, tenant: str | None, branches: list[str] | None = None,
                   ttl_seconds: int = 8 * 3600) -> str:
    tokens = runtime().settings.tokens
    return issue_token(tokens.jwt_secret, subject=subject, roles=[role], tenant=tenant, branches=branches,
                       issuer=tokens.jwt_issuer, ttl_seconds=ttl_seconds)


def _platform_api(role: str, tenant: str | None = None) -> Api:
    return Api(runtime().settings, runtime().http, _dev_token_for("dev-login", role, tenant, ttl_seconds=300))


def _dev_choices() -> tuple[dict[str, str], dict[str, str]]:
    """The bureaus of the platform, and the branches of the one chosen, to pick from."""
    try:
        bureaus = {b["id"]: f"{b['name']}（{b['code']}）" for b in _platform_api("platform_admin").get(
            "members", "/bureaus")}
        chosen = request.values.get("bureau_id", "")
        branches = {}
        if chosen in bureaus:
            branches = {b["id"]: b["name"] for b in _platform_api("bureau_admin", chosen).get("members", "/branches")}
    except (Refused, Unavailable):
        return {}, {}
    return bureaus, branches


def _dev_token(form) -> str:
    bureaus, branches = _dev_choices()
    bureau_id = dev_login().choose(form.get("bureau_id"), bureaus, "bureau_id")
    role = form.get("role")
    if role not in DEV_ROLES:
        raise RequestInvalid("请选择支部书记或局管理员", fields={"role": ["请选择"]})
    if role == "bureau_admin":
        return _dev_token_for("dev-admin", role, bureau_id)
    branch_id = dev_login().choose(form.get("branch_id"), branches, "branch_id")
    return _dev_token_for(_secretary_of(bureau_id, branch_id), role, bureau_id, [branch_id])


def _secretary_of(bureau_id: str, branch_id: str) -> str:
    """The member who holds the branch's secretary post, so that what they record carries their name."""
    try:
        committee = _platform_api("bureau_admin", bureau_id).get("members", f"/branches/{branch_id}/committee")
    except (Refused, Unavailable):
        return "dev-secretary"
    holders = [p["member_id"] for p in committee.get("posts") or []
               if p.get("post") == "secretary" and not p.get("vacated_on")]
    return holders[0] if holders else "dev-secretary"
