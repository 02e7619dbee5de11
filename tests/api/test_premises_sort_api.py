"""``/premises?sort=distance`` over HTTP (nearest to ``near`` first, each feature with its
``distance_m``; without ``near`` a 422 naming ``sort``), the search map's sort select, and the
looked-up filters (``kommune``, ``area``) answered on the asyncio read pool with the errors
they always had."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app

NEAR = "10.9548,59.9267"


@pytest.fixture
def client(loaded_db):
    with TestClient(create_app(database_url=loaded_db)) as c:
        yield c


def test_sort_by_distance_is_nearest_first_with_distance_m(client):
    r = client.get("/premises", params={"near": NEAR, "radius_m": 3000, "sort": "distance"})
    assert r.status_code == 200, r.text[:300]
    features = r.json()["features"]
    distances = [f["properties"]["distance_m"] for f in features]
    assert len(distances) > 3 and distances == sorted(distances) and distances[-1] <= 3000
    # paging keeps the order: the second page starts where the first ended
    first = client.get("/premises", params={"near": NEAR, "sort": "distance", "limit": 2})
    nxt = next(link["href"] for link in first.json()["links"] if link["rel"] == "next")
    assert "sort=distance" in nxt
    second = client.get(nxt.replace("http://testserver", "")).json()["features"]
    everything = client.get("/premises", params={"near": NEAR, "sort": "distance"}).json()
    assert [f["id"] for f in everything["features"][2:4]] == [f["id"] for f in second]
    # another order: no distance_m
    walk = client.get("/premises", params={"near": NEAR}).json()["features"]
    assert walk and all("distance_m" not in f["properties"] for f in walk)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"sort": "distance"}, "give near=lon,lat"),
        ({"sort": "distance", "use": "office", "kommune": "3222"}, "give near=lon,lat"),
        ({"sort": "nearest", "near": NEAR}, ""),  # not in the enum: FastAPI's 422
        ({"sort": "distance", "near": "91,200"}, ""),  # near itself is bad too
    ],
)
def test_a_bad_sort_is_a_422_naming_it(client, params, words):
    r = client.get("/premises", params=params)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    fields = {e["field"].split(".")[-1] for e in errors}
    assert fields & {"sort", "near"}
    if words:
        assert any(e["field"] == "sort" and words in e["message"] for e in errors)


def test_looked_up_filters_answer_and_refuse_as_before(client):
    ok = client.get("/premises", params={"kommune": "3222", "area": "sentrum"})
    assert ok.status_code == 200 and ok.json()["numberMatched"] > 0
    bad = client.get("/premises", params={"area": "atlantis", "kommune": "32x2"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"area", "kommune"}
    assert "unknown focus area 'atlantis'" in bad.text and "sentrum" in bad.text


def test_openapi_documents_the_distance_sort(client):
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/premises"]["get"]["parameters"]}
    assert "distance" in params["sort"]["schema"]["enum"]
    assert "near" in params["sort"]["description"]
    props = spec["components"]["schemas"]["PremisesOutProperties"]["properties"]
    assert "sort=distance" in props["distance_m"]["description"]


def _page(response) -> str:
    """The map page with its panel's HTML as the browser builds it (the page script carries
    the panel as a JSON string)."""
    assert response.status_code == 200, response.text[:300]
    text = response.text
    return text.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')


def test_search_map_offers_the_distance_sort_only_with_a_point(client):
    plain = _page(client.get("/maps/premises"))
    select = re.search(r'<select id="gp-sort" name="sort">(.*?)</select>', plain).group(1)
    assert 'value="walk" selected' in select and 'value="distance"' not in select
    assert '<label for="gp-sort">Sortering</label>' in plain
    near = _page(client.get("/maps/premises", params={"near": NEAR, "sort": "distance"}))
    assert '<option value="distance" selected>Nærmest søkepunktet</option>' in near
    refused = client.get("/maps/premises", params={"sort": "distance"})
    assert refused.status_code == 422 and "sort" in refused.text
