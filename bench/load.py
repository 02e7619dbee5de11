"""Load benchmark: does every route keep its throughput as concurrency grows? (issue #16)

One command (``python -m bench.load``): a throwaway PostGIS with the shipped layers, then the
same with 10⁵ generated premises; ``geoplan`` served by one uvicorn worker (as ``geoplan serve``
runs); for each route family a ``wrk`` sweep over 1, 16, 64, 256 and 1 024 concurrent
connections, printing requests/s (all responses and 2xx only), p50, p99, 5xx, 503s and
timeouts per step, then the verdict against the targets: at 256 and 1 024 connections each route
keeps ≥ 80 % of its best 2xx throughput of the sweep, with zero 5xx and zero timeouts at 256; at
1 024 anything turned away is a 503 (never another 5xx), answered fast.

wrk's timeout is raised to 30 s (its default of 2 s would count a slow map page as a timeout
at 256 connections whatever the server did); a request still unanswered after that is a hang.

``--passes N`` runs each route's sweep N times, the levels' order reversed every other pass,
and judges each level by the median of its passes (any 5xx or timeout in any pass still
counts): on a machine whose speed drifts within the minute a sweep takes, one pass lets the
drift decide which level looks best.

The map page is asked for as a browser asks for it (:data:`BROWSER`: compressed), the API
routes as wrk asks by default (plain).

Each step: a one-second warm-up run, then a wait until the route's queue has drained (a request
to the route itself, which queues behind whatever the warm-up's wrk abandoned when it stopped:
1 024 requests nobody reads), then the measured run. Without that wait the measured run at
1 024 connections spent its first seconds behind the warm-up's leftovers.

**A step lasts long enough for every connection to ask :data:`ROUNDS` times** (at the route's
best rate measured so far; ``--duration`` is the least, :data:`MAX_STEP_S` the most). A step's
answers are what the server did in the window, but each connection's first request — its
accept, its parsing, its place in the queue — and the requests still queued when wrk stops are
work the window pays for: ``connections / (rate × seconds)`` of an arrival's cost per answer.
A short step of a route that answers fewer requests a second than it has connections gives
each connection less than one round: the window measures the burst of arrivals and drops the
last queue, not the rate the server keeps, and is compared with steps at fewer connections that
saw many rounds (docs/api.md, "Steps long enough for every connection"). With :data:`ROUNDS`
rounds per connection that share is at most ``1 / ROUNDS`` of an arrival's cost at every level.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._harness import (
    STATUS_LUA,
    WrkRun,
    centre_bbox,
    free_port,
    loaded_store,
    raise_open_files_limit,
    server,
    wrk,
)
from bench.tiles import tile_set
from geoplan.auth.keys import create_key
from geoplan.config import REPO_ROOT
from geoplan.store import db

LEVELS = (1, 16, 64, 256, 1024)
ROUNDS = 5
"""Requests each connection makes in a step, at least (see the module docstring)."""
MAX_STEP_S = 60
"""The longest a step may last, whatever :data:`ROUNDS` asks for."""
KEEP = 0.8  # share of the best throughput a route must keep at 256 and 1 024 connections
WRK_TIMEOUT_S = 30
ASSESSMENT = {
    "site": {"type": "Point", "coordinates": [10.9548, 59.9267]},
    "use": "office",
    "floor_area_m2": 2500,
}


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    method: str = "GET"
    body: dict | None = None
    cycle: tuple[str, ...] = ()
    """Paths wrk cycles through, request by request (``path`` is then the first of them)."""
    headers: dict[str, str] | None = None
    """Sent with every request (``wrk -H``)."""


BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}
"""What a browser sends with every request: the map page, an HTML page only browsers load, is
asked for as they ask for it (compressed), not as wrk does by default (plain)."""


TILE_ZOOMS = range(13, 17)
TILES_PER_ZOOM = 10


def tile_paths(lon: float, lat: float) -> tuple[str, ...]:
    """Premises tiles a map user around ``lon, lat`` asks for: ten per zoom 13–16 (clusters
    below zoom 16, single premises at 16), from the 3 × 3 km around the point (seeded)."""
    box = (lon - 0.027, lat - 0.0135, lon + 0.027, lat + 0.0135)
    return tuple(
        f"/ogc/collections/premises/tiles/WebMercatorQuad/{z}/{y}/{x}"
        for z, x, y in tile_set(box, TILE_ZOOMS, TILES_PER_ZOOM)
    )


def routes(bbox: str, tiles: tuple[str, ...]) -> list[Route]:
    return [
        Route("/premises", "/premises?use=office&max_walk_min=15&sort=walk&limit=100"),
        Route("OGC items", f"/ogc/collections/premises/items?bbox={bbox}&limit=100"),
        Route("/proximity/nearest", "/proximity/nearest?lon=10.955&lat=59.927&k=3"),
        Route("/maps/premises", "/maps/premises?use=office&max_walk_min=10", headers=BROWSER),
        Route("POST /assessments", "/assessments", "POST", ASSESSMENT),
        Route("tiles", tiles[0], cycle=tiles),
    ]


def script_for(route: Route, key: str, folder: Path) -> Path:
    """The wrk Lua script: status counting, plus method, body and key for a write."""
    lua = STATUS_LUA
    if route.cycle:
        paths = ", ".join(f'"{p}"' for p in route.cycle)
        lua = (
            f"local paths = {{{paths}}}\nlocal i = 0\n"
            "function request()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n"
        ) + lua
    if route.method != "GET":
        body = json.dumps(route.body).replace("\\", "\\\\").replace('"', '\\"')
        lua = (
            f'wrk.method = "{route.method}"\nwrk.body = "{body}"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {key}"\n' + lua
        )
    path = folder / f"{route.name.replace('/', '_').replace(' ', '_')}.lua"
    path.write_text(lua)
    return path


def settle(base: str, probe: str = "/healthz", seconds: float = 60) -> None:
    """Wait until the route's queue has drained, so that one run's leftovers do not count
    against the next: ``probe`` (the route itself for a GET route; ``/healthz``, in the same
    lane, for a write) waits in its lane behind what the last run left there — the requests wrk
    abandoned when it stopped — and returns when they are gone. A 503 (the queue still full) or
    no answer: ask again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}{probe}", timeout=WRK_TIMEOUT_S * 2).status_code != 503:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)


