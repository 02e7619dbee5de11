"""Vector tiles (/ogc/.../tiles): the bytes decoded with a real MVT decoder (mapbox-vector-tile)
and checked against the database, queried independently with PostGIS's own tile functions
(ST_TileEnvelope, ST_Transform to EPSG:3857) rather than geoplan's lon/lat arithmetic."""

from __future__ import annotations

import dataclasses
import json
import math
import time

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.answer_cache import SNAPSHOT_INTERVAL_S
from api.app import create_app
from geoplan.config import Settings
from geoplan.ogc import tiles
from geoplan.store import db

MVT = "application/vnd.mapbox-vector-tile"
PROBLEM = "application/problem+json"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(x, y) of the XYZ tile holding lon/lat (the textbook formula)."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def url(collection: str, z: int, x: int, y: int, query: str = "") -> str:
    return f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{z}/{y}/{x}" + (
        f"?{query}" if query else ""
    )


def decode(data: bytes, layer: str) -> list[dict]:
    doc = mapbox_vector_tile.decode(data)
    assert set(doc) <= {layer}
    return doc.get(layer, {}).get("features", [])


def centre(conn: psycopg.Connection) -> tuple[float, float]:
    return conn.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_Centroid(geom), 4326) c "
        "FROM boundary) s"
    ).fetchone()


IN_TILE = (
    "ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s)) "
    "AND ST_X(ST_Transform(geom, 3857)) < ST_XMax(ST_TileEnvelope(%(z)s, %(x)s, %(y)s)) "
    "AND ST_Y(ST_Transform(geom, 3857)) > ST_YMin(ST_TileEnvelope(%(z)s, %(x)s, %(y)s))"
)
"""A point inside the tile (west/north edges in, east/south out), by PostGIS alone."""


def add_premises(conn: psycopg.Connection, n: int, seed: float = 0.3) -> None:
    """``n`` generated premises inside the municipality (every tenth withdrawn)."""
    conn.execute("SELECT setseed(%s)", [seed])
    conn.execute(
        """
        INSERT INTO premises (id, address, uses, floor_area_m2, rent_nok_m2_year, status,
                              source, accuracy_m, verified, sample, geom)
        SELECT 'gen-' || d.path[1], 'Genvegen ' || d.path[1], ARRAY['office'],
               100 + d.path[1], 1500, CASE WHEN d.path[1] %% 10 = 0 THEN 'withdrawn'
               ELSE 'available' END, 'generated for the tile tests', 20, false, true, d.geom
        FROM boundary b, ST_Dump(ST_GeneratePoints(b.geom, %s, 7)) d""",
        [n],
    )
    conn.commit()


# -- premises: features ---------------------------------------------------------------------------
def test_premises_tile_features_and_attributes_match_the_database(client, loaded_db):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = conn.execute(
            "SELECT lonlat[0], lonlat[1] FROM premises WHERE id = 'sample-001'"
        ).fetchone()
        z = 16
        x, y = tile_of(lon, lat, z)
        rows = conn.execute(
            f"""SELECT p.id, p.seq, p.address, array_to_string(p.uses, ','), p.floor_area_m2,
                       p.rent_nok_m2_year, p.status, p.sample, w.walk_min, w.hub_id,
                       ST_AsMVTGeom(ST_Transform(p.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s,
                                    %(y)s), 4096, 0, false)
                FROM premises p LEFT JOIN premises_walk w ON w.premises_seq = p.seq
                WHERE {IN_TILE.replace("geom", "p.geom")}""",
            {"z": z, "x": x, "y": y},
        ).fetchall()
        points = {
            r[0]: conn.execute(
                "SELECT ST_X(%s::geometry), ST_Y(%s::geometry)", [r[10], r[10]]
            ).fetchone()
            for r in rows
        }
    assert rows, "the tile of sample-001 holds it"
    r = client.get(url("premises", z, x, y))
    assert r.status_code == 200 and r.headers["content-type"] == MVT
    features = decode(r.content, "premises")
    assert len(features) == len(rows)
    by_id = {f["properties"]["id"]: f for f in features}
    assert set(by_id) == {row[0] for row in rows}
    for pid, seq, address, uses, area, rent, status, sample, walk_min, hub, _ in rows:
        f = by_id[pid]
        props = f["properties"]
        assert f["id"] == seq  # the MVT feature id: the integer seq
        assert props["address"] == address and props["uses"] == uses
        assert props["floor_area_m2"] == pytest.approx(area)
        assert props.get("rent_nok_m2_year") == (pytest.approx(rent) if rent else None)
        assert props["status"] == status and props["sample"] is sample
        assert props["walk_min"] == pytest.approx(walk_min) and props["nearest_hub_id"] == hub
        assert "contact" not in props and "description" not in props  # not in the summary
        # the decoder flips y to "up"; ST_AsMVTGeom's y points down
        px, py = f["geometry"]["coordinates"]
        ex, ey = points[pid]
        assert px == pytest.approx(ex, abs=1) and 4096 - py == pytest.approx(ey, abs=1)


