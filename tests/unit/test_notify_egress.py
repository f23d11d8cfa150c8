"""Where webhooks may go: http(s) only; every IANA special-purpose address refused (IPv4 and IPv6, whatever the
spelling), loopback only by an explicit setting; names checked by what they resolve to; e-mail text naming rule
and cause."""

from __future__ import annotations

import ipaddress

import pytest

from services.notify.channels import DeliveryError, WebhookSender, message_text
from services.notify.egress import AddressRefused, EgressPolicy
from services.notify.settings import NotifySettings

STRICT = EgressPolicy(allow_loopback=False)
SPECIAL = ["0.0.0.0", "0.1.2.3", "10.1.2.3", "100.64.0.1", "100.100.100.200", "127.0.0.1", "169.254.169.254",
           "172.16.5.5", "192.0.0.1", "192.0.0.9", "192.0.0.170", "192.0.2.1", "192.31.196.1", "192.52.193.1",
           "192.88.99.1", "192.168.0.9", "192.175.48.1", "198.18.0.1", "198.51.100.7", "203.0.113.7", "240.0.0.1",
           "255.255.255.255", "224.0.0.1", "168.63.129.16",
           "::", "::1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "100::1",
           "2001::1", "2001:2::1", "2001:20::1", "2001:db8::1", "2002:7f00:1::", "2620:4f:8000::1", "3fff::1",
           "5f00::1", "fc00::1", "fd00:ec2::254", "fe80::1", "fec0::1", "ff02::1"]


@pytest.mark.parametrize("address", SPECIAL)
def test_every_special_purpose_multicast_and_metadata_address_is_refused(address):
    assert STRICT.refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "101.6.6.6", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_receivers_are_allowed(address):
    assert STRICT.refusal(ipaddress.ip_address(address)) is None


def test_loopback_is_allowed_only_where_explicitly_configured():
    for address in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert EgressPolicy(allow_loopback=True).refusal(ipaddress.ip_address(address)) is None
        assert "loopback" in STRICT.refusal(ipaddress.ip_address(address))
    assert EgressPolicy(allow_loopback=True).refusal(ipaddress.ip_address("10.0.0.1"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_x", "ftp://x.example.org/",
                                 "http:///no-host", "http://x.example.org:port/"])
def test_only_http_and_https_urls_with_a_host_are_accepted(url):
    with pytest.raises(AddressRefused):
        STRICT.target(url)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://2852039166/",
                                 "http://0xa9fea9fe/", "http://[::ffff:a9fe:a9fe]/", "https://[fe80::1]:8443/x",
                                 "http://127.0.0.1./", "http://localhost./", "http://0x7f.1/", "http://2130706433/",
                                 "http://0177.0.0.1/", "http://127.1:8001/", "http://0/", "http://[::]/",
                                 "http://[::ffff:127.0.0.1]:55432/", "http://192.0.0.9/", "http://168.63.129.16/",
                                 "http://100.100.100.200/", "http://[64:ff9b::7f00:1]/"])
def test_every_spelling_of_a_special_address_is_refused_when_configured(url):
    with pytest.raises(AddressRefused):
        STRICT.check_configured(url)


def test_a_name_that_does_not_resolve_yet_may_be_configured_and_localhost_follows_the_setting():
    STRICT.check_configured("https://receiver.invalid/hook")
    EgressPolicy(allow_loopback=True).check_configured("http://localhost:9/hook")
    with pytest.raises(AddressRefused):
        STRICT.check_configured("http://localhost:9/hook")


def test_loopback_receivers_need_the_explicit_setting_whatever_the_mailbox():
    assert NotifySettings.from_env({}).egress() == STRICT
    assert NotifySettings.from_env({"BRANCHWORK_NOTIFY_MAILBOX": "1"}).egress() == STRICT
    allowed = NotifySettings.from_env({"BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LOOPBACK": "1"})
    assert allowed.egress() == EgressPolicy(allow_loopback=True)


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
    assert refused.value.permanent and str(refused.value) == "投递失败"  # no network detail for the admin
