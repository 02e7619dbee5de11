"""``/premises`` by place over HTTP: ``within`` (WKT, GeoJSON, another CRS), ``near``/``radius_m``,
links that keep the polygon, and the OpenAPI document describing the new parameters."""

from __future__ import annotations

import json

BOX = "POLYGON((10.94 59.92, 10.97 59.92, 10.97 59.935, 10.94 59.935, 10.94 59.92))"


def ids(response) -> set[str]:
    assert response.status_code == 200, response.text[:500]
    return {f["id"] for f in response.json()["features"]}


def test_within_and_near_narrow_the_search(client):
    everything = ids(client.get("/premises", params={"limit": 1000}))
    inside = ids(client.get("/premises", params={"within": BOX, "limit": 1000}))
    assert inside and inside < everything
    geojson = {
        "type": "Polygon",
        "coordinates": [
            [[10.94, 59.92], [10.97, 59.92], [10.97, 59.935], [10.94, 59.935], [10.94, 59.92]]
        ],
    }
    assert (
        ids(client.get("/premises", params={"within": json.dumps(geojson), "limit": 1000}))
        == inside
    )
    near = ids(client.get("/premises", params={"near": "10.9548,59.9267", "radius_m": 500}))
    wider = ids(client.get("/premises", params={"near": "10.9548,59.9267", "radius_m": 3000}))
    assert near and near < wider <= everything


def test_page_links_keep_the_polygon(client):
    r = client.get("/premises", params={"within": BOX, "limit": 1})
    body = r.json()
    assert body["numberMatched"] > 1
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    second = client.get(nxt.replace("http://testserver", ""))
    assert second.json()["numberMatched"] == body["numberMatched"]


def test_openapi_documents_the_place_parameters(client):
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/premises"]["get"]["parameters"]}
    assert {"within", "within_crs", "near", "radius_m"} <= set(params)
    assert params["radius_m"]["schema"]["maximum"] == 50_000
    assert "WKT" in params["within"]["description"]


def test_search_map_shows_the_polygon_and_keeps_it_in_the_form(client):
    r = client.get("/maps/premises", params={"within": BOX})
    assert r.status_code == 200
    assert "gp-within" in r.text and "10.94 59.92" in r.text
    assert "Tegn søkeområde" in r.text and "Søk i kartutsnittet" in r.text
    assert "leaflet.draw.js (vendored)" in r.text
