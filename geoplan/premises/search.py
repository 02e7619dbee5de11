"""Premises search: a checked :class:`~geoplan.premises.query.PremisesQuery` compiled to SQL over
``premises_annotated``, returned as a GeoDataFrame (maps, CLI) or as GeoJSON built in SQL (API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from geoplan.geo.crs import WGS84
from geoplan.layers.spec import API_ORDER, PREMISES, RECORD_ROLES, SEARCH
from geoplan.layers.sql import json_pairs, select_list
from geoplan.premises.query import SORTS, PremisesQuery, SearchResult, validate_query
from geoplan.proximity import HubSelection, WalkSettings, default_walk, walk_to_nearest_hub
from geoplan.store.db import read_gdf

HUB_WALK_TABLE = "_pq_hub_walk"
"""Session temp table holding the walk from each candidate premises to the named ``hub``."""


def _compile(
    conn: psycopg.Connection, q: PremisesQuery, walking: WalkSettings
) -> tuple[str, str, dict[str, Any]]:
    """The FROM+WHERE clause, the ORDER BY and the parameters of a (validated) query.

    With ``hub`` the selection also carries ``hub_walk_m``/``hub_walk_min``/``hub_walk_method``:
    the walk from each candidate to that hub, computed now by
    :func:`geoplan.proximity.walk_to_nearest_hub` restricted to that one hub — on the walking
    network where one is loaded (``network``), else straight line × ``detour_factor``
    (``straight_line``). No walk is shorter than the straight line, so with ``max_walk_min``
    only premises within that many minutes *as the crow flies* are routed (``ST_DWithin`` on
    the GiST index).
    """
    params: dict[str, Any] = {"withdrawn": q.include_withdrawn, "v": walking.m_per_min}
    where = ["(%(withdrawn)s OR p.status = 'available')"]
    source = "premises_annotated p LEFT JOIN hubs h ON h.id = p.nearest_hub_id"
    walk = "p.walk_min"
    if q.uses:
        where.append("p.uses && %(uses)s::text[]")
        params["uses"] = list(q.uses)
    if q.min_area_m2 is not None:
        where.append("p.floor_area_m2 >= %(min_area)s")
        params["min_area"] = q.min_area_m2
    if q.max_area_m2 is not None:
        where.append("p.floor_area_m2 <= %(max_area)s")
        params["max_area"] = q.max_area_m2
    if q.max_rent_nok_m2 is not None:
        where.append("p.rent_nok_m2_year <= %(max_rent)s")
        params["max_rent"] = q.max_rent_nok_m2
    if q.kommune:
        where.append("p.kommunenummer = ANY(%(kommune)s)")
        params["kommune"] = list(q.kommune)
    if q.area:
        where.append(
            "EXISTS (SELECT 1 FROM areas a WHERE a.id = %(area)s AND ST_Intersects(a.geom, p.geom))"
        )
        params["area"] = q.area
    if q.available_by:
        where.append("(p.available_from IS NULL OR p.available_from <= %(by)s)")
        params["by"] = q.available_by
    if q.max_walk_min is not None:
        params["walk"] = q.max_walk_min
    if q.hub:
        params["hub"] = q.hub
        if q.max_walk_min is not None:
            where.append(
                "ST_DWithin(p.geom, (SELECT geom FROM hubs WHERE id = %(hub)s), %(walk)s * %(v)s)"
            )
        walk_to_nearest_hub(
            conn,
            premises_where=" AND ".join(where),
            params=params,
            hubs=HubSelection(ids=(q.hub,)),
            out=HUB_WALK_TABLE,
            walk=walking,
        )
        source += (
            f" JOIN {HUB_WALK_TABLE} hw ON hw.seq = p.seq"
            " CROSS JOIN (SELECT id, name FROM hubs WHERE id = %(hub)s) th"
        )
        walk = "hw.walk_m / %(v)s"
        if q.max_walk_min is not None:
            where.append("hw.walk_m <= %(walk)s * %(v)s")
    elif q.max_walk_min is not None:
        where.append("p.walk_min <= %(walk)s")
    order = SORTS[q.sort].replace("walk_min", walk) + ", p.id"
    return f"{source} WHERE {' AND '.join(where)}", order, params


# Values a search reads from other relations than the listing ``p``: the nearest hub's name
# (``h``) and, with ``hub``, that hub (``th``) and the walk to it (``hw``, see _compile).
_SOURCES = {
    "nearest_hub_name": "h.name",
    "hub_id": "th.id",
    "hub_name": "th.name",
    "hub_walk_m": "hw.walk_m",
    "hub_walk_min": "hw.walk_m / %(v)s",
    "hub_walk_method": "hw.method",
}
_SELECT_COLUMNS = select_list(PREMISES.by_role(*RECORD_ROLES), "p", _SOURCES)
_HUB_COLUMNS = ", " + select_list(PREMISES.by_role(SEARCH), "p", _SOURCES)


def search(
    conn: psycopg.Connection, q: PremisesQuery, *, walk: WalkSettings | None = None
) -> SearchResult:
    """Premises matching ``q`` (a GeoDataFrame in EPSG:25833) and how many match in total.

    ``walk`` (default: the process settings) turns the walk to ``q.hub`` into minutes.
    """
    validate_query(conn, q)
    source, order, params = _compile(conn, q, default_walk(walk))
    total = conn.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    gdf = read_gdf(
        conn,
        f"""SELECT {_SELECT_COLUMNS}{_HUB_COLUMNS if q.hub else ""}, ST_AsBinary(p.geom) AS geom
            FROM {source} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s""",
        params | {"limit": q.limit, "offset": q.offset},
    )
    return SearchResult(gdf, total, q)


def _feature_sql(with_hub: bool) -> str:
    """A GeoJSON Feature (WGS84) of one premises row, built in PostGIS: the record's fields in
    :data:`~geoplan.layers.spec.API_ORDER` (the search's own with ``hub``), walks rounded."""
    fields = PREMISES.by_role(*(API_ORDER if with_hub else RECORD_ROLES))
    return f"""json_build_object(
        'type', 'Feature', 'id', p.id,
        'geometry', ST_AsGeoJSON(ST_Transform(p.geom, {WGS84}), 7)::json,
        'properties', json_build_object({json_pairs(fields, "p", _SOURCES, rounded=True)}))"""


@dataclass
class FeaturePage:
    """One page of search results as GeoJSON text, built in SQL for speed (API, CLI)."""

    features_json: str  # a JSON array of GeoJSON Features in WGS84
    number_matched: int
    number_returned: int


def search_features(
    conn: psycopg.Connection, q: PremisesQuery, *, walk: WalkSettings | None = None
) -> FeaturePage:
    """Like :func:`search`, but the page comes back as a GeoJSON features array (WGS84)."""
    validate_query(conn, q)
    source, order, params = _compile(conn, q, default_walk(walk))
    total = conn.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    row = conn.execute(
        f"""SELECT coalesce(json_agg(f ORDER BY n), '[]'::json)::text, count(*)
            FROM (SELECT {_feature_sql(bool(q.hub))} AS f, row_number() OVER (ORDER BY {order}) n
                  FROM {source} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) page""",
        params | {"limit": q.limit, "offset": q.offset},
    ).fetchone()
    return FeaturePage(row[0], total, row[1])
