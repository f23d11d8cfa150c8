"""Demonstration-site assessment (党建示范点): each of the bureau's criteria judged from a year's scorecard,
with the figures and event ids that support the judgement. Met or not met — never a score."""

from __future__ import annotations

LABELS = {"organisation": "组织设置好", "committee": "班子建设好", "membership": "党员管理好",
          "study": "学习教育好", "role": "作用发挥好", "rules": "制度落实好"}

# criterion → [(check, label, findings that fail it, figure path whose events are the evidence)]
CHECKS = {
    "organisation": [("branch_size", "正式党员不少于3名，7名以上设支委会", ("branch_too_small", "committee_required"),
                      "members"),
                     ("term_current", "任期内，按期换届", ("no_committee_term", "term_expired"), "committee")],
    # without a recorded term there is no secretary on record, nor an allowance to have paid
    "committee": [("secretary_in_post", "书记在岗，职位无空缺",
                   ("secretary_missing", "post_vacant", "no_committee_term"), "committee"),
                  ("committee_meetings", "按月召开支委会", ("committee_meeting_short",), "meetings.committee_meeting"),
                  ("allowance", "落实书记工作补贴",
                   ("allowance_unpaid", "allowance_below_standard", "no_committee_term"), "committee.allowance")],
    "membership": [("dues", "党费按月足额收缴", ("dues_arrears", "dues_not_assessed", "dues_review_due"), "dues"),
                   ("transfers", "组织关系转接及时", ("transfer_letter_overdue", "return_slip_overdue"), "transfers")],
    "study": [("coverage", "教育全覆盖", ("coverage_incomplete",), "coverage"),
              ("study_hours", "学习学时达标", ("study_hours_short",), "study_hours"),
              ("lectures", "按规定讲党课", ("party_lecture_short",), "meetings.party_lecture"),
              ("theme_days", "每月开展主题党日", ("theme_day_short",), "meetings.theme_day")],
    "role": [("talks", "老干部宣讲、社区服务等发挥作用", (), "talks")],
    "rules": [("three_meetings", "三会一课按规定开展", ("general_meeting_short", "group_meeting_short",
                                                    "general_meeting_not_quorate"), "meetings.general_meeting"),
              ("life_meeting", "组织生活会、民主评议按年开展", ("life_meeting_short", "appraisal_short"),
               "meetings.life_meeting"),
              ("briefings", "按期通报情况", ("briefing_short",), "briefings"),
              ("centre", "阵地达到标准", ("centre_missing", "centre_checklist_incomplete"), "centre")],
}


def assess(card: dict) -> dict:
    criteria = card["rules"].get("demonstration_criteria") or list(CHECKS)
    found = {}
    for item in card["findings"]:
        found.setdefault(item["code"], []).append(item)
    results = [_criterion(name, card, found) for name in criteria]
    return {"branch": card["branch"], "period": card["period"], "criteria": results,
            "met": all(r["met"] for r in results if r["met"] is not None)}


def _criterion(name: str, card: dict, found: dict) -> dict:
    if name not in CHECKS:
        return {"criterion": name, "label": name, "met": None, "checks": [],
                "note": "this criterion has no check in the platform yet: judged by the bureau"}
    checks = [_check(check, card, found) for check in CHECKS[name]]
    return {"criterion": name, "label": LABELS.get(name, name), "met": all(c["met"] for c in checks), "checks": checks}


def _check(check: tuple, card: dict, found: dict) -> dict:
    code, label, failing, path = check
    figure = _figure(card["figures"], path)
    problems = [f for code_ in failing for f in found.get(code_, [])]
    met = not problems
    if code == "talks":
        work = card["figures"]
        met = bool(work["talks"]["count"] or work["teams"]["count"] or work["community"]["count"])
    return {"check": code, "label": label, "met": met, "findings": problems,
            "evidence": (figure or {}).get("events", []) if isinstance(figure, dict) else []}


def _figure(figures: dict, path: str):
    value = figures
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