def test_the_tiles_of_a_zoom_hold_every_premises_once(client, loaded_db):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        total = conn.execute("SELECT count(*) FROM premises").fetchone()[0]
        xs, ys = zip(
            *(
                tile_of(lon, lat, 16)
                for lon, lat in conn.execute("SELECT lonlat[0], lonlat[1] FROM premises")
            ),
            strict=True,
        )
    seen: list[str] = []
    for x in range(min(xs), max(xs) + 1):
        for y in range(min(ys), max(ys) + 1):
            r = client.get(url("premises", 16, x, y))
            assert r.status_code in (200, 204)
            if r.status_code == 200:
                seen += [f["properties"]["id"] for f in decode(r.content, "premises")]
    assert len(seen) == len(set(seen)) == total == 45


# -- premises: clusters ---------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["", "status=available", "filter=floor_area_m2%20%3E%20120"])
def test_cluster_counts_sum_to_the_premises_in_the_tile(client, loaded_db, query):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        add_premises(conn, 3000)
        lon, lat = centre(conn)
        where = {
            "": "TRUE",
            "status=available": "status = 'available'",
            "filter=floor_area_m2%20%3E%20120": "floor_area_m2 > 120",
        }[query]
        checked = 0
        for z in (9, 12, 13, 14, 15):
            cx, cy = tile_of(lon, lat, z)
            for x, y in ((cx, cy), (cx + 1, cy), (cx, cy + 1)):
                expected = conn.execute(
                    f"SELECT count(*) FROM premises WHERE {IN_TILE} AND {where}",
                    {"z": z, "x": x, "y": y},
                ).fetchone()[0]
                r = client.get(url("premises", z, x, y, query))
                if expected == 0:
                    assert r.status_code == 204 and r.content == b""
                    continue
                assert r.status_code == 200, r.text
                features = decode(r.content, "premises")
                counts = [f["properties"]["count"] for f in features]
                assert set(features[0]["properties"]) == {"count"}
                assert sum(counts) == expected, (z, x, y)
                assert len(features) <= tiles.CELLS**2 and all(c >= 1 for c in counts)
                assert all(f["geometry"]["type"] == "Point" for f in features)
                checked += 1
    assert checked >= 10


def test_counted_ahead_and_counted_live_clusters_are_the_same(client, loaded_db):
    # no filter: the cells kept by triggers; a filter that matches everything: counted live
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        add_premises(conn, 2000)
        lon, lat = centre(conn)
    for z in (4, 10, 12, 13, 14, 15):
        x, y = tile_of(lon, lat, z)
        ahead = decode(client.get(url("premises", z, x, y)).content, "premises")
        live = decode(
            client.get(url("premises", z, x, y, "filter=floor_area_m2%20%3E%200")).content,
            "premises",
        )

        def key(features: list[dict]) -> list[tuple]:
            return sorted(
                (*f["geometry"]["coordinates"], f["properties"]["count"]) for f in features
            )

        assert key(ahead) == key(live), z


# -- other layers ---------------------------------------------------------------------------------
def test_polygon_tiles_hold_the_areas_that_touch_them(client, loaded_db):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = centre(conn)
        z = 12
        x, y = tile_of(lon, lat, z)
        expected = dict(
            conn.execute(
                "SELECT id, role FROM areas WHERE ST_Intersects(ST_Transform(geom, 3857), "
                "ST_TileEnvelope(%s, %s, %s))",
                [z, x, y],
            ).fetchall()
        )
        names = dict(conn.execute("SELECT id, name FROM areas").fetchall())
    assert expected
    features = decode(client.get(url("areas", z, x, y)).content, "areas")
    assert {f["properties"]["id"]: f["properties"]["role"] for f in features} == expected
    for f in features:
        assert f["properties"]["name"] == names[f["properties"]["id"]]
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert "identity" not in f["properties"]  # long texts stay in items


