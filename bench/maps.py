"""Benchmark: build time, HTML size and browser load time of the overview map.

``python -m bench.maps`` starts a throwaway PostGIS cluster (like the tests), loads the shipped
layers, then for 100, 1 000, 10 000 and 100 000 synthetic premises (random points inside the
municipality, annotated with their nearest hub) measures the real path the server takes:
``mapdata`` queries through ``geoplan.premises.search`` + folium build + inlining. When Playwright
and Debian's chromium are available it also loads each page headless (tiles blocked) and reports
the time until every premises marker is in the cluster layer.

Target (issue #5): a 10 000-premises overview under ~5 MB of HTML, interactive in 1–2 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench._harness import throwaway_cluster
from geoplan.config import REPO_ROOT
from geoplan.store import db
from geoplan.store.cluster import LocalCluster

SIZES = (100, 1_000, 10_000, 100_000)
CHROMIUM = "/usr/bin/chromium"

INSERT_SYNTHETIC = """
INSERT INTO premises (id, address, uses, floor_area_m2, rent_nok_m2_year, available_from,
                      status, source, accuracy_m, verified, sample, geom)
SELECT 'bench-' || n, 'Benkeveien ' || n || ' (syntetisk)',
       ARRAY[(ARRAY['office','retail','warehouse_logistics','production','health',
                    'hospitality','other'])[1 + n %% 7]],
       50 + (n * 37) %% 4000, 900 + (n * 53) %% 2500,
       CASE WHEN n %% 3 = 0 THEN DATE '2027-01-01' ELSE NULL END,
       'available', 'SYNTHETIC benchmark data', 50, false, true, d.geom
FROM (SELECT dp.path[1] AS n, dp.geom
      FROM boundary b, ST_Dump(ST_GeneratePoints(b.geom, %(n)s, 42)) dp LIMIT %(n)s) d
"""


def _database(cluster: LocalCluster) -> str:
    name = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(db.conninfo(cluster.url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = cluster.url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    db.upgrade(url=url)
    return url


def _seed(url: str, n: int) -> None:
    from geoplan.ingest.shipped import load_layers
    from geoplan.proximity import annotate_premises

    with db.transaction(url) as conn:
        conn.execute("TRUNCATE premises, premises_history CASCADE")
        load_layers(conn, REPO_ROOT / "layers")
        conn.execute("DELETE FROM premises")
        conn.execute(INSERT_SYNTHETIC, {"n": n})
        annotate_premises(conn)


def _browser_load_s(path: Path, n: int) -> float | None:
    """Seconds from navigation until all ``n`` markers are in the cluster (None: no browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"],
        )
        page = ctx.new_page()
        page.route("http*://**", lambda r: r.abort())
        start = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function(
            f"window.geoplanLayers && window.geoplanLayers.premises "
            f"&& window.geoplanLayers.premises.getLayers().length === {n}",
            timeout=120_000,
            polling=50,
        )
        elapsed = time.perf_counter() - start
        ctx.close()
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--no-browser", action="store_true", help="skip the chromium load time")
    args = parser.parse_args(argv)

    from maps.base import render_html
    from maps.overview import build_overview

    cluster = throwaway_cluster()
    cluster.up()
    out_dir = Path(tempfile.mkdtemp(prefix="geoplan-bench-html-"))
    try:
        url = _database(cluster)
        print(f"{'premises':>9} {'build s':>8} {'render s':>9} {'HTML MB':>8} {'browser s':>10}")
        for n in args.sizes:
            _seed(url, n)
            with db.connect(url) as conn:
                t0 = time.perf_counter()
                m = build_overview(conn)
                t1 = time.perf_counter()
                html = render_html(m)
                t2 = time.perf_counter()
            path = out_dir / f"overview-{n}.html"
            path.write_text(html, encoding="utf-8")
            size = len(html.encode("utf-8")) / 1e6
            load = None if args.no_browser else _browser_load_s(path, n)
            load_text = f"{load:10.2f}" if load is not None else f"{'n/a':>10}"
            print(f"{n:9d} {t1 - t0:8.2f} {t2 - t1:9.2f} {size:8.2f} {load_text}", flush=True)
        print(
            "build = queries through geoplan.mapdata/search + folium tree; render = HTML with "
            "inlined libraries; browser = headless chromium until all markers are clustered"
        )
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
