"""Loading the shipped layers in ``layers/`` into the store.

``geoplan load`` must be safe to run again and again (``make run`` does it on every start): rows
have stable ids and are upserted, all layers in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import psycopg
import shapely

from geoplan.config import STORAGE_SRID

# Load order matters: premises reference hubs.
SHIPPED_FILES: dict[str, str] = {
    "boundary": "boundary.geojson",
    "areas": "areas.geojson",
    "hubs": "hubs.geojson",
    "premises": "premises_sample.geojson",
}

ARRAY_COLUMNS = {"lines", "uses", "target_industries", "target_industries_en"}


@dataclass
class LoadResult:
    layer: str
    rows: int


def table_columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def upsert_gdf(conn: psycopg.Connection, table: str, gdf: gpd.GeoDataFrame) -> int:
    """Insert or update ``gdf`` (any CRS, an ``id`` column) into ``table`` by id."""
    gdf = gdf.to_crs(STORAGE_SRID)
    cols = [c for c in table_columns(conn, table) if c in gdf.columns and c not in ("geom",)]
    if "id" not in cols:
        raise ValueError(f"{table}: the data has no 'id' column")
    geom_type = "MultiPolygon" if table in ("boundary", "areas") else None
    geoms = gdf.geometry.values
    if geom_type == "MultiPolygon":
        geoms = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in geoms]
    wkb = shapely.to_wkb(geoms)
    placeholders = ", ".join(["%s"] * len(cols))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != "id")
    extra = ", updated_at = now()" if table in ("areas", "hubs", "premises") else ""
    sql = (
        f"INSERT INTO {table} ({', '.join(cols)}, geom) "
        f"VALUES ({placeholders}, ST_SetSRID(ST_GeomFromWKB(%s), {STORAGE_SRID})) "
        f"ON CONFLICT (id) DO UPDATE SET {updates}, geom = EXCLUDED.geom{extra}"
    )
    rows = []
    for values, g in zip(gdf[cols].itertuples(index=False), wkb, strict=True):
        row = []
        for c, v in zip(cols, values, strict=True):
            if c in ARRAY_COLUMNS:
                v = (
                    json.loads(v)
                    if isinstance(v, str)
                    else [str(x) for x in (v if v is not None else [])]
                )
            row.append(None if _isna(v) else v)
        rows.append((*row, g))
    with conn.cursor() as cur:
        cur.executemany(sql, rows)
    return len(rows)


def _isna(v: object) -> bool:
    if isinstance(v, list):
        return False
    try:
        return v is None or (not isinstance(v, list | tuple) and bool(v != v))
    except (TypeError, ValueError):
        return False


def load_layers(conn: psycopg.Connection, layers_dir: Path) -> list[LoadResult]:
    """Upsert every shipped layer file; the caller's transaction makes it all-or-nothing."""
    results = []
    for layer, filename in SHIPPED_FILES.items():
        path = layers_dir / filename
        if not path.exists():
            raise FileNotFoundError(f"shipped layer file missing: {path}")
        gdf = gpd.read_file(path)
        results.append(LoadResult(layer, upsert_gdf(conn, layer, gdf)))
    from geoplan.proximity import annotate_premises

    annotate_premises(conn)
    return results
