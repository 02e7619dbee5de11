"""Vector-tile benchmark: geoplan's premises tiles against tipg's on the same table and tiles,
and the overview map with a million premises in headless Chromium (issue 13's targets).

One command (``python -m bench.tiles``): a throwaway PostGIS with the shipped layers and N
generated premises (default 10⁶), geoplan and tipg serving the same ``premises`` table side by
side (one uvicorn worker each), ``wrk`` from a separate process cycling through the same list of
tiles on both, alternating server by server and round by round (the best round of each counts).

Tile sets (seeded, inside the municipality's bounding box, the same URLs for both servers in
their own address order — geoplan ``{z}/{y}/{x}``, tipg ``{z}/{x}/{y}``):

- ``browse``: 40 tiles per zoom 12–17, what a map user panning and zooming over the municipality
  asks for. geoplan answers zooms below 16 with clusters (counted ahead per grid cell), tipg with
  up to 10 000 features per tile (its default limit);
- ``features``: 60 tiles per zoom 16–17, where both answer with single premises and their
  properties (tipg asked for the same listing columns geoplan puts in tiles).

Warm: every tile is requested once per server before it is measured (and wrk warms up 2 s).
The target: warm tile p95 < 50 ms and ≥ 3× tipg's throughput. geoplan runs twice, as served
(warm tiles kept in memory, ``api/answer_cache.py``) and with that cache off
(``GEOPLAN_TILE_CACHE_MB=0``: every tile made by PostgreSQL), so both figures are on the record.

Then the overview page is opened in headless Chromium (tiles from the server; base maps blocked
as offline), twice, each in a fresh browser context: **first**, when the server renders the
page (its first request since the data was loaded), and **again**, the page the server kept
(nothing committed since). Measured: the page's own size, everything it transferred, and the
time from navigation until the premises tiles of the first view are drawn — "interactive"
(target: < 1 MB and < 2 s).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import random
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg

from bench._harness import free_port, loaded_store, server, wrk
from geoplan.config import REPO_ROOT
from geoplan.ogc.tiles import TILE_LAYERS
from geoplan.store import db

TARGET_P95_MS = 50.0
TARGET_RATIO = 3.0
TARGET_PAGE_BYTES = 1_000_000
TARGET_INTERACTIVE_S = 2.0
CHROMIUM = "/usr/bin/chromium"

# Cycles through the paths (each thread from its own offset); prints p95 for bench._harness.wrk.
LUA = """
local paths = {%s}
local i = 0
function setup(thread) thread:set("offset", math.random(#paths)) end
function init(args) i = tonumber(offset) or 0 end
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  io.write(string.format("p95 %%f\\n", latency:percentile(95)))
end
"""


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int(
        (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    )


def tile_set(bbox: tuple[float, float, float, float], zooms: range, per_zoom: int) -> list:
    """``per_zoom`` distinct random tiles of each zoom inside ``bbox`` (seeded), as (z, x, y)."""
    rng = random.Random(13)
    out = []
    for z in zooms:
        x1, y1 = tile_of(bbox[0], bbox[3], z)
        x2, y2 = tile_of(bbox[2], bbox[1], z)
        every = [(z, x, y) for x in range(x1, x2 + 1) for y in range(y1, y2 + 1)]
        out += rng.sample(every, min(per_zoom, len(every)))
    return out


def script(paths: list[str], directory: Path, name: str) -> Path:
    path = directory / f"{name}.lua"
    path.write_text(LUA % ", ".join(f'"{p}"' for p in paths))
    return path


def measure_page(base: str) -> dict[str, dict[str, float]] | None:
    """The overview page in headless Chromium, rendered by the server and then kept by it."""
    try:
        from playwright import sync_api
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            return {
                "first": _load_page(browser, base),
                "again": _load_page(browser, base),
            }
        finally:
            browser.close()


def measure_pages(bases: dict[str, str], url: str) -> list[tuple[str, str, dict]] | None:
    """The overview of each server (``bases``: name → URL) as :func:`measure_page` loads it,
    twice: the servers alternated, and a commit between the two passes (the page made afresh)."""
    out = []
    for n, order in enumerate((list(bases), list(reversed(bases)))):
        if n:
            with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
                conn.execute("UPDATE premises SET address = address WHERE seq = (SELECT min(seq) "
                             "FROM premises)")  # fmt: skip
            time.sleep(0.5)  # the commit's notification reaches the workers
        for who in order:
            page = measure_page(bases[who])
            if page is None:
                return None
            out += [(who, f"{when}, pass {n + 1}", load) for when, load in page.items()]
    return out


def _load_page(browser, base: str) -> dict[str, float]:
    """One load of the overview in a fresh context (no HTTP cache): sizes and seconds until the
    premises tiles of the first view are drawn."""
    sizes: dict[str, int] = {}
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.route(
        "**/*",
        lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort(),
    )

    def on_response(response) -> None:
        length = response.headers.get("content-length")
        if length is not None:
            sizes[response.url] = int(length)
            return
        try:
            sizes[response.url] = len(response.body())
        except Exception:  # noqa: BLE001 - a 204 or an aborted request has no body
            sizes[response.url] = 0

    page.on("response", on_response)
    t0 = time.monotonic()
    page.goto(base + "/", wait_until="load")
    page.wait_for_function(
        "window.geoplanLayers && window.geoplanLayers.premises && "
        "window.geoplanLayers.premises.geoplanLoaded",
        timeout=60_000,
    )
    interactive = time.monotonic() - t0
    response_s = page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd")
    context.close()
    doc = next((n for u, n in sizes.items() if u.rstrip("/") == base), 0)
    tiles = [n for u, n in sizes.items() if "/tiles/" in u]
    return {
        "document": doc,
        "total": sum(sizes.values()),
        "tiles": len(tiles),
        "tile_bytes": sum(tiles),
        "interactive_s": interactive,
        "response_s": response_s / 1000,
    }


def _load() -> str:
    """The machine's load averages (1, 5, 15 min), as ``uptime`` prints them."""
    return "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tiles", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="generated premises")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-tipg", action="store_true")
    parser.add_argument(
        "--against",
        type=Path,
        help="another geoplan tree (e.g. a worktree of main) served beside this one as "
        "'before' on the same store: warm tiles alternated round by round, the overview page "
        "alternated too",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is missing; install it with: apt-get install -y wrk")
    if not args.no_tipg and importlib.util.find_spec("tipg") is None:
        print("tipg is not installed (pip install -e '.[bench]'); no comparison this run")
        args.no_tipg = True

    home = Path(tempfile.mkdtemp(prefix="geoplan-bench-tiles-", dir="/tmp"))
    with ExitStack() as cleanup:  # on the way out: the store, then the temp directory
        cleanup.callback(shutil.rmtree, home, ignore_errors=True)
        store = cleanup.enter_context(loaded_store(args.rows, prefix="geoplan-bench-tiles-pg-"))
        url, total = store.url, store.premises
        with psycopg.connect(db.conninfo(url)) as conn:
            bbox = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, 25833), 4326) e "
                "FROM boundary) s"
            ).fetchone()
        sets = {
            "browse": tile_set(bbox, range(12, 18), 40),
            "features": tile_set(bbox, range(16, 18), 60),
        }
        ours_port, bare_port, tipg_port = free_port(), free_port(), free_port()
        ours = f"http://127.0.0.1:{ours_port}"
        bare = f"http://127.0.0.1:{bare_port}"
        theirs = f"http://127.0.0.1:{tipg_port}"
        # the listing columns geoplan's premises tiles carry (tipg reads the table, which has
        # no walk columns: those are geoplan's extra work)
        props = ",".join(
            ["id"] + [p.name for p in TILE_LAYERS["premises"].props if p.name not in
                      ("nearest_hub_id", "walk_min", "walk_method")]
        )  # fmt: skip
        paths: dict[str, dict[str, list[str]]] = {
            "geoplan": {
                k: [f"/ogc/collections/premises/tiles/WebMercatorQuad/{z}/{y}/{x}" for z, x, y in v]
                for k, v in sets.items()
            },
            "tipg": {
                k: [f"/collections/public.premises/tiles/WebMercatorQuad/{z}/{x}/{y}"
                    f"?properties={props}" for z, x, y in v]
                for k, v in sets.items()
            },
        }  # fmt: skip
        paths["uncached"] = paths["geoplan"]
        paths["before"] = paths["geoplan"]
        before_port = free_port()
        before = f"http://127.0.0.1:{before_port}"
        env = {"GEOPLAN_DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT)}
        ours_cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
                    "--host", "127.0.0.1", "--port", str(ours_port), "--workers", "1",
                    "--no-access-log", "--log-level", "warning"]  # fmt: skip
        bare_cmd = [str(bare_port) if a == str(ours_port) else a for a in ours_cmd]
        tipg_cmd = [sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
                    "--port", str(tipg_port), "--workers", "1", "--no-access-log",
                    "--log-level", "warning"]  # fmt: skip
        tipg_env = {
            "DATABASE_URL": db.conninfo(url),
            "TIPG_DB_SCHEMAS": '["public"]',
            "TIPG_DB_TABLES": '["public.premises"]',
            "TIPG_DEBUG": "false",
        }
        print(
            f"wrk -t2 -c{args.connections} -d{args.duration}s; {os.cpu_count()} CPUs; "
            f"load average before: {_load()}\n",
            flush=True,
        )
        best: dict[tuple[str, str], object] = {}
        with ExitStack() as servers:
            servers.enter_context(server(ours_cmd, env, f"{ours}/healthz", home / "geoplan.log"))
            servers.enter_context(
                server(bare_cmd, {**env, "GEOPLAN_TILE_CACHE_MB": "0"}, f"{bare}/healthz",
                       home / "uncached.log")
            )  # fmt: skip
            who_runs = [("geoplan", ours), ("uncached", bare)]
            if args.against is not None:
                before_cmd = [str(before_port) if a == str(ours_port) else a for a in ours_cmd]
                servers.enter_context(
                    server(before_cmd, {**env, "PYTHONPATH": str(args.against.resolve())},
                           f"{before}/healthz", home / "before.log", cwd=args.against)
                )  # fmt: skip
                who_runs.insert(0, ("before", before))
            if not args.no_tipg:
                servers.enter_context(
                    server(tipg_cmd, tipg_env, f"{theirs}/collections", home / "tipg.log")
                )
                who_runs.append(("tipg", theirs))
            with httpx.Client(timeout=120) as client:
                for who, base in who_runs:  # warm: every tile once
                    t0 = time.monotonic()
                    n_bytes = 0
                    for p in paths[who]["browse"] + paths[who]["features"]:
                        r = client.get(base + p)
                        r.raise_for_status()
                        n_bytes += len(r.content)
                    print(f"  warmed {who}: {n_bytes / 1e6:.1f} MB in "
                          f"{time.monotonic() - t0:.1f} s", flush=True)  # fmt: skip
            for _ in range(args.rounds):
                for key in sets:
                    for who, base in who_runs:
                        lua = script(paths[who][key], home, f"{who}-{key}")
                        run = wrk(base + "/", connections=args.connections,
                                  duration_s=args.duration, script=lua)  # fmt: skip
                        print(
                            f"  {who:<8} {key:<9} {run.rps:8.1f} tiles/s   p50 "
                            f"{run.p50_ms:6.1f} ms   p95 {run.p95_ms:6.1f} ms   p99 "
                            f"{run.p99_ms:6.1f} ms"
                            + (f"   NON-2xx: {run.non_2xx}" if run.non_2xx else ""),
                            flush=True,
                        )
                        if (who, key) not in best or run.rps > best[(who, key)].rps:
                            best[(who, key)] = run
            load_tiles = _load()
            pages = measure_pages(
                {"geoplan": ours, **({"before": before} if args.against else {})}, url
            )
        print(
            f"\nsummary ({total} premises, 1 worker each, best of {args.rounds} rounds; load "
            f"average after the tiles {load_tiles}, now {_load()}); targets: warm p95 < "
            f"{TARGET_P95_MS:.0f} ms, ≥ {TARGET_RATIO:.0f}× tipg:"
        )
        for key in sets:
            t = best.get(("tipg", key))
            for who in ("before", "geoplan", "uncached"):
                if (who, key) not in best:
                    continue
                g = best[(who, key)]
                line = (
                    f"  {key:<9} {who:<8} {g.rps:7.1f} tiles/s, p95 {g.p95_ms:6.1f} ms "
                    f"({'met' if g.p95_ms < TARGET_P95_MS else 'NOT met'})"
                )
                if t is not None:
                    ratio = g.rps / t.rps
                    line += (
                        f" | tipg {t.rps:7.1f} tiles/s, p95 {t.p95_ms:7.1f} ms | ratio "
                        f"{ratio:5.1f}× ({'met' if ratio >= TARGET_RATIO else 'NOT met'})"
                    )
                print(line, flush=True)
        if pages is None:
            print("  overview page: playwright or chromium missing, not measured")
        for who, when, load in pages or []:
            ok_size = load["total"] < TARGET_PAGE_BYTES
            ok_time = load["interactive_s"] < TARGET_INTERACTIVE_S
            print(
                f"  overview page, {who} ({when}): document {load['document'] / 1e3:.0f} kB, "
                f"everything {load['total'] / 1e3:.0f} kB ({load['tiles']:.0f} premises "
                f"tiles, {load['tile_bytes'] / 1e3:.0f} kB) "
                f"({'met' if ok_size else 'NOT met'}); page received after "
                f"{load['response_s']:.2f} s, premises drawn after "
                f"{load['interactive_s']:.2f} s ({'met' if ok_time else 'NOT met'})",
                flush=True,
            )


if __name__ == "__main__":
    main()
