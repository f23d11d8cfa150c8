"""Errors that cross the HTTP boundary: each has a status, a stable code, a message and fields.

Every service derives its domain errors from ``DomainError`` (HTTP 422); the web layer maps
the whole family to JSON in one place.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping


class BranchworkError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str = "", *, fields: Mapping[str, Any] | None = None, code: str | None = None):
        super().__init__(message or self.__doc__ or self.code)
        self.message = message or (self.__doc__ or self.code).strip()
        self.fields = dict(fields or {})
        if code:
            self.code = code

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class RequestInvalid(BranchworkError):
    """The request is malformed or has missing, unknown or wrongly typed fields."""

    status = 400
    code = "invalid_request"


class Unauthenticated(BranchworkError):
    """A valid bearer token is required."""

    status = 401
    code = "unauthenticated"


class Forbidden(BranchworkError):
    """The token does not allow this."""

    status = 403
    code = "forbidden"


class NotFound(BranchworkError):
    """No such resource in your bureau."""

    status = 404
    code = "not_found"


class Conflict(BranchworkError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class ConcurrencyError(Conflict):
    """Someone else changed this record first; reload it and try again."""

    code = "concurrency_conflict"

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None = None):
        detail = f"stream {stream_id} is not at version {expected_version}"
        super().__init__(detail, fields={"version": [detail]})
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class DomainError(BranchworkError):
    """A rule of the domain forbids this."""

    status = 422
    code = "rule_broken"

    def __init__(self, message: str = "", *, field: str | None = None, code: str | None = None):
        super().__init__(message, fields={field: [message or self.message]} if field else None, code=code)


class ServiceUnavailable(BranchworkError):
    """The database is out of reach for a moment (restarting, failing over): retry with the same Idempotency-Key."""

    status = 503
    code = "service_unavailable"


class PreconditionRequired(BranchworkError):
    """Send If-Match with the version you read, so a concurrent change is not overwritten."""

    status = 428
    code = "if_match_required"
