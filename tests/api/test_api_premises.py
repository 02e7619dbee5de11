"""``/premises`` over HTTP: search, reads, authenticated writes, ETags, problem+json errors."""

from __future__ import annotations

import pytest

from geoplan.auth import keys
from geoplan.store import db
from tests.conftest import table_counts
from tests.hostile.test_place_filters import ring

LORENSKOG_HUS = [10.9548, 59.9267]
LORENSKOG_ST = [10.944995, 59.945007]
PROBLEM = "application/problem+json"


@pytest.fixture
def api_keys(loaded_db) -> dict[str, str]:
    """Plaintext keys: one with write scope, one admin, one revoked."""
    with db.transaction(loaded_db) as conn:
        write, _ = keys.create_key(conn, "broker-as", "write")
        admin, _ = keys.create_key(conn, "kommunen", "admin")
        revoked, row = keys.create_key(conn, "old", "write")
        keys.revoke_key(conn, row.id)
    return {"write": write, "admin": admin, "revoked": revoked}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def feature(coords=LORENSKOG_HUS, **props) -> dict:
    properties = {
        "address": "Festplassen 1, 1473 Lørenskog",
        "uses": ["office", "retail"],
        "floor_area_m2": 250,
        "rent_nok_m2_year": 2000,
        "available_from": "2027-01-15",
    }
    properties.update(props)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": properties,
    }


def fields(response) -> set[str]:
    assert response.headers["content-type"].startswith(PROBLEM)
    return {e["field"] for e in response.json()["errors"]}


# -- search -------------------------------------------------------------------------------------
def test_search_returns_a_geojson_feature_collection(client):
    r = client.get("/premises", params={"limit": 10})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 45 and body["numberReturned"] == 10
    f = body["features"][0]
    lon, lat = f["geometry"]["coordinates"]
    assert 10.8 < lon < 11.1 and 59.8 < lat < 60.0
    p = f["properties"]
    assert p["nearest_hub_id"] and p["nearest_hub_name"] and p["walk_min"] > 0
    assert p["walk_method"] == "straight_line"
    assert p["sample"] is True and p["source"].startswith("SAMPLE DATA")
    walks = [x["properties"]["walk_min"] for x in body["features"]]
    assert walks == sorted(walks)


def test_search_links_page_through_all_results(client):
    seen, url, pages = [], "/premises?limit=20&sort=area", 0
    while url:
        body = client.get(url).json()
        seen += [f["id"] for f in body["features"]]
        rels = {link["rel"]: link["href"] for link in body["links"]}
        assert "self" in rels
        if pages:
            assert "prev" in rels
        url = rels.get("next")
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 45


def test_search_filters(client):
    r = client.get(
        "/premises",
        params=[("use", "office"), ("use", "retail"), ("min_area_m2", 200), ("limit", 1000)],
    )
    props = [f["properties"] for f in r.json()["features"]]
    assert props and all({"office", "retail"} & set(p["uses"]) for p in props)
    assert all(p["floor_area_m2"] >= 200 for p in props)
    comma = client.get("/premises", params={"use": "office,retail", "min_area_m2": 200})
    assert comma.json()["numberMatched"] == len(props)
    hub = client.get("/premises", params={"hub": "visperud_tbane", "max_walk_min": 8}).json()
    assert hub["numberMatched"] > 0
    assert all(f["properties"]["hub_walk_min"] <= 8 for f in hub["features"])
    area = client.get("/premises", params={"area": "visperud", "sort": "rent"}).json()
    assert area["numberMatched"] > 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"use": "spaceport"}, "use"),
        ({"area": "atlantis"}, "area"),
        ({"hub": "nowhere"}, "hub"),
        ({"min_area_m2": -1}, "min_area_m2"),
        ({"max_area_m2": "nan"}, "max_area_m2"),
        ({"max_rent_nok_m2": "1e999"}, "max_rent_nok_m2"),
        ({"max_walk_min": "ten"}, "max_walk_min"),
        ({"available_by": "2027-02-30"}, "available_by"),
        ({"sort": "price"}, "sort"),
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": 10**30}, "offset"),
    ],
)
def test_search_bad_parameters_are_422_naming_the_field(client, params, field):
    r = client.get("/premises", params=params)
    assert r.status_code == 422
    assert field in fields(r)


