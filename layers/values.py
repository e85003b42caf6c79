"""Field values: what each kind of field is (:data:`TYPES`, the one registry of kinds,
built on :data:`layers.kinds.KINDS`), and a column as read, parsed to its field's kind
and checked against its spec.

Canonical column types: ``str`` → object (``None`` for missing), ``float`` → float64
(NaN), ``int`` → nullable Int64, ``bool`` → nullable boolean, ``date`` → object of
``datetime.date`` (``None``). Every problem goes to the caller's collector, naming the row
and field, so :func:`layers.frames.conform` reports them with the rest.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from layers.kinds import KINDS, Kind
from layers.schema import FieldKind, FieldSpec
from layers.text import invisible, normalise_id, normalise_text, unlike_id

_TRUE = frozenset({"true", "1", "yes", "y", "t", "是", "有"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "否", "无"})


def is_id(f: FieldSpec) -> bool:
    """Whether a text field holds an identifier, which may hold only the characters
    :func:`layers.text.unlike_id` allows."""
    return f.name.endswith("_id")


def _odd_characters(text: str, f: FieldSpec) -> list[str]:
    """Invisible characters in a text, and for an id the characters no id may hold."""
    found = invisible(text, code=is_code(f))
    if not found and is_id(f):
        found = unlike_id(normalise_id(text))
    return found


def is_code(f: FieldSpec) -> bool:
    """Whether a text field holds an identifier or code (compared as a key: NFKC) rather
    than free text (names, notes: NFC, punctuation as written); see layers/text.py."""
    return f.name.endswith("_id") or bool(f.choices) or f.name == "ledger_q"


def is_null(value: object) -> bool:
    # pandas-stubs has no overload of isna for a plain object; at run time it takes any scalar.
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))  # type: ignore[call-overload]


INT_RANGE = (-(2**31), 2**31 - 1)
"""Integers are 32-bit in both stores."""
# A date, or a date-time at exactly midnight (as spreadsheets and GDAL write dates).
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$")


Parsed = tuple[pd.Series, np.ndarray, str]
"""Values of one kind, the mask of present values that are not of that kind, and why."""
Parse = Callable[[pd.Series, np.ndarray, FieldSpec], Parsed]


def _parse_text(raw: pd.Series, present: np.ndarray, f: FieldSpec) -> Parsed:
    texts = [_as_text(v) if p else None for v, p in zip(raw, present, strict=True)]
    bad = np.array([bool(t and _odd_characters(t, f)) for t in texts], dtype=bool)
    # Every file, ledger edit and load passes here: the one place text gets the
    # project's spelling (layers/text.py says which and why). Refused values stay raw,
    # so a later check (a park id not found) names them as written.
    normal = normalise_id if is_code(f) else normalise_text
    values = pd.Series(
        [t if t is None or b else normal(t) for t, b in zip(texts, bad, strict=True)],
        dtype=object,
    )
    return (
        values,
        present & bad,
        (
            "含不可见字符或编号不允许的字符, 请删除 (invisible characters, or characters an "
            "id may not hold — ASCII letters and digits, Chinese characters, - _ . / ( ) # — "
            "remove them)"
            if is_id(f)
            else "含不可见字符, 请删除 (invisible characters: remove them)"
        ),
    )


def _parse_float(raw: pd.Series, present: np.ndarray, f: FieldSpec) -> Parsed:
    # A spreadsheet's TRUE is not 1: a boolean where a number belongs is refused.
    numeric = present & ~raw.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(bool)
    nums = pd.to_numeric(raw.where(numeric, np.nan), errors="coerce").astype(float)
    return nums, present & ~np.isfinite(nums.to_numpy()), "不是有限数值 (not a finite number)"


def _parse_int(raw: pd.Series, present: np.ndarray, f: FieldSpec) -> Parsed:
    nums, bad, _ = _parse_float(raw, present, f)
    whole = nums.to_numpy() % 1 == 0
    in_range = (nums.to_numpy() >= INT_RANGE[0]) & (nums.to_numpy() <= INT_RANGE[1])
    bad |= present & ~(whole & in_range)
    values = nums.where(~bad & present, np.nan).round().astype("Int64")
    return values, bad, f"不是 {INT_RANGE[0]}…{INT_RANGE[1]} 内的整数 (not a 32-bit integer)"


def _parse_bool(raw: pd.Series, present: np.ndarray, f: FieldSpec) -> Parsed:
    mapped = raw.map(_as_bool)
    return (
        mapped.astype("boolean"),
        present & mapped.isna().to_numpy(),
        "不是布尔值 (not a boolean)",
    )


def _parse_date(raw: pd.Series, present: np.ndarray, f: FieldSpec) -> Parsed:
    text = raw.map(lambda v: v.isoformat() if isinstance(v, dt.date) else str(v))
    day = text.str.extract(_DATE, expand=False)
    parsed = pd.to_datetime(day.where(present, None), errors="coerce", format="%Y-%m-%d")
    values = pd.Series(parsed.dt.date.to_numpy(dtype=object), dtype=object)
    values = values.where(parsed.notna(), None)
    return values, present & parsed.isna().to_numpy(), "不是日期 YYYY-MM-DD, 不含时刻 (not a date)"


@dataclass(frozen=True)
class FieldType(Kind):
    """Everything the project does differently for one kind of field value: its
    :class:`~layers.kinds.Kind` (SQL, JSON and docs), and how pandas holds it.

    Parameters
    ----------
    dtype
        The canonical pandas dtype of a column of such values.
    parse
        Reads a column as written to values of this kind (see :func:`coerce`).
    plain
        One present value as a plain Python value (for a database row, a hash or a
        spreadsheet cell).
    column
        Values read from the database as a column of the canonical dtype.
    from_text
        A column of values the database keeps as text (SQLite keeps dates as
        ``YYYY-MM-DD``), as this kind's values, converted at once; ``None`` for kinds
        whose values every driver gives as they are.
    """

    dtype: str
    parse: Parse
    plain: Callable[[Any], Any]
    column: Callable[[Any], Any]
    from_text: Callable[[Any], Any] | None = None

    @classmethod
    def extending(
        cls,
        kind: FieldKind,
        dtype: str,
        parse: Parse,
        plain: Callable[[Any], Any],
        column: Callable[[Any], Any],
        from_text: Callable[[Any], Any] | None = None,
    ) -> FieldType:
        """The kind as :data:`layers.kinds.KINDS` describes it, with pandas' part."""
        k = KINDS[kind]
        return cls(
            k.sql, k.json_type, k.json_format, k.family, k.words, dtype, parse, plain, column,
            from_text,
        )  # fmt: skip


