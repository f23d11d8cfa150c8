"""A journal entry's JSON read quickly for a rebuild, and exactly: integers beyond 64 bits are never floats."""

from __future__ import annotations

import json

import pytest

from services.audit.views_feed import _envelope_json

GENESIS = "0" * 64


@pytest.mark.parametrize("text", [
    f'{{"prev_hash":"{GENESIS}","data":{{"n":1}}}}',
    '{"hash":"a1234567890123456789012","data":{"n":12}}',
    '{"data":{"n":123456789012345678901234}}',
    f'{{"prev_hash":"{GENESIS}","data":{{"n":[1,-123456789012345678901234]}}}}',
    '{"data":{"n": 1234567890123456789012, "s":"x"}}',
    '{"data":{"title":"集体学习","n":18446744073709551616}}',
])
def test_an_entry_reads_as_the_standard_parser_reads_it(text):
    found = _envelope_json(text.encode())
    assert found == json.loads(text)


def test_a_long_integer_stays_an_exact_integer():
    assert _envelope_json(b'{"data":{"n":123456789012345678901234567}}')["data"]["n"] == 123456789012345678901234567
