"""Every view as CSV: flat rows with the event ids behind each figure, UTF-8 with a BOM so spreadsheets read Chinese."""

from __future__ import annotations

import csv
import io
import json

import flask


def response(rows: list[dict], name: str) -> flask.Response:
    return flask.Response(to_csv(rows), mimetype="text/csv",
                          headers={"Content-Disposition": f"attachment; filename={name}.csv"})


def to_csv(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=columns or ["empty"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value):
    if isinstance(value, (list, dict)):
        return " ".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) \
            else json.dumps(value, ensure_ascii=False)
    return value


def scorecard_rows(card: dict) -> list[dict]:
    """One row per figure (``section.figure``) and one per finding."""
    rows = []
    for section, figure in card["figures"].items():
        for name, value in _figures(section, figure):
            rows.append({"branch": card["branch"]["name"], "period": card["period"]["id"], "figure": name,
                         "required": value.get("required"), "done": value.get("done"), "count": value.get("count"),
                         "events": value.get("events", [])})
    for item in card["findings"]:
        rows.append({"branch": card["branch"]["name"], "period": card["period"]["id"], "figure": "finding",
                     "finding": item["code"], "message": item["message"], "events": item["records"],
                     "members": [m["name"] for m in item["members"]]})
    return rows


def _figures(section: str, figure: dict):
    if not isinstance(figure, dict):
        return
    if any(k in figure for k in ("required", "count", "total", "due")):
        yield section, figure
    for name, value in figure.items():
        if isinstance(value, dict) and any(k in value for k in ("required", "count", "done")):
            yield f"{section}.{name}", value


def bureau_rows(body: dict) -> list[dict]:
    rows = []
    for branch in body["branches"]:
        base = {"branch": branch["branch"]["name"], "branch_id": branch["branch"]["id"], "period": body["period"]["id"],
                "members": branch["members"], "compliant": branch["compliant"]}
        for name, pair in branch["summary"].items():
            base[f"{name}_required"] = pair.get("required")
            base[f"{name}_done"] = pair.get("done", pair.get("count"))
        base["findings"] = [f["code"] for f in branch["findings"]]
        rows.append(base)
    return rows


def demonstration_rows(body: dict) -> list[dict]:
    return [{"criterion": c["criterion"], "label": c["label"], "criterion_met": c["met"], "check": check["check"],
             "check_label": check["label"], "met": check["met"], "evidence": check["evidence"]}
            for c in body["criteria"]
            for check in c["checks"] or [{"check": "", "label": "", "met": None, "evidence": []}]]


def timeline_rows(body: dict) -> list[dict]:
    return [{"occurred_at": e["occurred_at"], "recorded_at": e["recorded_at"], "event_type": e["event_type"],
             "role": e["role"], "summary": e["summary"], "deliveries": _deliveries(e.get("notification")),
             "event_id": e["event_id"], "data": e["data"]} for e in body["events"]]


def notification_rows(body: dict) -> list[dict]:
    """One row per delivery: when, what, to whom, how, and what became of it."""
    return [{"scheduled_at": n["scheduled_at"], "rule": n["rule"], "title": n["title"], "recipient": d.get("recipient"),
             "audience": d.get("audience"), "channel": d.get("channel"), "status": d["status"],
             "attempts": d["attempts"], "error": d["error"], "at": d["at"], "notification_id": n["notification_id"],
             "event_id": n["event_id"]} for n in body["notifications"] for d in n["deliveries"]]


def _deliveries(notification: dict | None) -> str:
    if not notification:
        return ""
    return "; ".join(f"{d.get('recipient') or d.get('audience')} {d['channel_label']} {d['status_label']}"
                     for d in notification["deliveries"])


def report_rows(context: dict) -> list[dict]:
    return [{"figure": name, "value": value} for name, value in context["numbers"].items()]
