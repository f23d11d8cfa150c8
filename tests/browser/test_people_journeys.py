"""Two people's journeys in Debian's chromium over the running platform, with a screenshot of each page kept
under .run/screenshots: a branch secretary on a phone and at a desk (sign in → this month's list → a meeting
recorded with attendees from the roster → seen in the scorecard → a refused form with the reason beside the
field) and an auditor (the bureau list → a branch → the evidence of a figure → the annual report → its PDF →
a CSV export). Every page is checked for English left in its text and for links that lead nowhere."""

from __future__ import annotations

import re
import socket
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from werkzeug.serving import make_server

from contracts.rulebook.calendar import local_date
from services.audit.app import create_app as create_dashboard
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from services.web.app import create_app as create_pages
from services.web.settings import WebSettings
from shared.config import Settings
from tests.branch_fixtures import seed_branch
from tests.support import Platform, wait_for

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ALLOWED_LATIN = {"PDF", "CSV", "JSON", "Lines"}
"""Latin words a Chinese page may carry: the names of file formats."""


def english_left(text: str) -> list[str]:
    """Words of English in a page's text; identifiers (with digits or hyphens, like a login or a code) are not."""
    tokens = re.findall(r"[A-Za-z][A-Za-z0-9_-]*", text)
    return [t for t in tokens if t.isalpha() and len(t) >= 2 and t not in ALLOWED_LATIN]


def words_on(page) -> str:
    """What the page says to a reader: its text, without commands shown as code (``<code>``)."""
    return page.evaluate("""() => { const body = document.body.cloneNode(true);
        body.querySelectorAll('code, script, style').forEach(e => e.remove());
        document.documentElement.appendChild(body); const text = body.innerText; body.remove(); return text; }""")


def check_page(page, shots, name: str) -> None:
    """No English in what the page says, no link on it that leads nowhere; keep a screenshot of it."""
    left = english_left(words_on(page))
    assert not left, f"{name}: {left[:10]}"
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    for href in list(dict.fromkeys(h for h in hrefs if h.startswith("http")))[:60]:
        answer = page.context.request.get(href, max_redirects=5)
        assert answer.status < 400, f"{name}: {href} answers {answer.status}"
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def platform(stack_env) -> Platform:
    return Platform(stack_env)


