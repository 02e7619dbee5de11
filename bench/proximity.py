"""Benchmark: nearest hub for many premises, network walking times, catchments.

Run: ``python -m bench.proximity`` (10^3…10^5 points; ``--quick``: 10^3…10^4; ``--full``: up to
10^6 points and the per-row LATERAL baseline at every size). Uses a throwaway PostGIS cluster in
a temp directory unless ``GEOPLAN_BENCH_DATABASE_URL`` names a database to use (its premises,
hubs and network tables are overwritten!). Synthetic, uniformly random data in the extent of
the Lørenskog boundary; nothing here is real.

What is compared (straight-line nearest existing hub):

* geoplan batch — :func:`geoplan.proximity.update_walk_times` END TO END: binary COPY of the
  points out of PostGIS, a k-d tree query over the hubs (scipy), binary COPY of the rounded
  results into a temp table, ``premises_walk`` rebuilt (TRUNCATE, INSERT, primary key), commit;
  "re-run" = the same again (the full pass always rebuilds);
* STRtree in memory — only the tree query on coordinates already in memory (the floor);
* ``geopandas.sjoin_nearest`` — in memory, plus the ``read_postgis`` time to get the data there;
* per-row ``LATERAL ... ORDER BY <-> LIMIT 1`` in PostGIS (SELECT only, no write-back).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import psycopg
import shapely

from bench._harness import bench_database
from geoplan.config import REPO_ROOT, STORAGE_SRID
from geoplan.store import db


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def extent() -> tuple[float, float, float, float]:
    """The Lørenskog boundary's bounding box in EPSG:25833 (a fixed box if the file is absent)."""
    path = REPO_ROOT / "layers" / "boundary.geojson"
    if path.exists():
        import geopandas as gpd

        return tuple(gpd.read_file(path).to_crs(STORAGE_SRID).total_bounds)  # type: ignore[return-value]
    return (270_000.0, 6_643_000.0, 281_000.0, 6_655_000.0)


def fill(conn: psycopg.Connection, n_points: int, n_hubs: int, box, seed: float = 0.42) -> None:
    """Replace hubs and premises with ``n_hubs`` and ``n_points`` random points in ``box``."""
    x0, y0, x1, y1 = box
    conn.execute("TRUNCATE catchments, premises, hubs CASCADE")
    conn.execute("SELECT setseed(%s)", (seed,))
    geom = (
        f"ST_SetSRID(ST_MakePoint({x0} + random() * {x1 - x0}, {y0} + random() * {y1 - y0}), "
        f"{STORAGE_SRID})"
    )
    conn.execute(
        f"INSERT INTO hubs (id, name, mode, status, source, sample, geom) "
        f"SELECT 'h' || i, 'hub ' || i, 'bus_stop', 'existing', 'synthetic', true, {geom} "
        f"FROM generate_series(1, %s) i",
        (n_hubs,),
    )
    conn.execute(
        f"INSERT INTO premises (id, address, uses, floor_area_m2, source, sample, geom) "
        f"SELECT 'p' || i, 'synthetic', '{{office}}', 100, 'synthetic', true, {geom} "
        f"FROM generate_series(1, %s) i",
        (n_points,),
    )
    conn.execute("ANALYZE hubs")
    conn.execute("ANALYZE premises")


