"""Every service answers in Chinese, written as UTF-8 text rather than \\u escapes, with the machine's codes kept:
refusals, not-found answers and records alike."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.branch_fixtures import seed_branch

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def seeded(platform):
    return seed_branch(platform)


def readable(raw: bytes) -> str:
    """The body as text, failing if Chinese was sent escaped."""
    text = raw.decode("utf-8")
    assert "\\u" not in text, text[:200]
    assert CHINESE.search(text), text[:200]
    return text


def test_records_are_sent_as_utf8_text_by_every_service(platform, seeded):
    admin = seeded.bureau["admin"]
    answers = {
        "members": platform.get("members", f"/api/v1/branches/{seeded.branch_id}", admin),
        "activities": platform.get("activities", f"/api/v1/branches/{seeded.branch_id}/roster", admin),
        "notify": platform.get("notify", f"/api/v1/notifications/{uuid.uuid4()}", admin),
        "audit": platform.get("audit", f"/api/v1/branches/{seeded.branch_id}/scorecard", seeded.bureau["auditor"]),
    }
    for service, answer in answers.items():
        assert answer.headers["Content-Type"].startswith("application/json"), service
        readable(answer.content)
    assert "离退休干部党支部" in answers["members"].text and "赵国庆" in answers["activities"].text


def test_refusals_say_why_in_chinese_and_keep_their_codes(platform, seeded):
    admin = seeded.bureau["admin"]
    future = platform.post("activities", "/api/v1/activities", {
        "branch_id": seeded.branch_id, "kind": "study", "title": "学习", "occurred_on": "2999-01-01",
        "attendees": []}, admin)
    error = future.json()["error"]
    assert future.status_code == 422 and error["code"] == "date_in_future"
    assert CHINESE.search(error["message"]) and CHINESE.search(error["fields"]["occurred_on"][0])
    invalid = platform.post("members", "/api/v1/members", {"name": "", "colour": "红"}, admin)
    error = invalid.json()["error"]
    assert invalid.status_code == 400 and error["code"] == "invalid_request" and CHINESE.search(error["message"])
    assert error["fields"]["colour"] == ["不认识这个字段"] and CHINESE.search(error["fields"]["birth_date"][0])
    missing = platform.get("members", f"/api/v1/members/{uuid.uuid4()}", admin)
    assert missing.status_code == 404 and CHINESE.search(missing.json()["error"]["message"])
    nowhere = platform.get("audit", "/api/v1/no-such-view", seeded.bureau["auditor"])
    assert nowhere.status_code == 404 and nowhere.json()["error"]["message"] == "没有这个地址"
    unsigned = platform.http.get(platform.url("activities", "/api/v1/activities"), timeout=10)
    assert unsigned.status_code == 401 and CHINESE.search(unsigned.json()["error"]["message"])
