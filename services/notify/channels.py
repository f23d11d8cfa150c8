"""Delivery channels: e-mail over SMTP (stdlib ``smtplib``) and signed webhooks (stdlib ``urllib``).

A sender either returns (accepted) or raises ``DeliveryError``, which says whether trying again
could help. A webhook is signed with HMAC-SHA256 over ``<timestamp>.<body>``, so its receiver can
check it came from us, unchanged, and reject a replay of an old request.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate

from services.notify.egress import AddressRefused, EgressPolicy
from services.notify.rules.model import RECORD_LABELS, RULE_LABELS
from services.notify.settings import NotifySettings

SIGNATURE_HEADER = "X-Branchwork-Signature"
TIMESTAMP_HEADER = "X-Branchwork-Timestamp"
DELIVERY_HEADER = "X-Branchwork-Delivery"
REPLAY_TOLERANCE_SECONDS = 300
RETRYABLE_HTTP = {408, 425, 429}
DELIVERY_FAILED = "投递失败"
log = logging.getLogger(__name__)


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``sha256=<hex HMAC of "<timestamp>." + body>``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: str | None, body: bytes, signature: str | None, now: float,
                     tolerance: int = REPLAY_TOLERANCE_SECONDS) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature (compared in constant time)."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def message_text(message: dict) -> str:
    """The plain text of a notification: a note for this recipient, the body, and why it was sent."""
    records = "、".join(f"{RECORD_LABELS.get(r['type'], r['type'])} {r['id']}"
                       for r in message["cause"].get("records", []))
    rule = message["rule"]
    named = f"{RULE_LABELS[rule]}（{rule}）" if rule in RULE_LABELS else rule
    lines = [message["note"], ""] if message.get("note") else []
    lines += [message["body"], "", "—", f"规则：{named}", f"原因：{message['subject']}（{records}）",
              f"期间：{message['period']}", f"通知编号：{message['notification_id']}"]
    return "\n".join(lines) + "\n"


class EmailSender:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    def send(self, message: dict, target: str) -> None:
        email = EmailMessage()
        email["From"] = self.settings.smtp_sender
        email["To"] = target
        email["Subject"] = " ".join(message["title"].split())  # a line break in a name must not break the header
        email["Date"] = formatdate(localtime=False)
        # The delivery id as Message-ID: a receiver can drop the copy a crash-and-retry might send.
        email["Message-ID"] = f"<{message['delivery_id']}@branchwork>"
        email["X-Branchwork-Rule"] = message["rule"]
        email["X-Branchwork-Notification"] = message["notification_id"]
        email["X-Branchwork-Dedupe-Key"] = message["dedupe_key"]
        email.set_content(message_text(message))
        try:
            with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port,
                              timeout=self.settings.smtp_timeout) as smtp:
                if self.settings.smtp_starttls:
                    smtp.starttls()
                if self.settings.smtp_user:
                    smtp.login(self.settings.smtp_user, self.settings.smtp_password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(f"SMTP {error.smtp_code}: {_text(error.smtp_error)}",
                                permanent=error.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP unavailable: {error}", permanent=False) from None


class WebhookSender:
    """POSTs signed JSON to a receiver the egress policy allows; redirects are not followed (a redirect could
    lead anywhere, and a receiver that moved should be reconfigured)."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self.policy = settings.egress()
        self.opener = urllib.request.build_opener(_NoRedirects, _GuardedHTTPHandler(self.policy),
                                                  _GuardedHTTPSHandler(self.policy))

    def send(self, message: dict, target: str, secret: str, now: float) -> None:
        body = json.dumps(webhook_payload(message), ensure_ascii=False, sort_keys=True).encode("utf-8")
        timestamp = int(now)
        request = urllib.request.Request(target, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body), DELIVERY_HEADER: message["delivery_id"],
            "User-Agent": "branchwork-notify/1"})
        try:
            self._check_through_proxy(target)
            with self.opener.open(request, timeout=self.settings.webhook_timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            error.close()
            if 300 <= error.code < 400:
                raise DeliveryError(f"{DELIVERY_FAILED}：接收方返回 HTTP {error.code}（不跟随重定向）",
                                    permanent=True) from None
            permanent = 400 <= error.code < 500 and error.code not in RETRYABLE_HTTP
            raise DeliveryError(f"{DELIVERY_FAILED}：接收方返回 HTTP {error.code}", permanent=permanent) from None
        except AddressRefused as error:
            # What the network said stays in the log: shown to an admin, it would map the platform's network.
            log.warning("webhook %s refused: %s", message["delivery_id"], error)
            raise DeliveryError(DELIVERY_FAILED, permanent=True) from None
        except (TimeoutError, urllib.error.URLError, OSError) as error:
            log.warning("webhook %s unreachable: %s", message["delivery_id"], getattr(error, "reason", error))
            raise DeliveryError(DELIVERY_FAILED, permanent=False) from None

    def _check_through_proxy(self, target: str) -> None:
        """Refuse a forbidden scheme; through a proxy (whose address is what the connection checks), resolve the
        target here, since only the proxy will connect to it."""
        host, port = self.policy.target(target)
        scheme = target.split(":", 1)[0].lower()
        if scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
            try:
                self.policy.resolve(host, port)
            except OSError:
                pass  # a name only the proxy can resolve: the proxy's own rules apply


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx then surfaces as an HTTPError


def _guarded(connection_class, policy: EgressPolicy):
    """A connection class whose sockets go only to addresses the policy allows (checked at connect time)."""
    def build(host, **kwargs):
        connection = connection_class(host, **kwargs)
        # http.client opens its socket through this attribute, for plain HTTP and under TLS alike.
        connection._create_connection = policy.create_connection
        return connection
    return build


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, policy: EgressPolicy) -> None:
        super().__init__()
        self.policy = policy

    def http_open(self, req):
        return self.do_open(_guarded(http.client.HTTPConnection, self.policy), req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, policy: EgressPolicy) -> None:
        super().__init__()
        self.policy = policy

    def https_open(self, req):
        return self.do_open(_guarded(http.client.HTTPSConnection, self.policy), req, context=self._context)


def webhook_payload(message: dict) -> dict:
    keys = ("notification_id", "delivery_id", "tenant_id", "branch_id", "rule", "dedupe_key", "subject", "period",
            "title", "body", "note", "cause", "details", "due_on")
    payload = {key: message.get(key) for key in keys}
    payload["due_on"] = str(payload["due_on"]) if payload["due_on"] is not None else None
    return {"type": "notification", **payload}


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