def grid_network(conn: psycopg.Connection, box, spacing: float = 50.0) -> int:
    """A street grid over ``box`` (every ``spacing`` m) as the walking network."""
    from geoplan.proximity.network import load_edges

    x0, y0, x1, y1 = box
    nx, ny = int((x1 - x0) // spacing) + 1, int((y1 - y0) // spacing) + 1
    edges = []
    for j in range(ny):
        for i in range(nx):
            n = j * nx + i + 1
            x, y = x0 + i * spacing, y0 + j * spacing
            if i + 1 < nx:
                edges.append((n, n + 1, shapely.LineString([(x, y), (x + spacing, y)])))
            if j + 1 < ny:
                edges.append((n, n + nx, shapely.LineString([(x, y), (x, y + spacing)])))
    return load_edges(conn, edges)


def bench_straight(conn, sizes, hub_sizes, box, lateral_max: int) -> list[dict]:
    import geopandas as gpd

    from geoplan.proximity import update_walk_times

    rows = []
    for n in sizes:
        for h in hub_sizes:
            with conn.transaction():
                fill(conn, n, h, box)
            conn.execute("DELETE FROM walk_edges")
            conn.commit()

            def batch() -> None:
                with conn.transaction():
                    update_walk_times(conn)

            t_batch, _ = _timed(batch)
            t_again, _ = _timed(batch)  # nothing changed: no row is rewritten
            annotated = conn.execute(
                "SELECT count(*) FROM premises_annotated WHERE walk_method = 'straight_line'"
            ).fetchone()[0]
            assert annotated == n, (annotated, n)

            t_read, gdf = _timed(
                lambda: db.read_gdf(conn, "SELECT id, ST_AsBinary(geom) AS geom FROM premises")
            )
            hubs = db.read_gdf(conn, "SELECT id AS hub_id, ST_AsBinary(geom) AS geom FROM hubs")
            xy = shapely.get_coordinates(gdf.geometry.values)
            hub_geoms = hubs.geometry.values

            def strtree(hub_geoms=hub_geoms, xy=xy) -> None:
                tree = shapely.STRtree(hub_geoms)
                tree.query_nearest(shapely.points(xy), all_matches=False)

            t_tree, _ = _timed(strtree)
            t_sjoin, _ = _timed(lambda g=gdf, hb=hubs: gpd.sjoin_nearest(g, hb, how="left"))
            t_lateral = None
            if n <= lateral_max:
                t_lateral, _ = _timed(
                    lambda: conn.execute(
                        "SELECT p.id, n.id FROM premises p CROSS JOIN LATERAL ("
                        "SELECT h.id FROM hubs h ORDER BY h.geom <-> p.geom LIMIT 1) n"
                    ).fetchall()
                )
                conn.rollback()
            rows.append(
                {
                    "points": n,
                    "hubs": h,
                    "geoplan": t_batch,
                    "again": t_again,
                    "strtree": t_tree,
                    "sjoin": t_sjoin,
                    "read_postgis": t_read,
                    "lateral": t_lateral,
                }
            )
            _print_straight_row(rows[-1])
    return rows


def _fmt(t: float | None) -> str:
    return "—" if t is None else f"{t:.3f}"


def _print_straight_row(r: dict) -> None:
    lat = r["lateral"]
    print(
        f"{r['points']:>9,} {r['hubs']:>7,} | geoplan {_fmt(r['geoplan']):>7} s"
        f" | STRtree {_fmt(r['strtree']):>6} s | sjoin {_fmt(r['sjoin']):>6} s"
        f" (+ read {_fmt(r['read_postgis'])} s) | LATERAL {_fmt(lat):>7} s"
        f" | geoplan/STRtree {r['geoplan'] / r['strtree']:5.1f}×"
        f" | unchanged re-run {_fmt(r['again'])} s"
        f" | LATERAL/geoplan {('%.1f×' % (lat / r['geoplan'])) if lat else '—'}",
        flush=True,
    )


def bench_network(conn, box, premises_sizes, hub_sizes) -> list[dict]:
    from geoplan.proximity import annotate_premises, refresh_catchments, update_walk_times

    # a 5 km × 5 km street grid at 50 m spacing: ~20 000 nodes, ~40 000 edges
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    grid_box = (cx - 2500, cy - 2500, cx + 2500, cy + 2500)
    with conn.transaction():
        t_grid, n_edges = _timed(lambda: grid_network(conn, grid_box))
    print(f"grid network: {n_edges:,} edges in {t_grid:.1f} s", flush=True)
    rows = []
    for h in hub_sizes:
        for n in premises_sizes:
            with conn.transaction():
                fill(conn, n, h, grid_box)

            def walk() -> None:
                with conn.transaction():
                    update_walk_times(conn)

            t_walk, _ = _timed(walk)
            net = conn.execute(
                "SELECT count(*) FROM premises_annotated WHERE walk_method = 'network'"
            ).fetchone()[0]
            conn.rollback()
            with conn.transaction():
                t_cat, n_cat = _timed(lambda: refresh_catchments(conn))
            with conn.transaction():  # hubs unchanged: catchments are only checked, not redone
                t_check, _ = _timed(lambda: annotate_premises(conn))
            r = {
                "premises": n,
                "hubs": h,
                "edges": n_edges,
                "walk_s": t_walk,
                "per_premises_ms": 1000 * t_walk / n,
                "network_share": net / n,
                "catchments_s": t_cat,
                "catchments": n_cat,
                "annotate_all_s": t_check,
            }
            print(
                f"network: {n:>7,} premises × {h:>4} hubs: walking times {t_walk:.2f} s "
                f"({r['per_premises_ms']:.2f} ms/premises, {net / n:.0%} on the network); "
                f"{n_cat} catchments in {t_cat:.2f} s; annotate_premises(conn) with hubs "
                f"unchanged {t_check:.2f} s",
                flush=True,
            )
            rows.append(r)
    return rows


def run(url: str, *, quick: bool, full: bool, only: tuple[int, int] | None = None) -> None:
    if only:
        with psycopg.connect(db.conninfo(url)) as conn:
            bench_straight(conn, [only[0]], [only[1]], extent(), 0)
        return
    if quick:
        sizes, hub_sizes, lateral_max = [1_000, 10_000], [100, 1_000], 10_000
    elif full:
        sizes, hub_sizes, lateral_max = (
            [1_000, 10_000, 100_000, 1_000_000],
            [100, 1_000, 10_000],
            10**6,
        )
    else:
        sizes, hub_sizes, lateral_max = [1_000, 10_000, 100_000], [100, 1_000, 10_000], 100_000
    box = extent()
    with psycopg.connect(db.conninfo(url)) as conn:
        print("== batch nearest hub (straight line), seconds ==", flush=True)
        straight = bench_straight(conn, sizes, hub_sizes, box, lateral_max)
        if full:  # the headline size of the issue: 10^6 points × 5 000 hubs
            straight += bench_straight(conn, [1_000_000], [5_000], box, 10**6)
        print("== network walking time and catchments ==", flush=True)
        network = bench_network(conn, box, [1_000, 10_000], [10, 100])
    _summary(straight, network)


def _summary(straight: list[dict], network: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="Batch nearest hub, straight line (s); ratio = geoplan end-to-end / STRtree")
    cols = ("points", "hubs", "geoplan", "STRtree", "ratio", "re-run", "sjoin", "read_postgis")
    for c in (*cols, "LATERAL"):
        t.add_column(c, justify="right")
    for r in straight:
        t.add_row(
            f"{r['points']:,}",
            f"{r['hubs']:,}",
            _fmt(r["geoplan"]),
            _fmt(r["strtree"]),
            f"{r['geoplan'] / r['strtree']:.1f}×",
            _fmt(r["again"]),
            _fmt(r["sjoin"]),
            _fmt(r["read_postgis"]),
            _fmt(r["lateral"]),
        )
    n = Table(title="Network walking time (all premises → nearest hub) and catchments")
    cols = ("premises", "hubs", "edges", "walk s", "ms/premises", "catchments", "catch. s")
    for c in (*cols, "annotate all s"):
        n.add_column(c, justify="right")
    for r in network:
        n.add_row(
            f"{r['premises']:,}",
            str(r["hubs"]),
            f"{r['edges']:,}",
            f"{r['walk_s']:.2f}",
            f"{r['per_premises_ms']:.3f}",
            str(r["catchments"]),
            f"{r['catchments_s']:.2f}",
            f"{r['annotate_all_s']:.2f}",
        )
    console = Console()
    console.print(t)
    console.print(n)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.proximity", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="small sizes only (about a minute)")
    p.add_argument("--full", action="store_true", help="up to 10^6 points (several minutes)")
    p.add_argument(
        "--only",
        nargs=2,
        type=int,
        metavar=("POINTS", "HUBS"),
        help="just the batch nearest hub at one size, e.g. --only 1000000 5000",
    )
    args = p.parse_args(argv)
    with bench_database(extensions=("postgis", "pgrouting")) as url:
        run(url, quick=args.quick, full=args.full, only=args.only)


if __name__ == "__main__":
    main()
