"""What a filled-in form says, as the body of the service's command; what the service refused, by field (pure).

A form never judges what is allowed: it reads what the person typed into the API's shape and puts the
service's answer beside the field it names.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.web.client import Refused

MEETING_FIELDS = ("kind", "occurred_on", "title", "place", "topics", "hours", "minutes", "group_id")


def text(form: Mapping, name: str) -> str | None:
    """A field's text without surrounding blanks; an empty field is None (the API's 'not given')."""
    value = (form.get(name) or "").strip()
    return value or None


def lines(value: str | None) -> list[str]:
    """One entry per line (topics), blank lines dropped; 、 and ； also separate, as people type them."""
    if not value:
        return []
    for mark in ("；", ";", "、"):
        value = value.replace(mark, "\n")
    return [line.strip() for line in value.splitlines() if line.strip()]


def guests(value: str | None) -> list[dict]:
    """``姓名，单位`` per line: people from outside the branch who attended."""
    found = []
    for line in lines_keeping_commas(value):
        name, _, unit = line.replace(",", "，").partition("，")
        if name.strip():
            found.append({"name": name.strip(), **({"unit": unit.strip()} if unit.strip() else {})})
    return found


def lines_keeping_commas(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def attendance(form, roster: list[dict]) -> tuple[list[str], list[dict]]:
    """Who was ticked present, and who was not with a reason given (absent); the rest are not listed."""
    ticked = set(form.getlist("attendee"))
    present, absent = [], []
    for member in roster:
        member_id = member["member_id"]
        reason = text(form, f"absence-{member_id}")
        if member_id in ticked:
            present.append(member_id)
        elif reason:
            absent.append({"member_id": member_id, "reason": reason})
    return present, absent


def meeting_body(branch_id: str, form, roster: list[dict]) -> dict:
    """``POST /activities``: a meeting held (with who came) or planned (``status: planned``)."""
    planned = form.get("status") == "planned"
    body = {"branch_id": branch_id, "kind": text(form, "kind"), "occurred_on": text(form, "occurred_on"),
            "title": text(form, "title"), "place": text(form, "place"), "topics": lines(form.get("topics")),
            "group_id": text(form, "group_id")}
    if planned:
        body["status"] = "planned"
    else:
        body.update(_held(form, roster))
    return _without_empty(body, keep=("branch_id", "kind", "occurred_on", "title", "attendees"))


def record_body(form, roster: list[dict]) -> dict:
    """``POST /activities/{id}/actions/record``: what happened at a planned meeting."""
    body = {"occurred_on": text(form, "occurred_on"), "title": text(form, "title"), "place": text(form, "place"),
            "topics": lines(form.get("topics")), **_held(form, roster)}
    return _without_empty(body, keep=("occurred_on", "attendees"))


def _held(form, roster: list[dict]) -> dict:
    present, absent = attendance(form, roster)
    return {"attendees": present, "absentees": absent, "guests": guests(form.get("guests")),
            "hours": text(form, "hours"), "minutes": text(form, "minutes")}


def correction_body(form, roster: list[dict], before: dict) -> dict:
    """``POST /activities/{id}/actions/correct``: the reason and only the fields that differ from the record."""
    after = {"kind": text(form, "kind"), "occurred_on": text(form, "occurred_on"), "title": text(form, "title"),
             "place": text(form, "place"), "topics": lines(form.get("topics")), **_held(form, roster)}
    body = {"reason": text(form, "reason")}
    for name, value in after.items():
        if _normal(value) != _normal(before.get(name)):
            body[name] = value
    return body


def _normal(value):
    """Compare a form's value with the record's: lists as sets of their items, blanks as None."""
    if value in (None, "", []):
        return None
    if isinstance(value, list):
        return sorted(repr(sorted(v.items())) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def outreach_body(form) -> dict:
    body = {"member_id": text(form, "member_id"), "channel": text(form, "channel"),
            "occurred_on": text(form, "occurred_on"), "topic": text(form, "topic"), "note": text(form, "note"),
            "hours": text(form, "hours") if form.get("channel") == "home_study" else None}
    return _without_empty(body, keep=("member_id", "channel", "occurred_on", "topic"))


def care_body(form) -> dict:
    kind = text(form, "kind")
    body = {"member_id": text(form, "member_id"), "kind": kind, "occurred_on": text(form, "occurred_on"),
            "note": text(form, "note"), "holiday": text(form, "holiday") if kind == "holiday_visit" else None,
            "year": _integer(text(form, "year")) if kind == "newspaper" else None}
    return _without_empty(body, keep=("member_id", "kind", "occurred_on"))


def dues_body(form) -> dict:
    payer = text(form, "payer") or "self"
    body = {"months": form.getlist("months"), "paid_on": text(form, "paid_on"), "payer": payer,
            "payer_name": text(form, "payer_name") if payer != "self" else None, "amount": text(form, "amount")}
    return _without_empty(body, keep=("months", "paid_on"))


def _integer(value: str | None):
    return int(value) if value and value.isdigit() else value


def _without_empty(body: dict, keep: tuple[str, ...]) -> dict:
    return {name: value for name, value in body.items() if name in keep or value not in (None, "", [])}


def field_errors(refused: Refused) -> dict[str, list[str]]:
    """The service's messages per field, flattened (``attendees.1`` → ``attendees``); the message itself goes
    to the field the error names when it names exactly one, else to the top of the form."""
    found: dict[str, list[str]] = {}
    for name, messages in (refused.fields or {}).items():
        found.setdefault(name.split(".")[0], []).extend(_messages(messages))
    return found


def _messages(messages) -> list[str]:
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _messages(value)]
    if isinstance(messages, list):
        return [text for value in messages for text in _messages(value)]
    return [str(messages)]


def member_errors(refused: Refused, *names: str) -> dict[str, str]:
    """``"<member id>: <reason>"`` entries of the named fields, by member: the rows of the roster to mark."""
    marked = {}
    for name in names:
        for entry in _messages((refused.fields or {}).get(name) or []):
            member_id, colon, reason = entry.partition(": ")
            if colon:
                marked[member_id] = reason
    return marked