@pytest.mark.parametrize("collection", ["hubs", "boundary", "catchments", "plans", "land_use"])
def test_every_collection_has_tiles(client, loaded_db, collection):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = centre(conn)
        table = {"plans": "plans", "land_use": "land_use"}.get(collection, collection)
        z = 11
        x, y = tile_of(lon, lat, z)
        expected = conn.execute(
            f"SELECT count(*) FROM {table} WHERE ST_Intersects(ST_Transform(geom, 3857), "
            "ST_TileEnvelope(%s, %s, %s, margin => %s))",
            [z, x, y, tiles.BUFFER / tiles.EXTENT],
        ).fetchone()[0]
    r = client.get(url(collection, z, x, y))
    if expected == 0:  # no zoning plan is shipped
        assert r.status_code == 204
        return
    assert r.status_code == 200
    assert len(decode(r.content, collection)) == expected


# -- caching --------------------------------------------------------------------------------------
def test_etag_and_304_round_trip(client, loaded_db):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = centre(conn)
    x, y = tile_of(lon, lat, 12)
    first = client.get(url("premises", 12, x, y))
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")  # strong
    assert first.headers["cache-control"] == "public, max-age=60"
    again = client.get(url("premises", 12, x, y), headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    weak = client.get(url("premises", 12, x, y), headers={"If-None-Match": f'"x", W/{tag}'})
    assert weak.status_code == 304
    other = client.get(url("premises", 12, x, y), headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == first.content
    # a change in the data changes the tile and its tag (a write made outside the API reaches
    # the worker's kept tiles within the snapshot interval: api/answer_cache.py)
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        add_premises(conn, 500)
    time.sleep(SNAPSHOT_INTERVAL_S + 0.1)
    changed = client.get(url("premises", 12, x, y), headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_cache_lifetime_is_a_setting(loaded_db):
    settings = Settings(database_url=loaded_db, tile_max_age_s=5)
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        x, y = tile_of(*centre(conn), 10)
    with TestClient(create_app(settings, database_url=loaded_db)) as c:
        r = c.get(url("areas", 10, x, y))
        assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=5"


def test_an_empty_tile_is_204(client):
    r = client.get(url("premises", 18, 5, 5))  # the Arctic Ocean off Alaska
    assert r.status_code == 204 and r.content == b"" and "etag" in r.headers


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("premises/tiles/WebMercatorQuad/23/0/0", 400, "tileMatrix"),
        ("premises/tiles/WebMercatorQuad/-1/0/0", 400, "tileMatrix"),
        ("premises/tiles/WebMercatorQuad/z/0/0", 400, "tileMatrix"),
        ("premises/tiles/WebMercatorQuad/99999999999999999999/0/0", 400, "tileMatrix"),
        ("premises/tiles/WebMercatorQuad/3/8/0", 400, "tileRow"),
        ("premises/tiles/WebMercatorQuad/3/0/8", 400, "tileCol"),
        ("premises/tiles/WebMercatorQuad/0/0/1.5", 400, "tileCol"),
        ("premises/tiles/WebMercatorQuad/3/-1/0", 400, "tileRow"),
        ("premises/tiles/WebMercatorQuad/12/1191/2172?nope=1", 400, "nope"),
        ("premises/tiles/WebMercatorQuad/12/1191/2172?filter=floor_area_m2%20%3E", 400, "filter"),
        ("premises/tiles/WebMercatorQuad/12/1191/2172?floor_area_m2=big", 400, "floor_area_m2"),
        ("premises/tiles/WorldCRS84Quad/0/0/0", 404, None),
        ("premises/tiles/WorldCRS84Quad", 404, None),
        ("nowhere/tiles/WebMercatorQuad/0/0/0", 404, None),
        ("nowhere/tiles", 404, None),
    ],
)
def test_bad_tile_requests_are_4xx_problems_naming_the_parameter(client, path, status, field):
    r = client.get(f"/ogc/collections/{path}")
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]
    else:
        assert "tile matrix set" in body["detail"] or "collection" in body["detail"]


