"""The CQL2-text parser: pygeofilter's grammar and transformer, built our way.

pygeofilter builds its parser with ``debug=True`` and sets lark's logger to DEBUG when it
is imported: every literal its transformer cannot convert (``DATE('2026-02-30')``) then
prints lark's whole state stack, about 9 KB, to the service's output. We build a second
parser from the same grammar without debug, and put lark's logger back to the level lark
gives it, so a bad filter writes nothing. Both parsers are built on the first filter
parsed, not on import (building them takes about half a second).

Literals are converted here, where the parser meets them: a date, a timestamp or a
number that no store can hold is an :class:`~layers.errors.InvalidInput` naming the
literal as the reader wrote it, not an error deep in a driver (PostgreSQL refused
``2147483648`` bound as a 32-bit integer) or a 500.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from typing import Any

import lark

from layers.errors import InvalidInput

INT64 = range(-(2**63), 2**63)
"""Integers both stores bind exactly (SQLite INTEGER, PostgreSQL BIGINT)."""
_QUOTED = 40
"""How much of a literal an error message quotes: enough to find it in the filter."""


def quote(literal: str) -> str:
    """``literal`` as an error message shows it: quoted, long ones cut short."""
    text = str(literal)  # lark's tokens are str subclasses with a repr of their own
    return repr(text if len(text) <= _QUOTED else f"{text[:_QUOTED]}…")


def out_of_range(literal: str) -> InvalidInput:
    return InvalidInput(
        f"filter: 数值 {quote(literal)} 超出范围 (the number {quote(literal)} is out of range: "
        "integers within ±9.2e18, other numbers within ±1.8e308)"
    )


class _StrictLiterals:
    """What pygeofilter's transformer is given in front of it (see :func:`_parser`): every
    literal converted strictly (ISO 8601 and finite numbers), errors that name it."""

    def DATE(self, token: str) -> dt.date:  # noqa: N802  # lark names callbacks after terminals
        try:
            return dt.date.fromisoformat(token)
        except ValueError:
            raise InvalidInput(
                f"filter: 日期 {quote(token)} 不存在 (no such date {quote(token)}: "
                "write an existing date as YYYY-MM-DD)"
            ) from None

    def DATETIME(self, token: str) -> dt.datetime:  # noqa: N802
        # pygeofilter reads timestamps with dateparser, which guesses (and is slow);
        # CQL2 timestamps are RFC 3339, which fromisoformat reads exactly.
        try:
            return dt.datetime.fromisoformat(token)
        except ValueError:
            raise InvalidInput(
                f"filter: 时间 {quote(token)} 不存在 (no such timestamp {quote(token)}: "
                "write an existing time as YYYY-MM-DDTHH:MM:SSZ)"
            ) from None

    def INT(self, token: str) -> int:  # noqa: N802
        # Whether it fits depends on the field it is compared with (see filters.py);
        # Python refuses to convert integers of more than 4,300 digits at all.
        try:
            return int(token)
        except ValueError:
            raise out_of_range(token) from None

    def FLOAT(self, token: str) -> float:  # noqa: N802
        value = float(token)  # the grammar admits only digits, a point and an exponent
        if not math.isfinite(value):
            raise out_of_range(token)
        return value

    def wkt__SIGNED_NUMBER(self, token: str) -> float:  # noqa: N802
        return self.FLOAT(token)


@functools.cache
def _parser() -> lark.Lark:
    # Importing pygeofilter's parser builds its own (with debug on) and turns lark's
    # logger to DEBUG; lark's own default is CRITICAL (it logs only while building).
    from pygeofilter.parsers.cql2_text import parser as pygeofilter_cql2

    lark.logger.setLevel(logging.CRITICAL)
    transformer = type("_Transformer", (_StrictLiterals, pygeofilter_cql2.CQLTransformer), {})
    return lark.Lark.open(
        "grammar.lark",
        rel_to=pygeofilter_cql2.__file__,
        parser="lalr",
        maybe_placeholders=False,
        transformer=transformer(),
        import_paths=pygeofilter_cql2.parser.options.import_paths,
    )


def parse(text: str) -> Any:
    """The pygeofilter AST of a CQL2-text filter; :class:`InvalidInput` for a literal
    that names no value, lark's errors for text that is not CQL2."""
    return _parser().parse(text)
