"""What the maps draw, read from the store as WGS84 GeoDataFrames ready for display.

The maps package never writes SQL nor reads settings: it calls these functions, passing on the
connection and the walking model (:class:`~geoplan.proximity.WalkSettings`) its caller gave it
(``tests/unit/test_maps_boundary.py`` holds it to that). Geometry is simplified in PostGIS (in
metres, before reprojection) so the HTML stays small, and walking catchments fall back to
clearly labelled straight-line rings when the proximity analysis has not stored network
isochrones for a hub.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import psycopg
import shapely

from geoplan.config import STORAGE_SRID
from geoplan.errors import NotFoundError
from geoplan.geo.municipalities import join_names, served
from geoplan.geo.region import FALLBACK_BOX_25833
from geoplan.ingest.gtfs import ID_PREFIX as GTFS_PREFIX
from geoplan.ingest.netex.hubs import ID_PREFIX as NETEX_PREFIX
from geoplan.premises import MAX_LIMIT, PremisesQuery, SearchResult, search_frame
from geoplan.premises import get as get_premises
from geoplan.proximity import WalkSettings, default_walk
from geoplan.store.db import read_gdf
from geoplan.vocab import ENERGY_LABELS
from geoplan.zoning import LandUsePremises, land_use_for_map, vacant_premises_by_land_use

WGS84 = 4326
CATCHMENT_MINUTES: tuple[int, ...] = (5, 10, 15)
DISPLAY_TOLERANCE_M = 5.0
"""Polygon simplification for display: far below the layers' own accuracy (100–500 m)."""
SEARCH_PAGE = MAX_LIMIT
"""Premises are fetched through :func:`geoplan.premises.search_frame` in pages of this size."""

_PROVENANCE = "source, source_url, licence, accuracy_m, verified, sample"


def _display(geom: str = "geom", tolerance_m: float = DISPLAY_TOLERANCE_M) -> str:
    return (
        f"ST_AsBinary(ST_Transform(ST_SimplifyPreserveTopology({geom}, {float(tolerance_m)}), "
        f"{WGS84})) AS geom"
    )


Kommuner = Sequence[str] | None
"""Municipality numbers a map is scoped to (``kommune=``); None: everything in the store."""


def _k(kommuner: Kommuner) -> list[str] | None:
    return list(kommuner) if kommuner is not None else None


@dataclass(frozen=True)
class MapView:
    """Where a map looks and what it is about: the served municipalities in its scope, their
    names for titles, and their extent (the boundary's; the fallback Lørenskog envelope when
    none is loaded)."""

    names: tuple[str, ...]
    """The municipalities shown (in scope), by number: ``("Lørenskog",)``."""
    served: dict[str, str]
    """Every municipality the store serves, number → name (the filter form offers these)."""
    bounds: tuple[float, float, float, float]
    """``(south, west, north, east)`` in WGS84."""

    @property
    def place(self) -> str:
        """The names for a Norwegian title: ``Lørenskog``, ``Lillestrøm, Lørenskog og
        Rælingen``; empty when no municipality is loaded."""
        return join_names(self.names, "og")

    @property
    def centre(self) -> tuple[float, float]:
        """``(lat, lon)`` of the extent's centre."""
        s, w, n, e = self.bounds
        return ((s + n) / 2, (w + e) / 2)


def map_view(conn: psycopg.Connection, kommuner: Kommuner = None) -> MapView:
    """The :class:`MapView` of the served municipalities, or of ``kommuner`` (a municipality
    the store does not serve is shown by its polygon in the national register)."""
    names, s, w, n, e = conn.execute(
        f"""WITH shown AS (
                SELECT kommunenummer, name, geom FROM boundary
                WHERE %(k)s::text[] IS NULL OR kommunenummer = ANY(%(k)s)
                UNION ALL
                SELECT kommunenummer, name, geom FROM municipalities
                WHERE kommunenummer = ANY(%(k)s) AND kommunenummer NOT IN
                      (SELECT kommunenummer FROM boundary WHERE kommunenummer IS NOT NULL)),
            box AS (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, {STORAGE_SRID}),
                                        {WGS84})::box2d AS b FROM shown)
            SELECT (SELECT array_agg(name ORDER BY nr) FROM (SELECT kommunenummer AS nr,
                           min(name) AS name FROM shown GROUP BY kommunenummer) k),
                   ST_YMin(b), ST_XMin(b), ST_YMax(b), ST_XMax(b)
            FROM box""",
        {"k": _k(kommuner)},
    ).fetchone()
    if s is None:  # nothing loaded: the fallback envelope
        s, w, n, e = conn.execute(
            f"""SELECT ST_YMin(b), ST_XMin(b), ST_YMax(b), ST_XMax(b)
                FROM (SELECT ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, {STORAGE_SRID}),
                                          {WGS84})::box2d AS b) s""",
            FALLBACK_BOX_25833,
        ).fetchone()
    everything = {k.kommunenummer: k.name for k in served(conn)}
    return MapView(tuple(names or ()), everything, (float(s), float(w), float(n), float(e)))