def test_unknown_tile_matrix_set_definition_is_404(client):
    r = client.get("/ogc/tileMatrixSets/WorldCRS84Quad")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


# -- metadata -------------------------------------------------------------------------------------
def test_conformance_and_collection_links_announce_tiles(client):
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    for part in ("core", "mvt", "tileset", "tilesets-list", "geodata-tilesets"):
        part = f"ogcapi-tiles-1/1.0/conf/{part}"
        assert any(c.endswith(part) for c in classes), part
    coll = client.get("/ogc/collections/premises").json()
    (link,) = [x for x in coll["links"] if x["rel"].endswith("/tilesets-vector")]
    assert link["href"].endswith("/ogc/collections/premises/tiles")
    landing = client.get("/ogc").json()
    assert any(x["rel"].endswith("/tiling-schemes") for x in landing["links"])


def test_tile_matrix_set_is_web_mercator_quad(client):
    doc = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert doc["id"] == "WebMercatorQuad" and doc["crs"].endswith("/EPSG/0/3857")
    matrices = doc["tileMatrices"]
    assert [m["id"] for m in matrices] == [str(z) for z in range(23)]
    assert all(m["matrixWidth"] == m["matrixHeight"] == 2**i for i, m in enumerate(matrices))
    assert matrices[0]["cellSize"] == pytest.approx(156543.03392804097)
    listing = client.get("/ogc/tileMatrixSets").json()
    assert listing["tileMatrixSets"][0]["id"] == "WebMercatorQuad"


def test_tileset_metadata_and_tilejson_lead_to_the_tiles(client, loaded_db):
    sets = client.get("/ogc/collections/premises/tiles").json()["tilesets"]
    assert sets[0]["dataType"] == "vector" and sets[0]["tileMatrixSetURI"] == tiles.TMS_URI
    meta = client.get("/ogc/collections/premises/tiles/WebMercatorQuad").json()
    (template,) = [x for x in meta["links"] if x["rel"] == "item"]
    assert template["type"] == MVT and template["templated"] is True
    assert template["href"].endswith(
        "/premises/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
    )
    clusters, features = meta["layers"]
    assert (
        clusters["maxTileMatrix"] == "15" and "count" in clusters["propertiesSchema"]["properties"]
    )
    assert features["minTileMatrix"] == "16"
    assert {"id", "address", "uses", "walk_min"} <= set(features["propertiesSchema"]["properties"])
    lower = meta["boundingBox"]["lowerLeft"]
    assert 10 < lower[0] < 12 and 59 < lower[1] < 61

    tj = client.get("/ogc/collections/premises/tiles/WebMercatorQuad/tilejson.json").json()
    assert tj["tilejson"] == "3.0.0" and tj["vector_layers"][0]["id"] == "premises"
    assert tj["vector_layers"][0]["fields"]["count"] == "Number"
    assert tj["vector_layers"][0]["fields"]["floor_area_m2"] == "Number"
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = centre(conn)
    x, y = tile_of(lon, lat, 13)
    tile_url = tj["tiles"][0].format(z=13, x=x, y=y)
    assert "/13/" + str(y) + "/" + str(x) in tile_url
    r = client.get(tile_url)
    assert r.status_code == 200 and decode(r.content, "premises")


# -- the maps' side -------------------------------------------------------------------------------
def test_maps_switch_to_single_premises_where_the_tiles_do():
    from maps import tiles as map_tiles

    assert tiles.CLUSTER_BELOW["premises"] == map_tiles.CLUSTER_BELOW


def test_search_filters_become_tile_filters_that_match_the_search(client, loaded_db):
    from datetime import date

    from geoplan import mapdata
    from geoplan.premises import PremisesQuery, search

    q = PremisesQuery(
        uses=["office", "retail"], min_area_m2=200, max_rent_nok_m2=2500, max_walk_min=15,
        available_by=date(2027, 6, 1),
    )  # fmt: skip
    query = mapdata.premises_tile_query(q)
    assert mapdata.premises_tile_query(PremisesQuery(area="visperud")) is None
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        expected = {p for p in search(conn, q).features["id"]}
        cells = {tile_of(lon, lat, 16) for lon, lat in conn.execute(
            "SELECT lonlat[0], lonlat[1] FROM premises")}  # fmt: skip
    assert expected
    seen = set()
    for x, y in cells:
        r = client.get(url("premises", 16, x, y), params=query)
        assert r.status_code in (200, 204), r.text
        if r.status_code == 200:
            seen |= {f["properties"]["id"] for f in decode(r.content, "premises")}
    assert seen == expected


