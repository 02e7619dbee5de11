"""API benchmark: geoplan's OGC items and /premises search against tipg on the same table.

One command (``python -m bench.api``): starts a throwaway PostGIS cluster in a temp directory,
loads the shipped layers plus N generated premises (SAMPLE-flagged benchmark rows, nearest hub by
straight line × detour factor), serves the same table with geoplan and with tipg (a well-known
PostGIS OGC API server) side by side, and drives them with ``wrk`` from a separate process,
alternating between the two query by query and round by round (on a shared machine the load
drifts; the best round of each counts). Like with like: the same table, bbox, filter and page
size; tipg is asked for the same properties geoplan publishes, and the run stops if the two
answer with different numbers of features. Prints requests/s, p50 and p99 latency, geoplan's
throughput relative to tipg, and whether issue #4's target is met: ≥ 5× tipg's throughput and
p99 < 50 ms for ``items?bbox=...&limit=100``. ``--encoding gzip`` (or ``br``, ``zstd``, a list)
sends that ``Accept-Encoding`` with every request, as browsers and GIS clients do: both servers
then compress (geoplan with starlette-compress, tipg with starlette-cramjam), and the bytes on
the wire per page are printed beside the uncompressed size.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from bench._harness import centre_bbox, free_port, loaded_store, server
from bench._harness import wrk as run_wrk
from geoplan.config import REPO_ROOT
from geoplan.ogc import COLLECTIONS
from geoplan.store import db

FILTER = "floor_area_m2 > 500 AND rent_nok_m2_year < 2000"
TARGET_RATIO = 5.0
TARGET_P99_MS = 50.0


@dataclass
class Figures:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def request_headers(args: argparse.Namespace) -> dict[str, str]:
    """What every request sends besides wrk's defaults: ``Accept-Encoding`` when asked for."""
    return {"Accept-Encoding": args.encoding} if args.encoding else {}


def wrk(label: str, url: str, args: argparse.Namespace) -> Figures:
    """Load ``url`` with wrk (a separate process) and print its figures."""
    run = run_wrk(
        url,
        connections=args.connections,
        duration_s=args.duration,
        threads=args.threads,
        headers=request_headers(args),
    )
    figures = Figures(label, run.rps, run.p50_ms, run.p99_ms, run.non_2xx)
    print(
        f"  {label:<44} {run.rps:9.1f} req/s   p50 {run.p50_ms:7.1f} ms   p99 {run.p99_ms:7.1f} ms"
        + (f"   NON-2xx: {figures.errors}" if figures.errors else ""),
        flush=True,
    )
    return figures


@dataclass
class Page:
    features: int
    wire_bytes: int  # as sent (compressed when the server chose to)
    bytes: int  # decoded
    encoding: str


