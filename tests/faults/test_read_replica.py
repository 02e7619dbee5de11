"""Reads scale out on PostgreSQL itself: a real streaming replica (``pg_basebackup`` +
``standby.signal`` from a managed cluster) behind ``GEOPLAN_READ_DATABASE_URL``.

What is checked, each against the real servers:

* reads go to the replica: with its replay paused, another client does not see a new write;
  with the primary stopped, every read route still answers;
* a client sees its own write at once (read-your-writes, by the WAL position in the
  ``geoplan_lsn`` cookie or the ``Geoplan-LSN`` header), and reads from the replica again
  once the replica has replayed that write;
* a replica outage sends reads to the primary, and reads return to the replica after it;
* ``geoplan serve --workers N`` runs N processes, each with its own pools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from api.database import CHECKOUT_TIMEOUT_S
from geoplan.config import Settings
from geoplan.store import db
from geoplan.store.cluster import LocalCluster, child_processes
from tests.api.test_assessment_api import body as assessment_body
from tests.conftest import free_port
from tests.e2e.live_server import live_server
from tests.faults.conftest import (
    Deployment,
    assert_unavailable,
    deploy,
    destroy,
    make_replica,
    new_home,
    premises_feature,
    wait_replayed,
)


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Deployment, LocalCluster]]:
    home = new_home("geoplan-replica-")
    primary = deploy(home / "primary", durable=False)
    replica = None
    try:
        replica = make_replica(primary, home / "replica")
        yield primary, replica
    finally:
        destroy(*(c for c in (replica, primary) if c is not None))
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def api(pair: tuple[Deployment, LocalCluster]) -> Iterator[str]:
    primary, replica = pair
    settings = Settings(read_database_url=replica.url)
    with live_server(primary.url, free_port(), settings) as base:
        yield base


@pytest.fixture(autouse=True)
def both_running(pair: tuple[Deployment, LocalCluster]) -> Iterator[None]:
    """Each test starts with both servers up and the replica replaying."""
    primary, replica = pair
    for cluster in (primary.cluster, replica):
        if not cluster.running():
            cluster.start()
    yield
    if replica.running():
        _sql(replica.url, "SELECT pg_wal_replay_resume()")


def _sql(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _pause(replica: LocalCluster) -> None:
    """Stop the replica replaying the primary's WAL: what it serves stays as it is now."""
    _sql(replica.url, "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 30
    while _sql(replica.url, "SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text[:300]
    return {f["id"] for f in response.json()["features"]}


def test_reads_go_to_the_replica_and_a_writer_sees_its_own_write(
    pair: tuple[Deployment, LocalCluster], api: str
) -> None:
    primary, replica = pair
    with (
        httpx.Client(base_url=api, timeout=60) as writer,
        httpx.Client(base_url=api, timeout=60) as other,
    ):
        health = writer.get("/healthz").json()["read_replica"]
        assert health["status"] == "reachable" and health["in_recovery"] is True

        _pause(replica)
        r = writer.post(
            "/premises",
            json=premises_feature("Replikaveien 1, 1473 Lørenskog"),
            headers=primary.auth,
        )
        assert r.status_code == 201, r.text
        new_id = r.json()["id"]
        position = r.headers["geoplan-lsn"]
        assert writer.cookies.get("geoplan_lsn") == position
        assert writer.get("/healthz").json()["read_replica"]["lag_bytes"] > 0

        # another client reads from the replica, which has not replayed the write
        assert other.get(f"/premises/{new_id}").status_code == 404
        assert new_id not in _ids(other.get("/premises?limit=1000"))
        assert new_id not in _ids(other.get("/ogc/collections/premises/items?limit=1000"))

        # the writer sees its write at once, on every read path (sync and asyncio pools)
        assert writer.get(f"/premises/{new_id}").status_code == 200
        assert new_id in _ids(writer.get("/premises?limit=1000"))
        assert new_id in _ids(writer.get("/ogc/collections/premises/items?limit=1000"))
        assert writer.get(f"/ogc/collections/premises/items/{new_id}").status_code == 200
        # ... and so does a client that sends the position as a header instead of the cookie
        headers = {"Geoplan-LSN": position}
        assert other.get(f"/premises/{new_id}", headers=headers).status_code == 200
        # a mangled position is no error: the read just goes where it would without one
        assert other.get(f"/premises/{new_id}", headers={"Geoplan-LSN": "x/y"}).status_code == 404

        # the writer's change of its own listing is visible to it at once, too
        r = writer.patch(
            f"/premises/{new_id}",
            json={"properties": {"floor_area_m2": 345}},
            headers=primary.auth,
        )
        assert r.status_code == 200, r.text
        assert writer.get(f"/premises/{new_id}").json()["properties"]["floor_area_m2"] == 345

        _sql(replica.url, "SELECT pg_wal_replay_resume()")
        wait_replayed(primary.url, replica.url)
        assert other.get(f"/premises/{new_id}").status_code == 200

        # Once the replica has replayed the writer's writes, the writer reads from it again:
        # a change made behind everyone's back on the primary (replay paused) is not seen.
        _pause(replica)
        _sql(
            primary.url,
            "UPDATE premises SET address = 'Endret, 1473 Lørenskog' WHERE id = %s",
            (new_id,),
        )
        seen = writer.get(f"/premises/{new_id}").json()["properties"]["address"]
        assert seen == "Replikaveien 1, 1473 Lørenskog"


def _read_routes(primary: Deployment, api: str) -> list[str]:
    """One request for every route that reads from the replica."""
    with httpx.Client(base_url=api, timeout=60) as client:
        r = client.post("/assessments", json=assessment_body(), headers=primary.auth)
        assert r.status_code == 201, r.text
        case = r.json()["id"]
    premises_id = _sql(primary.url, "SELECT id FROM premises ORDER BY id LIMIT 1")[0][0]
    area = _sql(primary.url, "SELECT id FROM areas ORDER BY id LIMIT 1")[0][0]
    return [
        "/premises?limit=5",
        "/premises?use=office&max_walk_min=10&sort=rent",
        f"/premises/{premises_id}",
        f"/premises/{premises_id}/history",
        "/ogc/collections",
        "/ogc/collections/premises",
        "/ogc/collections/premises/items?limit=5",
        "/ogc/collections/hubs/items?limit=5",
        f"/ogc/collections/premises/items/{premises_id}",
        "/",
        "/maps/overview",
        "/maps/premises?use=office",
        "/maps/premises?use=&hub=",  # an empty form: no hub, so the replica still serves it
        f"/maps/areas/{area}",
        "/plans/land-use/premises",
        "/geocode?q=Storgata 2",
        "/proximity/nearest?lon=10.9548&lat=59.9267&k=2",
        f"/assessments/{case}",
        f"/assessments/{case}/report",
    ]


def test_every_read_route_is_served_by_the_replica_alone(
    pair: tuple[Deployment, LocalCluster], api: str
) -> None:
    """With the primary stopped, every read route still answers — from the replica, which
    also proves none of them writes (a hot standby refuses any write, even a temp table)."""
    primary, replica = pair
    routes = _read_routes(primary, api)
    wait_replayed(primary.url, replica.url)
    with httpx.Client(base_url=api, timeout=60) as client:
        for path in routes:
            assert client.get(path).status_code == 200, path
        primary.stop()
        for path in routes:
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
        # what needs the primary says so: writes, health, walks computed now (temp tables)
        assert_unavailable(client.get("/healthz"))
        assert_unavailable(
            client.post("/premises", json=premises_feature("Nede 1"), headers=primary.auth)
        )
        assert_unavailable(client.get("/premises?hub=lorenskog_st"))
        assert_unavailable(client.get("/proximity/catchments?hub=lorenskog_st&minutes=7"))
        primary.start()
        assert client.get("/healthz").status_code == 200


def test_a_replica_outage_sends_reads_to_the_primary(
    pair: tuple[Deployment, LocalCluster], api: str
) -> None:
    primary, replica = pair
    with (
        httpx.Client(base_url=api, timeout=60) as writer,
        httpx.Client(base_url=api, timeout=60) as other,
    ):
        replica.stop()
        for path in ("/premises?limit=5", "/ogc/collections/premises/items?limit=5"):
            for _ in range(2):  # the first finds the replica gone; the next know it
                start = time.monotonic()
                r = other.get(path)
                assert r.status_code == 200, (path, r.text[:300])
                assert time.monotonic() - start < CHECKOUT_TIMEOUT_S + 2.5
        health = other.get("/healthz")
        assert health.status_code == 200
        assert health.json()["read_replica"]["status"] == "unreachable"
        r = writer.post(
            "/premises", json=premises_feature("Omkjøring 1, 1473 Lørenskog"), headers=primary.auth
        )
        assert r.status_code == 201
        new_id = r.json()["id"]
        assert other.get(f"/premises/{new_id}").status_code == 200  # the primary has it

        replica.start()
        wait_replayed(primary.url, replica.url)
        _pause(replica)
        _sql(primary.url, "UPDATE premises SET address = 'Bak ryggen' WHERE id = %s", (new_id,))
        # back on the replica (whose replay is paused): the change is not seen yet
        r = other.get(f"/premises/{new_id}")
        assert r.json()["properties"]["address"] == "Omkjøring 1, 1473 Lørenskog"
        assert other.get("/healthz").json()["read_replica"]["status"] == "reachable"


def test_serve_with_workers_runs_that_many_processes(
    pair: tuple[Deployment, LocalCluster],
) -> None:
    primary, replica = pair
    port = free_port()
    exe = Path(sys.executable).parent / "geoplan"
    env = {
        **os.environ,
        "GEOPLAN_DATABASE_URL": primary.url,
        "GEOPLAN_READ_DATABASE_URL": replica.url,
    }
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "geoplan serve --workers 2 did not start"
            time.sleep(0.3)
        workers = [
            pid
            for pid in child_processes(proc.pid)
            if "multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_text()
            and "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
        ]
        assert len(workers) == 2, workers
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(10):
                assert client.get("/ogc/collections/premises/items?limit=3").status_code == 200
                health = client.get("/healthz").json()
                assert health["read_replica"]["status"] == "reachable"
    finally:
        proc.terminate()
        proc.wait(timeout=60)
