"""Items pages: an :class:`ItemsQuery` becomes one parameterised statement that returns the page's
GeoJSON ``features`` array, built by PostgreSQL, with its counts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader

from geoplan.config import STORAGE_SRID
from geoplan.errors import NotFoundError, ValidationError
from geoplan.geo.crs import CRS84, Crs, served_crs
from geoplan.ogc.collections import (
    ARRAY,
    BOOLEAN,
    COUNT_CAP,
    DATE,
    DATETIME,
    DEFAULT_LIMIT,
    INTEGER,
    MAX_LIMIT,
    MAX_OFFSET,
    NUMBER,
    SQL_CAST,
    STRING,
    Collection,
    Prop,
    type_phrase,
)
from geoplan.ogc.cql2 import cql2_to_sql
from geoplan.ogc.temporal import parse_datetime


@dataclass
class ItemsQuery:
    """A validated-by-:func:`query_items` request for one page of a collection."""

    bbox: list[float] | None = None
    bbox_crs: str | None = None
    crs: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    filters: dict[str, str] = field(default_factory=dict)  # simple ?property=value filters
    sortby: str | None = None
    properties: list[str] | None = None
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None
    datetime: str | None = None  # an instant or interval (see geoplan.ogc.temporal)


@dataclass
class ItemsPage:
    features_json: bytes  # a JSON array of GeoJSON features, ready to splice
    number_returned: int
    number_matched: int | None
    crs: Crs
    limit: int
    offset: int


@dataclass
class _Where:
    """SQL conditions and their bound parameters, in order."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return " AND ".join(f"({c})" for c in self.clauses) or "TRUE"


def _feature_sql(coll: Collection, crs: Crs, props: list[Prop]) -> str:
    geom = "t.geom"
    if crs.srid != STORAGE_SRID:
        geom = f"ST_Transform(t.geom, {crs.srid})"
    if crs.lat_first:
        geom = f"ST_FlipCoordinates({geom})"
    args = ", ".join(f"'{p.name}', {p.sql}" for p in props)
    return (
        f"json_build_object('type', 'Feature', 'id', t.id, "
        f"'geometry', ST_AsGeoJSON({geom}, {crs.decimals}, 0)::json, "
        f"'properties', json_build_object({args}))"
    )


def _live_tail_sql(coll: Collection) -> str:
    """The live properties as the text that closes a stored head: ``, "name" : value}}``.

    The same text ``json_build_object`` would write (its ``" : "`` and ``", "``), built by
    concatenation: ``json_build_object`` works out each value's JSON type again on every call,
    which for four values on a hundred rows was about a fifth of a page's PostgreSQL time.
    Strings go through ``to_json`` (escaping); numbers print as themselves, which is valid JSON
    because the table's constraints keep them finite (see :class:`Collection`).
    """
    parts = []
    for name in coll.live_props:
        prop = coll.prop(name)
        value = f"to_json(t.{name})::text" if prop.type == STRING else f"t.{name}::text"
        parts.append(f"""', "{name}" : ' || coalesce({value}, 'null')""")
    return " || ".join(parts) + " || '}}'"


def _selected_props(coll: Collection, names: list[str] | None) -> list[Prop]:
    if names is None:
        return list(coll.props)
    props = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        prop = coll.prop(name)
        if prop is None:
            raise ValidationError(
                f"unknown property {name!r} for {coll.id}; known: "
                + ", ".join(p.name for p in coll.props),
                "properties",
            )
        if prop not in props:
            props.append(prop)
    return props


