"""Feature filters and sort orders from readers (OGC API – Features Part 3, CQL2 text).

A filter is parsed by pygeofilter's CQL2-text parser and translated here — not by
pygeofilter's own SQL backends, which pass function names through to the database —
into SQLAlchemy expressions in which every literal is a bound parameter. Only what a
land-stock reader needs is accepted: comparisons, ``LIKE``, ``BETWEEN``, ``IN``,
``IS NULL``, ``AND``/``OR``/``NOT``, ``CASEI``, and the spatial predicates ``S_*`` of
``geometry`` with a literal geometry. Property names are resolved against the fields the
caller may see; a name outside them gets the same answer as a name that does not exist,
so a filter cannot probe for internal fields. Sizes are bounded before anything reaches
the database.

The embedded store has no spatial SQL: it evaluates the spatial predicates with shapely
through a function registered on each SQLite connection
(:func:`~layers.store.relate.sqlite_relate`), after the bounding-box columns have narrowed
the rows down.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
import sqlalchemy as sa
from lark.exceptions import LarkError, UnexpectedInput
from pygeofilter import ast, values
from sqlalchemy.sql.elements import ColumnElement

from layers import output_crs
from layers.errors import InvalidInput
from layers.schema import FieldSpec, LayerSpec
from layers.store.cql2 import INT64, out_of_range, quote
from layers.store.cql2 import parse as parse_cql2_text
from layers.store.relate import SQLITE_RELATE
from layers.values import field_type

MAX_FILTER_CHARS = 65_536
"""A filter's length; a drawn polygon of a few thousand vertices fits."""
MAX_VERTICES = 10_000
MAX_DEPTH = 64
MAX_LITERALS = 1_000
GEOMETRY = "geometry"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Column = Callable[[str], ColumnElement[Any]]
"""The SQL expression readers see for a stored field (a reserved site reads ``reserved``)."""

_COMPARISONS: dict[type[ast.Node], Callable[[Any, Any], ColumnElement[bool]]] = {
    ast.Equal: lambda a, b: a == b,
    ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b,
    ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b,
    ast.GreaterEqual: lambda a, b: a >= b,
}
_MIRRORED: dict[type[ast.Node], type[ast.Node]] = {
    ast.LessThan: ast.GreaterThan,
    ast.LessEqual: ast.GreaterEqual,
    ast.GreaterThan: ast.LessThan,
    ast.GreaterEqual: ast.LessEqual,
}
_RELATIONS = {
    ast.GeometryIntersects: "intersects",
    ast.GeometryDisjoint: "disjoint",
    ast.GeometryContains: "contains",
    ast.GeometryWithin: "within",
    ast.GeometryTouches: "touches",
    ast.GeometryCrosses: "crosses",
    ast.GeometryOverlaps: "overlaps",
    ast.GeometryEquals: "equals",
}
_POSTGIS = {name: f"ST_{name.capitalize()}" for name in _RELATIONS.values()}


@dataclass(frozen=True)
class Scope:
    """What a filter may name: the caller's fields of one layer, as SQL."""

    spec: LayerSpec
    fields: Sequence[FieldSpec]
    column: Column
    geometry: ColumnElement[Any]
    bbox: tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]
    postgis: bool

    def field(self, name: str, parameter: str) -> FieldSpec:
        """The field ``name`` if the caller may see it; one answer for hidden and unknown."""
        for f in self.fields:
            if f.name == name:
                return f
        queryable = ", ".join([GEOMETRY, *(f.name for f in self.fields if not f.derived)])
        raise InvalidInput(
            f"{parameter}: 未知属性 {name!r} (unknown property {name!r}); "
            f"可用 (available): {queryable}"
        )

    def stored(self, name: str, parameter: str) -> FieldSpec:
        f = self.field(name, parameter)
        if f.derived:
            raise InvalidInput(
                f"{parameter}: {name!r} 为计算字段, 不能用于筛选或排序 "
                f"({name!r} is computed from the geometry; it cannot be filtered or sorted on)"
            )
        return f


