"""Checks of a ledger edit that need no stored row: the quarter, which fields may be
edited, values of types a field cannot hold, a version number as typed in a file."""

from __future__ import annotations

import math
import re
from typing import Any

from layers.errors import InvalidInput
from layers.kinds import kind_of
from layers.schema import LayerSpec

QUARTER = re.compile(r"^(19|20)\d{2}Q[1-4]$")


def check_edit(spec: LayerSpec, quarter: str, values: dict[str, Any]) -> None:
    if not QUARTER.match(quarter):
        raise InvalidInput(f"季度格式应为 2026Q4 (quarter must look like 2026Q4): {quarter!r}")
    # The quarter a row reads as of is the edit's own (``quarter``), never typed apart.
    editable = {f.name for f in spec.stored_fields} - {spec.id_field, "ledger_q"}
    unknown = sorted(set(values) - editable)
    if unknown:
        raise InvalidInput(
            f"不可修改的字段 (fields that cannot be edited here): {', '.join(unknown)}",
            details={"editable": sorted(editable)},
        )


def typed_problems(spec: LayerSpec, values: dict[str, Any]) -> dict[str, str]:
    """Values of JSON types a field cannot hold, by field: never coerced (``true`` is not
    1, an object is not its text, NaN is not "no value")."""
    fields = {f.name: f for f in spec.stored_fields}
    out = {}
    for name, value in values.items():
        if value is None or name not in fields:
            continue
        # Named as the field declares it; judged by the JSON type the registry gives it.
        kind, json_type = fields[name].kind, kind_of(fields[name]).json_type
        if isinstance(value, dict | list):
            out[name] = f"值是 {type(value).__name__}, 应为单个值 (an object or list, not a value)"
        elif isinstance(value, bool) and json_type != "boolean":
            out[name] = f"值 {value!r} 是布尔值, 应为 {kind} (a boolean where a {kind} is expected)"
        elif isinstance(value, float) and not math.isfinite(value):
            out[name] = f"值 {value!r} 不是有限数值 (not a finite number)"
        elif isinstance(value, int | float) and json_type == "string":
            out[name] = f"值 {value!r} 是数值, 应为文本 (a number where a {kind} is expected)"
        elif isinstance(value, str) and kind_of(fields[name]).numeric:
            out[name] = f"值 {value!r} 是文本, 应为数值 (a text where a number is expected)"
    return out


def whole_number(value: Any) -> int | None:
    """A version number as typed in a file: a whole number, or ``None``."""
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


__all__ = ["QUARTER", "check_edit", "typed_problems", "whole_number"]
