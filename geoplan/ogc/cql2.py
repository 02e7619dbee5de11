"""CQL2 (text and JSON) → parameterised SQL over a collection's registered properties.

Parsing is pygeofilter's, with three repairs: string literals in CQL2 text may contain a quote
written twice (``'O''Brien'``, the CQL2 rule its grammar misses); CQL2 JSON as the 1.0 standard
writes it (``between`` with three arguments, ``casei``/``accenti`` anywhere) is accepted; and
numbers are bounded (:data:`MAX_NUMBER`, :data:`INTEGER_RANGE`) so a 400-digit literal is a 400,
not an overflow deep inside.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import shapely
import shapely.geometry
from pygeofilter import ast as cql
from pygeofilter import values as cql_values

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.crs import CRS84, EPSG_4326, SUPPORTED_CRS, Crs, served_crs
from geoplan.ogc.collections import (
    ARRAY,
    BOOLEAN,
    DATE,
    DATETIME,
    INTEGER,
    MAX_FILTER_LENGTH,
    NUMBER,
    SQL_CAST,
    STRING,
    Collection,
    type_phrase,
)

GEOMETRY = "geometry"
GEOMETRY_NAMES = ("geom", "geometry")
_COMPARISON = {
    cql.Equal: "=",
    cql.NotEqual: "<>",
    cql.LessThan: "<",
    cql.LessEqual: "<=",
    cql.GreaterThan: ">",
    cql.GreaterEqual: ">=",
}
_SPATIAL = {
    cql.GeometryIntersects: "ST_Intersects",
    cql.GeometryDisjoint: "ST_Disjoint",
    cql.GeometryContains: "ST_Contains",
    cql.GeometryWithin: "ST_Within",
    cql.GeometryTouches: "ST_Touches",
    cql.GeometryCrosses: "ST_Crosses",
    cql.GeometryOverlaps: "ST_Overlaps",
    cql.GeometryEquals: "ST_Equals",
}
FILTER_LANGS = ("cql2-text", "cql2-json")
MAX_NUMBER = 1e300
"""Numbers in a filter lie within ±this (finite doubles, with room for PostgreSQL to compare)."""
INTEGER_RANGE = (-(2**63), 2**63 - 1)
"""Numbers compared with an integer property (or an integer id) lie within PostgreSQL's bigint."""
NUMBERS_RULE = (
    "numbers lie within ±1e300, and within the 64-bit range (±9223372036854775807) where "
    "compared with an integer property"
)
_MAX_DIGITS = 400  # longer numerals are refused before Python converts them

# CQL2's case folding beyond lower(): the full folds of characters Norwegian text may meet
_CASE_FOLDS = (("ß", "ss"), ("ς", "σ"))
# ACCENTI: canonical decomposition, then without the combining diacritical marks (U+0300–036F)
_ACCENT_MARKS = "U&'[\\0300-\\036F]'"


@dataclass
class _Expr:
    sql: str
    params: list[Any]
    type: str | None  # None: a literal whose type is its Python value's
    value: Any = None
    literal: bool = False


def parse_filter(text: str, lang: str | None = None) -> cql.Node:
    """The pygeofilter AST of a CQL2 filter; the parser's message on bad syntax."""
    lang = (lang or "cql2-text").strip().lower()
    if lang not in FILTER_LANGS:
        raise ValidationError(
            f"unsupported filter-lang {lang!r}; use {' or '.join(FILTER_LANGS)}", "filter-lang"
        )
    if len(text) > MAX_FILTER_LENGTH:
        raise ValidationError(f"filter is longer than {MAX_FILTER_LENGTH} characters", "filter")
    try:
        if lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse as parse_json

            return parse_json(_standard_json(json.loads(text, parse_int=_json_int)))
        return _text_parser().parse(text)
    except ValidationError:
        raise
    except RecursionError:
        raise ValidationError("filter is nested too deeply", "filter") from None
    except Exception as exc:  # lark/json/pygeofilter raise many types; all mean bad syntax
        inner = getattr(exc, "orig_exc", None)  # lark's VisitError around a transformer's error
        if isinstance(inner, ValidationError):
            raise inner from None
        message = str(exc).split("\nExpected one of")[0].strip() or type(exc).__name__
        raise ValidationError(f"invalid {lang} filter: {message}", "filter") from None


