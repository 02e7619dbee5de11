"""The /ogc endpoints through FastAPI: links, media types, CRS headers, paging, errors, HTML."""

from __future__ import annotations

import re

import psycopg
import pytest

from geoplan.geo import crs as crs_registry
from geoplan.store import db


def rel(doc: dict, name: str) -> list[dict]:
    return [link for link in doc["links"] if link["rel"] == name]


def test_landing_page_links_to_everything_a_client_needs(client):
    r = client.get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    for name in ("self", "alternate", "service-desc", "service-doc", "conformance", "data"):
        assert rel(doc, name), name
    assert rel(doc, "service-desc")[0]["type"].startswith("application/vnd.oai.openapi+json")
    api = client.get(rel(doc, "service-desc")[0]["href"])
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert "/ogc/collections/{collection_id}/items" in api.json()["paths"]
    assert not any(p.startswith("/healthz") for p in api.json()["paths"])


def test_conformance_declares_core_crs_and_filter(client):
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    for part in ("features-1/1.0/conf/core", "features-1/1.0/conf/geojson", "conf/oas30",
                 "conf/html", "features-2/1.0/conf/crs", "features-3/1.0/conf/filter",
                 "features-3/1.0/conf/features-filter", "cql2/1.0/conf/cql2-text",
                 "cql2/1.0/conf/basic-cql2", "cql2/1.0/conf/basic-spatial-functions"):  # fmt: skip
        assert any(c.endswith(part) for c in classes), part


def test_collections_describe_extent_crs_and_links(client, loaded_db):
    doc = client.get("/ogc/collections").json()
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(by_id) == {
        "areas",
        "hubs",
        "premises",
        "boundary",
        "catchments",
        "plans",
        "land_use",
    }
    assert "SAMPLE" in by_id["premises"]["description"]
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon1, lat1, lon2, lat2 = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
            "ST_Extent(ST_Transform(geom, 4326)) e FROM hubs) s"
        ).fetchone()
    bbox = by_id["hubs"]["extent"]["spatial"]["bbox"][0]
    # the reprojected UTM box: it must contain every hub and stay close to them
    assert bbox[0] <= lon1 and bbox[1] <= lat1 and bbox[2] >= lon2 and bbox[3] >= lat2
    assert bbox == pytest.approx([lon1, lat1, lon2, lat2], abs=0.005)
    hubs = client.get("/ogc/collections/hubs").json()
    assert hubs["storageCrs"] == crs_registry.EPSG_25833
    assert crs_registry.CRS84 in hubs["crs"] and crs_registry.EPSG_25833 in hubs["crs"]
    assert rel(hubs, "items")[0]["href"].endswith("/ogc/collections/hubs/items")
    # loading the layers stores walking catchments around every hub: they enclose the hubs
    cbox = by_id["catchments"]["extent"]["spatial"]["bbox"][0]
    assert cbox[0] < lon1 and cbox[1] < lat1 and cbox[2] > lon2 and cbox[3] > lat2


def test_queryables_are_a_json_schema(client):
    r = client.get("/ogc/collections/premises/queryables")
    assert r.headers["content-type"] == "application/schema+json"
    props = r.json()["properties"]
    assert props["floor_area_m2"]["type"] == "number"
    assert props["uses"]["items"]["enum"][0] == "office"
    assert props["available_from"]["format"] == "date"
    assert props["geometry"]["format"] == "geometry-point"


