"""The secretaries' pages over the running platform: signing in, this month's list, and every form going
through the services' public APIs — the same rules and events as any client, a refusal shown beside its
field in Chinese, a double click recorded once, another branch a 404."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from services.web.app import create_app
from services.web.settings import WebSettings
from tests.branch_fixtures import seed_branch, secretary_token
from tests.support import csrf_token_of, wait_for


@pytest.fixture(scope="module")
def seeded(platform):
    return seed_branch(platform)


@pytest.fixture(scope="module")
def web_settings(platform) -> WebSettings:
    return WebSettings(tokens=platform.settings, api_urls=dict(platform.urls), dashboard_url=platform.urls["audit"],
                       dev_login=False)


@pytest.fixture
def client(web_settings):
    app = create_app(web_settings)
    app.config["TESTING"] = True
    return app.test_client()


def sign_in(client, token: str):
    csrf = csrf_token_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"mode": "token", "token": token, "csrf_token": csrf})


def form_of(client, path: str) -> tuple[str, dict]:
    """A form page, and the hidden fields it carries (CSRF token, Idempotency-Key)."""
    page = client.get(path).get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))
    return page, hidden


def activities_of(platform, seeded, **params) -> list[dict]:
    return platform.get("activities", "/api/v1/activities", seeded.bureau["admin"], branch_id=seeded.branch_id,
                        **params).json()


def test_a_secretary_signs_in_lands_on_their_branch_and_another_branch_is_a_404(platform, seeded, client):
    landed = sign_in(client, secretary_token(platform, seeded))
    assert landed.status_code == 302 and landed.headers["Location"] == f"/branches/{seeded.branch_id}"
    page = client.get(landed.headers["Location"]).get_data(as_text=True)
    assert "本月待办" in page and seeded.branch_name in page and "赵国庆" in page
    other = seed_branch(platform, name="另一个局的支部")
    refused = client.get(f"/branches/{other.branch_id}")
    assert refused.status_code == 404 and "没有这个支部" in refused.get_data(as_text=True)


def test_this_months_list_links_each_item_to_the_form_that_answers_it(platform, seeded, client):
    sign_in(client, secretary_token(platform, seeded))
    page = client.get(f"/branches/{seeded.branch_id}").get_data(as_text=True)
    for section in ("meetings", "coverage", "care", "dues", "reminders"):
        assert f'id="{section}"' in page
    assert "主题党日：本月应开1次" in page and f"/branches/{seeded.branch_id}/meetings/new?kind=theme_day" in page
    assert "王德明" in page and "建议送学上门" in page and "channel=home_study" in page


def test_a_meeting_is_recorded_with_attendees_from_the_roster_once_however_often_it_is_sent(platform, seeded, client):
    sign_in(client, secretary_token(platform, seeded))
    day = (date.today() - timedelta(days=1)).isoformat()
    page, hidden = form_of(client, f"/branches/{seeded.branch_id}/meetings/new?kind=committee_meeting")
    assert all(f'value="{member_id}"' in page for member_id in seeded.members.values())
    form = {**hidden, "status": "recorded", "kind": "theme_day", "occurred_on": day, "title": "参观红色教育基地",
            "place": "盐池红色教育基地", "topics": "不忘初心、永远跟党走",
            "attendee": [seeded.members["赵国庆"], seeded.members["陈秀英"]],
            f"absence-{seeded.members['李淑芬']}": "住院治疗", "guests": "张三，市委老干部局"}
    first = client.post(f"/branches/{seeded.branch_id}/meetings/new", data=form)
    again = client.post(f"/branches/{seeded.branch_id}/meetings/new", data=form)  # a double click
    assert first.status_code == again.status_code == 302 and "done=meeting" in first.headers["Location"]
    recorded = [a for a in activities_of(platform, seeded, kind="theme_day") if a["title"] == "参观红色教育基地"]
    assert len(recorded) == 1
    assert sorted(recorded[0]["attendees"]) == sorted([seeded.members["赵国庆"], seeded.members["陈秀英"]])
    assert recorded[0]["absentees"] == [{"member_id": seeded.members["李淑芬"], "reason": "住院治疗"}]
    assert recorded[0]["guests"][0]["name"] == "张三" and recorded[0]["topics"] == ["不忘初心", "永远跟党走"]


def test_a_refused_meeting_shows_the_services_reason_in_chinese_beside_the_field_and_saves_nothing(
        platform, seeded, client):
    sign_in(client, secretary_token(platform, seeded))
    _, hidden = form_of(client, f"/branches/{seeded.branch_id}/meetings/new")
    future = (date.today() + timedelta(days=20)).isoformat()
    refused = client.post(f"/branches/{seeded.branch_id}/meetings/new", data={
        **hidden, "status": "recorded", "kind": "committee_meeting", "occurred_on": future, "title": "还没开的会",
        "attendee": [seeded.members["赵国庆"]]})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    beside = re.search(r'<span class="field-error" data-field="occurred_on">([^<]+)</span>', page)
    assert beside and re.search(r"[\u4e00-\u9fff]", beside.group(1)) and not re.search(r"[A-Za-z]{4}", beside.group(1))
    assert 'value="还没开的会"' in page  # what was typed is kept
    assert not [a for a in activities_of(platform, seeded) if a["title"] == "还没开的会"]
    blank = client.post(f"/branches/{seeded.branch_id}/meetings/new", data={**hidden, "kind": "study",
                        "occurred_on": date.today().isoformat(), "title": ""})
    beside = re.search(r'<span class="field-error" data-field="title">([^<]+)</span>', blank.get_data(as_text=True))
    assert blank.status_code == 400 and beside and re.search(r"[\u4e00-\u9fff]", beside.group(1))


def test_a_planned_meeting_is_recorded_later_and_corrected_with_a_reason(platform, seeded, client):
    sign_in(client, secretary_token(platform, seeded))
    _, hidden = form_of(client, f"/branches/{seeded.branch_id}/meetings/new?status=planned")
    planned_on = (date.today() + timedelta(days=2)).isoformat()
    client.post(f"/branches/{seeded.branch_id}/meetings/new", data={
        **hidden, "status": "planned", "kind": "study", "occurred_on": planned_on, "title": "集体学习：党章"})
    planned = [a for a in activities_of(platform, seeded, status="planned") if a["title"] == "集体学习：党章"]
    assert len(planned) == 1
    listed = client.get(f"/branches/{seeded.branch_id}").get_data(as_text=True)
    record_path = f"/branches/{seeded.branch_id}/meetings/{planned[0]['id']}/record"
    assert record_path in listed and "记录召开情况" in listed
    page, hidden = form_of(client, record_path)
    assert 'value="集体学习：党章"' in page
    today = date.today().isoformat()
    held = client.post(record_path, data={**hidden, "occurred_on": today, "title": "集体学习：党章",
                                          "attendee": [seeded.members["赵国庆"], seeded.members["孙志刚"]],
                                          "hours": "2"})
    assert held.status_code == 302 and "done=record" in held.headers["Location"]
    activity = next(a for a in activities_of(platform, seeded) if a["title"] == "集体学习：党章")
    assert activity["status"] == "recorded" and len(activity["attendees"]) == 2
    correct_path = f"/branches/{seeded.branch_id}/activities/{activity['id']}/correct"
    page, hidden = form_of(client, correct_path)
    assert f'value="{seeded.members["孙志刚"]}" checked' in page
    nothing = client.post(correct_path, data={**hidden, "reason": "", "kind": "study", "occurred_on": today,
                                              "title": "集体学习：党章", "attendee": activity["attendees"],
                                              "hours": activity["hours"]})
    assert nothing.status_code in (400, 422)
    fixed = client.post(correct_path, data={**hidden, "reason": "漏记陈秀英", "kind": "study", "occurred_on": today,
                                            "title": "集体学习：党章", "hours": activity["hours"],
                                            "attendee": [*activity["attendees"], seeded.members["陈秀英"]]})
    assert fixed.status_code == 302, fixed.get_data(as_text=True)
    after = platform.get("activities", f"/api/v1/activities/{activity['id']}", seeded.bureau["admin"]).json()
    assert after["corrections"] == 1 and seeded.members["陈秀英"] in after["attendees"]


def test_outreach_care_and_dues_are_recorded_through_their_forms(platform, seeded, client):
    sign_in(client, secretary_token(platform, seeded))
    today = date.today().isoformat()
    wang = seeded.members["王德明"]
    _, hidden = form_of(client, f"/branches/{seeded.branch_id}/outreach/new?member={wang}&channel=home_study")
    sent = client.post(f"/branches/{seeded.branch_id}/outreach/new", data={
        **hidden, "member_id": wang, "channel": "home_study", "occurred_on": today, "topic": "送学上门：党章",
        "hours": "1.5"})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    reached = platform.get("activities", "/api/v1/outreach", seeded.bureau["admin"], member_id=wang).json()
    assert [o["channel"] for o in reached] == ["home_study"]
    _, hidden = form_of(client, f"/branches/{seeded.branch_id}/care/new?member={wang}&kind=health_check")
    cared = client.post(f"/branches/{seeded.branch_id}/care/new", data={
        **hidden, "member_id": wang, "kind": "health_check", "occurred_on": today, "note": "年度体检"})
    assert cared.status_code == 302, cared.get_data(as_text=True)
    wait_for(lambda: _dues_assessed(platform, seeded), timeout=10, message="dues assessed")
    month = date.today().strftime("%Y-%m")
    page, hidden = form_of(client, f"/branches/{seeded.branch_id}/dues/new?member={wang}&months={month}")
    assert f'value="{month}" checked' in page
    paid = client.post(f"/branches/{seeded.branch_id}/dues/new", data={
        **hidden, "member_id": wang, "months": [month], "paid_on": today, "payer": "relative", "payer_name": "王小红"})
    assert paid.status_code == 302, paid.get_data(as_text=True)
    ledger = platform.get("members", f"/api/v1/members/{wang}/dues", seeded.bureau["admin"]).json()
    assert next(m for m in ledger["months"] if m["month"] == month)["status"] == "paid"


def _dues_assessed(platform, seeded) -> bool:
    answer = platform.post("members", f"/api/v1/branches/{seeded.branch_id}/dues/assessments",
                           {"year": date.today().year}, seeded.bureau["admin"])
    return answer.status_code == 201


def test_an_auditor_is_sent_to_the_dashboard_and_a_bad_token_is_refused_in_chinese(platform, seeded, client):
    auditor = sign_in(client, seeded.bureau["auditor"])
    page = auditor.get_data(as_text=True)
    assert auditor.status_code == 403 and "审计员请使用审计看板" in page and platform.urls["audit"] in page
    forged = sign_in(client, "not-a-token")
    assert forged.status_code == 401 and "令牌无效" in forged.get_data(as_text=True)
    assert client.get(f"/branches/{seeded.branch_id}").status_code == 302  # still signed out


def test_signing_out_ends_the_session(platform, seeded, client):
    sign_in(client, secretary_token(platform, seeded))
    page = client.get(f"/branches/{seeded.branch_id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token_of(page)})
    assert client.get(f"/branches/{seeded.branch_id}").headers["Location"] == "/login"


def test_an_unknown_address_and_a_wrong_method_answer_chinese_pages(client):
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "找不到这个页面" in missing.get_data(as_text=True)
    wrong = client.put("/login")
    assert wrong.status_code == 405 and "无法这样打开" in wrong.get_data(as_text=True)
    assert client.get("/branches").headers["Location"] == "/login"
