"""The audit dashboard in a real browser: login, the bureau overview, a branch with its charts, a member's
timeline, the event history and the annual report — with screenshots of each page checked for content."""

from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageStat

from tests.audit_month import BRANCH, M1, M4, TENANT


def dev_login(page, url: str, role: str = "auditor") -> None:
    page.goto(url + "/")
    assert page.url.endswith("/login")
    page.select_option("#bureau_id", TENANT)
    page.select_option("#role", role)
    page.click("#dev-login")
    page.wait_for_url(url + "/")


def shoot(page, screenshots, name: str) -> Image.Image:
    """Take a full-page screenshot, keep it, and check it is a real page rather than a blank one."""
    data = page.screenshot(full_page=True)
    (screenshots / f"{name}.png").write_bytes(data)
    image = Image.open(BytesIO(data)).convert("L")
    assert image.width >= 1200 and image.height >= 400
    assert ImageStat.Stat(image).stddev[0] > 10, f"{name} looks blank"
    return image


def test_an_unauthenticated_visitor_is_sent_to_the_login_page(page, dashboard_url):
    page.goto(dashboard_url + f"/branches/{BRANCH}")
    assert page.url.endswith("/login")
    page.fill("#token", "not-a-token")
    page.click("#token-login")
    assert "令牌无效" in page.inner_text(".error")


def test_the_bureau_overview_lists_the_branch_and_its_findings(page, dashboard_url, screenshots):
    dev_login(page, dashboard_url)
    page.goto(dashboard_url + "/?period=2026-11")
    row = page.locator(f"tr[data-branch='{BRANCH}']")
    assert "离退休干部党支部" in row.inner_text()
    assert row.locator("li[data-code='dues_review_due']").count() == 1
    shoot(page, screenshots, "overview")


def test_the_branch_page_draws_twelve_months_and_shows_scorecard_and_roster(page, dashboard_url, screenshots):
    dev_login(page, dashboard_url)
    page.goto(dashboard_url + f"/branches/{BRANCH}?period=2026-11")
    for chart in ("meetings", "coverage", "care"):
        svg = page.locator(f"#chart-{chart} svg")
        assert svg.count() == 1 and svg.bounding_box()["width"] > 300
    assert page.locator("#chart-meetings rect").count() >= 24
    assert page.locator("#roster tr").count() == 9  # a header and eight members
    assert "支委会" in page.inner_text("#scorecard")
    assert page.locator("#findings li[data-code='general_meeting_not_quorate']").count() == 1
    shoot(page, screenshots, "branch")


def test_a_members_timeline_and_the_event_history_are_reachable_by_links(page, dashboard_url, screenshots):
    dev_login(page, dashboard_url)
    page.goto(dashboard_url + f"/branches/{BRANCH}?period=2026-11")
    page.click(f"#roster a[href='/members/{M4}']")
    page.wait_for_url(dashboard_url + f"/members/{M4}")
    assert "刘桂兰" in page.inner_text("h1")
    timeline = page.inner_text("#timeline")
    assert "登记入册：离休，中共党员" in timeline and "送学上门" in timeline and "{" not in timeline
    failed = page.locator("#timeline li.delivery.failed")
    assert failed.count() == 1 and "刘桂兰" in failed.inner_text() and "发送失败" in failed.inner_text()
    shoot(page, screenshots, "member")
    page.goto(dashboard_url + "/events?event_type=activities.ActivityRecorded")
    assert page.locator("#events tr").count() == 7  # a header and six recorded activities
    shoot(page, screenshots, "events")


def test_the_annual_report_page_has_every_number_filled(page, dashboard_url, screenshots):
    dev_login(page, dashboard_url, role="bureau_admin")
    page.goto(dashboard_url + f"/branches/{BRANCH}/report?year=2026")
    assert page.inner_text("[data-figure='bureau_retirees']") == "7"
    assert page.inner_text("[data-figure='bureau_retiree_party_members']") == "6"
    assert "*" not in page.inner_text("body")
    shoot(page, screenshots, "report")


def test_signing_out_ends_the_session(page, dashboard_url):
    dev_login(page, dashboard_url)
    page.click("header button")
    page.wait_for_url(dashboard_url + "/login")
    page.goto(dashboard_url + "/")
    assert page.url.endswith("/login")


def test_the_branch_page_says_what_the_platform_told_whom_and_each_finding_leads_to_its_records(
        page, dashboard_url, screenshots):
    dev_login(page, dashboard_url)
    page.goto(dashboard_url + f"/branches/{BRANCH}?period=2026-11")
    notices = page.inner_text("#notifications")
    assert "刘桂兰已连续6个月未缴党费" in notices and "支部书记" in notices and "已送达" in notices
    assert page.locator("#notifications li.delivery.failed").count() == 1
    assert "达到" in page.inner_text("#demonstration")
    page.click("#findings li[data-code='general_meeting_not_quorate'] a.evidence")
    page.wait_for_url("**/evidence?**")
    assert page.locator("#events tr").count() == 2  # a header and the meeting
    assert "支部党员大会" in page.inner_text("#events")
    shoot(page, screenshots, "evidence")


def test_the_event_history_shows_that_a_pledge_was_signed_and_nothing_more(page, dashboard_url):
    dev_login(page, dashboard_url)
    page.goto(dashboard_url + "/events?event_type=activities.PledgeSigned")
    rows = page.inner_text("#events")
    assert "仅计数" in rows and M1 not in rows and "原始数据" not in rows
