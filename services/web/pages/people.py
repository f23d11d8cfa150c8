"""Outreach, care and dues: one member at a time."""

from __future__ import annotations

import uuid

from flask import request
from werkzeug.datastructures import MultiDict

from contracts.rulebook.holidays import HOLIDAY_LABELS
from services.web import forms
from services.web.client import Refused
from services.web.pages import api, blueprint, load_branch, page, submit, today


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