def _bbox_clause(where: _Where, coll: Collection, bbox: list[float], bbox_crs: str | None) -> None:
    crs = served_crs(bbox_crs, "bbox-crs")
    if len(bbox) not in (4, 6):
        raise ValidationError("bbox needs 4 numbers (or 6 with heights)", "bbox")
    if not all(math.isfinite(v) for v in bbox):
        raise ValidationError("bbox values must be finite numbers", "bbox")
    if len(bbox) == 6:
        bbox = [bbox[0], bbox[1], bbox[3], bbox[4]]
    if crs.lat_first:  # EPSG:4326: minlat, minlon, maxlat, maxlon
        bbox = [bbox[1], bbox[0], bbox[3], bbox[2]]
    x1, y1, x2, y2 = bbox
    if x1 > x2 or y1 > y2:
        raise ValidationError("bbox must be minx,miny,maxx,maxy with min ≤ max", "bbox")
    if crs.geographic:
        if not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
            raise ValidationError("bbox is outside longitude ±180 / latitude ±90", "bbox")
        if coll.lonlat:  # a lon/lat box on stored lon/lat points: exact, index-only
            where.add(f"t.{coll.lonlat} <@ box(point(%s, %s), point(%s, %s))", x1, y1, x2, y2)
            return
        # Densify before reprojecting so the box's edges stay box edges in UTM. The scalar
        # subquery is evaluated once per query, also under a generic prepared plan (a bare
        # function of parameters would be re-evaluated, reprojection included, for every row).
        where.add(
            f"ST_Intersects(t.geom, (SELECT ST_Transform(ST_Segmentize("
            f"ST_MakeEnvelope(%s, %s, %s, %s, 4326), 0.01), {STORAGE_SRID})))",
            x1,
            y1,
            x2,
            y2,
        )
    else:
        where.add(
            f"t.geom && (SELECT ST_MakeEnvelope(%s, %s, %s, %s, {STORAGE_SRID}))", x1, y1, x2, y2
        )


def _coerce_text(prop: Prop, raw: str) -> Any:
    """A simple-filter value (query string text) as the property's type."""
    try:
        if prop.type in (NUMBER, INTEGER):
            v = float(raw)
            if not math.isfinite(v):
                raise ValueError
            return v
        if prop.type == BOOLEAN:
            low = raw.strip().lower()
            if low not in ("true", "false"):
                raise ValueError
            return low == "true"
        if prop.type == DATE:
            return date.fromisoformat(raw.strip())
        if prop.type == DATETIME:
            return datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{prop.name} must be {type_phrase(prop.type)}, not {raw!r}", prop.name
        ) from None
    return raw


def _simple_filters(where: _Where, coll: Collection, filters: dict[str, str]) -> None:
    for name, raw in filters.items():
        prop = coll.prop(name)
        if prop is None or not prop.queryable:
            raise ValidationError(
                f"unknown query parameter {name!r}; queryable properties of {coll.id}: "
                + ", ".join(p.name for p in coll.queryables),
                name,
            )
        if prop.type == ARRAY:
            values = [v.strip() for v in raw.split(",") if v.strip()]
            where.add(f"{prop.sql} && %s::text[]", values)
        else:
            where.add(f"{prop.sql} = %s{SQL_CAST[prop.type]}", _coerce_text(prop, raw))


def _order_by(coll: Collection, sortby: str | None) -> str:
    keys = []
    for raw in (sortby or "").split(","):
        # "+name" arrives as " name" when the client did not percent-encode the plus.
        item = raw.strip()
        if not item:
            continue
        desc = item.startswith("-")
        name = item[1:].strip() if item[0] in "+-" else item
        if name[:1] in ("+", "-"):
            raise ValidationError(f"sortby {item!r}: one sign at most (+name or -name)", "sortby")
        prop = coll.prop(name) if name != "id" else Prop("id", coll.id_type)
        if prop is None or prop.type == ARRAY:
            raise ValidationError(
                f"cannot sort {coll.id} by {name!r}; sortable: id, "
                + ", ".join(p.name for p in coll.props if p.type != ARRAY),
                "sortby",
            )
        keys.append(f"{prop.sql} {'DESC NULLS LAST' if desc else 'ASC NULLS LAST'}")
    keys.append(f"t.{coll.order_key}")  # a stable order: pages neither repeat nor skip
    return ", ".join(keys)


def build_where(coll: Collection, q: ItemsQuery) -> _Where:
    """All of the query's conditions as parameterised SQL (validates every part)."""
    where = _Where()
    if q.bbox is not None:
        _bbox_clause(where, coll, q.bbox, q.bbox_crs)
    _simple_filters(where, coll, q.filters)
    if q.datetime is not None:
        interval = parse_datetime(q.datetime)  # checked even where it is then ignored
        temporal = coll.temporal_prop
        if temporal is not None:
            sql, params = interval.condition(temporal)
            where.add(sql, *params)
    if q.filter is not None and q.filter.strip():
        sql, params = cql2_to_sql(q.filter, coll, lang=q.filter_lang, filter_crs=q.filter_crs)
        where.add(sql, *params)
    return where


