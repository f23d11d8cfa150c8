"""What every members command schema shares: the base schema, field helpers, the vocabularies."""

from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate


GENDERS = ("male", "female")
RETIREMENT_KINDS = ("lixiu", "retired", "in_service")
HEALTH = ("good", "fair", "poor")
MOBILITY = ("mobile", "limited", "homebound")
POSTS = ("secretary", "deputy_secretary", "member")
PAYERS = ("self", "relative", "member")
MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="a month as YYYY-MM")


class CommandSchema(Schema):
    """Loads a request body into the command dataclass named by ``command``."""

    command: type = dict

    @post_load
    def build(self, data, **_):
        return self.command(**data)


def text(max_length: int, **options) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **options)


def money(**options) -> fields.Decimal:
    return fields.Decimal(places=2, validate=validate.Range(min=0), **options)


def member_id_field(**options) -> fields.String:
    return fields.String(validate=validate.Length(equal=36), **options)
