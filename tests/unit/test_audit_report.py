"""The annual report reads like the seed: the bureau's counts, the centre's move, the 六有, no stray spaces."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from contracts import activities as A
from contracts import members as M
from services.audit import facts as facts_module
from services.audit.projections import facts_of
from services.audit.report import build_context, render_html
from services.audit.store import MemoryStore, put_all
from tests.audit_month import BRANCH, OTHER, TENANT, TODAY, History, month_of_work


def _context(envelopes, bureau: str = "市自然资源局") -> dict:
    store = MemoryStore()
    for envelope in envelopes:
        put_all(store, facts_of(envelope))
    loaded = facts_module.load(store, TENANT, date(2025, 11, 15), date(2026, 12, 31), BRANCH)
    return build_context(loaded, BRANCH, 2026, TODAY, bureau)


def _second_branch_and_a_move(history: History) -> list:
    h = History()
    h.versions = dict(history.versions)
    h.record("branch-other", M.BranchEstablished(branch_id=OTHER, name="第二支部", established_on=date(2020, 1, 1)),
             branch_id=OTHER)
    h.record("member-x", M.MemberRegistered(
        member_id="x1", branch_id=OTHER, name="冯玉兰", gender="female", birth_date=date(1952, 1, 23),
        party_member=True, party_join_date=date(1976, 9, 9), retirement_kind="retired", pension_base=Decimal("4600"),
        health="good", mobility="mobile", phone=None, address=None, joined_on=date(2020, 1, 1)), branch_id=OTHER)
    moved = A.CentreMoved(branch_id=BRANCH, from_place="局三楼活动室", to_place="局三楼党员活动中心",
                          moved_on=date(2026, 3, 15))
    h.record(f"centre-{BRANCH}", moved, on=date(2026, 3, 15))
    return [*history.envelopes, *h.envelopes]


def test_the_report_counts_the_whole_bureau_where_the_seed_says_我局现有():
    context = _context(_second_branch_and_a_move(month_of_work()))
    numbers = context["numbers"]
    assert (numbers["bureau_retirees"], numbers["bureau_retiree_party_members"]) == (8, 7)
    assert (numbers["retirees"], numbers["party_members"], numbers["retiree_party_members"]) == (7, 7, 6)
    html = render_html(context)
    assert '我局现有离退休干部<span class="num" data-figure="bureau_retirees">8</span>名' in html
    assert '本支部有党员<span class="num" data-figure="party_members">7</span>名' in html and "在职党员1名" in html


def test_the_centres_move_and_its_standard_are_told_as_the_seed_tells_them():
    context = _context(_second_branch_and_a_move(month_of_work()))
    html = render_html(context)
    assert "将离退休干部党支部活动中心从局三楼活动室搬到了局三楼党员活动中心" in html
    assert context["centre_standard"] == "六有"


def test_the_title_names_the_bureau_once_and_sentences_run_on_without_spaces():
    context = _context(month_of_work().envelopes, bureau="离退休干部")
    assert context["title"] == "离退休干部党支部2026年度工作报告"
    html = render_html(context)
    paragraphs = re.findall(r"<p>(.*?)</p>", html, flags=re.S)
    assert paragraphs and not [p for p in paragraphs if re.search(r"[。，）]\s+\S", p)]
    assert "*" not in html.split("<body>")[1]


def test_hours_are_written_as_people_write_them():
    numbers = _context(month_of_work().envelopes)["numbers"]
    assert numbers["study_hours"] == "3"


def test_nothing_is_reported_as_done_zero_times_and_no_name_is_said_twice():
    html = render_html(_context(month_of_work().envelopes))
    assert "走访谈心<span class=\"num\">0" not in html and "电话沟通<span class=\"num\">0" not in html
    assert "采取送学上门<span class=\"num\">1</span>人次等形式" in html
    body, annex = html.replace("\n", "").split('<section class="annex"')
    assert "刘桂兰" not in body and "刘桂兰欠缴党费6个月（2026年6月起）" in annex
    assert "社区活动<span class=\"num\" data-figure=\"community\">0" not in html


def test_the_report_keeps_the_seeds_framing_with_the_bureaus_own_leadership_line():
    context = _context(month_of_work().envelopes)
    context["wording"] = {"leadership": "在市委的正确领导下，以“一完善六强化”为抓手", "superior": "市委",
                          "key_year": "市自然资源管理体制改革筑基垒台、立柱架梁"}
    html = render_html(context)
    assert "习近平总书记指出，老干部是党执政兴国的重要资源" in html
    assert "工作在市委的正确领导下，以“一完善六强化”为抓手，以落实离退休干部“两项待遇”为着眼点" in html
    assert "2027年是市自然资源管理体制改革筑基垒台、立柱架梁的关键之年" in html and "在市委的坚强领导下" in html
    for heading in ("一、抓班子强阵地", "二、突出主题教育", "三、创新活动方式", "四、发挥组织功能"):
        assert heading in html
    assert "组织党员进行学习教育是开展党支部工作的主要内容之一" in html


def test_next_years_plans_come_in_three_parts_from_the_findings_and_name_no_one():
    context = _context(month_of_work().envelopes)
    plans = context["plans"]
    assert [p[:2] for p in plans] == ["一是", "二是", "三是"]
    assert any("按月足额收缴党费" in p for p in plans)
    names = {m["name"] for f in context["findings"] for m in f["members"]}
    assert names and not [n for n in names if any(n in p for p in plans)]


def test_a_running_year_is_worded_as_such_with_chinese_dates_and_whole_percentages():
    context = _context(month_of_work().envelopes)
    html = render_html(context)
    assert not context["complete"] and "今年以来" in html and "全年召开" not in html
    assert f"统计截至{TODAY.year}年{TODAY.month}月{TODAY.day}日" in html and context["as_of"] not in html
    assert not re.search(r"\d+\.\d+%", html)


def test_a_year_without_records_says_so_instead_of_judging_it():
    store = MemoryStore()
    for envelope in month_of_work().envelopes:
        put_all(store, facts_of(envelope))
    loaded = facts_module.load(store, TENANT, date(2019, 11, 15), date(2020, 12, 31), BRANCH)
    context = build_context(loaded, BRANCH, 2020, TODAY, "市自然资源局")
    html = render_html(context)
    assert context["records"] == 0 and "本期无记录" in html and "存在" not in html and "一是" not in html


def test_places_visited_on_theme_days_never_include_the_branchs_own_centre():
    from services.audit.report import _theme_days
    def theme_day(place: str, title: str, month: int) -> dict:
        return {"kind": "theme_day", "place": place, "title": title, "on_date": date(2026, month, 8)}
    activities = [theme_day("局三楼党员活动中心", "学习党章", 3), theme_day("余桥烈士陵园", "“不忘初心”主题党日", 4),
                  theme_day("余桥烈士陵园", "再访", 5)]
    visited = _theme_days(activities, {"局三楼党员活动中心"})
    assert visited == [{"place": "余桥烈士陵园", "title": "“不忘初心”主题党日活动"}]