@dataclass(frozen=True)
class PageStatement:
    """The one SQL statement that answers a page request, and what the answer means.

    One statement, one round trip, returning ``(numberReturned, numberMatched, features)``;
    sync and async callers (CLI, tests, the API's asyncio path) share it, so they cannot drift.
    See :func:`items_statement` for how numberMatched is found without a second full scan.
    """

    sql: str
    params: list[Any]
    crs: Crs
    limit: int
    offset: int

    def page(self, row: tuple[int, int, bytes]) -> ItemsPage:
        returned, matched, features = row
        return ItemsPage(
            features,
            returned,
            matched if matched <= COUNT_CAP else None,
            self.crs,
            self.limit,
            self.offset,
        )


def items_statement(coll: Collection, q: ItemsQuery) -> PageStatement:
    """Validate ``q`` and build the statement for one page of ``coll`` (no database needed).

    numberMatched costs a scan of every match, so it is taken where that scan happens anyway:

    - with a ``bbox`` the GiST index yields the matches unordered, so PostgreSQL reads all of
      them to sort out the page; ``count(*) OVER ()`` counts them in that same pass (over the
      ids only, then the page's rows are joined back, so a bbox around everything does not
      drag every full row through the window);
    - otherwise the page may come straight off the ordered primary key (``LIMIT`` stops
      early), and a separate capped count runs only when the page does not tell: PostgreSQL
      evaluates an uncorrelated scalar subquery lazily, so the ``CASE`` skips it when the
      first page is not full (it then holds every match).
    """
    crs = served_crs(q.crs, "crs")
    limit = max(1, min(int(q.limit), MAX_LIMIT))  # OGC: the server may clamp the page size
    offset = int(q.offset)
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationError(f"offset must be between 0 and {MAX_OFFSET}", "offset")
    props = _selected_props(coll, q.properties)
    where = build_where(coll, q)
    order = _order_by(coll, q.sortby)
    feature = _feature_sql(coll, crs, props)
    stored = ""
    if coll.features_table and crs.uri == CRS84 and q.properties is None:
        # rendered when the row was written (the same expression) up to its live properties,
        # which are appended here; built live where a row has no stored head
        stored = (
            f"LEFT JOIN {coll.features_table} stored ON stored.{coll.row_key} = t.{coll.row_key}"
        )
        one = f"coalesce(stored.head || {_live_tail_sql(coll)}, ({feature})::text)"
        features = f"'[' || coalesce(string_agg({one}, ',' ORDER BY {order}), '') || ']'"
    else:
        features = f"coalesce(json_agg({feature} ORDER BY {order}), '[]'::json)::text"
    count = (
        f"(SELECT count(*) FROM (SELECT 1 FROM {coll.table} t WHERE {where.sql} "
        f"LIMIT {COUNT_CAP + 1}) c)"
    )
    if q.bbox is not None:
        if stored and coll.live_source and order == f"t.{coll.row_key}":
            # Ordered by the row key — premises' default order, what map clients ask: keys
            # from the index (the lonlat index INCLUDEs them), stored heads and
            # live properties by key — no table row is read unless a head is missing.
            # Aggregated from a subquery in page order, not with ORDER BY inside string_agg:
            # the nested loops keep k's order, where an ordered aggregate sorted the hundred
            # ~800-byte texts once more. (A subquery with ORDER BY is planned on its own and
            # feeds the aggregate in that order.)
            key = f"t.{coll.row_key}"
            row = f"(SELECT ({feature})::text FROM {coll.table} t WHERE {key} = k.key)"
            features = "'[' || coalesce(string_agg(k.feature, ','), '') || ']'"
            page = f"""
            FROM (SELECT coalesce(stored.head || {_live_tail_sql(coll)}, {row}) AS feature,
                         k.matched
                  FROM (SELECT {key} AS key, count(*) OVER () AS matched FROM {coll.table} t
                        WHERE {where.sql} ORDER BY {order} LIMIT %s OFFSET %s) k
                  LEFT JOIN {coll.features_table} stored ON stored.{coll.row_key} = k.key
                  LEFT JOIN {coll.live_source} t ON t.key = k.key
                  ORDER BY k.key) k"""
        else:
            page = f"""
            FROM (SELECT t.id, count(*) OVER () AS matched FROM {coll.table} t
                  WHERE {where.sql} ORDER BY {order} LIMIT %s OFFSET %s) k
            JOIN {coll.table} t ON t.id = k.id {stored}"""
        sql = f"""
            SELECT count(*), coalesce(max(k.matched), CASE WHEN %s = 0 THEN 0 ELSE {count} END),
                   {features} {page}"""
        params = [offset, *where.params, *where.params, limit, offset]
    else:
        sql = f"""
            SELECT p.returned,
                   CASE WHEN %s = 0 AND p.returned < %s THEN p.returned ELSE {count} END,
                   p.features
            FROM (SELECT count(*) AS returned, {features} AS features
                  FROM (SELECT * FROM {coll.table} t WHERE {where.sql}
                        ORDER BY {order} LIMIT %s OFFSET %s) t {stored}) p"""
        params = [offset, limit, *where.params, *where.params, limit, offset]
    return PageStatement(sql, params, crs, limit, offset)


