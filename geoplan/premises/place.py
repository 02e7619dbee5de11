"""Search by place: the polygon (``within``) and the circle (``near`` + ``radius_m``) a premises
seeker draws or types, read, checked and turned into PostGIS predicates.

A polygon arrives as text — a GeoJSON geometry (or Feature) or WKT — in any CRS pyproj knows
(``within_crs``, default WGS84 longitude/latitude; coordinates are always x, y: longitude
first, easting first, as GeoJSON and PostGIS read them). It is read in Python with bounds on
everything that could cost time (its length, its vertices) before any geometry is built, then
projected to the store's EPSG:25833, checked (valid, not too large, touching the region) and
handed to PostGIS as WKB: ``ST_Intersects`` on the premises' GiST index. A circle is
``ST_DWithin`` on the same index, refined on the geography so a radius is metres on the ground
wherever in Norway the store serves (UTM 33's scale is off by up to 0.3 % in Finnmark).

Limits (documented in docs/api.md): :data:`MAX_WITHIN_VERTICES`, :data:`MAX_WITHIN_AREA_KM2`,
:data:`MAX_WITHIN_CHARS`; ``radius_m`` from :data:`MIN_RADIUS_M` to :data:`MAX_RADIUS_M`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID, get_settings
from geoplan.errors import ValidationError
from geoplan.geo.crs import CRS84_SRS, crs_member_name, parse_crs
from geoplan.geo.region import FALLBACK_BOX_25833
from geoplan.store.steps import Steps

MAX_WITHIN_CHARS = 100_000
"""Longest ``within`` text (1 000 vertices with 15 decimals fit well inside)."""
MAX_WITHIN_URL_CHARS = 4000
"""Longest ``within`` in a URL (``GET /premises``): the HTTP server refuses a request line over
64 KiB before geoplan sees it, and percent-encoding may make a character 12 bytes. A larger
polygon is saved with ``POST /premises/searches`` (a JSON body, up to :data:`MAX_WITHIN_CHARS`)
and followed through its feed or webhook."""
MAX_WITHIN_VERTICES = 1000
"""Most positions of a ``within`` polygon (all rings and parts together, each ring's closing
position included)."""
MAX_WITHIN_AREA_KM2 = 5000.0
"""Largest ``within`` polygon: larger than any Norwegian municipality but four; a search over
more is a mistake (a wrong CRS, a swapped axis) or better asked with ``kommune``."""
MIN_RADIUS_M = 1.0
MAX_RADIUS_M = 50_000.0
DEFAULT_RADIUS_M = 1000.0
"""The radius of a ``near`` search that gives none."""

_POLYGONS = ("Polygon", "MultiPolygon")
_MAX_PROJECTED = 1e8
"""Largest coordinate (metres) any projected CRS gives inside its area of use."""


@dataclass(frozen=True)
class Place:
    """Where a search looks: a checked polygon (EPSG:25833) and/or circle (WGS84 centre)."""

    within: BaseGeometry | None = None
    near: tuple[float, float] | None = None
    radius_m: float | None = None


# -- reading ------------------------------------------------------------------------------------
def _bad(message: str, field: str = "within") -> ValidationError:
    return ValidationError(message, field=field)


def _count_vertices(coords: Any, depth: int) -> int:
    """Vertices in GeoJSON ``coordinates`` nested ``depth`` deep (3: Polygon, 4: MultiPolygon),
    counted without recursion so no nesting can exhaust the stack; raises naming ``within``."""
    stack = [(coords, depth)]
    n = 0
    while stack:
        item, d = stack.pop()
        if not isinstance(item, list):
            raise _bad("coordinates must be nested arrays of [x, y] positions")
        if d == 1:
            if not 2 <= len(item) <= 3 or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in item
            ):
                raise _bad("each position must be [x, y] numbers")
            n += 1
            if n > MAX_WITHIN_VERTICES:
                raise _bad(f"has more than {MAX_WITHIN_VERTICES} vertices; simplify it")
            continue
        stack.extend((child, d - 1) for child in item)
    return n


def _from_geojson(text: str) -> tuple[BaseGeometry, str | None]:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad("is neither valid GeoJSON nor WKT") from None
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        crs = crs_member_name(obj, "within")
        obj = obj.get("geometry")
        if isinstance(obj, dict) and crs and "crs" not in obj:
            obj = {**obj, "crs": {"type": "name", "properties": {"name": crs}}}
    if not isinstance(obj, dict) or obj.get("type") not in _POLYGONS:
        raise _bad("must be a GeoJSON Polygon or MultiPolygon (or a Feature with one)")
    _count_vertices(obj.get("coordinates"), 3 if obj["type"] == "Polygon" else 4)
    try:
        geom = shapely.geometry.shape(obj)
    except (ValueError, TypeError, IndexError, shapely.errors.GEOSException) as exc:
        raise _bad(f"is not a valid {obj['type']}: {str(exc)[:120]}") from None
    return geom, crs_member_name(obj, "within")


def _from_wkt(text: str) -> BaseGeometry:
    try:
        geom = shapely.from_wkt(text)
    except (shapely.errors.GEOSException, ValueError, TypeError):
        raise _bad(
            "is neither valid WKT nor GeoJSON (e.g. POLYGON((x y, x y, x y, x y)))"
        ) from None
    if geom is None or geom.geom_type not in _POLYGONS:
        kind = geom.geom_type if geom is not None else "nothing"
        raise _bad(f"must be a POLYGON or MULTIPOLYGON, not {kind}")
    if shapely.get_num_coordinates(geom) > MAX_WITHIN_VERTICES:
        raise _bad(f"has more than {MAX_WITHIN_VERTICES} vertices; simplify it")
    return geom


@lru_cache(maxsize=32)
def _to_storage(srs: str) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(srs, f"EPSG:{STORAGE_SRID}", always_xy=True)


def _check_valid(geom: BaseGeometry) -> None:
    reason = shapely.is_valid_reason(geom)
    if reason != "Valid Geometry":
        raise _bad(f"is not a valid polygon ({reason}); a ring must not cross itself")


def read_within(text: str, crs: str | None = None) -> BaseGeometry:
    """The polygon ``text`` names (GeoJSON or WKT, x/y in ``crs``; default WGS84 lon/lat) in
    EPSG:25833, valid, non-empty and at most :data:`MAX_WITHIN_AREA_KM2`; raises
    :class:`ValidationError` naming ``within`` (or ``within_crs``). Not yet checked against the
    region (:func:`check_place`)."""
    if len(text) > MAX_WITHIN_CHARS:
        raise _bad(f"must be at most {MAX_WITHIN_CHARS} characters")
    text = text.strip()
    member = None
    if text.startswith("{"):
        geom, member = _from_geojson(text)
    else:
        geom = _from_wkt(text)
    if crs and member and parse_crs(crs, "within_crs") != parse_crs(member, "within"):
        raise _bad("the GeoJSON crs member and within_crs disagree", "within_crs")
    ref = parse_crs(crs or member or CRS84_SRS, "within_crs" if crs else "within", definitions=True)
    if geom.is_empty:
        raise _bad("is empty")
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        raise _bad("coordinates must be finite numbers")
    if ref.geographic and not ((np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()):
        raise _bad("coordinates must be longitude (±180), latitude (±90) in that order")
    if (np.abs(xy) > _MAX_PROJECTED).any():
        raise _bad(f"coordinates are far outside the area where {ref.srs} is defined")
    _check_valid(geom)
    if ref.srid != STORAGE_SRID:
        transformer = _to_storage(ref.srs)
        geom = shapely.transform(geom, lambda c: np.column_stack(transformer.transform(*c.T)))
        projected = shapely.get_coordinates(geom)
        if not np.isfinite(projected).all() or (np.abs(projected) > _MAX_PROJECTED).any():
            raise _bad(f"lies outside the area where {ref.srs} is defined")
    _check_valid(geom)
    area_km2 = geom.area / 1e6
    if area_km2 > MAX_WITHIN_AREA_KM2:
        raise _bad(
            f"covers {area_km2:,.0f} km²; at most {MAX_WITHIN_AREA_KM2:,.0f} km² (search a whole "
            "municipality with kommune)".replace(",", " ")
        )
    if area_km2 <= 0:
        raise _bad("has no area")
    return geom


def read_near(text: str) -> tuple[float, float]:
    """``lon,lat`` (WGS84 degrees) as numbers; raises naming ``near``."""
    parts = text.replace(" ", "").split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise _bad(
            f"must be lon,lat in degrees (e.g. 10.95,59.93), got {text[:60]!r}", "near"
        ) from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise _bad("must be finite numbers", "near")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _bad("longitude must be within ±180 and latitude within ±90", "near")
    return lon, lat


# -- checking against the region ----------------------------------------------------------------
_TOUCHES_REGION = f"""
    SELECT CASE WHEN EXISTS (SELECT 1 FROM boundary)
                THEN EXISTS (SELECT 1 FROM boundary WHERE ST_DWithin(geom, g.g, %(m)s))
                ELSE ST_DWithin(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, {STORAGE_SRID}),
                                g.g, %(m)s)
           END
    FROM (SELECT ST_GeomFromWKB(%(wkb)s, {STORAGE_SRID}) AS g) g"""


def _touches_region(geom: BaseGeometry) -> Steps[bool]:
    x0, y0, x1, y1 = FALLBACK_BOX_25833
    params = {"wkb": shapely.to_wkb(geom), "m": get_settings().region_margin_m}
    params |= {"x0": x0, "y0": y0, "x1": x1, "y1": y1}
    rows = yield _TOUCHES_REGION, params
    return bool(rows[0][0])


def _near_point(lon: float, lat: float) -> BaseGeometry:
    x, y = _to_storage(CRS84_SRS).transform(lon, lat)
    return shapely.Point(x, y)


def place_problems(
    within: Any, within_crs: Any, near: Any, radius_m: Any
) -> Steps[list[tuple[str, str]]]:
    """``(field, message)`` for each bad place filter: unreadable, invalid, too large, in an
    unknown CRS, or away from the served region (the municipality and
    ``settings.region_margin_m`` around it). A check that reads the database (see
    :data:`~geoplan.store.steps.Steps`)."""
    problems: list[tuple[str, str]] = []
    if within_crs is not None and within is None:
        problems.append(("within_crs", "is the CRS of within; give within too"))
    if within is not None:
        if not isinstance(within, str) or "\x00" in within:
            problems.append(("within", "must be GeoJSON or WKT text"))
        else:
            try:
                geom = read_within(within, within_crs)
            except ValidationError as exc:
                problems.append((exc.field or "within", str(exc)))
            else:
                if not (yield from _touches_region(geom)):
                    problems.append(
                        (
                            "within",
                            "lies outside the served municipality and the "
                            "region around it (wrong CRS, or lat/lon swapped?)",
                        )
                    )
    if radius_m is not None and near is None:
        problems.append(("radius_m", "is the radius around near; give near=lon,lat too"))
    if near is not None:
        if not isinstance(near, str):
            problems.append(("near", "must be lon,lat text"))
        else:
            try:
                lon, lat = read_near(near)
            except ValidationError as exc:
                problems.append(("near", str(exc)))
            else:
                if not (yield from _touches_region(_near_point(lon, lat))):
                    swapped = -90 <= lon <= 90
                    swapped = swapped and (yield from _touches_region(_near_point(lat, lon)))
                    hint = "; did you give lat,lon? near is lon,lat" if swapped else ""
                    problems.append(
                        (
                            "near",
                            f"lies outside the served municipality and the region around it{hint}",
                        )
                    )
    return problems


# -- the predicates -----------------------------------------------------------------------------
def place_where(
    within: str | None,
    within_crs: str | None,
    near: str | None,
    radius_m: float | None,
    alias: str = "p",
) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on the premises row ``alias`` (``p`` the listing, ``s`` its narrow search
    row; both hold ``geom`` in EPSG:25833) and their parameters, for checked place filters.
    Each condition uses the GiST index on ``geom``."""
    geom = f"{alias}.geom"
    where: list[str] = []
    params: dict[str, Any] = {}
    if within:
        where.append(f"ST_Intersects({geom}, ST_GeomFromWKB(%(place_within)s, {STORAGE_SRID}))")
        params["place_within"] = shapely.to_wkb(read_within(within, within_crs))
    if near:
        lon, lat = read_near(near)
        radius = DEFAULT_RADIUS_M if radius_m is None else float(radius_m)
        point = _near_point(lon, lat)
        # the index finds candidates on the projected plane with a margin for its scale error;
        # the geography decides (metres on the ellipsoid)
        where.append(
            f"ST_DWithin({geom}, ST_SetSRID(ST_MakePoint(%(place_x)s, %(place_y)s), "
            f"{STORAGE_SRID}), %(place_r)s * 1.01 + 1)"
        )
        where.append(f"ST_DWithin({_geography(alias)}, {_NEAR}, %(place_r)s)")
        params |= {"place_x": point.x, "place_y": point.y, "place_r": radius}
        params |= {"place_lon": lon, "place_lat": lat}
    return where, params


