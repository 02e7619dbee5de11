"""Warm tiles kept in memory (api/answer_cache.py): a tile asked for again is not made again, and
a premises write makes the next request see the new data — at once through the API, within the
snapshot interval for writes the worker cannot see (another worker, the CLI)."""

from __future__ import annotations

import time

import mapbox_vector_tile
import psycopg
from fastapi.testclient import TestClient

from api.answer_cache import SNAPSHOT_INTERVAL_S
from api.app import create_app
from geoplan.auth import keys
from geoplan.config import Settings
from geoplan.store import db
from tests.api.test_load_shedding import committed_and_seen
from tests.api.test_tiles_api import tile_of, url


def addresses(data: bytes) -> set[str]:
    layer = mapbox_vector_tile.decode(data).get("premises", {"features": []})
    return {f["properties"]["address"] for f in layer["features"]}


def sample_tile(loaded_db: str, z: int = 16) -> tuple[int, int, int]:
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = conn.execute(
            "SELECT lonlat[0], lonlat[1] FROM premises WHERE id = 'sample-001'"
        ).fetchone()
    return (z, *tile_of(lon, lat, z))


def app(loaded_db: str, **settings) -> TestClient:
    return TestClient(create_app(Settings(**settings), database_url=loaded_db))


def test_a_warm_tile_is_sent_from_memory_and_an_api_write_replaces_it(loaded_db):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        key, _ = keys.create_key(conn, "broker-as", "admin")
        conn.commit()
    z, x, y = sample_tile(loaded_db)
    with app(loaded_db) as client:
        cache = client.app.state.tile_cache
        first = client.get(url("premises", z, x, y))
        assert first.status_code == 200
        misses = cache.misses
        again = client.get(url("premises", z, x, y))
        assert (again.content, again.headers["etag"]) == (first.content, first.headers["etag"])
        assert cache.hits == 1 and cache.misses == misses
        # the same query in another order is the same tile; another query is another tile
        client.get(url("premises", z, x, y, "status=available&uses=office"))
        client.get(url("premises", z, x, y, "uses=office&status=available"))
        assert cache.hits == 2
        assert "Cache-veien 1" not in addresses(first.content)

        r = client.patch(
            "/premises/sample-001",
            json={"properties": {"address": "Cache-veien 1"}},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200
        after = client.get(url("premises", z, x, y))
        assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
        assert "Cache-veien 1" in addresses(after.content)
        # clusters too: a withdrawal takes the listing out of the count at once
        cz = 12
        cx, cy = sample_tile(loaded_db, cz)[1:]
        counts = client.get(url("premises", cz, cx, cy, "status=available"))

        def total(data: bytes) -> int:
            layer = mapbox_vector_tile.decode(data).get("premises", {"features": []})
            return sum(f["properties"]["count"] for f in layer["features"])

        r = client.delete("/premises/sample-001", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code in (200, 204)
        fewer = client.get(url("premises", cz, cx, cy, "status=available"))
        assert total(fewer.content) == total(counts.content) - 1


def test_a_warm_tile_answered_before_routing_has_the_routes_headers(loaded_db):
    """api/warm_tiles.py answers kept tiles without the router: the answer must be the one the
    route gives — body, ETag, caching, CORS, the coding's tag suffix, 304 and 204 alike."""
    z, x, y = sample_tile(loaded_db)
    empty = url("premises", 16, 0, 0)  # in the Pacific: no premises, 204
    path = url("premises", z, x, y, "status=available")

    def seen(client: TestClient, target: str, **headers: str) -> tuple:
        r = client.get(target, headers=headers)
        kept = {k: v for k, v in r.headers.items() if k != "date"}
        return r.status_code, kept, r.content

    variants = [
        {"accept-encoding": "identity"},
        {"accept-encoding": "gzip", "origin": "https://kart.example"},
    ]
    with app(loaded_db) as client:
        cache = client.app.state.tile_cache
        for target in (path, empty):
            for headers in variants:
                client.app.state.tile_cache.clear()
                made = seen(client, target, **headers)
                hits = cache.hits
                assert seen(client, target, **headers) == made
                assert cache.hits == hits + 1
            tag = made[1]["etag"]
            assert seen(client, target, **{"if-none-match": tag})[0] == 304
        assert seen(client, empty)[0] == 204
        assert made[1]["access-control-allow-origin"]
        # the same address read by the route after a miss counts one miss, not two
        cache.clear()
        misses = cache.misses
        client.get(url("premises", z, x, y, "status=withdrawn"))
        assert cache.misses == misses + 1


def test_a_write_the_worker_cannot_see_shows_within_the_snapshot_interval(loaded_db):
    z, x, y = sample_tile(loaded_db)
    with app(loaded_db) as client:
        before = client.get(url("premises", z, x, y))
        assert client.get(url("premises", z, x, y)).content == before.content
        assert client.app.state.tile_cache.hits == 1
        with psycopg.connect(db.conninfo(loaded_db)) as conn:  # as a CLI import would
            conn.execute("UPDATE premises SET address = 'Direkte 2' WHERE id = 'sample-001'")
        time.sleep(SNAPSHOT_INTERVAL_S + 0.2)
        assert "Direkte 2" in addresses(client.get(url("premises", z, x, y)).content)


def test_no_cache_when_turned_off(loaded_db):
    z, x, y = sample_tile(loaded_db)
    with app(loaded_db, tile_cache_mb=0) as client:
        client.get(url("premises", z, x, y))
        with psycopg.connect(db.conninfo(loaded_db)) as conn:
            conn.execute("UPDATE premises SET address = 'Direkte 3' WHERE id = 'sample-001'")
        assert "Direkte 3" in addresses(client.get(url("premises", z, x, y)).content)
        assert client.app.state.tile_cache.hits == 0


def test_bad_queries_are_refused_every_time(loaded_db):
    z, x, y = sample_tile(loaded_db)
    with app(loaded_db) as client:
        for _ in range(2):
            r = client.get(url("premises", z, x, y, "filter=nosuch%20%3D%201"))
            assert r.status_code == 400 and [e["field"] for e in r.json()["errors"]] == ["filter"]
        assert len(client.app.state.tile_cache) == 0


def test_the_overview_page_is_kept_until_a_layer_it_shows_changes(loaded_db):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        key, _ = keys.create_key(conn, "saksbehandler", "write")
        conn.commit()
    with app(loaded_db) as client:
        cache = client.app.state.page_cache
        first = client.get("/")
        assert first.status_code == 200 and "Snapshotgata 9" not in first.text
        again = client.get("/")
        assert again.text == first.text and cache.hits == 1
        assert client.get("/?kommune=3222").status_code == 200 and cache.hits == 1  # own entry
        # an assessment stored: a layer the map does not show, so the page stays warm
        case = {"site": {"type": "Point", "coordinates": [10.95, 59.93]}, "use": "office",
                "floor_area_m2": 500}  # fmt: skip
        r = client.post("/assessments", json=case, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201, r.text
        assert client.get("/").text == first.text and cache.hits == 2

        def write() -> None:  # a commit from anywhere to a layer the map shows
            with psycopg.connect(db.conninfo(loaded_db)) as conn:
                conn.execute(
                    "UPDATE premises SET address = 'Snapshotgata 9' WHERE id = 'sample-001'"
                )

        committed_and_seen(client, write)
        assert "Snapshotgata 9" in client.get("/").text