def boundary(conn: psycopg.Connection, kommuner: Kommuner = None) -> gpd.GeoDataFrame:
    """The municipal boundary (one row per stored boundary; ``kommuner``: theirs only)."""
    return read_gdf(
        conn,
        f"""SELECT id, name, kommunenummer, {_PROVENANCE}, {_display()} FROM boundary
            WHERE %(k)s::text[] IS NULL OR kommunenummer = ANY(%(k)s) ORDER BY id""",
        {"k": _k(kommuner)},
        crs=WGS84,
    )


def areas(
    conn: psycopg.Connection, slug: str | None = None, kommuner: Kommuner = None
) -> gpd.GeoDataFrame:
    """The focus areas (or just ``slug``; ``kommuner``: theirs only) with role, identity and
    target industries."""
    if slug is not None and "\x00" in slug:  # no id holds one (PostgreSQL text cannot)
        raise NotFoundError(f"no focus area with slug {slug!r}")
    gdf = read_gdf(
        conn,
        f"""SELECT id, name, role, identity, identity_en, target_industries, strategy_ref,
                   development_area, kommunenummer, {_PROVENANCE}, {_display()},
                   ST_X(ST_Transform(ST_PointOnSurface(geom), {WGS84})) AS label_lon,
                   ST_Y(ST_Transform(ST_PointOnSurface(geom), {WGS84})) AS label_lat
            FROM areas WHERE (%(slug)s::text IS NULL OR id = %(slug)s)
              AND (%(k)s::text[] IS NULL OR kommunenummer = ANY(%(k)s))
            ORDER BY id""",
        {"slug": slug, "k": _k(kommuner)},
        crs=WGS84,
    )
    if slug is not None and gdf.empty:
        raise NotFoundError(f"no focus area with slug {slug!r}")
    return gdf


