"""Loading the shipped layers in ``layers/`` into the store.

``geoplan load`` must be safe to run again and again (``make run`` does it on every start): rows
have stable ids and are upserted, all layers in one transaction. It goes through the same
validation and write path as ``geoplan import`` (:mod:`geoplan.ingest.files`), so shipped
data is held to the same rules as imported data, and unchanged rows are left untouched.

What is shipped: the national register of municipalities (for every store), and Lørenskog's own
layers — its finer boundary, six focus areas, hubs and sample premises — which are loaded only
into a store that serves Lørenskog (3222), the default; a store for Oslo never gets them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import psycopg

from geoplan.geo.municipalities import served
from geoplan.ingest.municipalities import backfill, load_national, national_file, serve
from geoplan.ingest.validation import prepare, region_for
from geoplan.ingest.writer import Progress, WriteResult, write_layer
from geoplan.layers.spec import layer_spec
from geoplan.vocab import DEFAULT_KOMMUNE

SHIPPED_KOMMUNE = DEFAULT_KOMMUNE
"""Lørenskog (3222): the municipality the shipped layers below belong to."""
# Load order matters: areas and premises are checked against the boundary, premises refer to hubs.
SHIPPED_FILES: dict[str, str] = {
    "boundary": "boundary.geojson",
    "areas": "areas.geojson",
    "hubs": "hubs.geojson",
    "premises": "premises_sample.geojson",
}


@dataclass
class LoadResult:
    layer: str
    rows: int
    inserted: int = 0
    updated: int = 0


def table_columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def upsert_gdf(
    conn: psycopg.Connection,
    table: str,
    gdf: gpd.GeoDataFrame,
    *,
    source_name: str | None = None,
    annotate: bool = True,
    progress: Progress | None = None,
) -> WriteResult:
    """Validate ``gdf`` (any CRS, an ``id`` column) and upsert it into ``table`` by id.

    Raises :class:`geoplan.ingest.validation.RowValidationError` (nothing written) on any bad row.
    """
    prepared = prepare(
        gdf,
        layer_spec(table),
        region=region_for(conn, table),
        source_name=source_name or table,
    )
    return write_layer(
        conn, prepared, actor=f"load {source_name or table}", annotate=annotate, progress=progress
    )


def load_layers(
    conn: psycopg.Connection,
    layers_dir: Path,
    *,
    kommuner: Sequence[str] = (DEFAULT_KOMMUNE,),
) -> list[LoadResult]:
    """Load what is shipped; the caller's transaction makes it all-or-nothing.

    1. the national register of municipalities, when its file changed
       (:func:`~geoplan.ingest.municipalities.load_national`);
    2. a store that serves no municipality yet is made to serve ``kommuner`` (the caller passes
       ``GEOPLAN_KOMMUNE``; default Lørenskog);
    3. when the store serves Lørenskog, its layer files are upserted (results, one per layer);
       otherwise nothing of Lørenskog's is loaded and the result is empty;
    4. rows still without a ``kommunenummer`` get one, and premises are annotated.
    """
    from geoplan.ingest.files import read_input
    from geoplan.proximity import annotate_premises

    load_national(conn, national_file(layers_dir))
    if not served(conn):
        serve(conn, kommuner)
    results = []
    if any(k.kommunenummer == SHIPPED_KOMMUNE for k in served(conn)):
        for layer, filename in SHIPPED_FILES.items():
            path = Path(layers_dir) / filename
            if not path.exists():
                raise FileNotFoundError(2, "shipped layer file missing", str(path))
            gdf, _ = read_input(path)
            w = upsert_gdf(conn, layer, gdf, source_name=filename, annotate=False)
            results.append(LoadResult(layer, w.rows, w.inserted, w.updated))
    backfill(conn)
    annotate_premises(conn)
    return results
