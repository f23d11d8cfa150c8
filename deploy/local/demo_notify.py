"""Demo data of the notify service: who each demo bureau's notifications reach, then one run of the rules.

The bureau's organisation department and each branch's secretary get an e-mail address (the local
stack's mailbox, ``notify-mailbox``, receives everything: read ``.run/mailbox/*.eml``); a few members
who read e-mail get their own, the others are reached through their secretary. The addresses are set
when the bureaus took the platform up; the rules then run once, today, on the year of records.
Every command has a fixed Idempotency-Key.
"""

from __future__ import annotations

from datetime import timedelta

MEMBERS_WITH_EMAIL = {"赵国庆", "陈秀英", "吴丽娟", "罗春梅", "梁志强"}
CHANNELS = ["inbox", "email"]


def plan(context: dict, schedule) -> None:
    at = context["adopted"] + timedelta(days=2)
    for bureau in context["bureaus"]:
        code, tenant = bureau["code"], bureau["id"]

        def put(path: str, body: dict, key: str, tenant=tenant) -> None:
            schedule.add(at, "notify", path, body, f"demo-notify-{key}", tenant, method="PUT")
        put("/recipients/bureau", {"name": f"{bureau['name']}机关党委组织部", "emails": [f"zuzhibu@{code}.example.org"],
                                   "channels": CHANNELS}, f"{code}-bureau")
        for index, branch in enumerate(bureau["branches"]):
            put(f"/recipients/branches/{branch['id']}/secretary",
                {"name": None, "emails": [f"shuji-{index + 1}@{code}.example.org"], "channels": CHANNELS},
                f"{code}-secretary-{index}")
            for m_index, member in enumerate(branch["members"]):
                if member["name"] in MEMBERS_WITH_EMAIL:
                    put(f"/recipients/members/{member['id']}",
                        {"name": None, "emails": [f"member-{index + 1}-{m_index + 1}@{code}.example.org"],
                         "channels": CHANNELS}, f"{code}-member-{member['id']}")


def finish(context: dict) -> None:
    """Run the rules once on the loaded year (the scheduler waits until the demo is in, then runs on its own)."""
    platform = context["platform"]
    for bureau in context["bureaus"]:
        run = platform.send("POST", "notify", "/scheduler/runs", {}, role="bureau_admin", tenant=bureau["id"],
                            key=f"demo-notify-{bureau['code']}-run-{context['year']}", at=context["now"])
        scheduled = len(run["scheduled"]) if run else 0
        print(f"notify demo: {bureau['name']} recipients set; {scheduled} notification(s) scheduled now")
