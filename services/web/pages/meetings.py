"""Meetings: planned, recorded with who came (from the roster of the day), listed and corrected."""

from __future__ import annotations

import uuid

from flask import request
from werkzeug.datastructures import MultiDict

from shared import chinese
from shared.errors import NotFound
from services.web import forms
from services.web.client import Refused
from services.web.pages import MEETING_KINDS, year_asked, api, blueprint, load_branch, page, submit, today


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
    year = year_asked(request.args.get("year"))
    listed = api().get("activities", "/activities", branch_id=branch["id"], **{"from": f"{year}-01-01"},
                       to=f"{year}-12-31")
    listed.sort(key=lambda a: a.get("occurred_on") or a.get("planned_on") or "", reverse=True)
    return page("activities.html", activities=listed, year=year)


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
