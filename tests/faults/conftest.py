"""Fixtures of the fault suite: PostgreSQL clusters of its own, to stop, kill and replicate.

Never the session's shared test cluster: each module starts its own throwaway cluster(s) with
:class:`geoplan.store.cluster.LocalCluster`, loads the shipped layers and breaks them at will.
The clusters that are killed are durable (``fsync`` on, synchronous commit), as in production:
an acknowledged write that a ``kill -9`` could lose there could be lost here too.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from geoplan.auth import keys
from geoplan.store import db
from geoplan.store.cluster import LocalCluster
from geoplan.store.replication import replay_position, wal_position
from tests.conftest import LAYERS_DIR, free_port

LORENSKOG_HUS = [10.9548, 59.9267]


@dataclass
class Deployment:
    """A cluster holding a loaded geoplan database, and a write key for its API."""

    cluster: LocalCluster
    url: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: sessions are terminated, a shutdown checkpoint taken."""
        assert self.cluster.stop()

    def kill(self) -> None:
        """``kill -9`` of the postmaster and every server process: a crash, no shutdown."""
        self.cluster.crash()

    def start(self) -> None:
        """Start again (after a kill: crash recovery first); returns once it accepts
        connections, as ``pg_ctl start -w`` does."""
        assert self.cluster.start()


def new_home(prefix: str) -> Path:
    """A fresh directory for clusters. Directly under /tmp and traversable: as root, the
    clusters' service user must reach the homes inside (each home is its own, mode 0700)."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    home.chmod(0o755)
    return home


def deploy(home: Path, *, durable: bool = True) -> Deployment:
    """A started cluster in ``home`` with the schema, the shipped layers and a write key."""
    from geoplan.ingest.shipped import load_layers

    cluster = LocalCluster(home, free_port(), durable=durable, log=lambda *_: None)
    url = cluster.up()
    db.upgrade(url=url)
    with db.transaction(url) as conn:
        load_layers(conn, LAYERS_DIR)
        key, _ = keys.create_key(conn, "fault-suite", "write")
    return Deployment(cluster, url, key)


def destroy(*deployments: Deployment | LocalCluster) -> None:
    for d in deployments:
        cluster = d.cluster if isinstance(d, Deployment) else d
        try:
            cluster.destroy()
        except Exception:
            cluster.crash()
            shutil.rmtree(cluster.home, ignore_errors=True)


def make_replica(primary: Deployment, home: Path) -> LocalCluster:
    """A streaming replica of ``primary`` (``pg_basebackup`` + ``standby.signal``), started."""
    replica = LocalCluster(home, free_port(), durable=False, log=lambda *_: None)
    replica.init_standby(primary.cluster)
    replica.start()
    wait_replayed(primary.url, replica.url)
    return replica


def wait_replayed(primary_url: str, replica_url: str, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with psycopg.connect(db.conninfo(primary_url), autocommit=True) as conn:
        target = wal_position(conn)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(db.conninfo(replica_url), autocommit=True) as conn:
                if (replay_position(conn) or 0) >= target:
                    return
        except psycopg.OperationalError:
            pass  # still starting
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def premises_feature(address: str, coords: list[float] = LORENSKOG_HUS) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": {"address": address, "uses": ["office"], "floor_area_m2": 120},
    }


def assert_unavailable(r: httpx.Response) -> None:
    """A 503 problem+json with Retry-After: what every database route answers while down."""
    assert r.status_code == 503, (r.request.url, r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json", r.headers
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["status"] == 503
