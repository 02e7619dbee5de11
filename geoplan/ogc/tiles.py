"""Vector tiles of the published collections: OGC API – Tiles (Core), the ``WebMercatorQuad``
tile matrix set, Mapbox Vector Tiles — without web code.

``api/routers/tiles.py`` turns a request into :func:`parse_tile` and :func:`tile_statement` and
sends the bytes; everything a tile holds is decided here, from the same descriptions the
features pages use:

- **which properties**: a tile carries the short listing of a layer, not every field — for the
  layers described in :mod:`geoplan.layers.spec`, the published (``queryable``) fields flagged
  ``summary``, for the zoning and catchment collections the few fields named in
  :data:`TILE_PROPS`; the id always (an MVT feature id must be an integer, so text ids travel as
  the property ``id``; premises' integer ``seq`` is the MVT id as well). Tiles stay small and a
  map gets what a popup and a style need; the full record is one items request away.
- **clusters at low zooms**: points of a collection with a stored lon/lat column (premises,
  migration 0003) are aggregated below :attr:`TileLayer.cluster_below`: the tile is cut into
  16 × 16 cells and each cell with points becomes one point, at their mean position, with
  ``count``. Every point of the tile lies in exactly one cell and every cell in exactly one tile,
  so the counts of a tile sum to the points in it, and the tiles of a zoom to the collection.
- **one statement per tile**: ``ST_AsMVT`` over the tile's features, found by the GiST index —
  for premises the ``lonlat`` index (a lon/lat box, index-only for the clusters), whose tile
  coordinates are computed from lon/lat with the Web Mercator formula (exact for a sphere's
  Mercator, which is what EPSG:3857 is) instead of reprojecting every point; for the other
  layers ``ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y))`` with the tile
  envelope taken once to the storage CRS for the index.

Tile addresses follow OGC API – Tiles: ``{tileMatrix}/{tileRow}/{tileCol}`` = ``z/y/x`` (tipg
and XYZ clients say ``z/x/y``), rows counted from the north as in XYZ.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import psycopg

from geoplan.config import STORAGE_SRID
from geoplan.errors import NotFoundError, ValidationError
from geoplan.layers.spec import LAYER_SPECS, OGC_ORDER
from geoplan.ogc.collections import (
    ARRAY,
    COLLECTIONS,
    DATE,
    DATETIME,
    INTEGER,
    Collection,
    Prop,
)
from geoplan.ogc.items import ItemsQuery, build_where

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TMS_CRS = "http://www.opengis.net/def/crs/EPSG/0/3857"
MIN_ZOOM = 0
MAX_ZOOM = 22
"""Tile matrices served (``WebMercatorQuad`` defines 0–24; beyond 22 a tile is a few metres)."""
EXTENT = 4096
"""Tile coordinate units per tile side (the MVT default)."""
BUFFER = 64
"""Units drawn beyond the tile edge for lines and polygons, so strokes join across tiles."""
CELLS = 16
"""Clusters: the tile is cut into CELLS × CELLS cells (256 units, 16 px of a 256 px tile)."""
MVT = "application/vnd.mapbox-vector-tile"
ORIGIN_M = 20037508.3427892
"""Half the Web Mercator world's width, metres (π × 6 378 137)."""
# Scale denominator of tile matrix 0 (OGC 2D TMS 2.0, annex: WebMercatorQuad), 0.28 mm pixels
SCALE_0 = 559082264.028717
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilesetmetadata",
)
"""The OGC API – Tiles and Tile Matrix Set conformance classes these tiles implement."""

# Properties of the collections not described in geoplan.layers.spec (zoning, catchments)
TILE_PROPS: dict[str, tuple[str, ...]] = {
    "catchments": ("hub_id", "minutes", "method"),
    "plans": ("plan_id", "name", "plan_type_name", "status_name", "kommunenummer"),
    "land_use": ("plan", "code", "name", "main_purpose", "field_name", "utilisation_type_name",
                 "utilisation"),
}  # fmt: skip
CLUSTER_BELOW = {"premises": 16}
"""Point collections aggregated into clusters below this zoom (premises: 10⁶ listings in one
municipality are ≈ 1 300 points in a zoom-16 tile, ≈ 20 000 in a zoom-14 tile)."""
CELL_TABLES = {"premises": "premises_tile_cells"}
"""Clusters counted ahead, per grid cell, by triggers (migration 0008): a tile reads at
most 4 × 256 cells instead of every point in it. Used when a tile has no filter but ``status``;
other filters count the points themselves (the same cells, the same result, slower)."""
CELL_LEVELS = (1, 3, 5, 7, 9, 11, 13, 15)
"""The levels ``premises_tile_cells`` stores (frozen in migration 0008)."""
CELL_FILTERS = frozenset({"status"})


