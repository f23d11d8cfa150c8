"""Who hears of a reminder and how: secretaries from the committee posts, configured contacts,
members without an e-mail reached through their secretary, webhooks, one delivery per target."""

from __future__ import annotations

from datetime import date

from services.notify.recipients import Contact, Directory, Webhook, plan_deliveries
from services.notify.rules.model import BureauSnapshot, Reminder
from tests.unit.test_notify_rules import BRANCH, LI, SECRETARY, TERM, WANG, ZHAO, bureau

TODAY = date(2025, 6, 11)


def reminder(*audiences: str, rule: str = "care.birthday") -> Reminder:
    return Reminder(rule=rule, subject="member-m-li", period="2025", branch_id=BRANCH, audiences=audiences,
                    title="t", body="b", records=(("member", "m-li"),), due_on=TODAY)


def directory(snapshot: BureauSnapshot | None = None, contacts=None, webhooks=()) -> Directory:
    return Directory.build(snapshot or bureau(), TODAY, contacts or {}, tuple(webhooks))


def summary(deliveries) -> set[tuple]:
    return {(d.channel, d.audience, d.target) for d in deliveries}


def test_the_secretary_is_the_post_holder_reached_in_the_inbox_and_by_their_own_email():
    contacts = {f"member:{ZHAO.member_id}": Contact(None, ("zhao@example.org",))}
    planned = plan_deliveries(reminder(f"secretary:{BRANCH}"), directory(contacts=contacts))
    assert summary(planned) == {("inbox", f"secretary:{BRANCH}", f"secretary:{BRANCH}"),
                                ("email", f"secretary:{BRANCH}", "zhao@example.org")}
    assert {d.recipient for d in planned} == {"赵国庆"}


def test_a_configured_secretary_contact_wins_over_the_post_holders_own():
    contacts = {f"secretary:{BRANCH}": Contact("支部办公室", ("office@example.org",), ("email",)),
                f"member:{ZHAO.member_id}": Contact(None, ("zhao@example.org",))}
    planned = plan_deliveries(reminder(f"secretary:{BRANCH}"), directory(contacts=contacts))
    assert summary(planned) == {("email", f"secretary:{BRANCH}", "office@example.org")}


def test_a_branch_without_a_secretary_or_contact_is_copied_to_the_bureau():
    snapshot = bureau(posts=())
    planned = plan_deliveries(reminder(f"secretary:{BRANCH}"), directory(snapshot, {
        "bureau": Contact("组织部", ("org@example.org",))}))
    assert (("inbox", "bureau", "bureau") in summary(planned)
            and ("email", "bureau", "org@example.org") in summary(planned))
    assert any(d.note and "书记暂缺" in d.note for d in planned)


def test_a_member_with_an_email_gets_it_and_one_without_is_reached_through_the_secretary():
    contacts = {f"member:{LI.member_id}": Contact(None, ("li@example.org",))}
    planned = plan_deliveries(reminder(f"member:{LI.member_id}", f"member:{WANG.member_id}", rule="meeting.reminder"),
                              directory(contacts=contacts))
    assert ("email", f"member:{LI.member_id}", "li@example.org") in summary(planned)
    via_secretary = [d for d in planned if d.audience == f"secretary:{BRANCH}"]
    assert via_secretary and all(d.on_behalf_of == (WANG.member_id,) for d in via_secretary)
    assert "王德明（电话 13800000001）" in via_secretary[0].note


def test_a_member_with_neither_phone_nor_email_is_to_be_told_in_person():
    planned = plan_deliveries(reminder(f"member:{LI.member_id}", rule="meeting.reminder"), directory())
    assert "李淑芬（无电话和邮箱，请上门告知）" in planned[0].note


def test_webhooks_receive_the_rules_they_asked_for():
    hooks = [Webhook("w-all", "http://receiver/all"), Webhook("w-dues", "http://receiver/dues", ("dues",))]
    birthday = plan_deliveries(reminder("bureau"), directory(webhooks=hooks))
    dues = plan_deliveries(reminder("bureau", rule="dues.arrears_review"), directory(webhooks=hooks))
    assert {d.target for d in birthday if d.channel == "webhook"} == {"http://receiver/all"}
    assert {d.target for d in dues if d.channel == "webhook"} == {"http://receiver/all", "http://receiver/dues"}


def test_one_address_reached_for_two_reasons_gets_one_delivery():
    contacts = {f"member:{ZHAO.member_id}": Contact(None, ("zhao@example.org",))}
    planned = plan_deliveries(reminder(f"member:{ZHAO.member_id}", f"secretary:{BRANCH}", rule="meeting.reminder"),
                              directory(contacts=contacts))
    assert [d.target for d in planned if d.channel == "email"] == ["zhao@example.org"]


def test_delivery_ids_are_the_same_for_the_same_notification_and_target():
    delivery = plan_deliveries(reminder("bureau"), directory())[0]
    assert delivery.to_dict("n-1")["delivery_id"] == delivery.to_dict("n-1")["delivery_id"]
    assert delivery.to_dict("n-1")["delivery_id"] != delivery.to_dict("n-2")["delivery_id"]


def test_the_secretary_of_the_current_term_is_found():
    assert directory().secretaries == {BRANCH: (SECRETARY.member_id, "赵国庆")}
    assert TERM.term_id == SECRETARY.term_id


def test_a_webhook_named_as_an_audience_is_reached_while_it_is_configured_and_only_once():
    hooks = [Webhook("w-meetings", "http://receiver/meetings", ("meeting.reminder",)),
             Webhook("w-all", "http://receiver/all")]
    planned = plan_deliveries(reminder("webhook:w-meetings", "webhook:w-all", "webhook:w-gone",
                                       rule="meeting.cancelled"), directory(webhooks=hooks))
    assert sorted(d.target for d in planned if d.channel == "webhook") == ["http://receiver/all",
                                                                          "http://receiver/meetings"]
