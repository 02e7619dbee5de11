"""What the benchmarks share: a throwaway PostgreSQL cluster, a store loaded with the shipped
layers and generated premises, a server process, and ``wrk`` runs parsed into figures."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from geoplan.config import STORAGE_SRID, get_settings
from geoplan.ingest.shipped import load_layers
from geoplan.proximity import update_walk_times
from geoplan.store import db
from geoplan.store.cluster import LocalCluster
from geoplan.vocab import USE_CATEGORIES

# Counts every response by status in each wrk thread and prints the sums when the run ends.
STATUS_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  for code, n in pairs(total) do io.write(string.format("status %d %d\\n", code, n)) end
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_open_files_limit() -> int:
    """Soft limit of open files up to the hard limit (a thousand sockets need more than 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def throwaway_cluster(prefix: str = "geoplan-bench-") -> LocalCluster:
    """A non-durable cluster in a fresh directory under /tmp on a free port, not started yet;
    ``destroy()`` removes it, directory and all."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    return LocalCluster(home, free_port(), durable=False, log=lambda *_: None)


@contextmanager
def bench_database(extensions: tuple[str, ...] = ("postgis",)) -> Iterator[str]:
    """The database a benchmark measures, migrated: ``GEOPLAN_BENCH_DATABASE_URL`` when set (a
    server of your own, left as it is afterwards), else a throwaway cluster destroyed when the
    block ends. ``extensions`` are created first (an existing database may lack them)."""
    url = os.environ.get("GEOPLAN_BENCH_DATABASE_URL")
    cluster = None
    if not url:
        cluster = throwaway_cluster()
        cluster.up()
        url = cluster.url
    try:
        with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
            for name in extensions:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
        db.upgrade(url=url)
        yield url
    finally:
        if cluster is not None:
            cluster.destroy()


@dataclass
class Store:
    """A throwaway store being measured: its URL and how many premises it holds."""

    url: str
    premises: int = 0

    def add_premises(self, rows: int) -> int:
        """``rows`` more generated premises (0: none), then ``VACUUM ANALYZE`` (the planner
        knows the new rows before anything is timed); returns how many premises there are."""
        if rows:
            with db.transaction(self.url) as conn:
                generate_premises(conn, rows)
        with psycopg.connect(db.conninfo(self.url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            self.premises = conn.execute("SELECT count(*) FROM premises").fetchone()[0]
        return self.premises

    def centre(self) -> tuple[float, float]:
        """The municipality's centroid (WGS84 lon, lat)."""
        with psycopg.connect(db.conninfo(self.url)) as conn:
            return conn.execute(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_Centroid(geom), 4326) c "
                "FROM boundary LIMIT 1) s"
            ).fetchone()


def centre_bbox(lon: float, lat: float) -> str:
    """``bbox=`` of about 1 km × 1 km around (lon, lat): about a thousand of 10⁵ generated
    premises around the centroid."""
    return f"{lon - 0.009:.5f},{lat - 0.0045:.5f},{lon + 0.009:.5f},{lat + 0.0045:.5f}"


@contextmanager
def loaded_store(
    rows: int, *, prefix: str = "geoplan-bench-pg-", announce: bool = True
) -> Iterator[Store]:
    """A throwaway PostGIS cluster migrated with this checkout's revisions, holding the shipped
    layers and ``rows`` generated premises, vacuumed; destroyed when the block ends. Prints
    where it starts and (``announce``) how long loading took."""
    cluster = throwaway_cluster(prefix)
    try:
        print(f"starting a throwaway PostGIS in {cluster.home} ...", flush=True)
        url = cluster.up()
        db.upgrade(url=url)
        t0 = time.monotonic()
        with db.transaction(url) as conn:
            load_layers(conn, get_settings().layers_dir)
        store = Store(url)
        total = store.add_premises(rows)
        if announce:
            print(f"loaded {total} premises in {time.monotonic() - t0:.1f} s", flush=True)
        yield store
    finally:
        cluster.destroy()


