"""What a map draws of the zoning plans: land-use areas in WGS84 with their colours.

A reader of its own (beside :mod:`geoplan.mapdata`, which other work is reshaping) so the maps
can add the land-use layer through :func:`maps.land_use.add_land_use`.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import psycopg

from geoplan.store.db import read_gdf
from geoplan.zoning.codes import code_lists

WGS84 = 4326
DISPLAY_TOLERANCE_M = 0.5
"""Simplification for display: plan areas are drawn to the decimetre, so half a metre is
invisible at any zoom a planner uses and keeps the page small."""


def land_use_for_map(
    conn: psycopg.Connection, plan: str | None = None, kommuner: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """Land-use areas (all plans, or ``plan``; of all municipalities, or of ``kommuner``) with
    plan name, purpose and fill colour."""
    gdf = read_gdf(
        conn,
        f"""SELECT lu.id, lu.plan, p.name AS plan_name, p.status_name AS plan_status,
                   lu.code, lu.name, lu.main_purpose, lu.field_name, lu.ownership,
                   lu.utilisation_type_name, lu.utilisation, lu.utilisation_min,
                   lu.source, lu.licence, lu.verified, lu.sample,
                   ST_AsBinary(ST_Transform(ST_SimplifyPreserveTopology(lu.geom,
                       {DISPLAY_TOLERANCE_M}), {WGS84})) AS geom
            FROM land_use lu JOIN plans p ON p.id = lu.plan
            WHERE (%(plan)s::text IS NULL OR lu.plan = %(plan)s)
              AND (%(k)s::text[] IS NULL OR lu.kommunenummer = ANY(%(k)s))
            ORDER BY lu.code, lu.id""",
        {"plan": plan, "k": list(kommuner) if kommuner is not None else None},
        crs=WGS84,
    )
    codes = code_lists().land_use
    gdf["colour"] = [codes[c].colour if c in codes else "#999999" for c in gdf["code"]]
    gdf["pattern"] = [codes[c].pattern if c in codes else False for c in gdf["code"]]
    return gdf