class _TextAsBytes(Loader):
    """Loads a text column as the UTF-8 bytes PostgreSQL sent.

    A page's features array goes into the HTTP response as it is; decoding its ~80 KB to
    ``str`` and encoding them back was ≈ 8 % of the API worker's CPU per page (perf).
    """

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def query_items(conn: psycopg.Connection, coll: Collection, q: ItemsQuery) -> ItemsPage:
    """One page of ``coll`` as a GeoJSON features array built by PostgreSQL."""
    stmt = items_statement(coll, q)
    try:
        # a savepoint when the caller has a transaction open, so a bad value does not spoil it
        with conn.transaction(), conn.cursor() as cur:
            cur.adapters.register_loader("text", _TextAsBytes)
            row = cur.execute(stmt.sql, stmt.params).fetchone()
    except psycopg.DataError as exc:  # a value PostgreSQL cannot take (overflow, NUL byte…)
        raise _invalid_value(exc) from exc
    return stmt.page(row)


async def query_items_async(
    conn: psycopg.AsyncConnection, coll: Collection, q: ItemsQuery
) -> ItemsPage:
    """:func:`query_items` on an asyncio connection (the API's hot path: no thread hops).

    ``conn`` should be in autocommit mode: the statement is then its own transaction and one
    round trip, and an error leaves nothing open.
    """
    stmt = items_statement(coll, q)
    try:
        async with conn.cursor() as cur:
            cur.adapters.register_loader("text", _TextAsBytes)
            await cur.execute(stmt.sql, stmt.params)
            row = await cur.fetchone()
    except psycopg.DataError as exc:
        raise _invalid_value(exc) from exc
    return stmt.page(row)


def _invalid_value(exc: psycopg.DataError) -> ValidationError:
    return ValidationError(f"invalid query value: {_first_line(exc)}", "filter")


def get_item(
    conn: psycopg.Connection, coll: Collection, feature_id: str, crs_uri: str | None = None
) -> dict[str, Any]:
    """One feature as a GeoJSON dict; :class:`NotFoundError` when there is none."""
    crs = served_crs(crs_uri, "crs")
    missing = NotFoundError(f"no feature {feature_id!r} in {coll.id}")
    key: Any = feature_id
    if coll.id_type == INTEGER:
        if not feature_id.isascii() or not feature_id.isdigit() or len(feature_id) > 18:
            raise missing
        key = int(feature_id)
    if "\x00" in feature_id:
        raise missing
    row = conn.execute(
        f"SELECT {_feature_sql(coll, crs, list(coll.props))}::text "
        f"FROM {coll.table} t WHERE t.id = %s",
        [key],
    ).fetchone()
    if row is None:
        raise missing
    return json.loads(row[0])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