@dataclass(frozen=True)
class TileLayer:
    """How one collection is cut into tiles: its MVT layer, properties and clustering."""

    coll: Collection
    props: tuple[Prop, ...]
    mvt_id: str | None  # an integer column used as the MVT feature id
    cluster_below: int | None = None  # zooms below this aggregate points into clusters
    cell_table: str | None = None  # clusters counted ahead (see CELL_TABLES)

    @property
    def name(self) -> str:
        """The MVT layer name: the collection id."""
        return self.coll.id

    def fields(self, clustered: bool) -> dict[str, str]:
        """Property name → TileJSON/MVT type (``String``, ``Number``, ``Boolean``)."""
        if clustered:
            return {"count": "Number"}
        out = {} if self.coll.id_type == INTEGER else {"id": "String"}
        for p in self.props:
            out[p.name] = {"number": "Number", INTEGER: "Number", "boolean": "Boolean"}.get(
                p.type, "String"
            )
        return out

    def property_schema(self, clustered: bool) -> dict[str, Any]:
        """JSON Schema of a tile feature's properties (tileset metadata ``propertiesSchema``)."""
        if clustered:
            return {
                "type": "object",
                "properties": {
                    "count": {"type": "integer", "description": "Features in the cluster."}
                },
            }
        props: dict[str, Any] = {}
        if self.coll.id_type != INTEGER:
            props["id"] = {"type": "string", "description": "Feature id (as in items)."}
        for p in self.props:
            schema = p.json_schema()
            if p.type == ARRAY:  # lists travel as comma-separated text (MVT has no arrays)
                schema = {"title": p.name, "type": "string", "description":
                          f"{p.description} Comma-separated.".strip()}  # fmt: skip
            props[p.name] = schema
        return {"type": "object", "properties": props}


def _layer(coll: Collection) -> TileLayer:
    spec = LAYER_SPECS.get(coll.id)
    if spec is not None:
        names = [c.name for c in spec.by_role(*OGC_ORDER) if c.queryable and c.summary]
    else:
        names = list(TILE_PROPS.get(coll.id, ()))
    props = tuple(p for n in names if (p := coll.prop(n)) is not None)
    if coll.id_type == INTEGER:
        mvt_id = "id"
    elif coll.row_key != "id":
        mvt_id = coll.row_key  # premises: seq
    else:
        mvt_id = None
    cluster_below = CLUSTER_BELOW.get(coll.id) if coll.lonlat else None
    return TileLayer(coll, props, mvt_id, cluster_below, CELL_TABLES.get(coll.id))


TILE_LAYERS: dict[str, TileLayer] = {c.id: _layer(c) for c in COLLECTIONS.values()}


def get_tile_layer(collection_id: str) -> TileLayer:
    if collection_id not in TILE_LAYERS:
        raise NotFoundError(
            f"no collection {collection_id!r}; collections with tiles: {', '.join(TILE_LAYERS)}"
        )
    return TILE_LAYERS[collection_id]


def check_tile_matrix_set(tms: str) -> None:
    """Only ``WebMercatorQuad`` is served; anything else is a 404 naming the parameter."""
    if tms != TMS_ID:
        raise NotFoundError(
            f"tileMatrixSetId: unknown tile matrix set {tms!r}; this server offers {TMS_ID}"
        )


# -- tile addresses ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    z: int
    x: int  # column, from the west
    y: int  # row, from the north

    @property
    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees: a Web Mercator tile is a lon/lat box."""
        n = 2**self.z
        west = self.x / n * 360.0 - 180.0
        east = (self.x + 1) / n * 360.0 - 180.0
        north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * self.y / n))))
        south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (self.y + 1) / n))))
        return west, south, east, north

    @property
    def mercator_bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in EPSG:3857 metres."""
        size = 2 * ORIGIN_M / 2**self.z
        xmin = -ORIGIN_M + self.x * size
        ymax = ORIGIN_M - self.y * size
        return xmin, ymax - size, xmin + size, ymax


def _index(value: str | int, name: str, low: int, high: int, what: str) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ValidationError(f"{name} must be a whole number, not {str(value)[:40]!r}", name)
    number = int(text)
    if not low <= number <= high:
        raise ValidationError(f"{name} must be between {low} and {high} {what}, not {number}", name)
    return number


def parse_tile(tile_matrix: str | int, tile_row: str | int, tile_col: str | int) -> Tile:
    """A tile address from its three path segments; a 400 naming the segment that is off."""
    z = _index(tile_matrix, "tileMatrix", MIN_ZOOM, MAX_ZOOM, f"(zoom levels of {TMS_ID})")
    last = 2**z - 1
    y = _index(tile_row, "tileRow", 0, last, f"at tile matrix {z}")
    x = _index(tile_col, "tileCol", 0, last, f"at tile matrix {z}")
    return Tile(z, x, y)


