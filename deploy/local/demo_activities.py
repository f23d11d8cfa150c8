"""Demo data of the activities service: the seed's year of branch work, through the public API.

Monthly committee meetings (in the first branch of 市自然资源局, its elected committee, with a member
sitting in — 列席, recorded as invited — in March and September), study (members who cannot come are
reached by home visits, phone calls and study brought to the home), theme Party days at a red
education base, a memorial and a project site, quarterly general meetings, Party lectures and
briefings, birthdays, holiday visits (Spring Festival by the lunar calendar, July 1), newspapers,
health checks, talks to young staff, the choir and the dance team, an inspection by the upper level
(its findings in the minutes), pledges, the centre's 六有 checklist, and closed months.
Deliberate gaps, for the audit views to find:

- 市自然资源局第二离退休干部党支部 skipped April's committee meeting; its Q3 general meeting was not
  quorate; 何振华 had no July 1 visit; its centre has no evidence of 有宣传;
- 周建华 was in hospital in May and nobody visited him (not covered); 吴丽娟 has no newspaper subscription;
- 市交通运输局离退休干部党支部 held no general meeting in Q2, skipped July's committee meeting, and did
  not reach 宋桂芝 in August;
- a group meeting of August was entered after the month was closed (flagged late).

Each record is entered on the evening of its day (``demo.Schedule``), so only the late group meeting is
flagged late. Every command has a fixed Idempotency-Key, so a second run adds nothing; a record an
earlier version of this demo entered differently is left as it was. A committee meeting of the coming
week is planned, for the secretary to record when it has been held.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta

from demo import evening
from contracts.rulebook.holidays import holiday_date

PLACES = ["盐池红色教育基地", "余桥烈士陵园", "国家农业科技园区", "重点项目建设现场", "局三楼党员活动中心"]
THEMES = ["不忘初心、永远跟党走", "不忘入党初心、坚定理想信念", "感受全市经济社会发展", "走进重点项目", "学习党章党规"]
UNREACHED = {("周建华", 5), ("宋桂芝", 8)}
"""Members nobody reached in a month (in hospital, and no visit followed): coverage gaps."""
STUDY = ["习近平新时代中国特色社会主义思想", "党的二十大精神", "马克思主义民族观宗教观", "二十届三中全会精神"]
COMMITTEES = {("zrzy", 0): ["赵国庆", "郑海涛", "陈秀英"]}
"""The committees the register elected (``demo.RegisterWork.election``); other branches have none on record."""
SITTING_IN = {3: "孙志刚", 9: "吴丽娟"}
"""Months in which a member who is not on the committee sits in on its meeting (recorded as invited)."""


class Roster:
    """The activities roster comes from the members service's events over Kafka: before records need it, wait
    until it knows the branches, then (before the year's meetings) every branch's members and its
    committee's posts (who sits in on a committee meeting is judged by them)."""

    def __init__(self, platform, bureaus: list[dict], year: int, timeout: float = 120) -> None:
        self.platform, self.bureaus, self.year, self.timeout = platform, bureaus, year, timeout

    def branches_known(self, _answer=None) -> None:
        self._until(lambda bureau, index, branch, members: members is not None)

    def members_and_posts_known(self, _answer=None) -> None:
        def complete(bureau, index, branch, members) -> bool:
            committee = COMMITTEES.get((bureau["code"], index), [])
            wanted = {(m["id"], m["name"] in committee) for m in branch["members"]}
            return members is not None and wanted <= {(m["member_id"], m["post"] is not None) for m in members}
        self._until(complete)

    def _until(self, ready) -> None:
        for bureau in self.bureaus:
            for index, branch in enumerate(bureau["branches"]):
                deadline = time.monotonic() + self.timeout
                while not ready(bureau, index, branch, self._members(bureau, branch)):
                    if time.monotonic() > deadline:
                        sys.exit(f"demo_activities: the activities roster did not receive {branch['name']}")
                    time.sleep(0.5)

    def _members(self, bureau: dict, branch: dict) -> list[dict] | None:
        headers = {"Authorization": f"Bearer {self.platform.token('bureau_admin', bureau['id'])}"}
        response = self.platform.clients["activities"].get(f"/api/v1/branches/{branch['id']}/roster",
                                                           query_string={"on": f"{self.year}-01-02"}, headers=headers)
        return response.get_json()["members"] if response.status_code == 200 else None


class BranchYear:
    """One branch's year of work, up to the day before yesterday (dates are judged on Beijing time)."""

    def __init__(self, schedule, bureau: dict, index: int, year: int) -> None:
        self.schedule, self.bureau, self.index, self.year = schedule, bureau, index, year
        self.branch = bureau["branches"][index]
        self.members = self.branch["members"]
        self.last_day = schedule.now.date() - timedelta(days=2)
        self.name = self.branch["name"]

    def post(self, path, body, key: str, day: date | None = None, then=None) -> None:
        """Enter the record on the evening of ``day`` (the day it happened; records of no day, at adoption)."""
        at = evening(day) if day else self.schedule.adopted + timedelta(days=1)
        self.schedule.add(at, "activities", path, body, f"demo-activities-{self.bureau['code']}-{self.index}-{key}",
                          self.bureau["id"], then=then)

    def happened(self, day: date) -> bool:
        return day <= self.last_day

    def ids(self, wanted=lambda m: True) -> list[str]:
        return [m["id"] for m in self.members if wanted(m)]

    def activity(self, kind: str, day: date, title: str, attendees: list[str], **extra) -> None:
        if self.happened(day):
            self.post("/activities", {"branch_id": self.branch["id"], "kind": kind, "occurred_on": day.isoformat(),
                                      "title": title, "attendees": attendees, **extra}, f"{kind}-{day}", day)

    def gap(self, kind: str, month: int) -> bool:
        gaps = {("zrzy", 1, "committee_meeting", 4), ("jtys", 0, "committee_meeting", 7),
                ("jtys", 0, "general_meeting", 6)}
        return (self.bureau["code"], self.index, kind, month) in gaps

    def load(self) -> None:
        for month in range(1, 13):
            self.month(month)
        self.care()
        self.talks_and_teams()
        self.centre()

    def month(self, month: int) -> None:
        away = {name for name, when in UNREACHED if when == month}
        mobile = self.ids(lambda m: m["mobility"] == "mobile" and m["name"] not in away)
        can_come = self.ids(lambda m: m["mobility"] != "homebound" and m["name"] not in away)
        absent = [{"member_id": m["id"], "reason": "住院治疗"} for m in self.members if m["name"] in away]
        first = date(self.year, month, 1)
        if not self.gap("committee_meeting", month):
            self.activity("committee_meeting", first + timedelta(days=4), f"{month}月支委会",
                          self.committee(month) or mobile[:3] or can_come[:1],
                          topics=["研究本月学习安排", "老干部走访慰问"], place="局三楼党员活动中心")
        self.activity("theme_day", first + timedelta(days=7), f"“{THEMES[month % 5]}”主题党日", mobile,
                      place=PLACES[month % 5], hours="2")
        self.study(month, first + timedelta(days=11), mobile)
        if month % 3 == 0 and not self.gap("general_meeting", month):
            quorum_gap = self.bureau["code"] == "zrzy" and self.index == 1 and month == 9
            self.activity("general_meeting", first + timedelta(days=19), f"第{month // 3}季度党员大会",
                          can_come[:1] if quorum_gap else can_come, hours="1.5", topics=["通报支部工作", "学习交流"])
        if month % 3 == 2:
            self.activity("party_lecture", first + timedelta(days=24), f"书记讲党课：{STUDY[month % 4]}", can_come,
                          hours="2", **({"absentees": absent} if absent else {}))
        if month % 3 == 1:
            self.activity("briefing", first + timedelta(days=17), "向老干部通报自然资源工作情况", can_come, hours="1",
                          place="局三楼党员活动中心")
        if month == 6:
            self.activity("heart_talk", date(self.year, 6, 10), "支委与老党员谈心谈话", mobile[:2])
        if month == 9 and self.index == 0:
            self.activity("community_activity", date(self.year, 9, 26), "协助社区开展民族团结宣传", mobile)
        if month == 10 and self.index == 0:
            self.activity("inspection", date(self.year, 10, 22), "市委老干部局检查支部工作",
                          self.committee(month) or mobile[:3], place="局三楼党员活动中心",
                          topics=["“三会一课”落实情况", "教育全覆盖台账", "阵地“六有”建设"],
                          guests=[{"name": "市委老干部局检查组", "unit": "市委老干部局"}],
                          minutes="检查组查阅了会议记录和学习台账，实地查看了活动中心；"
                                  "指出：部分行动不便党员的学习记录需补充送学时长。")
        if month == 12:
            self.activity("life_meeting", date(self.year, 12, 15), "年度组织生活会", can_come)
            self.activity("appraisal", date(self.year, 12, 16), "民主评议党员", can_come)

    def committee(self, month: int) -> list[str]:
        """The committee, and in some months a member sitting in (the platform records them as invited)."""
        names = COMMITTEES.get((self.bureau["code"], self.index), [])
        if names and month in SITTING_IN:
            names = [*names, SITTING_IN[month]]
        return self.ids(lambda m: m["name"] in names)

    def study(self, month: int, day: date, attendees: list[str]) -> None:
        """Collective study, and for those who cannot come: a visit, a phone call or study brought home."""
        self.activity("study", day, f"集体学习：{STUDY[month % 4]}", attendees, hours="2.5",
                      place="局三楼党员活动中心", topics=[STUDY[month % 4]])
        for m_index, member in enumerate(m for m in self.members if m["mobility"] != "mobile"):
            skipped = (member["name"], month) in UNREACHED
            when = day + timedelta(days=3 + m_index)
            if skipped or not self.happened(when):
                continue
            channel = "home_study" if member["mobility"] == "homebound" else ("visit", "phone")[month % 2]
            topic = {"home_study": f"送学上门：{STUDY[month % 4]}", "visit": "上门谈心，通报本月学习内容",
                     "phone": "电话通报本月学习内容"}[channel]
            body = {"member_id": member["id"], "channel": channel, "occurred_on": when.isoformat(), "topic": topic,
                    **({"hours": "2"} if channel == "home_study" else {})}
            self.post("/outreach", body, f"outreach-{member['id']}-{month}", when)

    def care(self) -> None:
        for member in self.members:
            member_id = member["id"]
            if member["name"] != "吴丽娟" and self.happened(date(self.year, 1, 6)):
                self.care_record(member_id, "newspaper", date(self.year, 1, 6), year=self.year, note="订阅党报一份")
            self.care_record(member_id, "holiday_visit", self.spring_festival_visit(), note="春节慰问")
            if member["name"] != "何振华":
                self.care_record(member_id, "holiday_visit", date(self.year, 6, 28), holiday="july_1", note="七一慰问")
            self.care_record(member_id, "health_check", date(self.year, 10, 15), note="年度体检")
            birthday = member.get("birth_date")
            if birthday:
                self.care_record(member_id, "birthday", _anniversary(birthday, self.year), note="送蛋糕和鲜花")

    def spring_festival_visit(self) -> date:
        return holiday_date("spring_festival", self.year) - timedelta(days=7)

    def care_record(self, member_id: str, kind: str, day: date, **extra) -> None:
        if self.happened(day):
            self.post("/care", {"member_id": member_id, "kind": kind, "occurred_on": day.isoformat(), **extra},
                      f"care-{kind}-{member_id}-{day}", day)

    def talks_and_teams(self) -> None:
        if self.index != 0:
            return
        speakers = self.ids(lambda m: m["mobility"] == "mobile")[:1]
        for day, topic in ((date(self.year, 5, 4), "亲历解放金积侯桥战役"),
                           (date(self.year, 9, 10), "改革开放发展历程")):
            if self.happened(day) and speakers:
                self.post("/talks", {"branch_id": self.branch["id"], "speakers": speakers, "audience": "局机关青年职工",
                                     "topic": topic, "occurred_on": day.isoformat(), "audience_size": 60},
                          f"talk-{day}", day)
        singers = self.ids(lambda m: m["mobility"] != "homebound")
        for kind, name in (("choir", "老干部合唱队"), ("dance", "老干部舞蹈队")):
            team: dict = {}
            self.post("/teams", {"branch_id": self.branch["id"], "name": name, "kind": kind,
                                 "formed_on": f"{self.year}-01-10", "members": singers}, f"team-{kind}",
                      date(self.year, 1, 10), then=team.update)
            for day, title in ((date(self.year, 6, 30), "社区庆七一文艺汇演"),
                               (date(self.year, 9, 30), "社区国庆演出")):
                if self.happened(day):
                    self.post(lambda team=team: team.get("id") and f"/teams/{team['id']}/performances",
                              {"occurred_on": day.isoformat(), "title": title, "performers": singers,
                               "place": "社区文化广场", "audience": "社区居民"}, f"perform-{kind}-{day}", day)
        for member in self.members:
            self.post("/pledges", {"member_id": member["id"], "kind": "no_religion", "signed_on": f"{self.year}-06-28",
                                   "statement": "本人承诺：不信仰宗教，不参与宗教活动。"}, f"pledge-{member['id']}",
                      date(self.year, 6, 28))

    def centre(self) -> None:
        centre = f"/branches/{self.branch['id']}/centre"
        moved = self.index == 0 and self.bureau["code"] == "zrzy"
        self.post(centre, {"place": "局六楼活动室" if moved else "局二楼活动室", "set_up_on": "2019-03-01"}, "centre")
        since = date(self.year, 3, 15)
        if moved and self.happened(since):
            self.post(f"{centre}/actions/move", {"to_place": "局三楼党员活动中心", "moved_on": since.isoformat()},
                      "centre-move", since)
        evidence = {"有场所": "活动中心一间，配电脑、打印机、急救箱", "有标志": "门牌与党徽标识",
                    "有书报": "报刊架、资料柜，订阅报刊杂志",
                    "有制度": "“三会一课”、党支部八项规定上墙", "有宣传": "党员风采专栏", "有党旗": "党旗悬挂"}
        day = since + timedelta(days=5)
        for number, (item, text) in enumerate(evidence.items(), start=1):
            if item == "有宣传" and self.bureau["code"] == "zrzy" and self.index == 1:
                continue
            if self.happened(day):
                photo = f"photos/centre/{self.bureau['code']}-{self.index}-{number}.jpg"
                self.post(f"{centre}/evidence", {"item": item, "evidenced_on": day.isoformat(), "evidence": text,
                                                 "photo_ref": photo}, f"evidence-{number}", day)


def _anniversary(birth_date: str, year: int) -> date:
    born = date.fromisoformat(birth_date)
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def close_periods(schedule, bureau: dict, year: int) -> None:
    """Close each month early in the month after next, and the quarters it completes; then a group meeting of
    August entered after August was closed (flagged late, as it is)."""
    today = schedule.now.date()
    last = today.month - 2 if today.year == year else 12
    for month in range(1, max(last, 0) + 1):
        closed_on = date(year + (month >= 11), (month + 1) % 12 + 1, 5)
        for period in [f"{year}-{month:02d}"] + ([f"{year}-Q{month // 3}"] if month % 3 == 0 else []):
            schedule.add(evening(closed_on, 10), "activities", "/periods", {"period": period},
                         f"demo-activities-{bureau['code']}-close-{period}", bureau["id"])
    if bureau["code"] == "zrzy" and last >= 8:
        branch = bureau["branches"][0]
        schedule.add(evening(date(year, 10, 10)), "activities", "/activities", {
            "branch_id": branch["id"], "kind": "group_meeting", "occurred_on": f"{year}-08-28",
            "title": "党小组会（补录）",
            "attendees": [m["id"] for m in branch["members"] if m["mobility"] == "mobile"]},
            "demo-activities-zrzy-late-group-meeting", bureau["id"])


def plan_meeting(schedule, bureau: dict) -> None:
    """Next week's committee meeting, planned today: the secretary records it once held."""
    branch = bureau["branches"][0]
    day = schedule.now.date() + timedelta(days=3)
    schedule.add(schedule.now, "activities", "/activities", {
        "branch_id": branch["id"], "kind": "committee_meeting", "status": "planned", "occurred_on": day.isoformat(),
        "title": f"{day.month}月支委会", "place": "局三楼党员活动中心",
        "topics": ["研究下月学习安排", "走访慰问老干部"]},
        f"demo-activities-{bureau['code']}-planned-committee", bureau["id"])


def plan(context: dict, schedule) -> None:
    year = context["year"]
    roster = Roster(context["platform"], context["bureaus"], year)
    schedule.wait(schedule.adopted, roster.branches_known)
    schedule.wait(evening(date(year, 1, 1), 0), roster.members_and_posts_known)
    for bureau in context["bureaus"]:
        for index in range(len(bureau["branches"])):
            BranchYear(schedule, bureau, index, year).load()
        close_periods(schedule, bureau, year)
        if bureau["code"] == "zrzy":
            plan_meeting(schedule, bureau)


