"""Conditional requests: ETag / Last-Modified from the data version, 304s, and what changes them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.conditional import COLLECTION_LAYERS, RULES
from geoplan.auth import keys
from geoplan.config import Settings
from geoplan.ogc import COLLECTIONS
from geoplan.store import db

ITEMS = "/ogc/collections/premises/items?limit=5"
HUBS = "/ogc/collections/hubs/items"


@pytest.fixture
def write_key(loaded_db: str) -> str:
    with db.transaction(loaded_db) as conn:
        key, _ = keys.create_key(conn, "megler", "write")
    return key


def age_the_data(url: str, seconds: int = 5) -> None:
    """Pretend the last writes were ``seconds`` ago (Last-Modified is only sent for changes
    at least a second old)."""
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute(
            "UPDATE data_versions SET changed_at = clock_timestamp() - %s * interval '1 second'",
            (seconds,),
        )


def revalidate(client: TestClient, path: str, **headers: str):
    first = client.get(path, headers=headers)
    assert first.status_code == 200, first.text
    again = client.get(path, headers={**headers, "If-None-Match": first.headers["etag"]})
    return first, again


@pytest.mark.parametrize(
    "path",
    [
        ITEMS,
        "/ogc/collections/premises/items/sample-001",
        "/ogc/collections/premises",
        "/ogc/collections",
        "/ogc/collections/areas/items?f=html",
        "/ogc",
        "/",
        "/maps/premises?use=office",
        "/maps/areas/visperud",
        "/premises?limit=3",
        "/proximity/coverage",
        # the routes main gained with tiles, municipalities, WCAG pages, geocoding and zoning
        "/maps/premises/sample-001",
        "/maps/overview?kommune=3222",
        "/tilgjengelighet",
        "/geocode?q=Storgata%202",
        "/plans/land-use/premises",
        "/ogc/collections/plans/items",
        "/ogc/collections/land_use/items",
        "/ogc/collections/premises/tiles",
        "/ogc/collections/premises/tiles/WebMercatorQuad",
        "/ogc/collections/areas/tiles/WebMercatorQuad/tilejson.json",
        "/ogc/tileMatrixSets/WebMercatorQuad",
    ],
)
def test_a_revalidation_is_answered_304_without_a_body(client, path):
    first, again = revalidate(client, path)
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")  # strong
    assert first.headers["cache-control"] == "max-age=60"
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == "max-age=60"


def test_head_gets_the_same_304(client):
    first = client.get(ITEMS)
    r = client.head(ITEMS, headers={"If-None-Match": first.headers["etag"]})
    assert r.status_code == 304 and r.headers["etag"] == first.headers["etag"]


def test_a_write_through_the_api_changes_what_it_touched_and_nothing_else(client, write_key):
    items, hubs = client.get(ITEMS), client.get(HUBS)
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [10.9548, 59.9267]},
        "properties": {"address": "Festplassen 1", "uses": ["office"], "floor_area_m2": 250},
    }
    r = client.post("/premises", json=feature, headers={"Authorization": f"Bearer {write_key}"})
    assert r.status_code == 201, r.text
    # the very next request of this worker sees it: no stale 304
    after = client.get(ITEMS, headers={"If-None-Match": items.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != items.headers["etag"]
    assert after.json()["numberMatched"] == items.json()["numberMatched"] + 1
    # hubs were not written: still 304
    assert client.get(HUBS, headers={"If-None-Match": hubs.headers["etag"]}).status_code == 304


def test_a_write_by_another_process_reaches_the_worker(client, loaded_db):
    hubs = client.get(HUBS)
    assert client.get(HUBS, headers={"If-None-Match": hubs.headers["etag"]}).status_code == 304
    with psycopg.connect(db.conninfo(loaded_db)) as conn:  # like `geoplan import-gtfs`
        conn.execute("UPDATE hubs SET name = name || ' (ny)' WHERE id = 'lorenskog_st'")
    # the commit's notification reaches the worker's listener within moments
    deadline = time.monotonic() + 5
    while True:
        r = client.get(HUBS, headers={"If-None-Match": hubs.headers["etag"]})
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == 200
    assert any(f["properties"]["name"].endswith("(ny)") for f in r.json()["features"])


def test_last_modified_and_if_modified_since(client, loaded_db):
    age_the_data(loaded_db)
    first = client.get(ITEMS)
    last_modified = parsedate_to_datetime(first.headers["last-modified"])
    assert datetime.now(UTC) - timedelta(seconds=10) < last_modified < datetime.now(UTC)
    same = client.get(ITEMS, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert same.status_code == 304
    earlier = format_datetime(last_modified - timedelta(seconds=2), usegmt=True)
    assert client.get(ITEMS, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    r = client.get(
        ITEMS,
        headers={"If-None-Match": '"other"', "If-Modified-Since": first.headers["last-modified"]},
    )
    assert r.status_code == 200
    assert client.get(ITEMS, headers={"If-Modified-Since": "not a date"}).status_code == 200
    # a fresh write: no Last-Modified until its second is over, and never a stale 304
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        conn.execute("UPDATE premises SET description = description")
    deadline = time.monotonic() + 5
    while True:
        r = client.get(ITEMS, headers={"If-Modified-Since": first.headers["last-modified"]})
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == 200


def test_the_tag_names_the_content_coding_and_matches_across_codings(client):
    gz = client.get(ITEMS, headers={"Accept-Encoding": "gzip"})
    plain = client.get(ITEMS, headers={"Accept-Encoding": "identity"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    r = client.get(
        ITEMS, headers={"Accept-Encoding": "identity", "If-None-Match": gz.headers["etag"]}
    )
    assert r.status_code == 304
    r = client.get(ITEMS, headers={"If-None-Match": f'"x", W/{plain.headers["etag"]}'})
    assert r.status_code == 304  # weak comparison, one of a list


def test_what_decides_the_tag(client):
    base = client.get(ITEMS).headers["etag"]
    assert client.get(ITEMS + "&offset=1").headers["etag"] != base
    html = client.get(ITEMS, headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["etag"] != base
    assert "accept" in html.headers["vary"].lower()


def test_the_host_is_part_of_the_tag(loaded_db):
    hosts = "testserver,kart.example.no"  # both trusted (api/request_guard.py)
    settings = Settings(database_url=loaded_db, trusted_hosts=hosts)
    with TestClient(create_app(settings)) as c:
        base = c.get(ITEMS).headers["etag"]
        other_host = c.get(ITEMS, headers={"Host": "kart.example.no"})
    assert other_host.headers["etag"] != base  # its links name another host


def test_errors_and_the_premises_record_keep_their_own_headers(client):
    r = client.get("/ogc/collections/premises/items/nope")
    assert r.status_code == 404 and "etag" not in r.headers
    assert "etag" not in client.get("/ogc/collections/nope/items").headers
    record = client.get("/premises/sample-001")
    assert record.headers["etag"] == 'W/"1"'  # its version, for If-Match on writes
    assert "cache-control" not in record.headers


def test_the_settings_are_part_of_the_tag(loaded_db):
    with TestClient(create_app(Settings(database_url=loaded_db))) as c:
        a = c.get("/").headers["etag"]
    with TestClient(create_app(Settings(database_url=loaded_db, walk_speed_kmh=4.0))) as c:
        b = c.get("/").headers["etag"]
    assert a != b


def test_every_collection_has_its_layer_and_every_rule_reads_known_layers():
    from geoplan.store.data_versions import LAYERS

    assert set(COLLECTION_LAYERS) == set(COLLECTIONS)
    for rule in RULES:
        if not callable(rule.layers):
            assert set(rule.layers) <= set(LAYERS), rule.pattern


# -- vector tiles: their own tag (the hash of the bytes), named by coding ------------------------
def _a_big_tile(client: TestClient, loaded_db: str) -> str:
    """A tile above the compression threshold (1 KB): the municipality's boundary or areas."""
    from api.http_headers import MINIMUM_SIZE
    from tests.api.test_tiles_api import centre, tile_of, url

    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = centre(conn)
    for collection in ("boundary", "areas", "catchments"):
        for z in (10, 11, 12, 13):
            tile = url(collection, z, *tile_of(lon, lat, z))
            if (
                len(client.get(tile, headers={"Accept-Encoding": "identity"}).content)
                > MINIMUM_SIZE
            ):
                return tile
    raise AssertionError("no tile of the test data is above the compression threshold")


