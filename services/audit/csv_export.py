"""Every view as CSV, and the event history as CSV or JSON Lines, holding every row.

For people (the default): Chinese column names and values — kinds in words, 是/否, 男/女, Beijing time —
with the UTF-8 BOM spreadsheets need to read Chinese. ``lang=en`` keeps the codes and UTC for machines.
The event ids behind each figure come along, so every row can be traced to the journal.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import quote

import flask

from contracts import words
from shared import chinese
from services.audit import labels
from services.audit.projections import shown_data

BOM = "\ufeff"
TIMES = ("occurred_at", "recorded_at", "scheduled_at", "at")

COLUMNS = {
    "seq": "序号", "event_id": "事件编号", "event_type": "事项类别", "stream_id": "记录流", "stream_version": "流版本",
    "branch_id": "支部编号", "actor": "操作人", "occurred_at": "发生时间（北京时间）",
    "recorded_at": "记录时间（北京时间）",
    "hash": "哈希值", "data": "原始数据", "branch": "支部", "period": "期间", "figure": "项目", "required": "应当",
    "done": "实际", "count": "次数", "events": "依据（事件编号）", "finding": "问题所在项目", "message": "问题",
    "members": "人数", "member_names": "涉及党员", "compliant": "符合规定", "findings": "发现的问题",
    "role": "身份", "summary": "事项", "deliveries": "投递情况", "member_id": "党员编号", "name": "姓名",
    "gender": "性别", "birth_date": "出生日期", "party_member": "中共党员", "retirement_kind": "类别",
    "health": "健康", "mobility": "行动", "joined_on": "入册日期", "group_id": "党小组编号",
    "scheduled_at": "提醒时间（北京时间）", "rule": "提醒规则", "title": "标题", "recipient": "接收人",
    "audience": "对象", "channel": "渠道", "status": "结果", "attempts": "尝试次数", "error": "错误",
    "at": "时间（北京时间）",
    "notification_id": "提醒编号", "criterion": "标准", "criterion_met": "标准是否达到", "check": "检查项",
    "met": "是否达到", "evidence": "依据（事件编号）", "value": "数值", "month": "月份", "measured": "有数据",
    "meetings_required": "应开会议", "meetings_done": "实开会议", "coverage_rate": "教育覆盖率", "care": "关怀人次",
}

VALUES: dict[str, Callable] = {
    "event_type": labels.event_type, "figure": labels.figure,
    "role": lambda v: labels.ROLES.get(v, v), "gender": lambda v: words.word(words.GENDERS, v),
    "retirement_kind": lambda v: words.word(words.RETIREMENT_KINDS, v), "health": lambda v: words.word(words.HEALTH, v),
    "mobility": lambda v: words.word(words.MOBILITY, v), "channel": lambda v: words.word(words.DELIVERY_CHANNELS, v),
    "status": lambda v: words.word(words.DELIVERY_STATUS, v), "rule": lambda v: words.word(words.NOTIFY_RULES, v),
    "period": chinese.period, "month": chinese.month, "coverage_rate": chinese.percent,
    "finding": lambda v: labels.figure(labels.FINDING_FIGURES.get(v, v)),
    **{name: (lambda v: chinese.local_iso(v, labels.zone())[:19]) for name in TIMES},
}


def response(rows: list[dict], name: str, lang: str = "zh") -> flask.Response:
    return flask.Response(to_csv(rows, lang), mimetype="text/csv", headers=attachment(f"{name}.csv"))


def attachment(filename: str, disposition: str = "attachment", fallback: str | None = None) -> dict[str, str]:
    """A download's name in Chinese where browsers read it (RFC 6266 ``filename*``), ASCII for the rest."""
    if fallback is None:
        stem, dot, extension = filename.rpartition(".")
        ascii_stem = re.sub(r"_+", "_", "".join(c if c.isascii() and (c.isalnum() or c in "-") else "_"
                                                for c in stem)).strip("_-")
        fallback = f"{ascii_stem or 'export'}{dot}{extension}"
    return {"Content-Disposition": f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"}


def to_csv(rows: list[dict], lang: str = "zh") -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header(c, lang) for c in columns] or ["empty" if lang == "en" else "无记录"])
    for row in rows:
        writer.writerow([cell(c, row.get(c), lang) for c in columns])
    return out.getvalue()


def header(column: str, lang: str) -> str:
    if lang == "en":
        return column
    for suffix, word in (("_required", "应当"), ("_done", "实际")):
        if column.endswith(suffix) and column not in COLUMNS:
            return f"{_summary_label(column.removesuffix(suffix))}（{word}）"
    return COLUMNS.get(column, column)


def _summary_label(name: str) -> str:
    """A roll-up's headline figure: a kind of meeting, or a figure of the scorecard."""
    return words.ACTIVITY_KINDS.get(name) or labels.figure(name)


def cell(column: str, value, lang: str):
    """A value as the reader of ``lang`` expects it: codes and UTC for machines, words and Beijing time for people."""
    if value is None:
        return ""
    if lang != "en":
        if isinstance(value, bool):
            return words.YES_NO[value]
        if column in VALUES and not isinstance(value, (list, dict)):
            return VALUES[column](value)
        if column.endswith("_on") or column == "birth_date":
            return chinese.day(value)
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
                     "member_names": [m["name"] for m in item["members"]]})
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
        base["findings"] = [f["message"] for f in branch["findings"]]
        rows.append(base)
    return rows


def demonstration_rows(body: dict) -> list[dict]:
    return [{"criterion": c["label"], "criterion_met": c["met"], "check": check["label"], "met": check["met"],
             "evidence": check["evidence"]}
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


def history_row(entry: dict) -> dict:
    """One journal entry as a CSV row: what, when, who, where in its stream, its hash and data."""
    envelope = entry["envelope"]
    return {"seq": entry["seq"], "event_id": envelope["event_id"], "event_type": envelope["event_type"],
            "stream_id": envelope["stream_id"], "stream_version": envelope["stream_version"],
            "branch_id": envelope["branch_id"], "actor": entry.get("actor") or envelope["actor"]["user"],
            "occurred_at": envelope["occurred_at"], "recorded_at": envelope["recorded_at"], "hash": envelope["hash"],
            "data": shown_data(envelope["event_type"], envelope["schema_version"], envelope["data"])}


def stream_history(entries: Iterable[dict], kind: str, lang: str, name: str = "events") -> flask.Response:
    """Every entry, written as it is read: JSON Lines (the envelopes exactly as journalled) or CSV rows."""
    if kind == "jsonl":
        body: Iterator[str] = (entry["raw"] + "\n" for entry in entries)
        return flask.Response(flask.stream_with_context(body), mimetype="application/x-ndjson",
                              headers=attachment(f"{name}.jsonl"))
    return flask.Response(flask.stream_with_context(_csv_lines(entries, lang)), mimetype="text/csv",
                          headers=attachment(f"{name}.csv"))


HISTORY_COLUMNS = ("seq", "event_id", "event_type", "stream_id", "stream_version", "branch_id", "actor",
                   "occurred_at", "recorded_at", "hash", "data")


def _csv_lines(entries: Iterable[dict], lang: str) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header(c, lang) for c in HISTORY_COLUMNS])
    yield BOM + out.getvalue()
    for entry in entries:
        out.seek(0)
        out.truncate()
        row = history_row(entry)
        writer.writerow([cell(c, row[c], lang) for c in HISTORY_COLUMNS])
        yield out.getvalue()