def test_items_page_through_with_next_and_prev(client, loaded_db):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        total = conn.execute("SELECT count(*) FROM premises").fetchone()[0]
    url, seen, pages = "/ogc/collections/premises/items?limit=20", [], 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/geo+json"
        assert r.headers["content-crs"] == f"<{crs_registry.CRS84}>"
        doc = r.json()
        assert doc["type"] == "FeatureCollection" and doc["numberMatched"] == total
        assert doc["numberReturned"] == len(doc["features"]) and doc["timeStamp"].endswith("Z")
        assert rel(doc, "collection") and rel(doc, "self") and rel(doc, "alternate")
        if pages:
            assert rel(doc, "prev")
        seen += [f["id"] for f in doc["features"]]
        nxt = rel(doc, "next")
        url = nxt[0]["href"] if nxt else None
        pages += 1
    assert pages == -(-total // 20) and len(seen) == len(set(seen)) == total


def test_items_in_utm_with_filter_and_simple_filters(client):
    r = client.get(
        "/ogc/collections/premises/items",
        params={
            "crs": crs_registry.EPSG_25833,
            "filter": "floor_area_m2 > 500",
            "filter-lang": "cql2-text",
            "use": "office",
            "limit": 100,
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-crs"] == f"<{crs_registry.EPSG_25833}>"
    feats = r.json()["features"]
    assert feats and all(f["properties"]["floor_area_m2"] > 500 for f in feats)
    assert all("office" in f["properties"]["uses"] for f in feats)
    x, y = feats[0]["geometry"]["coordinates"]
    assert 250_000 < x < 300_000 and 6_600_000 < y < 6_700_000


def test_single_feature_and_404s(client):
    r = client.get("/ogc/collections/hubs/items/lorenskog_stasjon")
    if r.status_code == 404:  # the hub ids come from the shipped data; take any one
        first = client.get("/ogc/collections/hubs/items?limit=1").json()["features"][0]["id"]
        r = client.get(f"/ogc/collections/hubs/items/{first}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    feature = r.json()
    assert feature["type"] == "Feature" and rel(feature, "collection")
    missing = (
        "/ogc/collections/nope",
        "/ogc/collections/nope/items",
        "/ogc/collections/hubs/items/nope",
        "/ogc/collections/catchments/items/x",
    )
    for url in missing:
        r = client.get(url)
        assert r.status_code == 404, url
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "1,2,x,4"}, "bbox"),
        ({"bbox": "10,60,9,59"}, "bbox"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"crs": "EPSG:3857"}, "crs"),
        ({"filter": "floor_area_m2 >"}, "filter"),
        ({"filter": "nosuch = 1"}, "filter"),
        ({"filter": "address = 'x' OR 1=1 --"}, "filter"),
        ({"nosuch": "1"}, "nosuch"),
        ({"sortby": "-uses"}, "sortby"),
        ({"f": "xml"}, "f"),
    ],
)
def test_bad_parameters_are_400_problems_naming_the_field(client, params, field):
    r = client.get("/ogc/collections/premises/items", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 400 and any(e["field"] == field for e in body["errors"])


def test_huge_limit_is_clamped(client):
    doc = client.get("/ogc/collections/premises/items?limit=99999999999999999999").json()
    assert doc["numberReturned"] == doc["numberMatched"]


@pytest.mark.parametrize(
    "url",
    [
        "/ogc?f=html",
        "/ogc/conformance?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/premises?f=html",
        "/ogc/collections/premises/queryables?f=html",
        "/ogc/collections/premises/items?f=html&limit=5",
        "/ogc/collections/premises/items/sample-001?f=html",
    ],
)
def test_html_pages_render(client, url):
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text and "geoplan" in r.text
    # pages work offline: every script and stylesheet is served by geoplan itself
    for ref in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', r.text):
        assert not ref.startswith(("http:", "https:", "//")), ref
        if ref.startswith("/static/"):
            assert client.get(ref).status_code == 200, ref


def test_browsers_get_html_without_asking(client):
    r = client.get("/ogc/collections", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.headers["content-type"].startswith("text/html")
    assert "EKSEMPELDATA" in client.get("/ogc/collections/premises/items?f=html").text


def test_docs_and_openapi_document_problem_responses(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    items = spec["paths"]["/ogc/collections/{collection_id}/items"]["get"]["responses"]
    assert "application/problem+json" in items["400"]["content"]
    assert "422" not in items and "default" in items
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["postgis_version"]