def generate_premises(conn: psycopg.Connection, rows: int) -> None:
    """``rows`` random premises inside the municipality's bounding box, then annotated."""
    conn.execute("SELECT setseed(0.42)")
    uses = "ARRAY[" + ", ".join(f"'{u}'" for u in USE_CATEGORIES) + "]"
    conn.execute(
        f"""
        WITH box AS (SELECT ST_Extent(geom) AS b FROM boundary),
        pts AS (
          SELECT i, random() AS r1, random() AS r2, random() AS r3,
                 ST_SetSRID(ST_MakePoint(
                   ST_XMin(b) + random() * (ST_XMax(b) - ST_XMin(b)),
                   ST_YMin(b) + random() * (ST_YMax(b) - ST_YMin(b))), {STORAGE_SRID}) AS g
          FROM box, generate_series(1, %(rows)s) AS i)
        INSERT INTO premises (id, address, uses, floor_area_m2, rent_nok_m2_year,
            available_from, description, status, source, licence, accuracy_m, verified, sample,
            geom)
        SELECT 'bench-' || lpad(i::text, 7, '0'), 'Benchmarkveien ' || i || ' (generert)',
               ARRAY[({uses})[1 + floor(r1 * {len(USE_CATEGORIES)})::int]],
               round((50 + r2 * 5000)::numeric, 0), round((900 + r3 * 2100)::numeric, 0),
               DATE '2026-01-01' + (i %% 700), 'Generated for the API benchmark',
               CASE WHEN i %% 20 = 0 THEN 'withdrawn' ELSE 'available' END,
               'BENCHMARK DATA – generated by bench/api.py, not real', 'none', 50, false, true, g
        FROM pts""",
        {"rows": rows},
    )
    update_walk_times(conn)  # nearest hub and walk, as every write path does


@contextmanager
def server(
    cmd: list[str], env: dict[str, str], ready_url: str, log: Path, cwd: Path | None = None
) -> Iterator[None]:
    """Run ``cmd`` (its own process group, in ``cwd``) until the block ends; waits for
    ``ready_url``. (``python -m`` puts its working directory first on the path: a server of
    another checkout runs in that checkout.)"""
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=out,
            stderr=out,
            start_new_session=True,
            preexec_fn=raise_open_files_limit,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(ready_url, timeout=5).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {' '.join(cmd)}\n{log.read_text()}")
            time.sleep(0.3)
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


@dataclass
class WrkRun:
    """One wrk run: requests/s, latency percentiles, and what went wrong."""

    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    timeouts: int = 0
    socket_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    duration_s: float = 0.0
    p95_ms: float | None = None  # when the wrk script prints "p95 <microseconds>"

    @property
    def ok_rps(self) -> float:
        """Successful (2xx) responses per second; all responses when statuses were not counted."""
        if not self.statuses:
            return self.rps
        ok = sum(n for code, n in self.statuses.items() if 200 <= code < 300)
        return ok / self.duration_s if self.duration_s else 0.0

    def count(self, low: int, high: int) -> int:
        return sum(n for code, n in self.statuses.items() if low <= code < high)


def wrk(
    url: str,
    *,
    connections: int,
    duration_s: int,
    threads: int = 2,
    script: Path | None = None,
    timeout_s: int | None = None,
    warmup_s: int = 2,
    headers: dict[str, str] | None = None,
) -> WrkRun:
    """Load ``url`` with wrk (a separate process, open-files limit raised) and parse it;
    ``headers`` are sent with every request (``-H``)."""
    base = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", "--latency"]
    for name, value in (headers or {}).items():
        base += ["-H", f"{name}: {value}"]
    if script is not None:
        base += ["-s", str(script)]
    if timeout_s is not None:
        base += ["--timeout", f"{timeout_s}s"]
    run = {"capture_output": True, "text": True, "check": True}
    if warmup_s:
        subprocess.run([*base, f"-d{warmup_s}s", url], preexec_fn=raise_open_files_limit, **run)
    out = subprocess.run(
        [*base, f"-d{duration_s}s", url], preexec_fn=raise_open_files_limit, **run
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    took = re.search(r"requests in ([\d.]+)(us|ms|s|m),", out)
    return WrkRun(
        rps,
        p50,
        p99,
        int(non_2xx.group(1)) if non_2xx else 0,
        timeouts=int(sock.group(4)) if sock else 0,
        socket_errors=sum(int(sock.group(i)) for i in (1, 2, 3)) if sock else 0,
        statuses={int(c): int(n) for c, n in re.findall(r"^status (\d+) (\d+)$", out, re.M)},
        duration_s=_ms(took.group(1) + took.group(2)) / 1000 if took else float(duration_s),
        p95_ms=float(p95.group(1)) / 1000
        if (p95 := re.search(r"^p95 ([\d.]+)$", out, re.M))
        else None,
    )