def check(url: str, label: str, args: argparse.Namespace) -> Page | None:
    """How many features the URL answers with, and its size on the wire and decoded; None (and
    why) when it does not answer 200."""
    r = httpx.get(url, timeout=30, headers={"Accept-Encoding": args.encoding or "identity"})
    if r.status_code != 200:
        print(f"  {label:<44} skipped: HTTP {r.status_code} {r.text[:120]}", flush=True)
        return None
    encoding = r.headers.get("content-encoding", "identity")
    page = Page(len(r.json()["features"]), r.num_bytes_downloaded, len(r.content), encoding)
    print(
        f"  {label:<44} {page.wire_bytes / 1000:7.1f} kB on the wire ({encoding}), "
        f"{page.bytes / 1000:.1f} kB decoded",
        flush=True,
    )
    return page


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="generated premises")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to measure")
    parser.add_argument("--no-tipg", action="store_true", help="skip the tipg comparison")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating wrk runs per server and query"
    )
    parser.add_argument(
        "--encoding",
        default="",
        help="Accept-Encoding sent with every request, e.g. gzip or 'gzip, br, zstd' "
        "(default: none, uncompressed answers)",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is missing; install it with: apt-get install -y wrk")
    workers = [int(w) for w in args.workers.split(",")]
    if not args.no_tipg and importlib.util.find_spec("tipg") is None:
        print("tipg is not installed (pip install -e '.[bench]'); no comparison this run")
        args.no_tipg = True

    home = Path(tempfile.mkdtemp(prefix="geoplan-bench-", dir="/tmp"))  # server logs
    with ExitStack() as cleanup:  # on the way out: the store, then the temp directory
        cleanup.callback(shutil.rmtree, home, ignore_errors=True)
        store = cleanup.enter_context(loaded_store(args.rows))
        url = store.url
        bbox = centre_bbox(*store.centre())  # about a thousand matches, 100 returned
        items_q = f"bbox={bbox}&limit=100"
        filter_q = f"{items_q}&filter-lang=cql2-text&filter={quote(FILTER)}"
        premises_q = "use=office&max_walk_min=15&sort=walk&limit=100"
        published = ",".join(p.name for p in COLLECTIONS["premises"].props)
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s; "
            f"bbox {bbox}; {os.cpu_count()} CPUs; load average before: "
            f"{os.getloadavg()[0]:.1f} (other work on the machine skews every figure)\n",
            flush=True,
        )
        results: dict[str, Figures] = {}
        pages: dict[str, Page] = {}
        tipg_env = {
            "DATABASE_URL": db.conninfo(url),
            "TIPG_DB_SCHEMAS": '["public"]',
            "TIPG_DB_TABLES": '["public.premises"]',
            "TIPG_DEBUG": "false",
        }
        for n in workers:
            # Both servers run side by side (an idle one costs nothing) and wrk alternates
            # between them query by query, round by round: on a shared machine the load
            # drifts over a minute, and measuring one server after the other let that drift
            # decide the ratio. Each figure kept is the best of its rounds.
            ours_port, tipg_port = free_port(), free_port()
            ours = f"http://127.0.0.1:{ours_port}"
            tipg = f"http://127.0.0.1:{tipg_port}/collections/public.premises/items"
            ours_cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
                        "--host", "127.0.0.1", "--port", str(ours_port), "--workers", str(n),
                        "--no-access-log", "--log-level", "warning"]  # fmt: skip
            tipg_cmd = [sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
                        "--port", str(tipg_port), "--workers", str(n), "--no-access-log",
                        "--log-level", "warning"]  # fmt: skip
            # the properties geoplan publishes (tipg would also send any other column)
            tipg_props = f"&properties={published}"
            runs = [
                ("items", f"{ours}/ogc/collections/premises/items?{items_q}",
                 f"{tipg}?{items_q}{tipg_props}"),
                ("filter", f"{ours}/ogc/collections/premises/items?{filter_q}",
                 f"{tipg}?{filter_q}{tipg_props}"),
                ("premises", f"{ours}/premises?{premises_q}", None),
            ]  # fmt: skip
            print(f"{n} worker(s) each:", flush=True)
            with ExitStack() as servers:
                servers.enter_context(
                    server(ours_cmd, {"GEOPLAN_DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT)},
                           f"{ours}/healthz", home / f"geoplan-{n}.log")
                )  # fmt: skip
                if not args.no_tipg:
                    servers.enter_context(
                        server(tipg_cmd, tipg_env, tipg.rsplit("/", 2)[0],
                               home / f"tipg-{n}.log")
                    )  # fmt: skip
                for key, ours_url, tipg_url in runs:
                    ours_page = check(ours_url, f"geoplan {key}", args)
                    if ours_page is None:
                        continue
                    count = ours_page.features
                    pages[f"geoplan-{key}"] = ours_page
                    targets = [("geoplan", ours_url)]
                    if tipg_url and not args.no_tipg:
                        theirs = check(tipg_url, f"tipg {key}", args)
                        if theirs is not None and theirs.features != count:
                            sys.exit(f"error: not like with like: {key} returns {count} "
                                     f"features from geoplan but {theirs.features} from "
                                     "tipg")  # fmt: skip
                        if theirs is not None:
                            pages[f"tipg-{key}"] = theirs
                            targets.append(("tipg", tipg_url))
                    for _ in range(args.rounds):
                        for who, target in targets:
                            label = f"{who} {key} ({count} features)"
                            figures = wrk(label, target, args)
                            best = results.get(f"{who}-{n}-{key}")
                            if best is None or figures.rps > best.rps:
                                results[f"{who}-{n}-{key}"] = figures
        print(
            f"\nsummary (best run of each server, like with like: the same number of workers "
            f"each; load average now {os.getloadavg()[0]:.1f}); Accept-Encoding: "
            f"{args.encoding or '(none)'}; target: ≥ {TARGET_RATIO:.0f}× tipg's req/s and "
            f"p99 < {TARGET_P99_MS:.0f} ms:"
        )
        for key in ("items", "filter", "premises"):
            sizes = [
                f"{who} {p.wire_bytes / 1000:.1f} kB ({p.encoding}; "
                f"{p.bytes / 1000:.1f} kB decoded)"
                for who in ("geoplan", "tipg")
                if (p := pages.get(f"{who}-{key}")) is not None
            ]
            if sizes:
                print(f"  {key:<8} bytes on the wire per page: {' | '.join(sizes)}")
        for n in workers:
            for key in ("items", "filter"):
                best = results.get(f"geoplan-{n}-{key}")
                if best is None:
                    continue
                p99_ok = best.p99_ms < TARGET_P99_MS
                line = (
                    f"  {key:<8} {n} worker{'s' if n > 1 else ' '}  geoplan {best.rps:7.1f} req/s, "
                    f"p99 {best.p99_ms:6.1f} ms"
                )
                tipg = results.get(f"tipg-{n}-{key}")
                if tipg is not None:
                    ratio = best.rps / tipg.rps
                    line += f" | tipg {tipg.rps:6.1f} req/s, p99 {tipg.p99_ms:6.1f} ms"
                    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
                    line += f" | ratio {ratio:.2f}× ({verdict})"
                line += f" | p99 {'met' if p99_ok else 'NOT met'}"
                print(line, flush=True)
        search = [r for k, r in results.items() if k.endswith("premises")]
        if search:
            best = max(search, key=lambda r: r.rps)
            print(f"  /premises geoplan {best.rps:7.1f} req/s, p99 {best.p99_ms:6.1f} ms")


if __name__ == "__main__":
    main()
