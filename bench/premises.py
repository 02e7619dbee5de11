"""``/premises`` search benchmark: this checkout against an earlier one (default ``main``), side
by side, on the same 10⁵ generated premises.

One command (``python -m bench.premises``): starts a throwaway PostGIS cluster, migrates it with
this checkout's revisions, loads the shipped layers plus N generated premises (SAMPLE-flagged
benchmark rows, as ``bench.api``), and serves it twice with one uvicorn worker each (as
``geoplan serve`` runs): "after" from this checkout, "before" from ``git archive <ref>`` unpacked
in a temp directory (an older checkout ignores the newer schema objects it does not know). Each
query is first fetched from each and compared (the same features in the same order, the same
``numberMatched`` where both are exact), then ``wrk`` loads them alternately, round by
round (on a shared machine the load drifts; the best round of each counts):

- ``mix``: the query mix below, cycled request by request by a wrk script — the target;
- ``bench.api``: ``use=office&max_walk_min=15&sort=walk&limit=100``, the query ``bench.api`` and
  ``bench.load`` time.

Prints req/s, p50 and p99 of each, the ratio after/before and the verdict against issue #13's
target: p99 < 50 ms and ≥ 5× the throughput of before, with ``uptime`` before and after.

The mix repeats its eight searches, so "after" answers them with the counts it kept
(``GEOPLAN_SEARCH_CACHE_MB``): a third server of this checkout, "fresh", runs with that cache
off — every search counts and looks up afresh, as a stream of searches never seen before
would — and is printed beside the two (the verdict is on "after", the shipped defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench._harness import free_port, loaded_store, server, wrk
from geoplan.config import REPO_ROOT

TARGET_RATIO = 5.0
TARGET_P99_MS = 50.0
BENCH_API_QUERY = "use=office&max_walk_min=15&sort=walk&limit=100"
MIX = (
    BENCH_API_QUERY,  # offices within 15 minutes' walk of a hub, nearest first
    "limit=100",  # the search page as it opens: everything, nearest first
    BENCH_API_QUERY + "&offset=100",  # its second page
    "use=retail&min_area_m2=500&max_rent_nok_m2=2000&sort=rent&limit=100",
    "sort=area&min_area_m2=2000&limit=20",
    "available_by=2026-06-01&max_area_m2=300&sort=updated&limit=100",
    "kommune=3222&use=warehouse_logistics,production&limit=100",  # looked up (asyncio)
    "area=sentrum&limit=100",  # looked up (asyncio)
)
"""What premises seekers run (``hub=``, which computes walks to one hub per search, is not in
it: it is answered as before)."""

MIX_LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter %% #paths + 1
  return wrk.format("GET", paths[counter])
end
"""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def compare(before: str, after: str, query: str, who: str = "after") -> None:
    """Stop unless both servers answer ``query`` with the same page (``who``: the second)."""
    a, b = (
        httpx.get(f"{after}/premises?{query}", timeout=60),
        httpx.get(f"{before}/premises?{query}", timeout=60),
    )
    if a.status_code != 200 or b.status_code != 200:
        sys.exit(f"error: {query}: HTTP {b.status_code} before, {a.status_code} after")
    new, old = a.json(), b.json()
    same = new["features"] == old["features"] and new["numberReturned"] == old["numberReturned"]
    # both exact: the same number (a count the new one has exact, the old estimated, differs)
    exact = not new.get("numberMatchedEstimated") and not old.get("numberMatchedEstimated")
    if not same or (exact and new["numberMatched"] != old["numberMatched"]):
        sys.exit(f"error: {query}: before and {who} answer differently")
    counted = (
        f"{new['numberMatched']}"
        if exact
        else f"≈{new['numberMatched']} (estimate; exactly {old['numberMatched']})"
    )
    print(f"  same page ({who}): {query}  [{new['numberReturned']} of {counted}]", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.premises", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="generated premises")
    parser.add_argument("--before", default="main", help="git revision to compare against")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per server")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is missing; install it with: apt-get install -y wrk")

    home = Path(tempfile.mkdtemp(prefix="geoplan-bench-", dir="/tmp"))
    before_dir = home / "before"
    before_dir.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", args.before],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(before_dir)], input=archive, check=True)
    rev = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", args.before],
        capture_output=True,
        text=True,
    ).stdout.strip()
    with ExitStack() as cleanup:  # on the way out: the store, then the temp directory
        cleanup.callback(shutil.rmtree, home, ignore_errors=True)
        url = cleanup.enter_context(loaded_store(args.rows)).url
        script = home / "mix.lua"
        script.write_text(MIX_LUA % ", ".join(json.dumps(f"/premises?{q}") for q in MIX))
        ports = {"before": free_port(), "after": free_port(), "fresh": free_port()}
        roots = {"before": before_dir, "after": REPO_ROOT, "fresh": REPO_ROOT}
        settings = {"fresh": {"GEOPLAN_SEARCH_CACHE_MB": "0"}}
        bases = {who: f"http://127.0.0.1:{port}" for who, port in ports.items()}
        best: dict[tuple[str, str], object] = {}
        print(f"before: {args.before} ({rev}) from git archive; after: this checkout")
        print(f"uptime at start: {uptime()}", flush=True)
        with ExitStack() as stack:
            for who, port in ports.items():
                cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
                       "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                       "--no-access-log", "--log-level", "warning"]  # fmt: skip
                env = {"GEOPLAN_DATABASE_URL": url, "PYTHONPATH": str(roots[who])}
                env |= settings.get(who, {})
                stack.enter_context(
                    server(cmd, env, f"{bases[who]}/healthz", home / f"{who}.log", roots[who])
                )
            for query in MIX:
                for who in ("after", "fresh"):
                    compare(bases["before"], bases[who], query, who)
            print(
                f"\nwrk -t2 -c{args.connections} -d{args.duration}s, one worker each, "
                f"{os.cpu_count()} CPUs, {args.rounds} alternating rounds:",
                flush=True,
            )
            for _ in range(args.rounds):
                for key, url_path, lua in (
                    ("mix", "/premises", script),
                    ("bench.api", f"/premises?{BENCH_API_QUERY}", None),
                ):
                    for who in ports:
                        run = wrk(
                            bases[who] + url_path,
                            connections=args.connections,
                            duration_s=args.duration,
                            script=lua,
                        )
                        print(
                            f"  {who:<6} {key:<9} {run.rps:8.1f} req/s   p50 {run.p50_ms:7.1f} ms"
                            f"   p99 {run.p99_ms:7.1f} ms"
                            + (f"   NON-2xx: {run.non_2xx}" if run.non_2xx else ""),
                            flush=True,
                        )
                        if run.non_2xx:
                            sys.exit(f"error: {who} answered {run.non_2xx} requests with non-2xx")
                        kept = best.get((who, key))
                        if kept is None or run.rps > kept.rps:
                            best[(who, key)] = run
        print(
            f"\nsummary (best round of each; target: ≥ {TARGET_RATIO:.0f}× before's req/s and "
            f"p99 < {TARGET_P99_MS:.0f} ms)\nuptime at end: {uptime()}"
        )
        for key in ("mix", "bench.api"):
            b, a, f = best[("before", key)], best[("after", key)], best[("fresh", key)]
            ratio = a.rps / b.rps
            print(
                f"  {key:<9} before {b.rps:7.1f} req/s p99 {b.p99_ms:6.1f} ms | after "
                f"{a.rps:7.1f} req/s p50 {a.p50_ms:5.1f} ms p99 {a.p99_ms:6.1f} ms | "
                f"{ratio:.1f}× ({'met' if ratio >= TARGET_RATIO else 'NOT met'}), p99 "
                f"{'met' if a.p99_ms < TARGET_P99_MS else 'NOT met'} | fresh {f.rps:7.1f} "
                f"req/s p99 {f.p99_ms:6.1f} ms ({f.rps / b.rps:.1f}×)",
                flush=True,
            )


if __name__ == "__main__":
    main()