def step_seconds(level: int, least_s: int, best_rps: float | None) -> int:
    """How long a step at ``level`` connections runs: ``least_s``, or longer where the route's
    best rate so far (``best_rps``; None: not measured yet) gives its connections fewer than
    :data:`ROUNDS` rounds in that time — at most :data:`MAX_STEP_S`."""
    if not best_rps:
        return least_s
    return max(least_s, min(MAX_STEP_S, math.ceil(ROUNDS * level / best_rps)))


def line(route: str, level: int, run: WrkRun, seconds: int) -> str:
    fives = run.count(500, 600)
    return (
        f"  {route:<20} {level:>5} {seconds:>4}  {run.rps:8.1f} {run.ok_rps:8.1f}  "
        f"{run.p50_ms:8.1f} {run.p99_ms:8.1f}  {fives - run.count(503, 504):>5} "
        f"{run.count(503, 504):>6} {run.timeouts:>8}  {os.getloadavg()[0]:4.1f}"
    )


def verdict(name: str, sweep: dict[int, list[WrkRun]]) -> tuple[bool, str]:
    """Whether ``sweep`` (each level's runs, one per pass) meets the targets, and a line
    saying so. A level's throughput is the median of its passes; a 5xx or a timeout in any
    pass counts."""
    rate = {level: statistics.median(r.ok_rps for r in runs) for level, runs in sweep.items()}
    best = max(rate.values())
    problems = []
    for level in (256, 1024):
        for run in sweep.get(level, []):
            other_5xx = run.count(500, 600) - run.count(503, 504)
            if other_5xx:
                problems.append(f"{level}: {other_5xx} 5xx other than 503")
            if level == 256 and (run.count(500, 600) or run.timeouts):
                problems.append(f"256: {run.count(500, 600)} 5xx, {run.timeouts} timeouts")
            if level == 1024 and run.timeouts:
                problems.append(f"1024: {run.timeouts} timeouts (hangs)")
        if level in rate and (share := rate[level] / best if best else 0.0) < KEEP:
            problems.append(f"{level}: {share:.0%} of best")
    shares = ", ".join(f"{lv}: {rate[lv] / best:.0%}" for lv in (256, 1024) if lv in rate and best)
    passes = max(len(runs) for runs in sweep.values())
    of = f" (median of {passes} passes)" if passes > 1 else ""
    text = f"  {name:<20} best {best:8.1f} 2xx/s{of}; kept {shares}"
    return not problems, text + (
        "  — met" if not problems else "  — NOT met: " + "; ".join(problems)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="generated premises (0: skip)")
    parser.add_argument(
        "--duration",
        type=int,
        default=6,
        help=f"seconds per wrk step, at least: a step lasts until each connection could ask "
        f"{ROUNDS} times at the route's best rate so far (at most {MAX_STEP_S} s)",
    )
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument("--only", default="", help="comma-separated route names to run")
    parser.add_argument("--shipped-only", action="store_true", help="skip the 10⁵ data set")
    parser.add_argument("--no-shipped", action="store_true", help="only the generated data set")
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="another checkout (e.g. a worktree of main) served beside this one on the same "
        "data, step by step in turn, for a before/after in one run",
    )
    parser.add_argument(
        "--passes",
        type=int,
        default=1,
        help="sweeps per route, the levels' order reversed every other pass; each level's "
        "throughput is the median of its passes (a machine whose speed drifts within a sweep "
        "otherwise decides the verdict)",
    )
    args = parser.parse_args(argv)
    if args.passes < 1:
        sys.exit("error: --passes: must be 1 or more")
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is missing; install it with: apt-get install -y wrk")
    levels = [int(v) for v in args.levels.split(",")]
    raise_open_files_limit()
    work = Path(tempfile.mkdtemp(prefix="geoplan-load-", dir="/tmp"))  # scripts, server logs
    with ExitStack() as cleanup:  # on the way out: the store, then the temp directory
        cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        store = cleanup.enter_context(loaded_store(0, prefix="geoplan-load-pg-", announce=False))
        url = store.url
        with db.transaction(url) as conn:
            key, _ = create_key(conn, "bench.load", "write")
        datasets = [] if args.no_shipped and args.rows else [("shipped data", 0)]
        if args.rows and not args.shipped_only:
            datasets.append((f"{args.rows:,} generated premises", args.rows))
        all_met = True
        for label, rows in datasets:
            total = store.add_premises(rows) if rows else store.premises
            lon, lat = store.centre()
            bbox = centre_bbox(lon, lat)
            trees = {"this": REPO_ROOT}
            if args.against:
                trees = {"this": REPO_ROOT, "against": Path(args.against).resolve()}
            bases = {name: f"http://127.0.0.1:{free_port()}" for name in trees}
            print(
                f"\n{label} ({total:,} premises), one worker, wrk -t2 -d{args.duration}s "
                f"or more ({ROUNDS} rounds per connection) "
                f"--timeout {WRK_TIMEOUT_S}s; {os.cpu_count()} CPUs, load average "
                f"{os.getloadavg()[0]:.1f}"
                + ("".join(f"\n  {n}: {t}" for n, t in trees.items()) if args.against else "")
                + f"\n  {'route':<20} {'conns':>5} {'secs':>4}  {'req/s':>8} {'2xx/s':>8}  "
                f"{'p50 ms':>8} {'p99 ms':>8}  {'5xx':>5} {'503':>6} {'timeouts':>8}  load",
                flush=True,
            )
            summary = []
            with ExitStack() as servers:
                for name, tree in trees.items():
                    port = bases[name].rsplit(":", 1)[1]
                    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
                           "--host", "127.0.0.1", "--port", port, "--workers", "1",
                           "--no-access-log", "--log-level", "warning"]  # fmt: skip
                    env = {"GEOPLAN_DATABASE_URL": url, "PYTHONPATH": str(tree)}
                    log = work / f"server-{name}-{rows}.log"
                    servers.enter_context(server(cmd, env, f"{bases[name]}/healthz", log, cwd=tree))
                for route in routes(bbox, tile_paths(lon, lat)):
                    if args.only and route.name not in args.only.split(","):
                        continue
                    script = script_for(route, key, work)
                    sweeps: dict[str, dict[int, list[WrkRun]]] = {n: {} for n in trees}
                    probe = route.path if route.method == "GET" else "/healthz"
                    order = [levels if i % 2 == 0 else levels[::-1] for i in range(args.passes)]
                    for level in (level for steps in order for level in steps):
                        for name, base in bases.items():  # alternating step by step
                            settle(base, probe)
                            started = time.monotonic()
                            common = {"connections": level, "script": script,
                                      "timeout_s": WRK_TIMEOUT_S, "warmup_s": 0,
                                      "headers": route.headers}  # fmt: skip
                            wrk(base + route.path, duration_s=1, **common)  # warm-up
                            settle(base, probe)  # the warm-up's leftovers are not measured
                            seen = [r.ok_rps for runs in sweeps[name].values() for r in runs]
                            seconds = step_seconds(level, args.duration, max(seen, default=None))
                            run = wrk(base + route.path, duration_s=seconds, **common)
                            sweeps[name].setdefault(level, []).append(run)
                            tag = route.name if not args.against else f"{route.name} [{name}]"
                            print(line(tag, level, run, seconds), flush=True)
                            if time.monotonic() - started > 10 * seconds + 60:
                                print("  (this step took far longer than its duration)")
                    for name, sweep in sweeps.items():
                        tag = route.name if not args.against else f"{route.name} [{name}]"
                        met, text = verdict(tag, sweep)
                        all_met &= met or name != "this"
                        summary.append(text)
            print(f"\ntargets ({label}): ≥ {KEEP:.0%} of best at 256 and 1 024; at 256 no 5xx "
                  "and no timeouts; at 1 024 only fast 503s", flush=True)  # fmt: skip
            print("\n".join(summary), flush=True)
        print("\nall targets met" if all_met else "\nsome targets NOT met (see above)")


if __name__ == "__main__":
    main()
