"""Rows become one JSON text the same way whichever encoder writes it: orjson, or the standard library's for what
orjson refuses (an integer beyond 64 bits)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone, UTC
from decimal import Decimal
from uuid import UUID

import pytest

from shared.rowwriter import encode

VALUES = {"amount": Decimal("12.50"), "on": date(2025, 2, 28), "at": datetime(2025, 6, 11, 1, 2, 3, 456789, tzinfo=UTC),
          "local": datetime(2025, 6, 11, 9, 0, tzinfo=timezone(timedelta(hours=8))), "naive": datetime(2025, 1, 1),
          "hour": time(7, 30), "id": UUID("0b6a4c1e-8f0e-4d0c-9a53-2b1f1c1f9e10"), "name": "王德明", "none": None}


def test_the_standard_encoder_writes_every_value_as_orjson_does():
    with_orjson = json.loads(encode([VALUES]))
    [with_standard] = json.loads(encode([{**VALUES, "big": 2 ** 70}]))
    assert with_standard.pop("big") == 2 ** 70  # exact, which orjson refuses to write
    assert [with_standard] == with_orjson


def test_a_value_neither_encoder_knows_is_refused():
    with pytest.raises(TypeError):
        encode([{"what": object()}])