# -- the statement ----------------------------------------------------------------------------
def _value_sql(p: Prop) -> str:
    """A property as an MVT value: lists as comma-separated text, dates as ISO text."""
    if p.type == ARRAY:
        return f"array_to_string({p.sql}, ',')"
    if p.type == DATE:
        return f"to_char({p.sql}, 'YYYY-MM-DD')"
    if p.type == DATETIME:
        return f"""to_char({p.sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
    return p.sql


def _columns(layer: TileLayer) -> str:
    cols = []
    if layer.mvt_id:
        cols.append(f"t.{layer.mvt_id} AS fid")
    if layer.coll.id_type != INTEGER:
        cols.append("t.id AS id")
    cols += [f'{_value_sql(p)} AS "{p.name}"' for p in layer.props]
    return ", ".join(cols)


@dataclass(frozen=True)
class TileStatement:
    """The one statement that answers a tile: returns one row, the tile's MVT bytes."""

    sql: str
    params: list[Any]
    clustered: bool


def tile_statement(
    layer: TileLayer,
    tile: Tile,
    *,
    filters: dict[str, str] | None = None,
    filter: str | None = None,
    filter_lang: str | None = None,
    condition: tuple[str, list[Any]] | None = None,
) -> TileStatement:
    """Validate the filters and build the statement for ``tile`` of ``layer``.

    ``filters`` (``?property=value``) and ``filter`` (CQL2) narrow the features as on the
    items page (:func:`geoplan.ogc.items.build_where`, the same checks and messages);
    ``condition`` is one more, already checked, on the row ``t`` with ``%s`` parameters (the
    API's premises place filters, :func:`geoplan.premises.place.place_condition`).
    """
    coll = layer.coll
    where = build_where(
        coll, ItemsQuery(filters=filters or {}, filter=filter, filter_lang=filter_lang)
    )
    if condition is not None:
        where.add(f"({condition[0]})", *condition[1])
    clustered = layer.cluster_below is not None and tile.z < layer.cluster_below
    filters = filters or {}
    if (
        clustered
        and layer.cell_table
        and condition is None
        and not (filter or "").strip()
        and set(filters) <= CELL_FILTERS
        and tile.z <= CELL_LEVELS[-1]
    ):
        return _cells_statement(layer, tile, filters)
    if coll.lonlat:
        return _point_statement(layer, tile, where.sql, where.params, clustered)
    return _envelope_statement(layer, tile, where.sql, where.params)


def _envelope_statement(
    layer: TileLayer, tile: Tile, where: str, params: list[Any]
) -> TileStatement:
    coll = layer.coll
    z, x, y = tile.z, tile.x, tile.y
    size = 2 * ORIGIN_M / 2**z
    margin = BUFFER / EXTENT
    # the envelope (with its buffer) in the storage CRS, densified so its edges stay edges;
    # a scalar subquery, evaluated once (see geoplan.ogc.items._bbox_clause)
    envelope = (
        f"(SELECT ST_Transform(ST_Segmentize(ST_TileEnvelope(%s, %s, %s, margin => {margin}), "
        f"{size / 64}), {STORAGE_SRID}))"
    )
    fid = ", 'fid'" if layer.mvt_id else ""
    sql = f"""
        SELECT ST_AsMVT(q, '{layer.name}', {EXTENT}, 'geom'{fid}) FROM (
          SELECT {_columns(layer)},
                 ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(%s, %s, %s),
                              {EXTENT}, {BUFFER}, true) AS geom
          FROM {coll.table} t
          WHERE t.geom && {envelope} AND ({where})) q
        WHERE q.geom IS NOT NULL"""
    return TileStatement(sql, [z, x, y, z, x, y, *params], False)


