"""A search's lookups (is ``area=`` a focus area, is ``kommune=`` a municipality) are kept per
data version of the reference layers (``api/deps.py`` ``known_lookups``): asked once, not per
search, and asked again once one of those layers is written — wherever the write came from.
Its count is kept too, with the versions it was made at (``kept_counts``)."""

from __future__ import annotations

import time

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from geoplan import premises
from geoplan.config import Settings
from geoplan.store import db

NEW_AREA = "nytt-omraade"


def test_a_repeated_search_asks_its_lookups_once(client):
    cache = client.app.state.search_cache
    first = client.get("/premises", params={"area": "sentrum", "kommune": "3222"})
    assert first.status_code == 200, first.text
    asked = cache.misses
    assert asked >= 2  # the area and the municipality, each asked and kept
    hits = cache.hits
    again = client.get("/premises", params={"area": "sentrum", "kommune": "3222"})
    assert again.status_code == 200 and again.json()["features"] == first.json()["features"]
    assert cache.misses == asked  # nothing asked again
    assert cache.hits >= hits + 2


def test_a_focus_area_added_by_another_process_is_searchable(client, loaded_db):
    unknown = client.get("/premises", params={"area": NEW_AREA})
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["area"]
    with psycopg.connect(db.conninfo(loaded_db)) as conn:  # like `geoplan import-layer`
        conn.execute(
            "INSERT INTO areas SELECT (jsonb_populate_record(NULL::areas, "
            "to_jsonb(a) || jsonb_build_object('id', %s::text))).* FROM areas a "
            "WHERE a.id = 'sentrum'",
            (NEW_AREA,),
        )
    # the commit's notification reaches the worker's listener within moments; the kept "no
    # such area" is not answered after it
    deadline = time.monotonic() + 5
    while True:
        r = client.get("/premises", params={"area": NEW_AREA})
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == 200, r.text
    sentrum = client.get("/premises", params={"area": "sentrum"}).json()
    assert r.json()["numberMatched"] == sentrum["numberMatched"]  # the same polygon


OFFICE = {
    "geometry": {"type": "Point", "coordinates": [10.9548, 59.9267]},
    "address": "Telleveien 1, 1473 Lørenskog",
    "uses": ["office"],
    "floor_area_m2": 400,
}


def test_a_kept_count_follows_a_write_by_another_process_at_once(client, loaded_db):
    # a search's count is kept with the data versions it was made at, which the search's own
    # statement compares: a listing committed elsewhere is counted by the very next search
    params = {"use": "office", "sort": "area"}
    first = client.get("/premises", params=params).json()["numberMatched"]
    hits = client.app.state.search_cache.hits
    again = client.get("/premises", params=params | {"offset": 1}).json()
    assert again["numberMatched"] == first and client.app.state.search_cache.hits > hits
    with psycopg.connect(db.conninfo(loaded_db)) as conn:  # like `geoplan premises import`
        premises.create(conn, OFFICE, "alice")
    # no wait for the notification
    assert client.get("/premises", params=params).json()["numberMatched"] == first + 1


def test_searches_keep_nothing_with_the_search_cache_off(loaded_db):
    with TestClient(create_app(Settings(search_cache_mb=0), database_url=loaded_db)) as c:
        pages = [c.get("/premises", params={"use": "office", "area": "sentrum"}) for _ in "ab"]
        assert [p.status_code for p in pages] == [200, 200]
        assert pages[0].json()["features"] == pages[1].json()["features"]
        assert len(c.app.state.search_cache) == 0