def compile_filter(text: str, scope: Scope, *, crs: output_crs.Code = None) -> ColumnElement[bool]:
    """The CQL2-text ``filter`` as a SQL condition; :class:`InvalidInput` (400) otherwise.

    Geometry literals are in ``crs`` (``filter-crs``; CRS84 by default), in its axis order.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(
            f"filter 过长: {len(text)} 个字符, 上限 {MAX_FILTER_CHARS} "
            f"(filter too long: at most {MAX_FILTER_CHARS} characters)"
        )
    if "\x00" in text:
        raise InvalidInput("filter 含有 NUL 字符 (the filter contains a NUL character)")
    try:
        node = parse_cql2_text(text)
    except InvalidInput:
        raise  # a literal that names no value: the message says which
    except UnexpectedInput as exc:
        raise InvalidInput(
            f"filter 语法错误, 第 {exc.column} 个字符处 (CQL2 text syntax error at character "
            f"{exc.column})",
            details={"column": exc.column},
        ) from None
    except (LarkError, ValueError, TypeError, RecursionError):
        raise InvalidInput("filter 无法解析 (the filter is not valid CQL2 text)") from None
    _check_size(node)
    return _Translator(scope, crs).condition(node)


def compile_sortby(text: str, scope: Scope) -> list[ColumnElement[Any]]:
    """``sortby`` (``+name,-name``: ascending unless ``-``) as ORDER BY terms, nulls last."""
    terms: list[ColumnElement[Any]] = []
    names = [part.strip() for part in text.split(",")]
    if not all(names) or len(names) > 8:
        raise InvalidInput("sortby 须为 1–8 个以逗号分隔的属性 (sortby: 1–8 comma-separated names)")
    for part in names:
        descending = part.startswith("-")
        name = part.lstrip("+-").strip()
        f = scope.stored(name, "sortby")
        column = scope.column(f.name)
        terms.append((column.desc() if descending else column.asc()).nulls_last())
    return terms


def _check_size(node: Any) -> None:
    """Refuse filters nested deeper than :data:`MAX_DEPTH` or with too many literals
    (each becomes a bound parameter; the stores cap how many a statement may have)."""
    stack: list[tuple[Any, int]] = [(node, 1)]
    literals = 0
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"filter 嵌套过深 (filter nested deeper than {MAX_DEPTH})")
        if isinstance(item, ast.Node):
            children = item.get_sub_nodes() or []
            if isinstance(item, ast.Like):
                children = [*children, item.pattern]
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        else:
            literals += 1
    if literals > MAX_LITERALS:
        raise InvalidInput(f"filter 字面量过多 (more than {MAX_LITERALS} values in the filter)")


class _Translator:
    def __init__(self, scope: Scope, crs: output_crs.Code) -> None:
        self.scope = scope
        self.crs = crs

    def condition(self, node: Any) -> ColumnElement[bool]:
        if isinstance(node, ast.Not):
            return sa.not_(self.condition(node.sub_node))
        if isinstance(node, ast.And):
            return sa.and_(self.condition(node.lhs), self.condition(node.rhs))
        if isinstance(node, ast.Or):
            return sa.or_(self.condition(node.lhs), self.condition(node.rhs))
        if isinstance(node, ast.Include):
            return sa.false() if node.not_ else sa.true()
        if type(node) in _COMPARISONS:
            return self.comparison(node)
        if isinstance(node, ast.Between):
            f, column = self.operand_field(node.lhs)
            low, high = self.literal(node.low, f), self.literal(node.high, f)
            if not field_type(f).ordered:
                raise InvalidInput(f"filter: BETWEEN 需要数值或日期属性 ({f.name} is {f.kind})")
            between = column.between(low, high)
            return sa.not_(between) if node.not_ else between
        if isinstance(node, ast.In):
            f, column = self.operand_field(node.lhs)
            options = [self.literal(option, f) for option in node.sub_nodes]
            return column.not_in(options) if node.not_ else column.in_(options)
        if isinstance(node, ast.IsNull):
            _, column = self.operand_field(node.lhs)
            return column.is_not(None) if node.not_ else column.is_(None)
        if isinstance(node, ast.Like):
            return self.like(node)
        if type(node) in _RELATIONS:
            return self.spatial(node)
        raise InvalidInput(
            f"filter: 不支持 {_describe(node)} (not supported); supported: comparisons, LIKE, "
            "BETWEEN, IN, IS NULL, AND/OR/NOT, CASEI and S_INTERSECTS, S_DISJOINT, "
            "S_CONTAINS, S_WITHIN, S_TOUCHES, S_CROSSES, S_OVERLAPS, S_EQUALS"
        )

    def comparison(self, node: Any) -> ColumnElement[bool]:
        kind = type(node)
        lhs, rhs = node.lhs, node.rhs
        if not _is_property(lhs) and _is_property(rhs):
            lhs, rhs, kind = rhs, lhs, _MIRRORED.get(kind, kind)
        f, column = self.operand_field(lhs)
        if _is_property(rhs):
            g, other = self.operand_field(rhs)
            if field_type(f).family != field_type(g).family:
                raise InvalidInput(
                    f"filter: 不能比较 {f.name} ({f.kind}) 与 {g.name} ({g.kind}) "
                    "(properties of different types)"
                )
            return _COMPARISONS[kind](column, other)
        return _COMPARISONS[kind](column, self.literal(rhs, f))

    def like(self, node: Any) -> ColumnElement[bool]:
        f, column = self.operand_field(node.lhs)
        if field_type(f).family != "str":
            raise InvalidInput(f"filter: LIKE 需要文本属性和文本模式 (LIKE needs text: {f.name})")
        # CQL2: % and _ are the wildcards and \ escapes, as in SQL.
        like = column.like(self.literal(node.pattern, f), escape="\\")
        return sa.not_(like) if node.not_ else like

    def operand_field(self, node: Any) -> tuple[FieldSpec, ColumnElement[Any]]:
        """A property, or ``CASEI(property)`` of a text property, as SQL."""
        if _is_lower(node):
            (argument,) = node.arguments
            f, column = self.operand_field(argument)
            if field_type(f).family != "str":
                raise InvalidInput(f"filter: CASEI 需要文本属性 (CASEI needs text: {f.name})")
            return f, sa.func.lower(column)
        if isinstance(node, ast.Function):
            raise InvalidInput(f"filter: 不支持函数 (function not supported): {node.name!r}")
        if isinstance(node, ast.Arithmetic):
            raise InvalidInput("filter: 不支持算术运算 (arithmetic is not supported)")
        if not isinstance(node, ast.Attribute):
            raise InvalidInput(
                f"filter: 比较的一侧须为属性 (one side must be a property): {_describe(node)}"
            )
        if node.name == GEOMETRY:
            raise InvalidInput("filter: geometry 只能用于 S_* 空间谓词 (spatial predicates only)")
        f = self.scope.stored(node.name, "filter")
        return f, self.scope.column(f.name)

    def literal(self, value: Any, f: FieldSpec) -> Any:
        """A literal checked against the field's type, to be bound as a parameter."""
        family = field_type(f).family
        if _is_lower(value) and family == "str":
            return sa.func.lower(self.literal(value.arguments[0], f))
        if family == "str" and isinstance(value, str):
            return sa.literal(value, sa.String())
        if family == "number" and _is_number(value):
            return self.number(value, f)
        if family == "bool" and isinstance(value, bool):
            return sa.literal(value, sa.Boolean())
        if family == "date":
            if isinstance(value, str) and _ISO_DATE.fullmatch(value):
                value = _date(value)
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return sa.literal(value, sa.Date())
        raise InvalidInput(
            f"filter: {f.name} 是 {f.kind} 类型, 值 {_describe(value)} 不匹配 "
            f"({f.name} is of type {f.kind}; the value does not match)"
        )

    def number(self, value: int | float, f: FieldSpec) -> Any:
        """A number bound with a type that holds it: an integer as a 64-bit integer
        (PostgreSQL refuses 2147483648 bound as its default, a 32-bit integer), one
        beyond 64 bits as a float where the field is a float."""
        if isinstance(value, float):
            return sa.literal(value, sa.Float())
        if value in INT64:
            return sa.literal(value, sa.BigInteger())
        if field_type(f).json_type == "number" and len(str(value)) < 300:  # below float's 1.8e308
            return sa.literal(float(value), sa.Float())
        raise out_of_range(str(value))

    def spatial(self, node: Any) -> ColumnElement[bool]:
        relation = _RELATIONS[type(node)]
        lhs, rhs = node.lhs, node.rhs
        if _is_geometry_literal(lhs) and isinstance(rhs, ast.Attribute):
            # S_WITHIN(literal, geometry) is S_CONTAINS(geometry, literal), and so on.
            lhs, rhs = rhs, lhs
            relation = {"within": "contains", "contains": "within"}.get(relation, relation)
        if not (isinstance(lhs, ast.Attribute) and lhs.name == GEOMETRY):
            raise InvalidInput(
                f"filter: S_{relation.upper()} 的一侧须为 geometry "
                "(one side of a spatial predicate must be the property geometry)"
            )
        shape = self.geometry_literal(rhs)
        wkb = sa.literal(shapely.to_wkb(shape), sa.LargeBinary())
        scope = self.scope
        if scope.postgis:
            literal = sa.func.ST_GeomFromWKB(wkb, sa.literal(4490, sa.Integer()))
            func = getattr(sa.func, _POSTGIS[relation])
            condition: ColumnElement[bool] = func(scope.geometry, literal)
            return condition
        relate = getattr(sa.func, SQLITE_RELATE)
        test: ColumnElement[bool] = relate(scope.geometry, wkb, sa.literal(relation)) == 1
        if relation == "disjoint":
            return test
        minx, miny, maxx, maxy = (sa.literal(float(v), sa.Float()) for v in shapely.bounds(shape))
        c_minx, c_miny, c_maxx, c_maxy = scope.bbox
        near = sa.and_(c_maxx >= minx, c_minx <= maxx, c_maxy >= miny, c_miny <= maxy)
        return sa.and_(near, test)

    def geometry_literal(self, value: Any) -> shapely.Geometry:
        if isinstance(value, ast.Function) and value.name == "bbox":
            numbers = value.arguments
            # Integers of any size parse; far beyond the globe they are no coordinates.
            if len(numbers) != 4 or not all(_is_number(v) and abs(v) < 1e300 for v in numbers):
                raise InvalidInput("filter: BBOX 须为 4 个数字 (BBOX(minx, miny, maxx, maxy))")
            minx, miny, maxx, maxy = (float(v) for v in numbers)
            shape: shapely.Geometry = shapely.box(minx, miny, maxx, maxy)
        elif isinstance(value, values.Geometry | values.Envelope):
            try:
                shape = shapely.geometry.shape(value.__geo_interface__)
            except (ValueError, TypeError, shapely.errors.ShapelyError):
                raise InvalidInput("filter: 几何无法读取 (unreadable geometry literal)") from None
        else:
            raise InvalidInput(
                f"filter: 空间谓词需要一个几何字面量 (a geometry literal): {_describe(value)}"
            )
        vertices = int(shapely.get_num_coordinates(shape))
        if vertices > MAX_VERTICES:
            raise InvalidInput(
                f"filter: 几何有 {vertices} 个顶点, 上限 {MAX_VERTICES} "
                f"(a filter geometry may have at most {MAX_VERTICES} vertices)"
            )
        if shapely.is_empty(shape):
            raise InvalidInput("filter: 几何为空 (empty geometry)")
        if not shapely.is_valid(shape):
            raise InvalidInput(
                f"filter: 几何无效 (invalid geometry): {shapely.is_valid_reason(shape)}"
            )
        if self.crs is not None:
            shape = output_crs.to_storage(shape, self.crs)
        minx, miny, maxx, maxy = shapely.bounds(shape)
        lon_lat = -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90  # NaN: False
        if not lon_lat:
            raise InvalidInput("filter: 几何超出坐标系范围 (geometry outside the CRS's area)")
        return shape


def _is_property(node: Any) -> bool:
    """A property, or ``CASEI`` of one."""
    return isinstance(node, ast.Attribute) or (_is_lower(node) and _is_property(node.arguments[0]))


def _is_lower(node: Any) -> bool:
    return isinstance(node, ast.Function) and node.name == "lower" and len(node.arguments) == 1


def _is_number(value: Any) -> bool:
    """A number: an integer of any size (:meth:`_Translator.number` says whether it
    fits) or a finite float (the parser refuses others)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _date(text: str) -> dt.date:
    """A quoted ``YYYY-MM-DD`` compared with a date field, as a date that exists."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"filter: 日期 {quote(text)} 不存在 (no such date {quote(text)}: "
            "write an existing date as YYYY-MM-DD)"
        ) from None


def _is_geometry_literal(value: Any) -> bool:
    return isinstance(value, values.Geometry | values.Envelope) or (
        isinstance(value, ast.Function) and value.name == "bbox"
    )


def _describe(node: Any) -> str:
    if isinstance(node, ast.Function):
        return f"function {node.name!r}"
    if isinstance(node, ast.Node):
        return type(node).__name__
    if isinstance(node, str):
        return repr(node[:40])
    return type(node).__name__
