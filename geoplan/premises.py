"""Vacant premises: search, and (API issue) create / update / withdraw with history.

INTERIM VERSION (foundation): a simple search with the final signature; the API issue completes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import psycopg

from geoplan.db import read_gdf

SORTS = {
    "walk": "walk_min NULLS LAST",
    "area": "floor_area_m2 DESC",
    "rent": "rent_nok_m2_year",
    "updated": "updated_at DESC",
}


@dataclass
class PremisesQuery:
    uses: list[str] | None = None
    min_area_m2: float | None = None
    max_area_m2: float | None = None
    max_rent_nok_m2: float | None = None
    area: str | None = None  # focus-area slug
    available_by: date | None = None
    max_walk_min: float | None = None
    hub: str | None = None  # with max_walk_min: walking time to this hub instead of the nearest
    sort: str = "walk"
    limit: int = 100
    offset: int = 0
    include_withdrawn: bool = False


@dataclass
class SearchResult:
    features: gpd.GeoDataFrame  # EPSG:25833, one row per premises, with nearest hub + walk time
    number_matched: int
    query: PremisesQuery = field(default_factory=PremisesQuery)


def search(conn: psycopg.Connection, q: PremisesQuery) -> SearchResult:
    where = ["(%(withdrawn)s OR p.status = 'available')"]
    params: dict = {"withdrawn": q.include_withdrawn}
    if q.uses:
        where.append("p.uses && %(uses)s")
        params["uses"] = q.uses
    if q.min_area_m2 is not None:
        where.append("p.floor_area_m2 >= %(min_area)s")
        params["min_area"] = q.min_area_m2
    if q.max_area_m2 is not None:
        where.append("p.floor_area_m2 <= %(max_area)s")
        params["max_area"] = q.max_area_m2
    if q.max_rent_nok_m2 is not None:
        where.append("p.rent_nok_m2_year <= %(max_rent)s")
        params["max_rent"] = q.max_rent_nok_m2
    if q.area:
        where.append(
            "EXISTS (SELECT 1 FROM areas a WHERE a.id = %(area)s AND ST_Intersects(a.geom, p.geom))"
        )
        params["area"] = q.area
    if q.available_by:
        where.append("(p.available_from IS NULL OR p.available_from <= %(by)s)")
        params["by"] = q.available_by
    if q.max_walk_min is not None:
        where.append("p.walk_min <= %(walk)s")
        params["walk"] = q.max_walk_min
    cond = " AND ".join(where)
    total = conn.execute(f"SELECT count(*) FROM premises p WHERE {cond}", params).fetchone()[0]
    params |= {"limit": q.limit, "offset": q.offset}
    gdf = read_gdf(
        conn,
        f"""SELECT p.id, p.address, p.uses, p.floor_area_m2, p.rent_nok_m2_year, p.available_from,
                   p.contact, p.listing_url, p.status, p.nearest_hub_id, h.name AS nearest_hub_name,
                   p.walk_m, p.walk_min, p.walk_method, p.source, p.accuracy_m, p.verified,
                   p.sample, p.updated_at, ST_AsBinary(p.geom) AS geom
            FROM premises p LEFT JOIN hubs h ON h.id = p.nearest_hub_id
            WHERE {cond} ORDER BY {SORTS[q.sort]}, p.id LIMIT %(limit)s OFFSET %(offset)s""",
        params,
    )
    return SearchResult(gdf, total, q)
