"""Premises rows of a file with an address and no coordinates: placed at their address.

``geoplan import FILE --layer premises`` accepts listings without a position (a CSV without
coordinate columns, empty cells, GeoJSON features with ``"geometry": null``) when they have an
address. Those addresses are resolved in one batch (:func:`geoplan.addresses.resolve_many`):
a row whose address names exactly one address in the register is placed there, and its
provenance says so (:func:`geoplan.addresses.geocoded_provenance`); a row whose address is
ambiguous, unknown or outside the region is a row error listing the candidates — the file
then imports nothing, like any other bad row. With no addresses loaded, one line says to load
them first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from pyproj import Transformer

from geoplan.addresses import (
    IMPORT_ADDRESSES_HINT,
    AddressNotResolved,
    Candidate,
    addresses_loaded,
    geocoded_provenance,
    resolve_many,
)
from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.region import Region
from geoplan.ingest.validation import PreparedLayer, RowError, map_columns
from geoplan.layers.spec import LayerSpec

GEOCODED_LAYERS = ("premises",)
"""Layers whose rows may be placed by their address (the others have no address to go by)."""


@dataclass
class Geocoded:
    """What geocoding a file's rows found: per row (0-based) its match, or its error."""

    matches: dict[int, Candidate] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def unplaced(self) -> set[int]:
        """Rows (0-based) left without a position because their address was not resolved."""
        return {e.row - 1 for e in self.errors if e.row is not None}


def _address_column(gdf: gpd.GeoDataFrame, spec: LayerSpec) -> str | None:
    attrs = [c for c in gdf.columns if c != gdf.geometry.name]
    return map_columns(attrs, spec).get("address")


def geocode_rows(
    conn: psycopg.Connection,
    gdf: gpd.GeoDataFrame,
    spec: LayerSpec,
    region: Region,
    source_name: str,
) -> tuple[gpd.GeoDataFrame, Geocoded]:
    """Place the rows of ``gdf`` that have no geometry and an address; the frame with their
    points (in its own CRS) and what was found. Rows without either stay as they are (the
    validation reports them)."""
    found = Geocoded()
    if spec.name not in GEOCODED_LAYERS or not len(gdf):
        return gdf, found
    column = _address_column(gdf, spec)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if column is None or not missing.any():
        return gdf, found
    texts = gdf[column].to_numpy(dtype=object)
    rows = [
        int(i) for i in np.flatnonzero(missing) if isinstance(texts[i], str) and texts[i].strip()
    ]
    if not rows:
        return gdf, found
    if not addresses_loaded(conn):
        first = rows[0]
        raise ValidationError(
            f"{source_name}: {len(rows)} row{'s' if len(rows) != 1 else ''} "
            f"{'have' if len(rows) != 1 else 'has'} an address and no coordinates (first: row "
            f"{first + 1}, {texts[first].strip()!r}), but no addresses are loaded to place "
            f"them; {IMPORT_ADDRESSES_HINT}; nothing was imported",
            field="address",
        )
    results = resolve_many(conn, [texts[i].strip() for i in rows], field="address")
    placed: dict[int, Candidate] = {}
    for i, result in zip(rows, results, strict=True):
        if isinstance(result, AddressNotResolved):
            found.errors.append(RowError(i + 1, "address", str(result)))
        else:
            placed[i] = result
    if placed:
        order = sorted(placed)
        xy = np.array([(placed[i].x, placed[i].y) for i in order])
        inside = region.contains(shapely.points(xy))
        for i, ok in zip(order, inside, strict=True):
            if ok:
                found.matches[i] = placed[i]
            else:
                found.errors.append(
                    RowError(
                        i + 1,
                        "address",
                        f"the address {texts[i].strip()!r} is {placed[i].label()}, outside the "
                        f"region ({region.description})",
                    )
                )
    found.errors.sort(key=lambda e: e.row or 0)
    if not found.matches:
        return gdf, found
    gdf = gdf.copy()
    if gdf.crs is None and missing.all():
        gdf = gdf.set_crs(STORAGE_SRID)
    if gdf.crs is not None:
        order = sorted(found.matches)
        xs = [found.matches[i].x for i in order]
        ys = [found.matches[i].y for i in order]
        if gdf.crs.to_epsg() != STORAGE_SRID:
            to_file = Transformer.from_crs(STORAGE_SRID, gdf.crs, always_xy=True)
            xs, ys = to_file.transform(xs, ys)
        new = np.asarray(gdf.geometry.values, dtype=object)
        new[order] = shapely.points(xs, ys)
        gdf[gdf.geometry.name] = gpd.GeoSeries(new, crs=gdf.crs, index=gdf.index)
    return gdf, found


def record_positions(prepared: PreparedLayer, found: Geocoded) -> int:
    """Write the provenance of each geocoded row into ``prepared`` (see
    :func:`geoplan.addresses.geocoded_provenance`); the number of rows placed."""
    cols = prepared.columns
    n = len(prepared)
    for name in ("source_url", "licence", "accuracy_m"):
        cols.setdefault(name, [None] * n)
    for i, match in found.matches.items():
        prov = geocoded_provenance(
            match,
            source=cols["source"][i],
            source_url=cols["source_url"][i],
            licence=cols["licence"][i],
        )
        for name, value in prov.items():
            cols[name][i] = value
    return len(found.matches)
