"""How fast ``geoplan import`` takes 100 000 premises (target: well under a minute).

Generates premises at random positions inside Lørenskog's boundary, writes them as GeoJSON and as
CSV (lon/lat) in a temp directory, and imports each into a throwaway PostGIS cluster (like the
tests) that already holds the shipped layers. Prints the time per stage and rows/s.
Run: ``python -m bench.import_premises [--rows N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from bench._harness import throwaway_cluster
from geoplan.config import REPO_ROOT
from geoplan.ingest.files import ImportOptions, import_file
from geoplan.ingest.shipped import load_layers
from geoplan.store import db
from geoplan.vocab import USE_CATEGORIES

DEFAULT_ROWS = 100_000


def generate(n: int, seed: int = 42) -> gpd.GeoDataFrame:
    """``n`` premises inside the municipal boundary (EPSG:25833), labelled as bench data."""
    rng = np.random.default_rng(seed)
    boundary = gpd.read_file(REPO_ROOT / "layers" / "boundary.geojson").to_crs(25833)
    shape = boundary.geometry.iloc[0]
    x0, y0, x1, y1 = shape.bounds
    pts = np.empty(0, dtype=object)
    while len(pts) < n:
        cand = shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))
        pts = np.concatenate([pts, cand[shapely.contains(shape, cand)]])
    pts = pts[:n]
    uses = np.array(USE_CATEGORIES)
    return gpd.GeoDataFrame(
        {
            "id": [f"bench-{i:06d}" for i in range(n)],
            "address": [f"Benchveien {i % 500 + 1}" for i in range(n)],
            "uses": [
                ";".join(rng.choice(uses, size=rng.integers(1, 3), replace=False)) for _ in range(n)
            ],
            "floor_area_m2": rng.uniform(50, 5000, n).round(1),
            "rent_nok_m2_year": rng.uniform(800, 3000, n).round(0),
            "available_from": ["2026-01-01"] * n,
            "source": ["BENCHMARK DATA – generated"] * n,
            "sample": [True] * n,
        },
        geometry=pts,
        crs=25833,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_premises", description=__doc__)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="premises to generate")
    n = parser.parse_args(argv).rows
    cluster = throwaway_cluster()
    files_dir = tempfile.TemporaryDirectory(prefix="geoplan-bench-files-")
    tmp = Path(files_dir.name)
    url = cluster.up()
    try:
        db.upgrade(url=url)
        with db.transaction(url) as conn:
            load_layers(conn, REPO_ROOT / "layers")
        t = time.perf_counter()
        gdf = generate(n)
        geojson, csv_path = tmp / "premises.geojson", tmp / "premises.csv"
        wgs = gdf.to_crs(4326)
        wgs.to_file(geojson, driver="GeoJSON")
        other = wgs.assign(id=wgs["id"].str.replace("bench-", "csv-"))
        other.drop(columns="geometry").assign(lon=wgs.geometry.x, lat=wgs.geometry.y).to_csv(
            csv_path, index=False
        )
        print(f"generated {n} premises in {time.perf_counter() - t:.1f} s")
        runs = [
            ("GeoJSON, all new", geojson),
            ("CSV, --replace all", csv_path),
            ("CSV again, unchanged", csv_path),
        ]
        for label, path in runs:
            marks: dict[str, float] = {}

            def progress(stage: str, done: int, total: int | None, marks=marks) -> None:
                marks.setdefault(stage, time.perf_counter())

            start = time.perf_counter()
            with db.transaction(url) as conn:
                result = import_file(conn, path, "premises", ImportOptions(replace=True), progress)
            total = time.perf_counter() - start
            stages = [*marks.items(), ("end", start + total)]
            parts = ", ".join(
                f"{a} {b_t - a_t:.1f} s"
                for (a, a_t), (_, b_t) in zip(stages, stages[1:], strict=False)
            )
            w = result.write
            print(
                f"{label:21} {result.read} rows in {total:5.1f} s = {result.read / total:8,.0f} "
                f"rows/s  ({parts}; writing includes history and nearest-hub annotation; "
                f"{w.inserted} new, {w.updated} updated, {w.deleted} removed)"
            )
    finally:
        cluster.destroy()
        files_dir.cleanup()


if __name__ == "__main__":
    main()