def _objects(values: Any) -> Any:
    return np.array(values, dtype=object)


def _as_is(value: Any) -> Any:
    return value


def _dates_from_text(text: Any) -> Any:
    """``YYYY-MM-DD`` text (None for missing) as dates (None), parsed for the whole
    column at once (pandas' parser: twice as fast as numpy's); other text raises."""
    parsed = pd.to_datetime(pd.Series(text, dtype=object, copy=False), format="%Y-%m-%d")
    return parsed.to_numpy(dtype="datetime64[D]").astype(object)


TYPES: dict[FieldKind, FieldType] = {
    "str": FieldType.extending("str", "object", _parse_text, _as_is, _objects),
    "int": FieldType.extending(
        "int", "Int64", _parse_int, int, lambda values: pd.array(values, dtype="Int64")
    ),
    "float": FieldType.extending(
        "float",
        "float64",
        _parse_float,
        float,
        lambda values: np.array(values, dtype="float64"),  # None becomes NaN
    ),
    "bool": FieldType.extending(
        "bool", "boolean", _parse_bool, bool, lambda values: pd.array(values, dtype="boolean")
    ),
    "date": FieldType.extending(
        "date", "object", _parse_date, _as_is, _objects, from_text=_dates_from_text
    ),
}
"""Each kind of :data:`layers.kinds.KINDS` with how pandas holds it: the registry the
project reads wherever it needs pandas too."""


def field_type(f: FieldSpec) -> FieldType:
    """The type of a field's values."""
    return TYPES[f.kind]


def coerce(series: pd.Series, f: FieldSpec, problem: Callable[..., None]) -> pd.Series:
    """The column in its canonical type; every value that is not of the field's kind, is
    missing where required, or breaks its choices or range is a ``problem``."""
    raw = series.reset_index(drop=True).astype(object)
    present = raw.notna().to_numpy(dtype=bool)
    ft = field_type(f)
    values, bad, reason = ft.parse(raw, present, f)
    for i in np.flatnonzero(bad):
        found = _odd_characters(_as_text(raw[i]), f) if ft.family == "str" else []
        which = f": {', '.join(found)}" if found else ""
        problem(f"值 {raw[i]!r} {reason}{which}", index=i, field=f.name)
    if f.required:
        blank = present & values.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(
            dtype=bool
        )
        for i in np.flatnonzero(~present | blank):
            problem("必填字段为空 (required value missing)", index=i, field=f.name)
    ok = present & ~bad
    if f.choices:
        for i in np.flatnonzero(ok & ~values.isin(f.choices).to_numpy()):
            problem(
                f"值 {values[i]!r} 不在允许范围 {list(f.choices)} (not an allowed value)",
                index=i,
                field=f.name,
            )
    if ft.family == "str":
        # Only spaces is no value: an optional field stores none, not "".
        values = values.where(~(ok & (values == "").to_numpy(dtype=bool)), None)
        for i in np.flatnonzero(ok & values.map(_looks_like_a_location).to_numpy(dtype=bool)):
            problem(
                f"值 {values[i]!r} 像网址或 GDAL 路径, 不接受 (a URL or GDAL path is not "
                "accepted as a value)",
                index=i,
                field=f.name,
            )
    if ft.numeric:
        nums = values.astype(float).to_numpy()
        for limit, cmp, word in (
            (f.minimum, np.less, "小于下限"),
            (f.maximum, np.greater, "大于上限"),
        ):
            if limit is None:
                continue
            for i in np.flatnonzero(ok & cmp(np.nan_to_num(nums, nan=limit), limit)):
                problem(f"值 {values[i]} {word} {limit} (out of range)", index=i, field=f.name)
    return values


# A value some tool might follow: a URL (http://, ftp://, file://, …) or a GDAL virtual
# file system path (/vsicurl/, /vsizip/, …). No field of ours holds one.
_LOCATION = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://|/vsi[a-z0-9_]+/", re.IGNORECASE)


def _looks_like_a_location(value: object) -> bool:
    return isinstance(value, str) and _LOCATION.search(value) is not None


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id stored as a number by a spreadsheet
    return str(value)


def _as_bool(value: object) -> bool | None:
    if is_null(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.number) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None
