"""JSON log lines: the ids of the work in hand, and no secret however it reaches the line."""

from __future__ import annotations

import json
import logging
import sys

from shared.auth import issue_token
from shared.jsonlog import JsonFormatter, log_context

TOKEN = issue_token("unit-secret", subject="li", roles=["bureau_admin"], tenant="bureau-1")


def formatted(message: str, *args, exc_info=None, fields=None) -> tuple[dict, str]:
    record = logging.LogRecord("test", logging.WARNING, __file__, 1, message, args, exc_info)
    if fields is not None:
        record.fields = fields
    line = JsonFormatter("members").format(record)
    return json.loads(line), line


def test_a_line_carries_the_request_and_correlation_ids_of_the_work_in_hand():
    reset = log_context.set({"request_id": "r-1", "correlation_id": "c-1"})
    try:
        line, _ = formatted("POST /api/v1/members -> 201")
    finally:
        log_context.reset(reset)
    assert (line["request_id"], line["correlation_id"], line["service"]) == ("r-1", "c-1", "members")


def test_a_bearer_header_is_redacted_and_the_rest_of_the_line_kept():
    line, raw = formatted("calling with Authorization: Bearer %s for bureau-1", TOKEN)
    assert TOKEN not in raw and "for bureau-1" in line["message"]


def test_a_bare_token_is_redacted():
    _, raw = formatted("refused token %s", TOKEN)
    assert TOKEN not in raw


def test_passwords_in_key_value_and_url_connection_strings_are_redacted():
    _, raw = formatted("cannot connect: host=db user=app password=s3cret-1 dbname=x and"
                       " postgresql://app:s3cret-2@db:5432/x and password='s3cret 3'")
    assert "s3cret" not in raw


def test_an_exception_text_is_redacted_too():
    try:
        raise RuntimeError(f"failed for postgresql://app:s3cret-4@db/x with Bearer {TOKEN}")
    except RuntimeError:
        _, raw = formatted("unhandled error", exc_info=sys.exc_info())
    assert "s3cret-4" not in raw and TOKEN not in raw


def test_fields_named_like_secrets_and_values_holding_them_are_redacted():
    line, raw = formatted("done", fields={"password": "s3cret-5", "url": "postgresql://app:s3cret-6@db/x", "ms": 3})
    assert "s3cret" not in raw and line["ms"] == 3
