"""``geoplan export``: a layer out of the store as GeoJSON, GeoPackage or CSV.

GeoJSON and CSV are written in WGS84 (GeoJSON's own rule, and what spreadsheets and web maps
expect: CSV gets ``lon``/``lat`` columns for points, a ``wkt`` column for polygons); GeoPackage
keeps the storage CRS EPSG:25833 for GIS work. Every file carries the provenance columns
(``source``, ``accuracy_m``, ``verified``, ``sample``...), so exported sample data stays labelled.
Coordinates are written at full precision: ``geoplan import`` of an export gives the same rows.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.layers.spec import DERIVED, KEPT, LAYER_SPECS, layer_spec
from geoplan.layers.sql import units_json
from geoplan.store.db import read_gdf

EXPORT_FORMATS = ("geojson", "gpkg", "csv")
READ_FROM = {"premises": "premises_annotated"}  # the listing with its nearest hub and walk
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in spec.by_role(DERIVED, KEPT) if c.exported)
    for name, spec in LAYER_SPECS.items()
    if spec.by_role(DERIVED, KEPT)
}
"""Derived or bookkeeping values after the imported columns, useful to readers; ``geoplan
import`` ignores them."""


def _plain(v: Any) -> Any:
    """A JSON/CSV-friendly python value."""
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        # the store holds no other (CHECK constraints), and JSON has no Infinity or NaN
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, list | tuple | np.ndarray):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def export_columns(layer: str) -> list[str]:
    """The columns of an export; a layer with units ends with ``units`` (a JSON array, which
    ``geoplan import`` reads back)."""
    spec = layer_spec(layer)
    units = ["units"] if spec.unit_fields else []
    return [c.name for c in spec.columns] + list(EXTRA_COLUMNS.get(layer, ())) + units


def export_layer(conn: psycopg.Connection, layer: str, fmt: str, out: Path) -> int:
    """Write ``layer`` to ``out`` in ``fmt``; returns the number of features written."""
    spec = layer_spec(layer)
    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(
            f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}",
            field="format",
        )
    out = Path(out)
    if not out.parent.exists():
        raise ValidationError(f"directory {out.parent} does not exist", field="out")
    cols = export_columns(layer)
    srid = STORAGE_SRID if fmt == "gpkg" else 4326
    geom_sql = "geom" if srid == STORAGE_SRID else f"ST_Transform(geom, {srid})"
    source = READ_FROM.get(layer, spec.table)
    select = [f"t.{c}" for c in cols if c != "units"]
    if "units" in cols:
        select.append(f"{units_json(spec, 't')} AS units")
    gdf = read_gdf(
        conn,
        f"SELECT {', '.join(select)}, ST_AsBinary({geom_sql}) AS geom FROM {source} t ORDER BY id",
        crs=srid,
    )
    if gdf.empty:
        raise ValidationError(f"layer {layer} holds no rows; nothing exported", field="layer")
    records = [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in gdf[cols].values]
    geoms = gdf.geometry.values
    if fmt == "geojson":
        _write_geojson(out, layer, records, geoms)
    elif fmt == "csv":
        _write_csv(out, spec.geometry, cols, records, geoms)
    else:
        _write_gpkg(out, layer, gdf, cols, spec)
    return len(records)


def _write_geojson(out: Path, layer: str, records: list[dict], geoms) -> None:
    geo = shapely.to_geojson(geoms)
    with out.open("w", encoding="utf-8") as f:
        f.write(f'{{"type": "FeatureCollection", "name": {json.dumps(layer)}, "features": [\n')
        for i, (props, g) in enumerate(zip(records, geo, strict=True)):
            f.write(",\n" if i else "")
            f.write(
                f'{{"type": "Feature", "id": {json.dumps(props["id"])}, "properties": '
                f"{json.dumps(props, ensure_ascii=False, allow_nan=False)}, "
                f'"geometry": {g}}}'
            )
        f.write("\n]}\n")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _write_csv(out: Path, kind: str, cols: list[str], records: list[dict], geoms) -> None:
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        if kind == "point":
            w.writerow([*cols, "lon", "lat"])
            xy = shapely.get_coordinates(geoms)
            for rec, (x, y) in zip(records, xy, strict=True):
                w.writerow([*(_cell(rec[c]) for c in cols), repr(float(x)), repr(float(y))])
        else:
            w.writerow([*cols, "wkt"])
            wkt = shapely.to_wkt(geoms, rounding_precision=-1)
            for rec, g in zip(records, wkt, strict=True):
                w.writerow([*(_cell(rec[c]) for c in cols), g])


def _write_gpkg(out: Path, layer: str, gdf, cols: list[str], spec) -> None:
    frame = gdf.copy()
    for c in cols:
        if c == "units":
            frame[c] = [json.dumps(_plain(v), ensure_ascii=False) for v in frame[c]]
            continue
        kind = spec.column(c).kind
        if kind == "text[]":
            frame[c] = [json.dumps(_plain(v), ensure_ascii=False) for v in frame[c]]
        elif kind in ("date", "timestamp"):
            frame[c] = [_plain(v) for v in frame[c]]
    if out.exists():
        out.unlink()
    frame.to_file(out, layer=layer, driver="GPKG", engine="pyogrio")