@pytest.fixture(scope="module")
def sites(stack_env, platform):
    """The secretaries' pages and the audit dashboard on local ports, over the running stack, each pointing at
    the other, with the development sign-in on (the test runs on this machine)."""
    ports = {"web": free_port(), "dashboard": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    pages = create_pages(WebSettings(tokens=platform.settings, api_urls=dict(platform.urls),
                                     dashboard_url=urls["dashboard"], dev_login=True))
    dashboard = create_dashboard(bootstrap(Settings.from_env("audit", stack_env),
                                           AuditSettings(dev_login=True, web_url=urls["web"])))
    servers = [make_server("127.0.0.1", ports[name], app, threaded=True)
               for name, app in (("web", pages), ("dashboard", dashboard))]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    yield urls
    for server in servers:
        server.shutdown()
    dashboard.extensions["branchwork"].pool.close()


def secretary_signs_in(page, url: str, seeded) -> None:
    page.goto(url + "/login")
    page.select_option("#bureau_id", seeded.bureau["id"])
    page.click("#choose-bureau")
    page.check("input[name=role][value=secretary]")
    page.select_option("#branch_id", seeded.branch_id)
    page.click("#dev-login")
    page.wait_for_url(f"**/branches/{seeded.branch_id}")


def names_stay_on_one_line(page, selector: str) -> None:
    """A name is never broken one character per line: its box is about one line high."""
    for box in page.eval_on_selector_all(selector, """els => els.map(e => {
        const r = e.getBoundingClientRect(), s = getComputedStyle(e);
        return {h: r.height, line: parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.6, text: e.innerText};
    })"""):
        if box["text"].strip():
            assert box["h"] <= box["line"] * 1.5, f"{box['text']} wraps ({box['h']:.0f}px high)"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_secretary_records_a_meeting_from_this_months_list_and_sees_it_in_the_scorecard(
        browser, sites, platform, screenshots, viewport):
    seeded = seed_branch(platform)
    where = "phone" if viewport is PHONE else "desktop"
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    secretary_signs_in(page, sites["web"], seeded)
    assert "本月待办" in page.inner_text("h1") and "赵国庆" in page.inner_text("header")
    assert page.locator("ul.todo[data-section=meetings] li", has_text="主题党日").count() == 1
    font = page.eval_on_selector("body", "b => parseFloat(getComputedStyle(b).fontSize)")
    assert font >= 17, "large enough type for older readers"
    assert page.locator("ul.todo strong.name").count() >= 1
    names_stay_on_one_line(page, "ul.todo strong.name")
    check_page(page, screenshots, f"secretary-{where}-1-month")

    page.locator("ul.todo[data-section=meetings] li", has_text="主题党日").locator("a.act").click()
    page.wait_for_url(re.compile(r"/meetings/new\?kind=theme_day$"))
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    page.fill("#occurred_on", yesterday)
    page.click("#show-roster")  # the roster of that day
    page.fill("#title", "参观红色教育基地")
    page.fill("#place", "盐池红色教育基地")
    roster = page.locator("ul.roster li")
    assert roster.count() == 5
    names_stay_on_one_line(page, "ul.roster .name")
    if viewport is PHONE:
        width = page.eval_on_selector("#title", "e => e.getBoundingClientRect().width")
        assert width >= PHONE["width"] * 0.75, "forms take the phone's whole width, one column"
    for name in ("赵国庆", "陈秀英", "孙志刚"):
        roster.filter(has_text=name).locator("input[type=checkbox]").check()
    roster.filter(has_text="李淑芬").locator("input.reason").fill("住院治疗")
    check_page(page, screenshots, f"secretary-{where}-2-meeting-form")
    page.click("#save")
    page.wait_for_url(re.compile(r"done=meeting$"))
    assert "会议已记录" in page.inner_text("#done")
    theme_day = page.locator("ul.todo[data-section=meetings] li", has_text="主题党日")
    wait_for(lambda: page.reload() or theme_day.count() == 0, timeout=20, interval=0.5,
             message="the list no longer asks for the theme day (the views follow within a second)")

    def shown_in_the_scorecard() -> bool:
        page.goto(f"{sites['web']}/branches/{seeded.branch_id}/scorecard?period={yesterday[:7]}")
        return page.locator("tr[data-figure='meetings.theme_day'] td[data-label=已做]").inner_text() == "1次"
    wait_for(shown_in_the_scorecard, timeout=20, interval=0.5, message="the scorecard counts the theme day")
    check_page(page, screenshots, f"secretary-{where}-3-scorecard")

    page.goto(f"{sites['web']}/branches/{seeded.branch_id}/meetings/new")
    page.fill("#occurred_on", (date.today() + timedelta(days=10)).isoformat())
    page.fill("#title", "还没开的会")
    page.locator("ul.roster input[type=checkbox]").first.check()
    page.click("#save")
    beside = page.locator(".row.has-error .field-error[data-field=occurred_on]")
    assert beside.count() == 1 and re.search(r"[\u4e00-\u9fff]", beside.inner_text())
    assert page.input_value("#title") == "还没开的会"
    check_page(page, screenshots, f"secretary-{where}-4-refused")
    page.goto(f"{sites['web']}/branches/{seed_branch(platform, '别的支部').branch_id}")
    assert "没有这个支部" in page.inner_text("#problem")
    context.close()


def test_an_auditor_goes_from_the_bureau_to_a_branch_its_evidence_report_pdf_and_csv(
        browser, sites, platform, screenshots):
    seeded = seed_branch(platform)
    study = {"branch_id": seeded.branch_id, "kind": "study", "title": "集体学习：党章",
             # the bureau's today: the branch page opens on the bureau's month, which the machine's date may not be in
             "occurred_on": local_date(datetime.now(UTC)).isoformat(), "hours": "2",
             "attendees": list(seeded.members.values())}
    assert platform.post("activities", "/api/v1/activities", study, seeded.bureau["admin"]).status_code == 201
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    wait_for(lambda: page.goto(sites["dashboard"] + "/login")
             and page.locator(f"#bureau_id option[value='{seeded.bureau['id']}']").count() == 1,
             timeout=20, interval=0.5, message="the dashboard knows the bureau")
    check_page(page, screenshots, "auditor-1-login")
    page.select_option("#bureau_id", seeded.bureau["id"])
    page.select_option("#role", "auditor")
    page.click("#dev-login")
    page.wait_for_url(sites["dashboard"] + "/")
    wait_for(lambda: page.reload() or page.locator(f"tr[data-branch='{seeded.branch_id}']").count() == 1,
             timeout=20, interval=0.5, message="the bureau lists the branch")
    check_page(page, screenshots, "auditor-2-bureau")

    page.click(f"tr[data-branch='{seeded.branch_id}'] a")
    page.wait_for_url(re.compile(f"/branches/{seeded.branch_id}\\?period="))
    for chart in page.eval_on_selector_all("svg.chart", """svgs => svgs.map(s =>
        s.getBoundingClientRect().width / s.viewBox.baseVal.width * parseFloat(s.dataset.font))"""):
        assert chart >= 12, f"chart labels drawn at {chart:.1f}px"
    check_page(page, screenshots, "auditor-3-branch")

    page.click("tr[data-figure=coverage] a.evidence")
    page.wait_for_url(re.compile(r"/evidence\?"))
    assert page.inner_text("#evidence-title") == "教育覆盖" and page.locator("#events tr").count() >= 2
    check_page(page, screenshots, "auditor-4-evidence")

    page.click("#back")
    page.click("#report-link")
    page.wait_for_url(re.compile(r"/report\?year=\d+$"))
    assert "党建工作审计" in page.inner_text("header") and page.locator("#back").count() == 1
    assert "习近平总书记指出" in page.inner_text(".annual-report")
    check_page(page, screenshots, "auditor-5-report")

    pdf = page.context.request.get(sites["dashboard"] + page.locator("#pdf").get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    assert "filename*=UTF-8''" in pdf.headers["content-disposition"]
    (screenshots / "auditor-6-report.pdf").write_bytes(pdf.body())

    page.click("#back")
    with page.expect_download() as download:
        page.click("#export-scorecard")
    text = download.value.path().read_text(encoding="utf-8")
    assert text.startswith("\ufeff支部,期间,项目") and "教育覆盖" in text
    assert download.value.suggested_filename == f"{seeded.branch_name}-{local_date(datetime.now(UTC)).year}.csv"
    context.close()