def test_the_search_and_its_map_read_their_parameters_alike(client):
    # Both routes read the filters with geoplan's own parser, not FastAPI's: a flag that is
    # neither yes nor no, and more text than a URL may carry, are refused on both (the map
    # took "maybe" for no); a decimal comma and an empty field are read alike on both.
    for path in ("/premises", "/maps/premises"):
        for params, field in (
            ({"loading_dock": "maybe"}, "loading_dock"),
            ({"include_withdrawn": "2"}, "include_withdrawn"),
            ({"within": ring(200)}, "within"),  # valid, but 4 200 characters
        ):
            r = client.get(path, params=params)
            assert r.status_code == 422, (path, params)
            assert field in fields(r), (path, params)
    typed = client.get("/premises", params={"min_area_m2": "100", "loading_dock": "no"}).json()
    comma = client.get("/premises", params={"min_area_m2": "100,0", "loading_dock": "false"})
    empty = client.get("/premises", params={"min_area_m2": "100", "max_area_m2": ""})
    assert comma.status_code == 200 and empty.status_code == 200
    assert 0 < typed["numberMatched"] == comma.json()["numberMatched"]
    assert typed["numberMatched"] == empty.json()["numberMatched"]
    assert len(ring(180)) < 4000
    assert client.get("/premises", params={"within": ring(180)}).status_code == 200


# -- reads --------------------------------------------------------------------------------------
def test_get_one_with_etag_and_404(client):
    r = client.get("/premises/sample-001")
    assert r.status_code == 200 and r.headers["etag"] == 'W/"1"'
    assert r.json()["properties"]["sample"] is True
    # columns derived for the OGC read path (migration 0002) are no listing attributes
    assert not {"lonlat", "geom", "feature"} & set(r.json()["properties"])
    missing = client.get("/premises/p-missing")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    assert client.get("/premises/p-missing/history").status_code == 404


# -- auth ---------------------------------------------------------------------------------------
def test_writes_need_a_valid_key(client, api_keys, loaded_db):
    before = table_counts(loaded_db)
    r = client.post("/premises", json=feature())
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"].startswith(PROBLEM)
    for bad in ("gp_not-a-real-key", api_keys["revoked"], "x" * 5000):
        r = client.post("/premises", json=feature(), headers=auth(bad))
        assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    r = client.post(
        "/premises", json=feature(), headers={"Authorization": f"Basic {api_keys['write']}"}
    )
    assert r.status_code == 401
    for method in ("put", "patch", "delete"):
        r = client.request(method.upper(), "/premises/sample-001", json=feature())
        assert r.status_code == 401
    assert table_counts(loaded_db) == before
    assert client.get("/premises").status_code == 200  # reads stay open


def test_only_admin_keys_may_verify(client, api_keys, loaded_db):
    """A broker's (write) key cannot vouch for a listing: 403; its changes clear `verified`."""
    before = table_counts(loaded_db)
    r = client.post("/premises", json=feature(verified=True), headers=auth(api_keys["write"]))
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    assert "admin" in r.json()["detail"]
    assert table_counts(loaded_db) == before
    r = client.post("/premises", json=feature(verified=True), headers=auth(api_keys["admin"]))
    assert r.status_code == 201 and r.json()["properties"]["verified"] is True
    # a broker changes only its own listings (tests/api/test_ownership.py): the municipality
    # verifies the broker's listing, and the broker then changes it
    pid = client.post("/premises", json=feature(), headers=auth(api_keys["write"])).json()["id"]
    r = client.patch(
        f"/premises/{pid}", json={"properties": {"verified": True}}, headers=auth(api_keys["admin"])
    )
    assert r.status_code == 200 and r.json()["properties"]["verified"] is True
    r = client.patch(
        f"/premises/{pid}", json={"properties": {"verified": True}}, headers=auth(api_keys["write"])
    )
    assert r.status_code == 403
    r = client.patch(
        f"/premises/{pid}",
        json={"properties": {"rent_nok_m2_year": 1}},
        headers=auth(api_keys["write"]),
    )
    assert r.status_code == 200 and r.json()["properties"]["verified"] is False


def test_security_scheme_is_in_openapi(client):
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    [(name, scheme)] = schemes.items()
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert spec["paths"]["/premises"]["post"]["security"] == [{name: []}]
    assert "security" not in spec["paths"]["/premises"]["get"]


