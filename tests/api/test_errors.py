"""Errors → statuses from one table (``api/errors.py``): each domain class's answer, the 412
with its ETag, and a database outage as 503 with ``Retry-After`` against a real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool, PoolTimeout

from api.app import create_app
from api.errors import PROBLEMS, problem_for
from geoplan.assessment.policy import PolicyError
from geoplan.auth import keys
from geoplan.config import get_settings
from geoplan.errors import GeoplanError, NotFoundError, ValidationError
from geoplan.geo.region import NoBoundaryError
from geoplan.ingest.validation import RowError, RowValidationError
from geoplan.premises import StaleVersionError
from geoplan.store import db
from geoplan.store.cluster import LocalDBError
from tests.conftest import free_port

PROBLEM = "application/problem+json"
SITE = {"type": "Point", "coordinates": [10.9548, 59.9267]}


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ValidationError("bad", "x"), 422),
        (RowValidationError("f.csv", [RowError(2, "x", "bad")]), 422),
        (NotFoundError("none"), 404),
        (StaleVersionError("p-1", 1, 2), 412),
        (PolicyError("policy file not found", "policy_file"), 500),
        (NoBoundaryError(), 503),
        (db.DatabaseUnavailableError("down"), 503),
        (psycopg.OperationalError("connection refused"), 503),
        (PoolTimeout("couldn't get a connection"), 503),
        (db.DatabaseError("schema too old"), 500),
        (LocalDBError("initdb failed"), 500),
        (GeoplanError("something else"), 400),
        (RuntimeError("a bug"), 500),
    ],
)
def test_every_error_class_has_its_status(exc, status):
    assert problem_for(exc).status == status


def test_the_table_lists_every_domain_error_class():
    listed = set(PROBLEMS)
    for cls in (ValidationError, NotFoundError, StaleVersionError, PolicyError, NoBoundaryError):
        assert cls in listed
    for cls in (db.DatabaseError, db.DatabaseUnavailableError, LocalDBError, GeoplanError):
        assert cls in listed


# -- over HTTP ----------------------------------------------------------------------------------
@pytest.fixture
def write_key(empty_db) -> str:
    with db.transaction(empty_db) as conn:
        key, _ = keys.create_key(conn, "broker-as", "write")
    return key


def test_stale_version_is_412_with_the_current_etag(loaded_db):
    with db.transaction(loaded_db) as conn:
        key, _ = keys.create_key(conn, "broker-as", "write")
    h = {"Authorization": f"Bearer {key}"}
    feature = {
        "type": "Feature",
        "geometry": SITE,
        "properties": {"address": "Festplassen 1", "uses": ["office"], "floor_area_m2": 250},
    }
    with TestClient(create_app(database_url=loaded_db)) as client:
        pid = client.post("/premises", json=feature, headers=h).json()["id"]
        patch = {"properties": {"rent_nok_m2_year": 1750}}
        assert client.patch(f"/premises/{pid}", json=patch, headers=h).status_code == 200
        stale = {**h, "If-Match": 'W/"1"'}
        for r in (
            client.patch(f"/premises/{pid}", json=patch, headers=stale),
            client.put(f"/premises/{pid}", json=feature, headers=stale),
            client.delete(f"/premises/{pid}", headers=stale),
        ):
            assert r.status_code == 412
            assert r.headers["content-type"] == PROBLEM
            assert r.headers["etag"] == 'W/"2"'
            assert r.json() == {
                "type": "about:blank",
                "title": "Precondition Failed",
                "status": 412,
                "detail": f"premises {pid!r} is at version 2, not 1: it was changed since you "
                "read it; fetch it again and re-apply your change",
                "current_version": 2,
            }


def test_no_boundary_loaded_is_503(empty_db, write_key):
    body = {"site": SITE, "use": "office", "floor_area_m2": 2500}
    with TestClient(create_app(database_url=empty_db)) as client:
        r = client.post("/assessments", json=body, headers={"Authorization": f"Bearer {write_key}"})
    assert r.status_code == 503 and r.headers["content-type"] == PROBLEM
    assert r.json()["detail"] == str(NoBoundaryError())
    assert "retry-after" not in r.headers  # nobody can say when `geoplan load` will run


@pytest.fixture
def broken_policy(monkeypatch, tmp_path):
    bad = tmp_path / "policy.toml"
    bad.write_text("this is = = not toml", encoding="utf-8")
    monkeypatch.setenv("GEOPLAN_POLICY_FILE", str(bad))
    get_settings.cache_clear()
    yield bad
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_broken_policy_file_is_the_servers_fault_500_without_its_path(loaded_db, broken_policy):
    with db.transaction(loaded_db) as conn:
        key, _ = keys.create_key(conn, "broker-as", "write")
    body = {"site": SITE, "use": "office", "floor_area_m2": 2500}
    with TestClient(create_app(database_url=loaded_db)) as client:
        r = client.post("/assessments", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    assert str(broken_policy) not in r.text and "errors" not in r.json()


def test_a_pool_timeout_on_an_unreachable_database_is_503():
    """psycopg_pool's own PoolTimeout, from a real pool that cannot reach its server."""
    pool = ConnectionPool(
        f"postgresql://geoplan@127.0.0.1:{free_port()}/nothing", min_size=1, open=False
    )
    pool.open(wait=False)
    try:
        with pytest.raises(PoolTimeout) as exc:
            pool.getconn(timeout=0.5)
    finally:
        pool.close()
    assert problem_for(exc.value) is problem_for(db.DatabaseUnavailableError("down"))


def test_database_outage_is_503_with_retry_after(make_database):
    """PostgreSQL stops serving the app's database mid-life: connections are cut and new ones
    refused. The next request is a 503 problem with Retry-After, not a 500."""
    url = make_database()
    db.upgrade(url=url)
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with TestClient(create_app(database_url=url)) as client:
        assert client.get("/healthz").status_code == 200
        with psycopg.connect(db.conninfo(admin_url), autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        r = client.get("/healthz")
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["retry-after"] == str(db.DatabaseUnavailableError.retry_after_s)
        assert r.json() == {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "The database is not reachable right now; try again shortly.",
        }
    # the CLI's road to the same outage: db.connect raises the outage class (one line, exit 1)
    with pytest.raises(db.DatabaseUnavailableError, match="cannot connect to the database"):
        db.connect(url)
