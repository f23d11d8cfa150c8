"""What the platform told whom: each notification with the outcome of every delivery, folded from its
events in stream order (pure; ``queries`` loads the rows)."""

from __future__ import annotations

import re

from services.audit import labels


def fold(notification: dict, outcomes: list[dict]) -> dict:
    """The notification with each delivery's status: scheduled, retrying, sent or failed (and when it was read)."""
    deliveries = {d["delivery_id"]: {**d, "status": "scheduled", "attempts": 0, "error": None, "at": None}
                  for d in notification.get("deliveries") or []}
    read_at = None
    for row in sorted(outcomes, key=lambda r: (r["stream_version"] or 0, r["delivery_id"])):
        if row["outcome"] == "read":
            read_at = read_at or row["at"]
            continue
        delivery = deliveries.setdefault(row["delivery_id"], {
            "delivery_id": row["delivery_id"], "channel": row["channel"], "status": "scheduled", "attempts": 0,
            "error": None, "at": None})
        _apply(delivery, row)
    listed = [{**d, "channel_label": labels.CHANNELS.get(d.get("channel"), d.get("channel")),
               "status_label": labels.DELIVERY_STATUS[d["status"]], "error_label": error_label(d["error"]),
               "at": _iso(d["at"])} for d in deliveries.values()]
    counts = {status: sum(1 for d in listed if d["status"] == status) for status in labels.DELIVERY_STATUS}
    return {"notification_id": notification["notification_id"], "branch_id": notification.get("branch_id"),
            "rule": notification.get("rule"), "title": notification.get("title"), "period": notification.get("period"),
            "due_on": _iso(notification.get("due_on")), "scheduled_at": _iso(notification.get("scheduled_at")),
            "members": list(notification.get("members") or []), "deliveries": listed, "read_at": _iso(read_at),
            **counts, "event_id": str(notification["event_id"]) if notification.get("event_id") else None}


def _apply(delivery: dict, row: dict) -> None:
    outcome = row["outcome"]
    if outcome == "sent":
        delivery.update(status="sent", at=row["at"], attempts=row["attempt"] or delivery["attempts"], error=None)
    elif outcome == "attempt_failed" and delivery["status"] != "sent":
        delivery.update(status="retrying", attempts=row["attempt"] or delivery["attempts"], error=row["error"])
    elif outcome == "failed":
        delivery.update(status="failed", at=row["at"], attempts=row["attempt"] or delivery["attempts"],
                        error=row["error"])
    elif outcome == "retried" and delivery["status"] == "failed":
        delivery.update(status="retrying")


# What went wrong with a delivery, in words, by how the sender described it (the recorded text stays in ``error``).
ERRORS = (("recipient refused", "收件地址被邮件服务器拒收"), ("SMTP unavailable", "邮件服务器暂时无法连接"),
          ("SMTP", "邮件服务器拒绝了这封邮件"), ("the webhook was removed", "推送接口已被移除"),
          ("receiver unreachable", "接收方无法连接"), ("no sender", "没有这种发送方式"))


def error_label(error: str | None) -> str | None:
    if not error:
        return None
    if re.search(r"[\u4e00-\u9fff]", error):
        return error
    return next((words for prefix, words in ERRORS if error.startswith(prefix)), "发送出错")


def summary(notices: list[dict]) -> dict:
    """How many notifications, and how many of their deliveries were sent, failed or are still in hand."""
    return {"count": len(notices), **{status: sum(n[status] for n in notices) for status in labels.DELIVERY_STATUS}}


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
