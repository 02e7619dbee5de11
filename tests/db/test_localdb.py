"""The managed cluster's lifecycle: up twice, down, up again, data kept."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest

from geoplan.store import db
from geoplan.store.cluster import LocalCluster, LocalDBError
from tests.conftest import free_port


@pytest.fixture
def cluster():
    home = Path(tempfile.mkdtemp(prefix="geoplan-lifecycle-", dir="/tmp"))
    c = LocalCluster(home, free_port(), durable=False, log=lambda *_: None)
    yield c
    c.destroy()


def test_lifecycle_keeps_data(cluster: LocalCluster) -> None:
    assert not cluster.initialised and not cluster.running()
    url = cluster.up()
    assert cluster.running()
    assert cluster.up() == url  # idempotent: second up changes nothing
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    st = cluster.status()
    assert st.running and st.postgis_version and st.postgis_version.startswith("3.")
    assert cluster.stop() is True
    assert cluster.stop() is False
    assert not cluster.running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(db.conninfo(url), connect_timeout=3)
    cluster.up()
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")


def test_password_is_required(cluster: LocalCluster) -> None:
    url = cluster.up()
    wrong = url.replace(cluster.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(db.conninfo(wrong))


def test_port_in_use_gives_readable_error(cluster: LocalCluster) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", cluster.port))
        s.listen()
        with pytest.raises(LocalDBError, match="pg_ctl failed"):
            cluster.up()