# -- writes -------------------------------------------------------------------------------------
def test_post_creates_201_with_location_etag_and_provenance(client, api_keys):
    r = client.post("/premises", json=feature(), headers=auth(api_keys["write"]))
    assert r.status_code == 201, r.text
    body = r.json()
    pid = body["id"]
    assert r.headers["location"].endswith(f"/premises/{pid}")
    assert r.headers["etag"] == 'W/"1"'
    p = body["properties"]
    assert p["source"] == "geoplan API (key: broker-as)"
    assert p["sample"] is False and p["verified"] is False
    assert p["nearest_hub_id"] == "lorenskog_sentrum_terminal"
    assert client.get(r.headers["location"]).json()["properties"]["address"] == p["address"]
    history = client.get(f"/premises/{pid}/history").json()["history"]
    assert [h["action"] for h in history] == ["create"]
    assert history[0]["actor"].startswith("broker-as") and history[0]["before"] is None


def test_post_with_a_crs_member_or_parameter(client, api_keys):
    body = feature(coords=[273962.74, 6650157.51])
    body["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25833"}}
    r = client.post("/premises", json=body, headers=auth(api_keys["write"]))
    assert r.status_code == 201, r.text
    lon, lat = r.json()["geometry"]["coordinates"]
    assert (lon, lat) == pytest.approx(tuple(LORENSKOG_HUS), abs=1e-6)
    r = client.post(
        "/premises",
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/25833"},
        json=feature(coords=[273962.74, 6650157.51]),
        headers=auth(api_keys["write"]),
    )
    assert r.status_code == 201
    r = client.post(
        "/premises",
        params={"crs": "EPSG:4326"},
        json=body,
        headers=auth(api_keys["write"]),
    )
    assert r.status_code == 422 and "crs" in fields(r)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (feature(coords=[10.7336, 59.9119]), "geometry"),  # Oslo, outside Lørenskog
        (feature(floor_area_m2=0), "properties.floor_area_m2"),
        (feature(floor_area_m2=-3), "properties.floor_area_m2"),
        (feature(uses=["casino"]), "properties.uses.0"),
        (feature(uses=[]), "properties.uses"),
        (feature(rent_nok_m2_year=-1), "properties.rent_nok_m2_year"),
        (feature(available_from="2027-13-01"), "properties.available_from"),
        (feature(address=""), "properties.address"),
        (feature(address="Gate\u0000 1"), "address"),
        (feature(colour="red"), "properties.colour"),
        ({**feature(), "geometry": {"type": "Polygon", "coordinates": []}}, "geometry.type"),
        ({**feature(), "geometry": {"type": "Point", "coordinates": [1]}}, "geometry.coordinates"),
        ({**feature(), "geometry": None}, "geometry"),
        ({**feature(), "type": "FeatureCollection"}, "type"),
    ],
)
def test_post_validation_names_each_bad_field(client, api_keys, loaded_db, body, field):
    before = table_counts(loaded_db)
    r = client.post("/premises", json=body, headers=auth(api_keys["write"]))
    assert r.status_code == 422, r.text
    assert field in fields(r)
    assert table_counts(loaded_db) == before