@functools.cache
def _text_parser() -> Any:
    """pygeofilter's CQL2 text parser with CQL2's string literals: ``''`` is one quote.

    Its grammar reads ``'O''Brien'`` as two strings; the terminal is redefined here (Lark's
    ``edit_terminals``) rather than the grammar copied, so the rest stays pygeofilter's.
    """
    from lark import Lark
    from lark.lexer import PatternRE
    from pygeofilter.parsers.cql2_text import parser as text

    class Transformer(text.CQLTransformer):
        def SINGLE_QUOTED(self, token: str) -> str:  # noqa: N802 (Lark's terminal name)
            return token[1:-1].replace("''", "'")

        def INT(self, token: str) -> int:  # noqa: N802
            return _numeral(token, int)

        def FLOAT(self, token: str) -> float:  # noqa: N802
            return _numeral(token, float)

    found = []

    def quoted_strings(terminal: Any) -> None:
        if terminal.name == "SINGLE_QUOTED":
            terminal.pattern = PatternRE("'(?:[^']|'')*'")
            found.append(terminal)

    grammar = Path(text.__file__).with_name("grammar.lark")
    parser = Lark(
        grammar.read_text(encoding="utf-8"),
        parser="lalr",
        maybe_placeholders=False,
        transformer=Transformer(),
        import_paths=[str(grammar.parent.parent)],
        source_path=str(grammar),
        edit_terminals=quoted_strings,
    )
    if not found:  # pygeofilter renamed it: fail loudly rather than parse quotes wrongly
        raise RuntimeError("pygeofilter's CQL2 grammar has no SINGLE_QUOTED terminal")
    return parser


def _numeral(token: str, kind: type) -> Any:
    if len(token) > _MAX_DIGITS:
        raise ValidationError(f"number {token[:20]}… is out of range: {NUMBERS_RULE}", "filter")
    return kind(token)


def _json_int(token: str) -> int:
    return _numeral(token, int)


