"""Checks every request's text once, before any view reads it: what PostgreSQL or the JSON parser would choke on
becomes a 400 naming the field, instead of a 500 deep inside a handler.

Refused anywhere in the path, the query string, a form or a JSON body: NUL (PostgreSQL text cannot hold
it) and lone UTF-16 surrogates (not encodable as UTF-8). JSON nested deeper than ``MAX_DEPTH`` is refused
before it can exhaust the parser's recursion.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request

from shared.errors import RequestInvalid

MAX_DEPTH = 32
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "含有不允许的字符（NUL 或不成对的代理项）"


def check_request(request: Request) -> None:
    """Raise ``RequestInvalid`` naming the first field whose text cannot be stored, or a body nested too deep."""
    if UNSTORABLE.search(request.path):
        _refuse("path")
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for name, value in source.items(multi=True):
            if UNSTORABLE.search(name) or UNSTORABLE.search(value):
                _refuse(UNSTORABLE.sub("?", name))
    if request.is_json and request.content_length != 0:
        _check_json(request.get_data(cache=True))


def _check_json(raw: bytes) -> None:
    try:
        body = json.loads(raw)
    except RecursionError:
        raise RequestInvalid(f"JSON 嵌套超过 {MAX_DEPTH} 层", code="json_too_deep",
                             fields={"body": [f"at most {MAX_DEPTH} levels"]}) from None
    except ValueError:
        return  # malformed JSON: the body parser answers it with its own 400
    _walk(body, "", 0)


def _walk(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise RequestInvalid(f"JSON 嵌套超过 {MAX_DEPTH} 层", code="json_too_deep",
                             fields={path or "body": [f"at most {MAX_DEPTH} levels"]})
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            _refuse(path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            if UNSTORABLE.search(key):
                _refuse(f"{path}.{UNSTORABLE.sub('?', key)}".lstrip("."))
            _walk(item, f"{path}.{key}".lstrip("."), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}.{index}".lstrip("."), depth + 1)


def _refuse(field: str) -> None:
    raise RequestInvalid(f"{field} {UNSTORABLE_MESSAGE}", code="invalid_characters",
                         fields={field: [UNSTORABLE_MESSAGE]})
