"""Errors that cross the HTTP boundary: each has a status, a stable code, a message and fields.

Every service derives its domain errors from ``DomainError`` (HTTP 422); the web layer maps
the whole family to JSON in one place.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping


class BranchworkError(Exception):
    """Something went wrong inside the service."""

    status = 500
    code = "internal_error"
    default_message = "服务内部出错"
    """What the person reading the answer is told when the raiser says nothing more (in Chinese: the APIs' users
    read these messages; the ``code`` stays the machine's)."""

    def __init__(self, message: str = "", *, fields: Mapping[str, Any] | None = None, code: str | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.fields = dict(fields or {})
        if code:
            self.code = code

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class RequestInvalid(BranchworkError):
    """The request is malformed or has missing, unknown or wrongly typed fields."""

    status = 400
    code = "invalid_request"
    default_message = "请求内容有误"


class Unauthenticated(BranchworkError):
    """A valid bearer token is required."""

    status = 401
    code = "unauthenticated"
    default_message = "需要有效的访问令牌"


class Forbidden(BranchworkError):
    """The token does not allow this."""

    status = 403
    code = "forbidden"
    default_message = "这个令牌无权这样做"


class NotFound(BranchworkError):
    """No such resource in your bureau."""

    status = 404
    code = "not_found"
    default_message = "本局没有这条记录"


class Conflict(BranchworkError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"
    default_message = "与现有记录冲突"


class ConcurrencyError(Conflict):
    """Someone else changed this record first; reload it and try again."""

    code = "concurrency_conflict"

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None = None):
        super().__init__("这条记录刚被他人修改，请重新打开后再办理",
                         fields={"version": [f"记录流 {stream_id} 已不是第 {expected_version} 版"]})
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class DomainError(BranchworkError):
    """A rule of the domain forbids this."""

    status = 422
    code = "rule_broken"
    default_message = "不符合规定"

    def __init__(self, message: str = "", *, field: str | None = None, code: str | None = None):
        super().__init__(message, fields={field: [message or self.message]} if field else None, code=code)


class ServiceUnavailable(BranchworkError):
    """The database is out of reach for a moment (restarting, failing over): retry with the same Idempotency-Key."""

    status = 503
    code = "service_unavailable"
    default_message = "服务暂时不可用，请稍后用同一个 Idempotency-Key 重试"


class PreconditionRequired(BranchworkError):
    """Send If-Match with the version you read, so a concurrent change is not overwritten."""

    status = 428
    code = "if_match_required"
    default_message = "请在 If-Match 中发送读取时的版本号，以免覆盖他人同时所做的修改"