_NEAR = "ST_SetSRID(ST_MakePoint(%(place_lon)s, %(place_lat)s), 4326)::geography"
"""The ``near`` point on the ellipsoid (parameters of :func:`place_where`)."""


def _geography(alias: str) -> str:
    """The row ``alias``'s position on the ellipsoid, from its CRS84 ``lonlat`` (the numbers
    ``ST_Transform(geom, 4326)`` gives, kept on ``premises`` and ``premises_search``): reprojecting
    each candidate instead cost ≈ 17 µs a row."""
    return f"ST_SetSRID(ST_MakePoint({alias}.lonlat[0], {alias}.lonlat[1]), 4326)::geography"


def distance_sql(alias: str = "p") -> str:
    """The distance in metres on the ground (the ellipsoid, as ``radius_m``) from the ``near``
    point to the premises row ``alias``: ``sort=distance`` orders by it and each feature then
    carries it as ``distance_m``. Reads the parameters :func:`place_where` sets for ``near``."""
    return f"ST_Distance({_geography(alias)}, {_NEAR})"


DISTANCE_DECIMALS = 1
"""``distance_m`` is rounded to decimetres, as the walks are."""


_NAMED = re.compile(r"%\((\w+)\)s")


def place_condition(
    within: str | None,
    within_crs: str | None,
    near: str | None,
    radius_m: float | None,
    alias: str = "t",
) -> tuple[str, list[Any]]:
    """:func:`place_where` as one condition with positional parameters (``%s``), for statements
    built that way (the vector tiles, :mod:`geoplan.ogc.tiles`); ``("true", [])`` for none."""
    where, named = place_where(within, within_crs, near, radius_m, alias)
    if not where:
        return "true", []
    sql = " AND ".join(where)
    params = [named[m] for m in _NAMED.findall(sql)]
    return _NAMED.sub("%s", sql), params
