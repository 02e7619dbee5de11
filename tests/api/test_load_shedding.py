"""Under load: refusals cost nothing but the refusal, map pages come from the page cache until
a layer they show changes (api/load_shedding.py, the app's page_cache; docs/api.md "Under
load")."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.load_shedding import classify
from geoplan.config import Settings
from geoplan.store import db


def _held(client: TestClient, slot: AbstractAsyncContextManager) -> AbstractAsyncContextManager:
    client.portal.call(slot.__aenter__)
    return slot


def test_a_refused_request_is_answered_before_it_is_parsed_or_touches_the_database(
    loaded_db: str,
) -> None:
    # no queue at all: while the one slot is held, every other request is turned away
    settings = Settings(pool_size=1, page_slots=1, read_pool_size=1, max_waiting=0)
    app = create_app(settings, database_url=loaded_db)
    with TestClient(app) as client:
        primary = app.state.primary
        slot = _held(client, primary.admission.slot())
        read_slot = _held(client, primary.read_admission.slot())  # /premises: the read pool's
        try:
            pools = (primary.pool, primary.read_pool)
            checkouts = [pool.get_stats().get("requests_num", 0) for pool in pools]
            # an invalid parameter would be a 422: the refusal comes before any validation
            for path in ("/premises?limit=not-a-number", "/maps/premises?use=office"):
                r = client.get(path)
                assert r.status_code == 503, (path, r.text)
                assert r.headers["content-type"] == "application/problem+json"
                assert int(r.headers["retry-after"]) >= 1
                assert r.json()["status"] == 503 and "busy" in r.json()["detail"]
            assert [pool.get_stats().get("requests_num", 0) for pool in pools] == checkouts
        finally:
            client.portal.call(slot.__aexit__, None, None, None)
            client.portal.call(read_slot.__aexit__, None, None, None)
        # the slot is free again: the same requests are served (or refused as invalid)
        assert client.get("/premises?limit=not-a-number").status_code == 422
        assert client.get("/maps/premises?use=office").status_code == 200


@pytest.mark.parametrize(
    ("limits", "gate", "lane", "full", "served"),
    [
        # the map pages' lane of the sync pool is full; the API's is not
        ({"pool_size": 2, "page_slots": 1}, "admission", "pages", "/maps/premises?use=office",
         "/premises?use=office&limit=5"),
        # the premises searches' lane of the read pool is full; OGC items and tiles share the
        # read pool and are not
        ({"read_pool_size": 2, "search_slots": 1}, "read_admission", "searches",
         "/premises?use=office&limit=5", "/ogc/collections/premises/items?limit=5"),
    ],
    ids=["pages", "searches"],
)  # fmt: skip
def test_a_lane_holding_all_its_slots_leaves_the_others_served(
    loaded_db: str, limits: dict[str, int], gate: str, lane: str, full: str, served: str
) -> None:
    app = create_app(Settings(**limits, max_waiting=0), database_url=loaded_db)
    with TestClient(app) as client:
        slot = _held(client, getattr(app.state.primary, gate).slot(lane=lane))
        try:
            r = client.get(full)
            assert r.status_code == 503, r.text  # its lane: full
            assert client.get(served).status_code == 200  # another lane: not
        finally:
            client.portal.call(slot.__aexit__, None, None, None)
        assert client.get(full).status_code == 200


def test_search_slots_default_to_the_cores_plus_one() -> None:
    assert Settings().search_slots == (os.cpu_count() or 2) + 1


def test_paths_name_their_gate_and_lane() -> None:
    assert classify("/") == ("admission", "pages")
    assert classify("/maps/premises") == ("admission", "pages")
    assert classify("/maps/areas/sentrum") == ("admission", "pages")
    assert classify("/premises") == ("read_admission", "searches")
    assert classify("/premises/searches") == ("admission", "api")  # saved searches
    assert classify("/premises/bench-0000001") == ("admission", "api")
    assert classify("/ogc/collections/premises/items") == ("read_admission", "api")
    assert classify("/ogc/collections/premises/tiles/WebMercatorQuad/12/1190/2180") == (
        "read_admission",
        "api",
    )
    assert classify("/ogc/collections/premises") == ("admission", "api")
    assert classify("/proximity/nearest") == ("read_admission", "api")
    assert classify("/proximity/catchments") == ("admission", "api")  # temp tables: primary
    assert classify("/healthz") is None and classify("/static/leaflet.js") is None


PREMISES_ITEMS = "/ogc/collections/premises/items?limit=1"


def committed_and_seen(client: TestClient, write: Callable[[], None]) -> None:
    """``write()`` (a commit outside the worker, as ``geoplan import`` or another worker makes)
    and wait until the worker's data versions have seen it: its notification reaches the
    worker's ``LISTEN`` within moments (api/conditional.py). Watched on a route that keeps no
    page (the premises items' tag), so the page cache's counts stay the page requests' own."""
    before = client.get(PREMISES_ITEMS).headers["etag"]
    write()
    deadline = time.monotonic() + 5
    while client.get(PREMISES_ITEMS).headers["etag"] == before:
        assert time.monotonic() < deadline, "the write never reached the worker"
        time.sleep(0.05)


def _office_address(url: str, html: str) -> tuple[str, str]:
    with psycopg.connect(db.conninfo(url)) as conn:
        rows = conn.execute(
            "SELECT id, address FROM premises WHERE 'office' = ANY(uses) ORDER BY id"
        ).fetchall()
    for premises_id, address in rows:
        if address in html:
            return premises_id, address
    raise AssertionError("no office premises address on the map page")


def test_a_map_page_is_built_once_and_built_again_after_a_write(loaded_db: str) -> None:
    app = create_app(database_url=loaded_db)
    path = "/maps/premises?use=office"
    with TestClient(app) as client:
        cache = app.state.page_cache
        first = client.get(path)
        assert first.status_code == 200
        assert (cache.hits, cache.misses) == (0, 1)
        second = client.get(path)
        assert second.text == first.text
        assert (cache.hits, cache.misses) == (1, 1)
        # another query is another page
        assert client.get(path + "&max_walk_min=10").status_code == 200
        assert cache.misses == 2

        premises_id, address = _office_address(loaded_db, first.text)

        def write() -> None:
            with db.transaction(loaded_db) as conn:
                conn.execute(
                    "UPDATE premises SET address = 'Hurtigbufferveien 7' WHERE id = %s",
                    (premises_id,),
                )

        committed_and_seen(client, write)
        third = client.get(path)
        assert (cache.hits, cache.misses) == (1, 3)
        assert "Hurtigbufferveien 7" in third.text
        assert address not in third.text


def test_the_page_cache_can_be_turned_off(loaded_db: str) -> None:
    app = create_app(Settings(page_cache_mb=0), database_url=loaded_db)
    with TestClient(app) as client:
        for _ in range(2):
            assert client.get("/maps/premises?use=office").status_code == 200
        assert (app.state.page_cache.hits, app.state.page_cache.misses) == (0, 0)
