"""Comparing a scorecard as known on a day with the scorecard known now: which figures changed, which records
they count or no longer count, which findings were raised or cleared since (pure, in memory)."""

from __future__ import annotations

from datetime import date

from contracts import activities as A
from services.audit.knowledge import differences
from tests.audit_month import BRANCH, M2, History, activity, card_from, month_of_work


def test_the_same_knowledge_shows_no_difference():
    card = card_from(month_of_work().envelopes)
    assert differences(card, card) == {"changes": [], "findings_raised_since": [], "findings_cleared_since": []}


def test_a_later_record_names_the_figures_it_changed_and_the_findings_it_raised():
    history = month_of_work()
    extra = History()
    extra.versions = dict(history.versions)
    briefing = activity("briefing", date(2026, 11, 27), ["m1"], activity_id="brief-late")
    added = extra.record("activity-brief-late", briefing, on=briefing.occurred_on)
    withdrawn = extra.record("care-c1", A.CareWithdrawn(care_id="c1", branch_id=BRANCH, member_id=M2,
                                                        kind="birthday", withdrawn_on=date(2026, 12, 2), reason="x"))
    then, now = card_from(history.envelopes), card_from([*history.envelopes, added, withdrawn])
    found = differences(then, now)
    by_figure = {c["figure"]: c for c in found["changes"]}
    assert set(by_figure) == {"briefings", "care"}
    assert by_figure["briefings"]["added"] == [added.event_id] and by_figure["briefings"]["removed"] == []
    assert (by_figure["briefings"]["then"]["done"], by_figure["briefings"]["now"]["done"]) == (0, 1)
    assert by_figure["care"]["removed"] and "events" not in by_figure["care"]["then"]
    assert [f["code"] for f in found["findings_raised_since"]] == ["birthday_care_missed"]
    assert found["findings_cleared_since"] == []


def test_a_bare_count_that_changed_is_a_changed_figure_too():
    then = {"figures": {"pledges": {"count": 1}}, "findings": []}
    now = {"figures": {"pledges": {"count": 2}}, "findings": []}
    (change,) = differences(then, now)["changes"]
    assert change == {"figure": "pledges.count", "then": {"value": 1}, "now": {"value": 2}, "added": [],
                      "removed": []}
