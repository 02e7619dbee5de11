"""Outage benchmark: how the API answers while PostgreSQL is down, and how it comes back (#14).

One command (``python -m bench.outage``): a throwaway durable PostGIS with the shipped layers,
``geoplan`` served by one uvicorn worker (as ``geoplan serve`` runs it). For each fault —
``pg_ctl stop -m fast``, then ``kill -9`` of every server process — and each pool (a sync route,
the asyncio OGC items route, a write), it times the first request after the fault, then
:data:`REQUESTS` more, then the first request after PostgreSQL is started again, and prints them
beside the targets:

* the first request after the fault: 503 within one checkout timeout (2 s) plus slack;
* every later one while down: 503, the median within 0.1 s and none near the checkout timeout
  (the outage is known: no request waits for a connection);
* the first request after the restart: 2xx.

Anchor (issue #14, before the fix): pooled routes hung for the pool timeout (30 s) and answered
500; after the restart each stale pooled connection failed one request, for minutes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from api.database import CHECKOUT_TIMEOUT_S
from bench._harness import free_port, server
from geoplan.auth.keys import create_key
from geoplan.config import REPO_ROOT
from geoplan.ingest.shipped import load_layers
from geoplan.store import db
from geoplan.store.cluster import LocalCluster

REQUESTS = 100
FIRST_TARGET_S = CHECKOUT_TIMEOUT_S + 0.5
LATER_P50_TARGET_S = 0.1
LATER_MAX_TARGET_S = CHECKOUT_TIMEOUT_S / 2  # none waits for a connection to a known-down server
ROUTES = (
    ("sync pool", "GET", "/premises?limit=5"),
    ("asyncio pool", "GET", "/ogc/collections/premises/items?limit=5"),
    ("write", "POST", "/premises"),
)


def _timed(client: httpx.Client, method: str, path: str, key: str) -> tuple[int, float]:
    start = time.monotonic()
    if method == "POST":
        body = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [10.9548, 59.9267]},
            "properties": {
                "address": "Benchmarkveien 1 (generert)",
                "uses": ["office"],
                "floor_area_m2": 100,
            },
        }
        r = client.post(path, json=body, headers={"Authorization": f"Bearer {key}"})
    else:
        r = client.get(path)
    return r.status_code, time.monotonic() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outage", description=__doc__)
    parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="geoplan-bench-outage-", dir="/tmp"))
    work.chmod(0o755)  # as root, the cluster's service user must reach its home inside
    cluster = LocalCluster(work / "pg", free_port(), log=lambda *_: None)  # durable
    try:
        url = cluster.up()
        db.upgrade(url=url)
        with db.transaction(url) as conn:
            load_layers(conn, REPO_ROOT / "layers")
            key, _ = create_key(conn, "bench-outage", "write")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app"]
        cmd += ["--port", str(port), "--log-level", "error"]
        env = {"GEOPLAN_DATABASE_URL": url}
        rows = []
        with (
            server(cmd, env, f"{base}/healthz", work / "server.log"),
            httpx.Client(base_url=base, timeout=120) as client,
        ):
            for fault in ("stop", "kill -9"):
                for _, method, path in ROUTES:  # warm: every pool holds connections
                    for _ in range(5):
                        _timed(client, method, path, key)
                cluster.crash() if fault == "kill -9" else cluster.stop()
                down = {name: [] for name, _, _ in ROUTES}
                for _ in range(REQUESTS + 1):
                    for name, method, path in ROUTES:
                        down[name].append(_timed(client, method, path, key))
                cluster.start()
                for name, method, path in ROUTES:
                    after = _timed(client, method, path, key)
                    rows.append((fault, name, down[name], after))
        _report(rows)
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


def _report(rows: list) -> None:
    print(
        f"{'fault':8} {'route':13} {'1st while down':>16} {'later p50':>10} {'later max':>10}"
        f" {'statuses':>10} {'1st after restart':>18}"
    )
    ok = True
    for fault, name, down, (after_status, after_s) in rows:
        (first_status, first_s), later = down[0], down[1:]
        later_s = [s for _, s in later]
        statuses = sorted({status for status, _ in down})
        line_ok = (
            statuses == [503]
            and first_s <= FIRST_TARGET_S
            and statistics.median(later_s) <= LATER_P50_TARGET_S
            and max(later_s) <= LATER_MAX_TARGET_S
            and 200 <= after_status < 300
        )
        ok &= line_ok
        print(
            f"{fault:8} {name:13} {first_status} {first_s * 1000:8.0f} ms"
            f" {statistics.median(later_s) * 1000:7.1f} ms {max(later_s) * 1000:7.1f} ms"
            f" {','.join(map(str, statuses)):>10} {after_status} {after_s * 1000:10.0f} ms"
            f"  {'ok' if line_ok else 'MISSED'}"
        )
    print(
        f"targets: all 503 while down; the first within {FIRST_TARGET_S * 1000:.0f} ms, later "
        f"p50 within {LATER_P50_TARGET_S * 1000:.0f} ms and max within "
        f"{LATER_MAX_TARGET_S * 1000:.0f} ms; the first request after the restart 2xx. "
        "Anchor (issue #14): 30 000 ms hangs, 500s, stale connections failing after the restart."
    )
    print("verdict:", "all targets met" if ok else "targets MISSED")


if __name__ == "__main__":
    main(sys.argv[1:])
