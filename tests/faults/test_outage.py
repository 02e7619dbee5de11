"""PostgreSQL stopped or killed under a live API, during reads, writes and imports (issue #14).

While the database is down every database route answers 503 problem+json with Retry-After —
at once, not after a pool timeout; no acknowledged write is lost; an import cut short imports
nothing; and the first request after PostgreSQL is back succeeds (no stale pooled connection
fails a request). A server started while the database is down says so in one line and serves
as soon as it is back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import httpx
import psycopg
import pytest
import shapely

from api.database import CHECKOUT_TIMEOUT_S
from geoplan.store import db
from tests.conftest import free_port
from tests.e2e.live_server import live_server
from tests.faults.conftest import (
    Deployment,
    assert_unavailable,
    deploy,
    destroy,
    new_home,
    premises_feature,
)

FAST_S = CHECKOUT_TIMEOUT_S + 1.5
"""Longest a request may take while the database is down: the one request that finds it
gone waits out the checkout; no request waits for the pool's own 30 s timeout."""


@pytest.fixture(scope="module")
def pg() -> Iterator[Deployment]:
    home = new_home("geoplan-faults-")
    deployment = deploy(home)
    try:
        yield deployment
    finally:
        destroy(deployment)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def api(pg: Deployment) -> Iterator[str]:
    with live_server(pg.url, free_port()) as base:
        yield base


@pytest.fixture(autouse=True)
def database_up(pg: Deployment) -> None:
    """Each test starts with PostgreSQL running (a failed test may have left it down)."""
    if not pg.cluster.running():
        pg.start()


def _routes(pg: Deployment) -> list[tuple[str, str]]:
    with psycopg.connect(db.conninfo(pg.url)) as conn:
        premises_id = conn.execute("SELECT id FROM premises ORDER BY id LIMIT 1").fetchone()[0]
    return [
        ("GET", "/healthz"),
        ("GET", "/premises?limit=5"),
        ("GET", f"/premises/{premises_id}"),
        ("GET", "/ogc/collections"),
        ("GET", "/ogc/collections/premises/items?limit=5"),  # the asyncio read pool
        ("GET", "/maps/overview"),
        ("GET", "/proximity/nearest?lon=10.9548&lat=59.9267&k=2"),
        ("POST", "/premises"),
    ]


_serial = iter(range(1, 1_000_000))


def _call(client: httpx.Client, pg: Deployment, method: str, path: str) -> httpx.Response:
    if method == "POST":
        body = premises_feature(f"Feilveien {next(_serial)}, 1473 Lørenskog")
        return client.post(path, json=body, headers=pg.auth)
    return client.get(path)


def test_stopped_database_is_503_at_once_and_the_first_request_after_succeeds(
    pg: Deployment, api: str
) -> None:
    routes = _routes(pg)
    with httpx.Client(base_url=api, timeout=60) as client:
        for method, path in routes:
            r = _call(client, pg, method, path)
            assert r.status_code in (200, 201), (path, r.text[:300])

        pg.stop()
        for round_ in (1, 2):
            for method, path in routes:
                start = time.monotonic()
                r = _call(client, pg, method, path)
                took = time.monotonic() - start
                assert_unavailable(r)
                assert took < FAST_S, f"{method} {path} took {took:.1f} s"
                if round_ == 2:  # the outage is known: refused without waiting for a connection
                    assert took < CHECKOUT_TIMEOUT_S, f"{method} {path} took {took:.1f} s"

        pg.start()
        for method, path in routes:  # each route's first request after the restart
            r = _call(client, pg, method, path)
            assert r.status_code in (200, 201), (path, r.status_code, r.text[:300])


@pytest.mark.parametrize("fault", ["stop", "kill -9"])
def test_a_restart_between_requests_fails_no_request(pg: Deployment, api: str, fault: str) -> None:
    """PostgreSQL restarts while the API is idle: every pooled connection is stale, and no
    request has noticed. Not one request may fail for it (issue #14: each stale connection
    failed one request, for minutes)."""
    routes = _routes(pg)

    def burst() -> list[httpx.Response]:
        # enough at once that each pool holds several connections
        def one(route: tuple[str, str]) -> httpx.Response:
            with httpx.Client(base_url=api, timeout=60) as client:
                return _call(client, pg, *route)

        with ThreadPoolExecutor(max_workers=12) as pool:
            return list(pool.map(one, routes * 3))

    assert all(r.status_code in (200, 201) for r in burst())
    pg.kill() if fault == "kill -9" else pg.stop()
    pg.start()
    for _ in range(3):
        failed = [(r.request.url.path, r.status_code) for r in burst() if r.is_error]
        assert not failed, failed


