"""``GET /geocode`` on Elverum's real addresses: candidates, and problem+json for bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from geoplan.addresses import import_addresses
from geoplan.store import db
from tests.conftest import truncate_all
from tests.real_data import ELVERUM_ADDRESSES, load_boundary


@pytest.fixture(scope="module")
def client(db_url: str):
    truncate_all(db_url)
    load_boundary(db_url, "3420")
    with db.transaction(db_url) as conn:
        import_addresses(conn, ELVERUM_ADDRESSES)
    with TestClient(create_app(database_url=db_url)) as c:
        yield c


def test_exact_address(client) -> None:
    r = client.get("/geocode", params={"q": "Storgata 2, Elverum"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == "Storgata 2, Elverum"
    assert body["parsed"] == {
        "street": "storgata", "number": 2, "letter": None, "postnummer": [],
        "places": ["elverum"],
    }  # fmt: skip
    best = body["candidates"][0]
    assert (best["address"], best["match_kind"], best["score"]) == ("Storgata 2", "exact", 1.0)
    assert best["epsg25833"] == {"x": 313431.88, "y": 6754772.89}
    lon, lat = Transformer.from_crs(25833, 4326, always_xy=True).transform(313431.88, 6754772.89)
    assert (best["lon"], best["lat"]) == pytest.approx((lon, lat), abs=1e-7)
    assert best["kommunenummer"] == "3420" and best["postnummer"] == "2408"
    assert best["licence"] == "CC BY 4.0 © Kartverket" and "Kartverket" in best["source"]
    assert best["dataset_date"] == "2025-06-12" and best["sample"] is False


def test_variants_and_limit(client) -> None:
    r = client.get("/geocode", params={"q": "ANNE MOES GT. 20", "limit": 1})
    assert r.status_code == 200
    (only,) = r.json()["candidates"]
    assert only["address"] in ("Anne Moes gate 20A", "Anne Moes gate 20B")
    assert only["match_kind"] == "nearest_house_number"
    r = client.get("/geocode", params={"q": "Anne Moes gate, 2406 Elverum"})
    assert [c["match_kind"] for c in r.json()["candidates"]] == ["street_only"]


def test_unknown_address_is_an_empty_list(client) -> None:
    r = client.get("/geocode", params={"q": "Qwxzy 12"})
    assert r.status_code == 200 and r.json()["candidates"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "\x00;;"}, "q"),
        ({"q": "Storgata 2", "limit": 0}, "limit"),
        ({"q": "Storgata 2", "limit": 51}, "limit"),
        ({"q": "Storgata 2", "limit": "many"}, "limit"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(client, params: dict, field: str) -> None:
    r = client.get("/geocode", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and problem["title"] == "Invalid input"
    assert [e["field"] for e in problem["errors"]] == [field]


def test_documented_in_openapi(client) -> None:
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/geocode"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"q", "limit"}
    assert "application/problem+json" in op["responses"]["422"]["content"]