def _standard_json(node: Any) -> Any:
    """CQL2 JSON as the 1.0 standard writes it, in the forms pygeofilter's walker reads.

    ``between`` takes three arguments (pygeofilter expects ``[value, [low, high]]``);
    ``accenti`` is a function; a ``like`` pattern may be an expression such as ``casei`` (which
    pygeofilter would pass on unparsed).
    """
    if isinstance(node, list):
        return [_standard_json(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _standard_json(v) for k, v in node.items()}
    op, args = node.get("op"), node.get("args")
    if not isinstance(args, list):
        return node
    if op == "between" and len(args) == 3:
        return {**node, "args": [args[0], args[1:]]}
    if op == "accenti":
        return {"function": {"name": "accenti", "arguments": args}}
    if op == "like" and len(args) == 2 and isinstance(args[1], dict):
        from pygeofilter.parsers.cql2_json.parser import walk_cql_json

        return {**node, "args": [args[0], walk_cql_json(args[1])]}
    return node


def cql2_to_sql(
    text: str, coll: Collection, *, lang: str | None = None, filter_crs: str | None = None
) -> tuple[str, list[Any]]:
    """A CQL2 filter on ``coll`` as an SQL condition with bound parameters."""
    node = parse_filter(text, lang)
    crs = served_crs(filter_crs, "filter-crs")
    try:
        expr = _Translator(coll, crs).condition(node)
    except RecursionError:
        raise ValidationError("filter is nested too deeply", "filter") from None
    return expr.sql, expr.params


class _Translator:
    """Walks a pygeofilter AST; only registry columns and bound parameters come out."""

    def __init__(self, coll: Collection, crs: Crs):
        self.coll = coll
        self.crs = crs

    def fail(self, message: str) -> ValidationError:
        return ValidationError(message, "filter")

    # conditions
    def condition(self, node: Any) -> _Expr:
        if isinstance(node, cql.Not):
            inner = self.condition(node.sub_node)
            return _Expr(f"NOT ({inner.sql})", inner.params, BOOLEAN)
        if isinstance(node, cql.Combination):
            lhs, rhs = self.condition(node.lhs), self.condition(node.rhs)
            op = "AND" if isinstance(node, cql.And) else "OR"
            return _Expr(f"({lhs.sql}) {op} ({rhs.sql})", lhs.params + rhs.params, BOOLEAN)
        if isinstance(node, cql.Include):
            return _Expr("FALSE" if node.not_ else "TRUE", [], BOOLEAN)
        if type(node) in _COMPARISON:
            return self.comparison(node)
        if isinstance(node, cql.Between):
            return self.between(node)
        if isinstance(node, cql.Like):
            return self.like(node)
        if isinstance(node, cql.In):
            return self.in_(node)
        if isinstance(node, cql.IsNull):
            arg = self.expr(node.lhs)
            if arg.literal:
                raise self.fail("IS NULL needs a property")
            return _Expr(f"{arg.sql} IS {'NOT ' if node.not_ else ''}NULL", arg.params, BOOLEAN)
        if type(node) in _SPATIAL:
            lhs, rhs = self.geometry(node.lhs), self.geometry(node.rhs)
            return _Expr(
                f"{_SPATIAL[type(node)]}({lhs.sql}, {rhs.sql})", lhs.params + rhs.params, BOOLEAN
            )
        if isinstance(node, cql.BBox):
            lhs = self.geometry(node.lhs)
            box = self.box([node.minx, node.miny, node.maxx, node.maxy])
            return _Expr(f"ST_Intersects({lhs.sql}, {box.sql})", lhs.params + box.params, BOOLEAN)
        if isinstance(node, cql.Attribute) and self.attribute(node).type == BOOLEAN:
            return self.attribute(node)
        if isinstance(node, bool):
            return _Expr("TRUE" if node else "FALSE", [], BOOLEAN)
        raise self.fail(f"unsupported filter expression: {_describe(node)}")

    def comparison(self, node: cql.Comparison) -> _Expr:
        op = _COMPARISON[type(node)]
        lhs, rhs = self.typed_pair(node.lhs, node.rhs)
        array = lhs if lhs.type == ARRAY else rhs if rhs.type == ARRAY else None
        if array is not None:
            other = rhs if array is lhs else lhs
            if op not in ("=", "<>") or other.type == ARRAY:
                raise self.fail("a list property can only be compared with = or <> to one value")
            sql = f"{other.sql} = ANY({array.sql})"
            return _Expr(sql if op == "=" else f"NOT ({sql})", other.params + array.params, BOOLEAN)
        if lhs.type in (GEOMETRY,) or rhs.type in (GEOMETRY,):
            raise self.fail("compare geometries with spatial functions such as S_INTERSECTS")
        if op not in ("=", "<>") and BOOLEAN in (lhs.type, rhs.type):
            raise self.fail(f"booleans can only be compared with = or <>, not {op}")
        return _Expr(f"{lhs.sql} {op} {rhs.sql}", lhs.params + rhs.params, BOOLEAN)

    def between(self, node: cql.Between) -> _Expr:
        arg = self.expr(node.lhs)
        if arg.type not in (NUMBER, INTEGER, DATE, DATETIME, STRING):
            raise self.fail("BETWEEN needs a number, date or text property")
        low, high = self.coerce(node.low, arg.type), self.coerce(node.high, arg.type)
        sql = f"{arg.sql} {'NOT ' if node.not_ else ''}BETWEEN {low.sql} AND {high.sql}"
        return _Expr(sql, arg.params + low.params + high.params, BOOLEAN)

    def like(self, node: cql.Like) -> _Expr:
        arg = self.expr(node.lhs)
        pattern = (
            self.coerce(node.pattern, STRING)
            if not isinstance(node.pattern, cql.Node)
            else self.expr(node.pattern)
        )
        if arg.type not in (STRING, None) or pattern.type != STRING:
            raise self.fail("LIKE needs a text property and a text pattern")
        # CQL2's wildcards are SQL's: % any characters, _ one character, \ escapes.
        op = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        sql = f"{arg.sql}::text {op} {pattern.sql} ESCAPE '\\'"
        return _Expr(sql, arg.params + pattern.params, BOOLEAN)

    def in_(self, node: cql.In) -> _Expr:
        arg = self.expr(node.lhs)
        if arg.type in (GEOMETRY, BOOLEAN):
            raise self.fail("IN needs a text, number or date property")
        element = STRING if arg.type == ARRAY else arg.type
        items = [self.coerce(v, element) for v in node.sub_nodes]
        if any(not i.literal for i in items):  # expressions such as CASEI('x'): one by one
            listed = ", ".join(i.sql for i in items)
            params = [p for i in items for p in i.params]
            if arg.type == ARRAY:
                sql = f"{arg.sql} && ARRAY[{listed}]::text[]"
            else:
                sql = f"{arg.sql} IN ({listed})"
        else:  # literals only: one array parameter, whatever its length
            values = [i.value for i in items]
            if arg.type == ARRAY:
                sql = f"{arg.sql} && %s::text[]"
            else:
                if arg.type in (NUMBER, INTEGER):
                    values = [float(v) for v in values]  # one element type for the array
                sql = f"{arg.sql} = ANY(%s{SQL_CAST[arg.type or STRING]}[])"
            params = [values]
        if node.not_:
            sql = f"NOT ({sql})"
        return _Expr(sql, [*arg.params, *params], BOOLEAN)

    # values
    def typed_pair(self, a: Any, b: Any) -> tuple[_Expr, _Expr]:
        lhs, rhs = self.expr(a), self.expr(b)
        if GEOMETRY in (lhs.type, rhs.type):
            raise self.fail("compare geometries with spatial functions such as S_INTERSECTS")
        if lhs.literal and not rhs.literal:
            lhs = self.coerce(a, _element(rhs.type))
        elif rhs.literal and not lhs.literal:
            rhs = self.coerce(b, _element(lhs.type))
        elif not lhs.literal and not rhs.literal and _comparable(lhs.type) != _comparable(rhs.type):
            raise self.fail(f"cannot compare a {lhs.type} with a {rhs.type}")
        return lhs, rhs

    def expr(self, node: Any) -> _Expr:
        if isinstance(node, cql.Attribute):
            return self.attribute(node)
        if isinstance(node, cql.Function):
            return self.function(node)
        if isinstance(node, cql.Node):
            raise self.fail(f"unsupported filter expression: {_describe(node)}")
        return self.literal(node)

    def attribute(self, node: cql.Attribute) -> _Expr:
        name = node.name
        if name in GEOMETRY_NAMES:
            return _Expr("t.geom", [], GEOMETRY)
        if name == "id":
            return _Expr("t.id", [], self.coll.id_type)
        prop = self.coll.prop(name)
        if prop is None or not prop.queryable:
            raise self.fail(
                f"unknown property {name!r} in filter; queryables of {self.coll.id}: "
                + ", ".join(["id", "geometry", *(p.name for p in self.coll.queryables)])
            )
        return _Expr(prop.sql, [], prop.type)

    def function(self, node: cql.Function) -> _Expr:
        # pygeofilter reads CASEI() as lower(); UPPER() and LOWER() are its own extras
        name = node.name.lower()
        shown = "CASEI" if name == "lower" else node.name.upper()
        if name not in ("lower", "upper", "casei", "accenti"):
            raise self.fail(
                f"unsupported function {node.name!r} in filter; supported: CASEI, ACCENTI"
            )
        if len(node.arguments) != 1:
            raise self.fail(f"{shown}() takes one argument")
        arg = self.expr(node.arguments[0])
        if arg.literal:
            arg = self.coerce(node.arguments[0], STRING)
        if arg.type != STRING:
            raise self.fail(f"{shown}() needs text (a text property or a quoted string)")
        if name == "upper":
            return _Expr(f"upper({arg.sql})", arg.params, STRING)
        if name == "accenti":
            sql = f"regexp_replace(normalize({arg.sql}, NFD), {_ACCENT_MARKS}, '', 'g')"
            return _Expr(sql, arg.params, STRING)
        sql = f"lower({arg.sql})"  # CASEI: Unicode lower case, then the full folds lower() lacks
        for char, fold in _CASE_FOLDS:
            sql = f"replace({sql}, '{char}', '{fold}')"
        return _Expr(sql, arg.params, STRING)

    def literal(self, value: Any) -> _Expr:
        type_ = _python_type(value)
        if type_ is None:
            raise self.fail(f"unsupported value in filter: {_describe(value)}")
        if type_ == NUMBER:
            value = self.number(value, NUMBER)
        return _Expr(f"%s{SQL_CAST[type_]}", [value], type_, value=value, literal=True)

    def number(self, value: Any, type_: str) -> int | float:
        """A numeric literal within the bounds for ``type_``, or a 400 saying them."""
        if type_ == INTEGER:
            low, high = INTEGER_RANGE
            ok = isinstance(value, int) or math.isfinite(value)
            ok = ok and low <= value <= high
        else:
            ok = (
                -MAX_NUMBER <= value <= MAX_NUMBER
                if isinstance(value, int)
                else math.isfinite(value) and abs(value) <= MAX_NUMBER
            )
        if not ok:
            raise self.fail(f"{_describe(value)} is out of range: {NUMBERS_RULE}")
        return value

    def coerce(self, node: Any, type_: str | None) -> _Expr:
        """A literal as ``type_`` (the property's type) or a clear error."""
        if isinstance(node, cql.Node):
            expr = self.expr(node)
            if not expr.literal and _comparable(expr.type) != _comparable(type_):
                raise self.fail(f"cannot compare a {type_} with a {expr.type}")
            return expr
        value = node
        if type_ is None or type_ == STRING:
            ok = isinstance(value, str)
        elif type_ in (NUMBER, INTEGER):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = self.number(value, type_) if ok else value
        elif type_ == BOOLEAN:
            ok = isinstance(value, bool)
        elif type_ == DATE:
            if isinstance(value, str):
                value = _parse_date(value)
            ok = isinstance(value, date)
        elif type_ == DATETIME:
            if isinstance(value, str):
                value = _parse_datetime(value)
            ok = isinstance(value, date)
        else:
            ok = False
        if not ok:
            raise self.fail(f"{_describe(node)} is not {type_phrase(type_ or STRING)}")
        return _Expr(f"%s{SQL_CAST[type_ or STRING]}", [value], type_, value=value, literal=True)

    def geometry(self, node: Any) -> _Expr:
        if isinstance(node, cql.Attribute):
            expr = self.attribute(node)
            if expr.type != GEOMETRY:
                raise self.fail(f"{node.name!r} is not a geometry; use 'geometry'")
            return expr
        if isinstance(node, cql_values.Envelope):
            return self.box([node.x1, node.y1, node.x2, node.y2])
        if isinstance(node, cql.Function) and node.name.lower() == "bbox":
            return self.box(node.arguments)
        if isinstance(node, cql_values.Geometry):
            crs = self.crs
            geojson = dict(node.geometry)
            named = geojson.pop("crs", None)
            if named:
                crs = served_crs(str(named.get("properties", {}).get("name", "")), "filter")
                if crs.uri == EPSG_4326:  # EWKT SRID=4326 means lon/lat, as PostGIS reads it
                    crs = SUPPORTED_CRS[CRS84]
            try:
                geom = shapely.geometry.shape(geojson)
            except Exception as exc:
                raise self.fail(f"invalid geometry in filter: {exc}") from None
            return self.literal_geometry(geom, crs)
        raise self.fail(f"expected a geometry, got {_describe(node)}")

    def box(self, args: list[Any]) -> _Expr:
        """A BBOX literal: 4 numbers (or 6, with heights, which are dropped)."""
        if len(args) not in (4, 6) or not all(_is_number(a) for a in args):
            raise self.fail("BBOX needs 4 (or 6) numbers")
        if len(args) == 6:
            args = [args[0], args[1], args[3], args[4]]
        return self.literal_geometry(shapely.box(*(self.number(a, NUMBER) for a in args)))

    def literal_geometry(self, geom: Any, crs: Crs | None = None) -> _Expr:
        crs = crs or self.crs
        coords = shapely.get_coordinates(geom)
        if geom.is_empty or not len(coords) or not (abs(coords) < 1e15).all():
            raise self.fail("geometry in filter is empty or has non-finite coordinates")
        if crs.lat_first:
            geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
            coords = shapely.get_coordinates(geom)
        if crs.geographic and not (
            (abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all()
        ):
            raise self.fail("geometry in filter is outside longitude ±180 / latitude ±90")
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        sql = f"ST_GeomFromWKB(%s, {crs.srid})"
        if crs.srid != STORAGE_SRID:
            sql = f"ST_Transform({sql}, {STORAGE_SRID})"
        # a scalar subquery: built once per query, not once per row (see _bbox_clause)
        return _Expr(f"(SELECT {sql})", [shapely.to_wkb(geom)], GEOMETRY)


def _element(type_: str | None) -> str | None:
    return STRING if type_ == ARRAY else type_


def _comparable(type_: str | None) -> str | None:
    return {INTEGER: NUMBER, DATE: DATETIME}.get(type_ or "", type_)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _python_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER  # bounded by _Translator.number
    if isinstance(value, str):
        return STRING
    if isinstance(value, datetime):
        return DATETIME
    if isinstance(value, date):
        return DATE
    return None


def _parse_date(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def _parse_datetime(text: str) -> datetime | str:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


def _describe(node: Any) -> str:
    text = repr(node)
    return text if len(text) <= 80 else text[:77] + "..."
