"""Chinese for the messages marshmallow writes when a request body or query is invalid.

The APIs' users read these messages (a form shows them beside the field they name), so they are set
once for every schema of the process, at the library's class level; the error ``code`` and the field
names stay the machine's.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

FIELD_MESSAGES: dict[type, dict[str, str]] = {
    fields.Field: {"required": "必须填写", "null": "不能为空", "validator_failed": "填写的内容无效"},
    fields.Boolean: {"invalid": "应为“是”或“否”"},
    fields.Date: {"invalid": "不是有效的日期（例如 2026-11-30）", "format": "无法写成日期"},
    fields.DateTime: {"invalid": "不是有效的时间", "format": "无法写成时间",
                      "invalid_awareness": "时间须带时区（例如 2026-11-30T09:00:00+08:00）"},
    fields.Time: {"invalid": "不是有效的时刻（例如 09:30）"},
    fields.Number: {"invalid": "不是有效的数字", "too_large": "数字太大"},
    fields.Integer: {"invalid": "应为整数"},
    fields.Decimal: {"special": "不是有效的金额或数字"},
    fields.Float: {"special": "不是有效的数字"},
    fields.String: {"invalid": "应为文字", "invalid_utf8": "文字编码无效（须为 UTF-8）"},
    fields.UUID: {"invalid_uuid": "不是有效的编号"},
    fields.List: {"invalid": "应为列表"},
    fields.Tuple: {"invalid": "应为列表"},
    fields.Mapping: {"invalid": "应为键值对象"},
    fields.Nested: {"type": "格式不对"},
    fields.Email: {"invalid": "不是有效的电子邮件地址"},
    fields.URL: {"invalid": "不是有效的网址"},
    fields.Enum: {"unknown": "只能是以下之一：{choices}"},
}

VALIDATOR_MESSAGES: dict[type, dict[str, str]] = {
    validate.OneOf: {"default_message": "只能是以下之一：{choices}"},
    validate.ContainsOnly: {"default_message": "有不在以下范围内的选项：{choices}"},
    validate.ContainsNoneOf: {"default_message": "不能包含：{values}"},
    validate.Equal: {"default_message": "应等于 {other}"},
    validate.NoneOf: {"default_message": "填写的内容无效"},
    validate.Predicate: {"default_message": "填写的内容无效"},
    validate.Regexp: {"default_message": "格式不对"},
    validate.Email: {"default_message": "不是有效的电子邮件地址"},
    validate.URL: {"default_message": "不是有效的网址"},
    validate.Length: {"message_min": "至少 {min} 个字", "message_max": "最多 {max} 个字",
                      "message_all": "长度须在 {min} 到 {max} 之间", "message_equal": "长度须为 {equal}"},
    validate.Range: {"message_min": "不能{min_op} {{min}}", "message_max": "不能{max_op} {{max}}",
                     "message_all": "须在 {{min}} 到 {{max}} 之间", "message_gte": "小于", "message_gt": "小于或等于",
                     "message_lte": "大于", "message_lt": "大于或等于"},
}

SCHEMA_MESSAGES = {"type": "请求内容格式不对", "unknown": "不认识这个字段"}


def install() -> None:
    """Put the Chinese messages in place (idempotent: safe to call from every app factory)."""
    for cls, messages in FIELD_MESSAGES.items():
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}), **messages}
    for cls, messages in VALIDATOR_MESSAGES.items():
        for name, text in messages.items():
            setattr(cls, name, text)
    Schema._default_error_messages = {**Schema._default_error_messages, **SCHEMA_MESSAGES}