def area_bounds(conn: psycopg.Connection, slug: str) -> tuple[float, float, float, float]:
    """``(south, west, north, east)`` of one area in WGS84, for zooming the map to it."""
    row = conn.execute(
        f"""SELECT ST_YMin(b), ST_XMin(b), ST_YMax(b), ST_XMax(b)
            FROM (SELECT ST_Transform(geom, {WGS84})::box2d AS b FROM areas WHERE id = %s) s""",
        (slug,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no focus area with slug {slug!r}")
    return tuple(float(v) for v in row)  # type: ignore[return-value]


STOP_REGISTER_PREFIXES = (NETEX_PREFIX, GTFS_PREFIX)
"""Ids of the hubs the stop-register imports write (``netex:NSR:StopPlace:58366``)."""
_FROM_REGISTER = (
    "(" + " OR ".join(f"left(id, {len(p)}) = '{p}'" for p in STOP_REGISTER_PREFIXES) + ")"
)


def hubs(
    conn: psycopg.Connection, ids: Sequence[str] | None = None, kommuner: Kommuner = None
) -> gpd.GeoDataFrame:
    """Transit hubs (all, or ``ids``) with mode, status, lines and departures. ``kommuner``:
    the hubs in those municipalities and the hubs nearest to their premises (Lillestrøm
    stasjon serves Lørenskog from across the border).

    ``from_register``: the hub comes from a stop register (``geoplan import-netex`` or
    ``import-gtfs``: the operator's own positions, official data); ``estimated``: neither that
    nor ``verified`` — a position someone estimated, which the maps say so about.
    """
    return read_gdf(
        conn,
        f"""SELECT id, name, mode, status, lines, departures_per_hour, nsr_id, address,
                   kommunenummer, {_PROVENANCE},
                   {_FROM_REGISTER} AS from_register,
                   NOT verified AND NOT {_FROM_REGISTER} AS estimated,
                   ST_AsBinary(ST_Transform(geom, {WGS84})) AS geom
            FROM hubs WHERE (%(ids)s::text[] IS NULL OR id = ANY(%(ids)s))
              AND (%(k)s::text[] IS NULL OR kommunenummer = ANY(%(k)s)
                   OR id IN (SELECT nearest_hub_id FROM premises_annotated
                             WHERE kommunenummer = ANY(%(k)s)))
            ORDER BY status, mode, id""",
        {"ids": list(ids) if ids is not None else None, "k": _k(kommuner)},
        crs=WGS84,
    )


def ring_radius_m(minutes: float, walk: WalkSettings | None = None) -> float:
    """Straight-line radius that stands in for ``minutes`` of walking without a network."""
    walk = default_walk(walk)
    return walk.m_per_min * minutes / walk.detour_factor


def catchments(
    conn: psycopg.Connection,
    hub_ids: Sequence[str] | None = None,
    minutes: Sequence[int] = CATCHMENT_MINUTES,
    *,
    walk: WalkSettings | None = None,
) -> gpd.GeoDataFrame:
    """Walking catchments per hub and minute value, largest first (so small ones draw on top).

    Rows come from the ``catchments`` table (``method`` as stored, normally ``network``). For a
    hub/minutes pair the table lacks, a straight-line ring of radius
    ``walk speed × minutes / detour factor`` is computed instead, with ``method =
    'straight_line'`` so the map can say so. ``walk`` (default: the process settings) gives the
    speed and detour factor.
    """
    walk = default_walk(walk)
    return read_gdf(
        conn,
        f"""
        WITH h AS (SELECT id, name, status, geom FROM hubs
                   WHERE %(ids)s::text[] IS NULL OR id = ANY(%(ids)s)),
             m AS (SELECT unnest(%(minutes)s::int[]) AS minutes)
        SELECT c.hub_id, h.name AS hub_name, h.status AS hub_status, c.minutes, c.method,
               {_display("c.geom")}
        FROM catchments c JOIN h ON h.id = c.hub_id JOIN m ON m.minutes = c.minutes
        UNION ALL
        SELECT h.id, h.name, h.status, m.minutes, 'straight_line',
               ST_AsBinary(ST_Transform(
                   ST_Buffer(h.geom, %(speed)s * m.minutes / %(detour)s, 24), {WGS84})) AS geom
        FROM h CROSS JOIN m
        WHERE NOT EXISTS (SELECT 1 FROM catchments c
                          WHERE c.hub_id = h.id AND c.minutes = m.minutes)
        ORDER BY minutes DESC, hub_id
        """,
        {
            "ids": list(hub_ids) if hub_ids is not None else None,
            "minutes": list(minutes),
            "speed": walk.m_per_min,
            "detour": walk.detour_factor,
        },
        crs=WGS84,
    )


def hubs_serving_area(
    conn: psycopg.Connection, slug: str, minutes: int = 15, *, walk: WalkSettings | None = None
) -> list[str]:
    """Hubs from which the area is within ``minutes`` walk (catchment, else straight-line ring)."""
    area_bounds(conn, slug)  # 404 for an unknown slug
    rows = conn.execute(
        """
        SELECT h.id FROM hubs h, areas a
        WHERE a.id = %(slug)s AND (
            EXISTS (SELECT 1 FROM catchments c WHERE c.hub_id = h.id AND c.minutes = %(min)s
                    AND ST_Intersects(c.geom, a.geom))
            OR (NOT EXISTS (SELECT 1 FROM catchments c
                            WHERE c.hub_id = h.id AND c.minutes = %(min)s)
                AND ST_DWithin(h.geom, a.geom, %(radius)s)))
        ORDER BY ST_Distance(h.geom, a.geom), h.id
        """,
        {"slug": slug, "min": minutes, "radius": ring_radius_m(minutes, walk)},
    ).fetchall()
    return [r[0] for r in rows]


def _with_areas(conn: psycopg.Connection, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``area_id``: the focus area each premises lies in (None outside all of them)."""
    ids = [str(i) for i in gdf["id"]] if len(gdf) else []
    rows = conn.execute(
        """SELECT DISTINCT ON (p.id) p.id, a.id FROM premises p
           JOIN areas a ON ST_Intersects(a.geom, p.geom)
           WHERE p.id = ANY(%s) ORDER BY p.id, a.id""",
        (ids,),
    ).fetchall()
    lookup = dict(rows)
    gdf = gdf.copy()
    gdf["area_id"] = [lookup.get(str(i)) for i in gdf["id"]]
    return gdf


def premises(
    conn: psycopg.Connection,
    q: PremisesQuery | None = None,
    *,
    everything: bool = False,
    walk: WalkSettings | None = None,
) -> SearchResult:
    """Premises matching ``q`` through the fast search (:func:`geoplan.premises.search_frame`,
    what ``GET /premises`` answers), in WGS84 with ``area_id``.

    With ``everything``, all matches are fetched page by page (the overview draws thousands);
    otherwise ``q.limit``/``q.offset`` apply as in the API, and past
    :data:`~geoplan.premises.COUNT_CAP` matches ``number_matched`` is an estimate, flagged as in
    the API. ``walk`` as for the search.
    """
    q = q or PremisesQuery()
    result = search_frame(conn, q, walk=walk, everything=everything, page_size=SEARCH_PAGE)
    return replace(result, features=_with_areas(conn, result.features))


def premises_one(conn: psycopg.Connection, premises_id: str) -> gpd.GeoDataFrame:
    """One premises (a withdrawn one too: links to it keep working) as a one-row GeoDataFrame
    in WGS84 with every field of its record, its hub's name and ``area_id``: the premises page.
    Raises :class:`~geoplan.errors.NotFoundError` for an unknown id."""
    record = get_premises(conn, premises_id)
    props = {k: [v] for k, v in record.items() if k != "geometry"}
    gdf = gpd.GeoDataFrame(props, geometry=[shapely.geometry.shape(record["geometry"])], crs=WGS84)
    return _with_areas(conn, gdf)


def premises_near_area(
    conn: psycopg.Connection, slug: str, minutes: int = 15, *, walk: WalkSettings | None = None
) -> SearchResult:
    """Premises inside the area or within ``minutes`` of straight-line walking of its edge."""
    area_bounds(conn, slug)
    ids = [
        r[0]
        for r in conn.execute(
            """SELECT p.id FROM premises p, areas a
               WHERE a.id = %s AND p.status = 'available' AND ST_DWithin(p.geom, a.geom, %s)""",
            (slug, ring_radius_m(minutes, walk)),
        ).fetchall()
    ]
    result = premises(conn, PremisesQuery(), everything=True, walk=walk)
    gdf = result.features[result.features["id"].isin(ids)].reset_index(drop=True)
    return SearchResult(gdf, len(gdf), result.query)


# -- the assessment map ------------------------------------------------------------------------
def area_outlines(conn: psycopg.Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    """``{id, name, geometry}`` of the focus areas ``ids`` (WGS84 GeoJSON, 6 decimals), by id:
    the areas an assessed site touches, drawn unsimplified around it."""
    if not ids:
        return []
    rows = conn.execute(
        "SELECT id, name, ST_AsGeoJSON(ST_Transform(geom, 4326), 6) FROM areas "
        "WHERE id = ANY(%s) ORDER BY id",
        (list(ids),),
    ).fetchall()
    return [{"id": r[0], "name": r[1], "geometry": json.loads(r[2])} for r in rows]


def stored_catchments(
    conn: psycopg.Connection, wanted: Sequence[tuple[str, int]]
) -> dict[str, dict[str, Any]]:
    """Stored walking catchments for ``(hub_id, minutes)`` pairs: hub id -> ``{geometry (WGS84
    GeoJSON), method}``. Pairs the proximity analysis has not stored are left out (the map then
    draws a straight-line ring); of two pairs for one hub the later stored one wins."""
    out: dict[str, dict[str, Any]] = {}
    for hub_id, minutes in wanted:
        row = conn.execute(
            "SELECT ST_AsGeoJSON(ST_Transform(geom, 4326), 6), method FROM catchments "
            "WHERE hub_id = %s AND minutes = %s",
            (hub_id, minutes),
        ).fetchone()
        if row:
            out[hub_id] = {"geometry": json.loads(row[0]), "method": row[1]}
    return out


# -- premises as vector tiles (maps/tiles.py) ------------------------------------------------------
@dataclass(frozen=True)
class PremisesCount:
    """How many premises a map would draw, and how many of them are SAMPLE data."""

    matched: int
    sample: int


def premises_count(conn: psycopg.Connection) -> PremisesCount:
    """The vacant (available) premises the overview draws: the count decides whether it carries
    them inline or loads them as vector tiles. Read from the counts kept by triggers
    (``premises_counts``): counting 10⁶ listings took 0.3–0.45 s of every render."""
    matched, sample = conn.execute(
        "SELECT coalesce(sum(n), 0)::bigint, coalesce(sum(n) FILTER (WHERE sample), 0)::bigint "
        "FROM premises_counts WHERE status = 'available'"
    ).fetchone()
    return PremisesCount(matched, sample)


def premises_tile_query(q: PremisesQuery) -> dict[str, str] | None:
    """The query string that narrows premises tiles to the matches of ``q`` (OGC simple filters
    and CQL2, as ``/ogc/collections/premises/tiles/...`` takes them), or None when ``q`` names
    something tiles cannot express (a focus ``area``; the walk to a named ``hub``, which is
    computed per search). A drawn polygon or a circle (``within``, ``near``) travels as the
    same parameters: the premises tiles take the search's place filters."""
    # the unit-level floor and the broker's name (a substring, any case) are not expressed
    if q.area or q.hub or q.floor is not None or q.broker_org:
        return None
    params = {"status": "available"}
    for name in ("within", "within_crs", "near"):
        if getattr(q, name):
            params[name] = getattr(q, name)
    if q.near and q.radius_m is not None:
        params["radius_m"] = repr(float(q.radius_m))
    if q.uses:
        params["uses"] = ",".join(q.uses)
    cql = []
    if q.min_area_m2 is not None:
        cql.append(f"floor_area_m2 >= {float(q.min_area_m2)!r}")
    if q.max_area_m2 is not None:
        cql.append(f"floor_area_m2 <= {float(q.max_area_m2)!r}")
    if q.max_rent_nok_m2 is not None:
        cql.append(f"rent_nok_m2_year <= {float(q.max_rent_nok_m2)!r}")
    if q.max_walk_min is not None:
        cql.append(f"walk_min <= {float(q.max_walk_min)!r}")
    if q.available_by is not None:
        by = q.available_by.isoformat()
        cql.append(f"(available_from IS NULL OR available_from <= DATE('{by}'))")
    for name, column in (
        ("min_workplaces", "workplaces"),
        ("min_parking", "parking_spaces"),
        ("min_ceiling_height_m", "ceiling_height_m"),
    ):
        if getattr(q, name) is not None:
            cql.append(f"{column} >= {getattr(q, name)!r}")
    if q.max_energy_label is not None:
        labels = ENERGY_LABELS[: ENERGY_LABELS.index(q.max_energy_label) + 1]
        cql.append(f"energy_label IN ({', '.join(repr(x) for x in labels)})")
    if q.built_after is not None:
        cql.append(f"(year_built >= {q.built_after!r} OR year_renovated >= {q.built_after!r})")
    if q.loading_dock:
        cql.append("loading_dock = TRUE")
    if cql:
        params["filter"] = " AND ".join(cql)
    return params


def search_place(q: PremisesQuery) -> dict[str, Any] | None:
    """Where a checked search ``q`` looks, for the map to draw (WGS84): ``area`` its ``within``
    polygon as a GeoJSON geometry, ``circle`` its ``near`` point and radius; None for neither."""
    from geoplan.premises import place

    if not q.within and not q.near:
        return None
    out: dict[str, Any] = {"area": None, "circle": None}
    if q.within:
        area = gpd.GeoSeries([place.read_within(q.within, q.within_crs)], crs=STORAGE_SRID)
        out["area"] = json.loads(area.to_crs(WGS84).to_json())["features"][0]["geometry"]
    if q.near:
        lon, lat = place.read_near(q.near)
        radius = place.DEFAULT_RADIUS_M if q.radius_m is None else q.radius_m
        out["circle"] = {"lon": lon, "lat": lat, "radius_m": radius}
    return out


# -- zoning plans: land use (maps/land_use.py) -----------------------------------------------------
def land_use(conn: psycopg.Connection, kommuner: Kommuner = None) -> gpd.GeoDataFrame:
    """The land-use areas (arealformål) of the stored zoning plans with their standard colours
    (:func:`geoplan.zoning.land_use_for_map`), in the municipalities ``kommuner``."""
    return land_use_for_map(conn, kommuner=_k(kommuner))


def land_use_premises(conn: psycopg.Connection, kommuner: Kommuner = None) -> LandUsePremises:
    """Vacant premises counted per land-use purpose (what the map's legend and lists say)."""
    return vacant_premises_by_land_use(conn, kommuner=_k(kommuner))
