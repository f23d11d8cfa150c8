"""The request parser builds each argument schema once, not once per request."""

from __future__ import annotations

from marshmallow import Schema, fields

from shared.web import StrictParser


class _Body(Schema):
    built = 0
    name = fields.String(required=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        type(self).built += 1


def test_a_schema_class_is_built_once_and_its_instance_serves_every_request():
    parser = StrictParser()
    first = parser._get_schema(_Body, None)
    again = parser._get_schema(_Body, None)
    assert first is again and _Body.built == 1
    assert first.load({"name": "张三"}) == {"name": "张三"}