@pytest.mark.parametrize("fault", ["stop", "kill -9"])
def test_reads_and_writes_through_a_fault(pg: Deployment, api: str, fault: str) -> None:
    """Readers and writers run throughout: 503 while down and nothing else; every write that
    was acknowledged (201) is in the database afterwards; every request that starts after the
    restart succeeds."""
    read_paths = [path for method, path in _routes(pg) if method == "GET"]
    results: list[tuple[float, float, httpx.Response]] = []  # (start, took, response)
    acknowledged: list[str] = []
    done = threading.Event()

    def reader(offset: int) -> None:
        with httpx.Client(base_url=api, timeout=60) as client:
            i = offset
            while not done.is_set():
                start = time.monotonic()
                r = client.get(read_paths[i % len(read_paths)])
                results.append((start, time.monotonic() - start, r))
                i += 1

    def writer() -> None:
        with httpx.Client(base_url=api, timeout=60) as client:
            while not done.is_set():
                start = time.monotonic()
                r = _call(client, pg, "POST", "/premises")
                results.append((start, time.monotonic() - start, r))
                if r.status_code == 201:
                    acknowledged.append(r.json()["id"])

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        pg.kill() if fault == "kill -9" else pg.stop()
        time.sleep(2.5)
        pg.start()
        restarted = time.monotonic()
        time.sleep(2.5)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=120)

    statuses = {r.status_code for _, _, r in results}
    assert statuses <= {200, 201, 503}, sorted(statuses)
    assert {200, 201, 503} <= statuses, sorted(statuses)  # the fault was met, and survived
    for _, _, r in results:
        if r.status_code == 503:
            assert_unavailable(r)
    slowest = max(took for _, took, r in results if r.status_code == 503)
    assert slowest < FAST_S + 1.0, f"a 503 took {slowest:.1f} s"  # no one hung on the outage
    after = [r for start, _, r in results if start > restarted]
    assert after, "no request after the restart"
    failed = [(r.request.method, r.request.url.path, r.status_code) for r in after if r.is_error]
    assert not failed, failed

    with psycopg.connect(db.conninfo(pg.url)) as conn:
        stored = {
            row[0]
            for row in conn.execute("SELECT id FROM premises WHERE id = ANY(%s)", (acknowledged,))
        }
    assert acknowledged and set(acknowledged) == stored, set(acknowledged) - stored


# -- imports --------------------------------------------------------------------------------------
def _premises_csv(path: Path, n: int, prefix: str) -> Path:
    x0, y0 = 274_450.0, 6_646_870.0  # Lørenskog sentrum, EPSG:25833
    frame = gpd.GeoDataFrame(
        {
            "id": [f"{prefix}-{i}" for i in range(n)],
            "address": [f"Importveien {i}" for i in range(n)],
            "uses": ["office"] * n,
            "floor_area_m2": [100.0 + i % 50 for i in range(n)],
        },
        geometry=[shapely.Point(x0 + (i % 40) * 10, y0 + (i // 40) * 10) for i in range(n)],
        crs=25833,
    )
    frame.drop(columns="geometry").assign(x=frame.geometry.x, y=frame.geometry.y).to_csv(
        path, index=False
    )
    return path


def _geoplan(pg: Deployment, *args: str) -> subprocess.Popen[str]:
    exe = Path(sys.executable).parent / "geoplan"
    env = {**os.environ, "GEOPLAN_DATABASE_URL": pg.url}
    return subprocess.Popen(
        [str(exe), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _ids(pg: Deployment, prefix: str) -> set[str]:
    with psycopg.connect(db.conninfo(pg.url)) as conn:
        return {
            r[0] for r in conn.execute("SELECT id FROM premises WHERE id LIKE %s", (prefix + "%",))
        }


@pytest.mark.parametrize("fault", ["stop", "kill -9"])
def test_an_import_cut_short_imports_nothing(pg: Deployment, tmp_path: Path, fault: str) -> None:
    prefix = f"crash-{fault[:4]}"
    csv = _premises_csv(tmp_path / "lokaler.csv", 500, prefix)
    args = ("import", str(csv), "--layer", "premises", "--crs", "EPSG:25833", "--quiet")
    # Hold up the import half-way: its premises are written (in its transaction), its history
    # rows wait for this lock. Then the database goes down under it.
    blocker = psycopg.connect(db.conninfo(pg.url))
    blocker.execute("LOCK TABLE premises_history IN EXCLUSIVE MODE")
    proc = _geoplan(pg, *args)
    try:
        with psycopg.connect(db.conninfo(pg.url), autocommit=True) as watcher:
            deadline = time.monotonic() + 120
            while not watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query ILIKE '%premises_history%'"
            ).fetchone():
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the import never reached its history rows"
                time.sleep(0.05)
        pg.kill() if fault == "kill -9" else pg.stop()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(psycopg.Error):
            blocker.close()
    assert proc.returncode == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err

    pg.start()
    assert _ids(pg, prefix) == set()  # all or nothing: nothing
    rerun = _geoplan(pg, *args)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert len(_ids(pg, prefix)) == 500  # ... and all, once the database is back


# -- a server started while the database is down --------------------------------------------------
def test_serve_with_the_database_down_says_so_and_serves_once_it_is_back(
    pg: Deployment,
) -> None:
    port = free_port()
    pg.stop()
    exe = Path(sys.executable).parent / "geoplan"
    env = {**os.environ, "GEOPLAN_DATABASE_URL": pg.url}
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # it starts: uvicorn listens although the database is down
            try:
                r = httpx.get(base + "/healthz", timeout=10)
                break
            except httpx.TransportError:
                assert proc.poll() is None, "".join(output)
                assert time.monotonic() < deadline, "".join(output)
                time.sleep(0.2)
        assert_unavailable(r)
        assert_unavailable(httpx.get(base + "/premises", timeout=10))

        pg.start()
        r = httpx.get(base + "/healthz", timeout=10)
        assert r.status_code == 200, r.text
        assert httpx.get(base + "/premises?limit=1", timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)
    text = "".join(output)
    assert "Traceback" not in text, text
    down = [line for line in text.splitlines() if "not reachable" in line]
    assert len(down) == 1, text  # said once, in one line
    assert "database" in down[0] and "503" in down[0]
    assert any("reachable again" in line for line in text.splitlines()), text