def test_post_names_every_bad_field_at_once(client, api_keys):
    body = feature(floor_area_m2=0, rent_nok_m2_year=-5, uses=["casino"])
    r = client.post("/premises", json=body, headers=auth(api_keys["write"]))
    assert {
        "properties.floor_area_m2",
        "properties.rent_nok_m2_year",
        "properties.uses.0",
    } <= fields(r)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 59.9]}}',
        b'{"type":"Feature","geometry":{"type":"Point","coordinates":[1e999,1]},"properties":{}}',
        b"[]",
        b'"Feature"',
        b"",
    ],
)
def test_malformed_bodies_are_4xx_problems(client, api_keys, raw):
    r = client.post(
        "/premises",
        content=raw,
        headers={**auth(api_keys["write"]), "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith(PROBLEM)


def test_patch_with_if_match_and_stale_412(client, api_keys):
    pid = client.post("/premises", json=feature(), headers=auth(api_keys["write"])).json()["id"]
    h = auth(api_keys["write"])
    r = client.patch(
        f"/premises/{pid}",
        json={"properties": {"rent_nok_m2_year": 1750}},
        headers={**h, "If-Match": 'W/"1"'},
    )
    assert r.status_code == 200 and r.headers["etag"] == 'W/"2"'
    assert r.json()["properties"]["rent_nok_m2_year"] == 1750
    assert r.json()["properties"]["address"] == "Festplassen 1, 1473 Lørenskog"
    stale = client.patch(
        f"/premises/{pid}",
        json={"properties": {"rent_nok_m2_year": 1}},
        headers={**h, "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412 and stale.headers["content-type"].startswith(PROBLEM)
    assert stale.json()["current_version"] == 2
    assert client.get(f"/premises/{pid}").json()["properties"]["rent_nok_m2_year"] == 1750
    # a strong tag with the same number and "*" also work; a malformed If-Match is 422
    ok = client.patch(
        f"/premises/{pid}",
        json={"properties": {"contact": "a@b.no"}},
        headers={**h, "If-Match": '"2"'},
    )
    assert ok.status_code == 200
    star = client.patch(
        f"/premises/{pid}",
        json={"properties": {"contact": "c@d.no"}},
        headers={**h, "If-Match": "*"},
    )
    assert star.status_code == 200 and star.headers["etag"] == 'W/"4"'
    bad = client.patch(f"/premises/{pid}", json={}, headers={**h, "If-Match": "yesterday"})
    assert bad.status_code == 422 and "if-match" in fields(bad)
    # no If-Match: allowed (last write wins), documented
    assert client.patch(f"/premises/{pid}", json={}, headers=h).status_code == 200


def test_patch_moving_the_point_re_annotates(client, api_keys):
    h = auth(api_keys["write"])
    created = client.post("/premises", json=feature(), headers=h).json()
    assert created["properties"]["nearest_hub_id"] == "lorenskog_sentrum_terminal"
    moved = client.patch(
        f"/premises/{created['id']}",
        json={"geometry": {"type": "Point", "coordinates": LORENSKOG_ST}},
        headers=h,
    ).json()
    assert moved["properties"]["nearest_hub_id"] == "lorenskog_st"
    found = client.get("/premises", params={"max_walk_min": 1, "limit": 1000}).json()
    assert created["id"] in [f["id"] for f in found["features"]]


def test_put_replaces_and_accepts_a_fetched_feature_back(client, api_keys):
    h = auth(api_keys["write"])
    created = client.post("/premises", json=feature(contact="x@y.no"), headers=h)
    pid, etag = created.json()["id"], created.headers["etag"]
    fetched = client.get(f"/premises/{pid}").json()
    fetched["properties"]["floor_area_m2"] = 999
    r = client.put(f"/premises/{pid}", json=fetched, headers={**h, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["floor_area_m2"] == 999
    assert r.json()["properties"]["contact"] == "x@y.no"
    slim = client.put(f"/premises/{pid}", json=feature(), headers=h).json()
    assert slim["properties"]["contact"] is None  # PUT replaces
    assert client.put("/premises/p-missing", json=feature(), headers=h).status_code == 404
    r = client.put(f"/premises/{pid}", json={"properties": {}}, headers=h)
    assert r.status_code == 422


def test_delete_withdraws_and_keeps_history(client, api_keys):
    h = auth(api_keys["write"])
    pid = client.post("/premises", json=feature(), headers=h).json()["id"]
    r = client.delete(f"/premises/{pid}", headers={**h, "If-Match": 'W/"1"'})
    assert r.status_code == 200 and r.json()["properties"]["status"] == "withdrawn"
    assert r.headers["etag"] == 'W/"2"'
    assert client.get(f"/premises/{pid}").json()["properties"]["status"] == "withdrawn"
    ids = [f["id"] for f in client.get("/premises", params={"limit": 1000}).json()["features"]]
    assert pid not in ids
    history = client.get(f"/premises/{pid}/history").json()["history"]
    assert [e["action"] for e in history] == ["create", "withdraw"]
    assert history[1]["before"]["status"] == "available"
    assert history[1]["after"]["status"] == "withdrawn"
    assert client.delete("/premises/p-missing", headers=h).status_code == 404
    assert client.delete(f"/premises/{pid}", headers={**h, "If-Match": 'W/"1"'}).status_code == 412


def test_keys_are_never_in_the_database_or_responses(client, api_keys, loaded_db):
    r = client.post("/premises", json=feature(), headers=auth(api_keys["write"]))
    with db.connect(loaded_db) as conn:
        dump = conn.execute(
            "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM api_keys) t"
        ).fetchone()[0]
        history = conn.execute(
            "SELECT string_agg(h::text, ' ') FROM premises_history h"
        ).fetchone()[0]
    for plaintext in api_keys.values():
        assert plaintext not in dump and plaintext not in history and plaintext not in r.text


def test_body_that_is_not_json_is_named_body(client, api_keys):
    r = client.post(
        "/premises",
        content=b"{not json",
        headers={**auth(api_keys["write"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body"]
