"""Test fixtures: a real PostGIS for the whole test session.

Tests start their own throwaway cluster (``geoplan.store.cluster``) in a temp directory on a free
port, or use ``GEOPLAN_TEST_DATABASE_URL`` when it is set. Each test that needs data gets a freshly
emptied (or freshly loaded) store; nothing touches the user's own geoplan database."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from geoplan.config import REPO_ROOT, get_settings
from geoplan.store import db
from geoplan.store.cluster import LocalCluster

APP_TABLES = (
    "assessments",
    "land_use",
    "plans",
    "catchments",
    "walk_edges",
    "walk_nodes",
    "premises_history",
    "premises",
    "hubs",
    "areas",
    "boundary",
    "api_keys",
    "saved_searches",
    "address_streets",
    "addresses",
)
# FastAPI's TestClient calls itself "testserver": a Host the API trusts only when told to
# (api/request_guard.py); a test of the default list passes its own settings.
os.environ.setdefault("GEOPLAN_TRUSTED_HOSTS", "testserver,localhost,127.0.0.1,::1")

LAYERS_DIR = REPO_ROOT / "layers"
TESTS_DIR = Path(__file__).resolve().parent
GROUPS = ("unit", "db", "cli", "api", "e2e", "hostile", "faults")
"""Test folders; each test is marked with its folder's name (``pytest -m db``, ``-m "not e2e"``)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its group (its folder under ``tests/``)."""
    for item in items:
        group = Path(item.fspath).resolve().relative_to(TESTS_DIR).parts[0]
        if group in GROUPS:
            item.add_marker(getattr(pytest.mark, group))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalCluster | None]:
    """The throwaway cluster (``None`` when GEOPLAN_TEST_DATABASE_URL is used)."""
    if os.environ.get("GEOPLAN_TEST_DATABASE_URL"):
        yield None
        return
    home = Path(tempfile.mkdtemp(prefix="geoplan-test-", dir="/tmp"))
    cluster = LocalCluster(home, free_port(), durable=False, log=lambda *_: None)
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def make_database(pg_server: LocalCluster | None) -> Callable[[], str]:
    """A factory of new, empty PostGIS databases in the test cluster (no migrations applied)."""
    base_url = os.environ.get("GEOPLAN_TEST_DATABASE_URL") or pg_server.url  # type: ignore[union-attr]

    def make() -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(db.conninfo(base_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = base_url.rsplit("/", 1)[0] + "/" + name
        with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            with contextlib.suppress(psycopg.Error):
                conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
        return url

    return make


@pytest.fixture(scope="session")
def db_url(make_database: Callable[[], str]) -> Iterator[str]:
    """The migrated test database; GEOPLAN_DATABASE_URL points at it for the whole session."""
    from geoplan.ingest.municipalities import refresh

    url = make_database()
    db.upgrade(url=url)
    with db.transaction(url) as conn:  # as `geoplan db up` does: the national register
        refresh(conn, LAYERS_DIR)
    old = os.environ.get("GEOPLAN_DATABASE_URL")
    os.environ["GEOPLAN_DATABASE_URL"] = url
    get_settings.cache_clear()
    yield url
    if old is None:
        os.environ.pop("GEOPLAN_DATABASE_URL", None)
    else:
        os.environ["GEOPLAN_DATABASE_URL"] = old
    get_settings.cache_clear()


def truncate_all(url: str) -> None:
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute(f"TRUNCATE {', '.join(APP_TABLES)} RESTART IDENTITY CASCADE")


@pytest.fixture
def empty_db(db_url: str) -> str:
    """The test database, emptied of all rows (schema kept)."""
    truncate_all(db_url)
    return db_url


@pytest.fixture
def loaded_db(empty_db: str) -> str:
    """The test database holding exactly the shipped layers."""
    from geoplan.ingest.shipped import load_layers

    with db.transaction(empty_db) as conn:
        load_layers(conn, LAYERS_DIR)
    return empty_db


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the test database (autocommit off; closed after the test)."""
    with psycopg.connect(db.conninfo(db_url)) as c:
        yield c


def table_counts(url: str) -> dict[str, int]:
    """Row count of each app table: tests compare these before and after a failing operation."""
    with psycopg.connect(db.conninfo(url)) as c:
        return {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in APP_TABLES}