def test_a_compressed_tile_names_its_coding_and_revalidates(client, loaded_db):
    tile = _a_big_tile(client, loaded_db)
    plain = client.get(tile, headers={"Accept-Encoding": "identity"})
    gz = client.get(tile, headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == gz.status_code == 200
    assert "content-encoding" not in plain.headers and gz.headers["content-encoding"] == "gzip"
    assert gz.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert gz.headers["cache-control"] == "public, max-age=60"  # the tiles' own setting
    again = client.get(
        tile, headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["etag"]}
    )
    assert again.status_code == 304 and again.headers["etag"] == gz.headers["etag"]
    bare = client.get(tile, headers={"If-None-Match": plain.headers["etag"]})
    assert bare.status_code == 304 and bare.headers["etag"] == plain.headers["etag"]
    assert client.get(tile, headers={"If-None-Match": '"other-gzip"'}).status_code == 200


# -- with a read replica: the versions the replica has, never newer than the page ----------------
def test_with_a_read_url_the_versions_are_read_per_request(loaded_db):
    # the read URL names the primary itself (a "replica" that has replayed everything): what
    # differs is that the versions are read per request where the pages are read, not kept
    with TestClient(create_app(database_url=loaded_db, read_database_url=loaded_db)) as c:
        hubs = c.get(HUBS)
        assert c.get(HUBS, headers={"If-None-Match": hubs.headers["etag"]}).status_code == 304
        with psycopg.connect(db.conninfo(loaded_db)) as conn:
            conn.execute("UPDATE hubs SET name = name")
        # the very next request sees it: no notification to wait for
        r = c.get(HUBS, headers={"If-None-Match": hubs.headers["etag"]})
        assert r.status_code == 200 and r.headers["etag"] != hubs.headers["etag"]


def test_a_page_the_replica_cannot_serve_gets_no_validator(loaded_db):
    # a replica that is down: the pages come from the primary, newer than anything the replica
    # could tell, so no tag (and never a 304) rather than one naming the wrong data
    from tests.conftest import free_port

    down = f"postgresql://geoplan@127.0.0.1:{free_port()}/nowhere"
    with TestClient(create_app(database_url=loaded_db, read_database_url=down)) as c:
        r = c.get(HUBS)
        assert r.status_code == 200 and r.json()["features"]
        assert "etag" not in r.headers and "last-modified" not in r.headers
        assert c.get(HUBS, headers={"If-None-Match": '"x"'}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/maps/premises?use=office", "/maps/premises/sample-001"])
def test_a_strong_tag_names_one_byte_sequence(client, path):
    # the same data renders the same bytes (folium's random element ids are numbered)
    first, again = client.get(path), client.get(path)
    assert first.headers["etag"] == again.headers["etag"]
    assert first.content == again.content