# -- premises: the search's place filters ---------------------------------------------------------
def _place_queries(conn: psycopg.Connection) -> list:
    from geoplan.premises import PremisesQuery

    lon, lat = conn.execute(
        "SELECT lonlat[0], lonlat[1] FROM premises WHERE id = 'sample-001'"
    ).fetchone()
    d = 0.01
    square = f"POLYGON(({lon - d} {lat - d}, {lon + d} {lat - d}, {lon + d} {lat + d}, " \
             f"{lon - d} {lat + d}, {lon - d} {lat - d}))"  # fmt: skip
    x, y = conn.execute(
        "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
        "25833) g",
        (lon, lat),
    ).fetchone()
    utm = json.dumps({"type": "Polygon", "coordinates": [[
        [x - 900, y - 600], [x + 900, y - 600], [x + 900, y + 600], [x - 900, y + 600],
        [x - 900, y - 600]]]})  # fmt: skip
    return [
        PremisesQuery(within=square),
        PremisesQuery(within=utm, within_crs="EPSG:25833", uses=["office"]),
        PremisesQuery(near=f"{lon},{lat}", radius_m=700),
        PremisesQuery(near=f"{lon},{lat}"),  # the default radius
    ]


def test_place_filters_in_tiles_match_the_search(client, loaded_db):
    """within= and near= + radius_m on premises tiles: single premises and clusters hold
    exactly what the search with the same place finds (and nothing outside it)."""
    from geoplan import mapdata
    from geoplan.premises import MAX_LIMIT, search

    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        add_premises(conn, 2000)
        conn.commit()
        queries = _place_queries(conn)
        positions = list(conn.execute("SELECT id, lonlat[0], lonlat[1] FROM premises"))
        checked = 0
        for q in queries:
            params = mapdata.premises_tile_query(q)
            assert params is not None and ("within" in params or "near" in params)
            found = search(conn, dataclasses.replace(q, limit=MAX_LIMIT))
            expected = set(found.features["id"])
            assert len(expected) == found.number_matched
            assert 0 < len(expected) < len(positions)
            seen: set[str] = set()
            for x, y in {tile_of(lon, lat, 16) for i, lon, lat in positions if i in expected}:
                r = client.get(url("premises", 16, x, y), params=params)
                assert r.status_code in (200, 204), r.text
                if r.status_code == 200:
                    seen |= {f["properties"]["id"] for f in decode(r.content, "premises")}
            assert seen == expected, q
            # clusters: the counts of the tiles covering the place sum to the matches
            total = 0
            for x, y in {tile_of(lon, lat, 13) for i, lon, lat in positions if i in expected}:
                r = client.get(url("premises", 13, x, y), params=params)
                assert r.status_code in (200, 204), r.text
                if r.status_code == 200:
                    total += sum(f["properties"]["count"] for f in decode(r.content, "premises"))
            assert total == len(expected), q
            checked += 1
    assert checked == len(queries)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("within=POLYGON((1 2, 3 4))", "within"),
        ("within=not%20a%20polygon", "within"),
        ("within=POLYGON((0%200,%201%200,%201%201,%200%201,%200%200))", "within"),  # far away
        ("within_crs=EPSG:25833", "within_crs"),
        ("near=10.95", "near"),
        ("near=59.93,10.95", "near"),  # lat,lon
        ("near=10.95,59.93&radius_m=abc", "radius_m"),
        ("near=10.95,59.93&radius_m=1e9", "radius_m"),
        ("radius_m=100", "radius_m"),
    ],
)
def test_bad_place_filters_on_tiles_are_400_naming_the_parameter(client, query, field):
    for _ in range(2):  # refused every time, never kept
        r = client.get(url("premises", 16, 34764, 19070, query))
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == PROBLEM
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert len(client.app.state.tile_cache) == 0


def test_place_filters_are_premises_filters_only(client):
    r = client.get(url("areas", 12, 2193, 1191, "near=10.95,59.93"))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "near"