def _point_statement(
    layer: TileLayer, tile: Tile, where: str, params: list[Any], clustered: bool
) -> TileStatement:
    coll = layer.coll
    west, south, east, north = tile.lonlat_bounds
    # Tile coordinates straight from lon/lat: x is linear in longitude; y is the Mercator
    # ordinate ln(tan(π/4 + φ/2)), counted down from the tile's north edge.
    y_north = math.log(math.tan(math.pi / 4 + math.radians(north) / 2))
    y_south = math.log(math.tan(math.pi / 4 + math.radians(south) / 2))
    lon, lat = f"t.{coll.lonlat}[0]", f"t.{coll.lonlat}[1]"
    px = f"(({lon} - {west!r}) * {EXTENT / (east - west)!r})"
    py = (
        f"(({y_north!r} - ln(tan(pi() / 4 + radians({lat}) / 2))) "
        f"* {EXTENT / (y_north - y_south)!r})"
    )
    # each point in exactly one tile: west and north edges in, east and south edges out
    inside = f"t.{coll.lonlat} <@ box(point(%s, %s), point(%s, %s)) AND {lon} < %s AND {lat} > %s"
    box = [west, south, east, north, east, south]
    if clustered:
        cell = EXTENT // CELLS
        sql = f"""
            SELECT ST_AsMVT(q, '{layer.name}', {EXTENT}, 'geom') FROM (
              SELECT count(*)::int AS count,
                     ST_MakePoint(round(avg(p.px)), round(avg(p.py))) AS geom
              FROM (SELECT {px} AS px, {py} AS py FROM {coll.table} t
                    WHERE {inside} AND ({where})) p
              GROUP BY floor(p.px / {cell}), floor(p.py / {cell})) q"""
    else:
        fid = ", 'fid'" if layer.mvt_id else ""
        sql = f"""
            SELECT ST_AsMVT(q, '{layer.name}', {EXTENT}, 'geom'{fid}) FROM (
              SELECT {_columns(layer)}, ST_MakePoint(round({px}), round({py})) AS geom
              FROM {coll.table} t
              WHERE {inside} AND ({where})) q"""
    return TileStatement(sql, [*box, *params], clustered)


def _cells_statement(layer: TileLayer, tile: Tile, filters: dict[str, str]) -> TileStatement:
    """Clusters from the cells counted ahead: the nearest stored level at or above the tile's
    zoom, ``2^shift`` × ``2^shift`` of its cells merged into each of the tile's 16 × 16."""
    level = next(lv for lv in CELL_LEVELS if lv >= tile.z)
    shift = level - tile.z
    first_x, first_y = (tile.x * CELLS) << shift, (tile.y * CELLS) << shift
    span = (CELLS << shift) - 1
    n = 2**tile.z
    status = ""
    params: list[Any] = [level, first_x, first_x + span, first_y, first_y + span]
    if "status" in filters:
        status = "AND c.status = %s"
        params.append(filters["status"])
    sql = f"""
        SELECT ST_AsMVT(q, '{layer.name}', {EXTENT}, 'geom') FROM (
          SELECT sum(c.n)::int AS count,
                 ST_MakePoint(round((sum(c.sx) / sum(c.n) * {n} - {tile.x}) * {EXTENT}),
                              round((sum(c.sy) / sum(c.n) * {n} - {tile.y}) * {EXTENT})) AS geom
          FROM {layer.cell_table} c
          WHERE c.z = %s AND c.cx BETWEEN %s AND %s AND c.cy BETWEEN %s AND %s {status}
          GROUP BY c.cx >> {shift}, c.cy >> {shift}
          HAVING sum(c.n) > 0) q"""
    return TileStatement(sql, params, True)


def query_tile(conn: psycopg.Connection, stmt: TileStatement) -> bytes:
    """The tile's MVT bytes (``b""`` for an empty tile)."""
    try:
        with conn.transaction(), conn.cursor(binary=True) as cur:
            row = cur.execute(stmt.sql, stmt.params).fetchone()
    except psycopg.DataError as exc:  # a filter value PostgreSQL cannot take
        raise ValidationError(f"invalid query value: {str(exc).splitlines()[0]}", "filter") from exc
    return bytes(row[0]) if row and row[0] is not None else b""


async def query_tile_async(conn: psycopg.AsyncConnection, stmt: TileStatement) -> bytes:
    """:func:`query_tile` on an asyncio autocommit connection (the API's tile route)."""
    try:
        async with conn.cursor(binary=True) as cur:
            await cur.execute(stmt.sql, stmt.params)
            row = await cur.fetchone()
    except psycopg.DataError as exc:
        raise ValidationError(f"invalid query value: {str(exc).splitlines()[0]}", "filter") from exc
    return bytes(row[0]) if row and row[0] is not None else b""


# -- answers ----------------------------------------------------------------------------------
def etag(data: bytes) -> str:
    """A strong entity tag for tile bytes (the same bytes, the same tag, on every worker)."""
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` matches ``tag`` (weak comparison, as RFC 9110 asks for GET)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == bare for t in if_none_match.split(","))


def tile_matrix_set() -> dict[str, Any]:
    """The ``WebMercatorQuad`` definition (OGC 2D Tile Matrix Set 2.0, JSON encoding)."""
    matrices = []
    for z in range(MIN_ZOOM, MAX_ZOOM + 1):
        n = 2**z
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": SCALE_0 / n,
                "cellSize": 2 * ORIGIN_M / 256 / n,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-ORIGIN_M, ORIGIN_M],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            }
        )
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": TMS_CRS,
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }
