"""A search's lookups (is ``area=`` a focus area, is ``kommune=`` a municipality) are kept per
data version of the reference layers (``api/deps.py`` ``known_lookups``): asked once, not per
search, and asked again once one of those layers is written — wherever the write came from."""

from __future__ import annotations

import time

import psycopg

from geoplan.store import db

NEW_AREA = "nytt-omraade"


def test_a_repeated_search_asks_its_lookups_once(client):
    cache = client.app.state.lookup_cache
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
