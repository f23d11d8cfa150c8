"""Where webhooks may go: http(s) only; link-local and cloud metadata addresses refused unless allowed; loopback as
configured; names checked by what they resolve to (numeric spellings too); e-mail text naming rule and cause."""

from __future__ import annotations

import ipaddress

import pytest

from services.notify.channels import DeliveryError, WebhookSender, message_text
from services.notify.egress import AddressRefused, EgressPolicy
from services.notify.settings import NotifySettings

STRICT = EgressPolicy(allow_loopback=False, allow_link_local=False)


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.0.1", "100.100.100.200", "fe80::1",
                                     "fd00:ec2::254", "::ffff:169.254.169.254", "0.0.0.0", "::", "224.0.0.1"])
def test_link_local_metadata_and_non_receiver_addresses_are_refused(address):
    assert EgressPolicy().refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.9", "172.16.5.5", "203.0.113.7", "2001:db8::1"])
def test_ordinary_and_internal_receivers_are_allowed(address):
    assert STRICT.refusal(ipaddress.ip_address(address)) is None


def test_loopback_is_allowed_only_where_configured():
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert EgressPolicy(allow_loopback=True).refusal(ipaddress.ip_address(address)) is None
        assert "loopback" in STRICT.refusal(ipaddress.ip_address(address))


def test_link_local_can_be_allowed_by_setting():
    assert EgressPolicy(allow_link_local=True).refusal(ipaddress.ip_address("169.254.169.254")) is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_x", "ftp://x.example.org/",
                                 "http:///no-host", "http://x.example.org:port/"])
def test_only_http_and_https_urls_with_a_host_are_accepted(url):
    with pytest.raises(AddressRefused):
        EgressPolicy().target(url)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://2852039166/",
                                 "http://0xa9fea9fe/", "http://[::ffff:a9fe:a9fe]/", "https://[fe80::1]:8443/x"])
def test_every_spelling_of_the_metadata_address_is_refused_when_configured(url):
    with pytest.raises(AddressRefused):
        EgressPolicy().check_configured(url)


def test_a_name_that_does_not_resolve_yet_may_be_configured_and_localhost_follows_the_setting():
    EgressPolicy().check_configured("https://receiver.invalid/hook")
    EgressPolicy(allow_loopback=True).check_configured("http://localhost:9/hook")
    with pytest.raises(AddressRefused):
        STRICT.check_configured("http://localhost:9/hook")


def test_loopback_receivers_are_allowed_by_default_only_on_a_development_stack():
    assert NotifySettings.from_env({}).egress() == EgressPolicy(allow_loopback=True, allow_link_local=False)
    production = NotifySettings.from_env({"BRANCHWORK_NOTIFY_MAILBOX": "0"})
    assert production.egress() == STRICT
    overridden = NotifySettings.from_env({"BRANCHWORK_NOTIFY_MAILBOX": "0",
                                          "BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LOOPBACK": "1",
                                          "BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LINK_LOCAL": "1"})
    assert overridden.egress() == EgressPolicy(allow_loopback=True, allow_link_local=True)


def test_the_email_text_names_the_rule_in_words_and_the_records_that_caused_it():
    text = message_text({"note": "请代为通知：郑海涛（无电话和邮箱，请上门告知）", "body": "会议已取消。",
                         "rule": "meeting.cancelled", "subject": "activity-a-1", "period": "2025-06-12",
                         "notification_id": "n-1",
                         "cause": {"records": [{"type": "activity", "id": "a-1"},
                                               {"type": "notification", "id": "n-0"}]}})
    assert text.startswith("请代为通知：郑海涛")
    assert "规则：会议取消（meeting.cancelled）" in text and "原因：activity-a-1（活动 a-1、通知 n-0）" in text


def test_through_an_http_proxy_the_target_itself_is_checked_before_sending(monkeypatch):
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with pytest.raises(DeliveryError) as refused:
        WebhookSender(NotifySettings()).send({"delivery_id": "d-1", "due_on": None}, "http://169.254.169.254/x",
                                             "a-secret-for-the-test", 1_760_000_000)
    assert refused.value.permanent and str(refused.value).startswith("address refused")
