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
from tests.unit.test_audit_scorecard import BRANCH, OTHER, TENANT, TODAY, History, month_of_work


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
    assert "将支部活动中心从局三楼活动室搬到了局三楼党员活动中心" in html
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
    assert "刘桂兰欠缴党费6个月（2026-06起）</p>" in html.replace("\n", "")
    assert "社区活动<span class=\"num\" data-figure=\"community\">0" not in html
