"""``/plans/land-use/premises`` and the plans/land_use OGC collections through FastAPI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geoplan.config import REPO_ROOT
from geoplan.store import db
from geoplan.zoning import PlanImportOptions, import_plan

PLAN = REPO_ROOT.parent / "shared" / "data" / "real" / "zoning" / "gml.avgr.1-pass.gml"


@pytest.fixture
def client(empty_db: str) -> Iterator[TestClient]:
    """A store holding one DiBK schema-example plan (synthetic coordinates: no region check,
    marked as sample) and one vacant premises inside its first land-use area."""
    with db.transaction(empty_db) as conn:
        import_plan(conn, PLAN, PlanImportOptions(check_region=False, sample=True))
        conn.execute(
            """INSERT INTO premises (id, address, uses, floor_area_m2, source, sample, geom)
               SELECT 'p1', 'Testveien 1 (eksempel)', ARRAY['office'], 120, 'test', true,
                      ST_PointOnSurface(geom) FROM land_use WHERE field_name = 'o_BTAN1'"""
        )
    with TestClient(create_app(database_url=empty_db)) as c:
        yield c


def test_premises_per_land_use_purpose(client):
    body = client.get("/plans/land-use/premises").json()
    assert (body["vacant_premises"], body["in_land_use"], body["outside_land_use"]) == (1, 1, 0)
    assert body["purposes"] == [
        {
            "code": 1169,
            "name": "Annen offentlig eller privat tjenesteyting",
            "main_purpose": "Bebyggelse og anlegg",
            "areas": 3,
            "area_m2": pytest.approx(body["purposes"][0]["area_m2"]),
            "premises": 1,
            "floor_area_m2": 120.0,
            "sample_premises": 1,
        }
    ]


def test_unknown_plan_is_404_problem(client):
    r = client.get("/plans/land-use/premises", params={"plan": "0000_nope"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert "no plan '0000_nope'" in r.json()["detail"]


def test_land_use_items_and_queryables(client):
    r = client.get("/ogc/collections/land_use/items", params={"filter": "code = 1169"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["numberMatched"] == 3
    assert {f["properties"]["field_name"] for f in doc["features"]} == {
        "o_BTAN1",
        "o_BTAN2",
        "o_BTAN3",
    }
    queryables = client.get("/ogc/collections/land_use/queryables").json()["properties"]
    assert queryables["code"]["type"] == "integer"
    plans = client.get("/ogc/collections/plans/items").json()
    assert plans["numberReturned"] == 1 and plans["features"][0]["properties"]["sample"] is True
