"""The query mix's searches on the narrow table (migration 0016), their checks on
either kind of connection, and ``sort=distance`` (issue 13).

- A unit filter (``min_area_m2``, ``max_area_m2``, ``max_rent_nok_m2``, ``available_by``)
  reads ``premises_search.unit_count`` instead of joining the listings, and its two halves
  (single spaces; listings with units) are counted apart: still the bytes and the count of the
  search over the listings (:func:`geoplan.premises.search._listing_features`), with buildings
  of several units among the listings.
- The lookups of a search's checks (``kommune``, ``area``, ``near``) run on an asyncio
  connection as on a synchronous one, with the same errors.
- ``sort=distance`` orders by the distance on the ground from ``near``, nearest first, and each
  feature carries ``distance_m``; without ``near`` it is refused naming ``sort``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from datetime import date

import psycopg
import pytest

from geoplan import premises
from geoplan.errors import ValidationError
from geoplan.premises import PremisesQuery, check_query, check_query_async, search_features
from geoplan.proximity import default_walk
from geoplan.store import db

search_module = importlib.import_module("geoplan.premises.search")

NEAR = "10.9548,59.9267"  # Festplassen, Lørenskog
UNITS = [
    {"label": "1. etg.", "floor": 1, "area_m2": 250, "rent_nok_m2_year": 2400},
    {"label": "2. etg.", "floor": 2, "area_m2": 600, "rent_nok_m2_year": 1800,
     "available_from": "2027-06-01"},
    {"label": "3. etg.", "floor": 3, "area_m2": 900, "rent_nok_m2_year": 1500, "status": "let"},
]  # fmt: skip


def _buildings(conn: psycopg.Connection) -> list[str]:
    """Three buildings with units beside the sample listings (single spaces)."""
    ids = []
    for i, lon in enumerate((10.9548, 10.9601, 10.9402)):
        record = premises.create(
            conn,
            {
                "geometry": {"type": "Point", "coordinates": [lon, 59.9267 + i * 0.002]},
                "address": f"Gårdsveien {i + 1}, 1473 Lørenskog",
                "uses": ["office", "retail"][: i + 1],
                "units": UNITS[i:] if i < 2 else UNITS,
            },
            "alice",
        )
        ids.append(record["id"])
    return ids


def _reference(conn: psycopg.Connection, q: PremisesQuery):
    return search_module._listing_features(conn, q, default_walk(None))


MIX = [
    PremisesQuery(uses=["retail"], min_area_m2=500, max_rent_nok_m2=2000, sort="rent"),
    PremisesQuery(sort="area", min_area_m2=200, limit=20),
    PremisesQuery(available_by=date(2026, 6, 1), max_area_m2=300, sort="updated"),
    PremisesQuery(available_by=date(2028, 1, 1), max_area_m2=700, sort="area", limit=5),
    PremisesQuery(max_area_m2=650, floor=2),  # floor: not on the narrow table, joined
    PremisesQuery(kommune=["3222"], uses=["warehouse_logistics", "production"]),
    PremisesQuery(area="sentrum", min_area_m2=100),
    PremisesQuery(near=NEAR, radius_m=3000, sort="distance"),
    PremisesQuery(near=NEAR, radius_m=5000, sort="distance", uses=["office"], limit=3, offset=2),
    PremisesQuery(near=NEAR, radius_m=5000, sort="distance", max_area_m2=700),
]


@pytest.mark.parametrize("q", MIX, ids=lambda q: repr(q)[:90])
def test_the_mix_gives_the_bytes_and_count_of_the_search_over_the_listings(loaded_db, conn, q):
    _buildings(conn)
    fast, slow = search_features(conn, check_query(conn, q)), _reference(conn, q)
    assert fast.features_json == slow.features_json
    assert (fast.number_matched, fast.number_returned, fast.more) == (
        slow.number_matched,
        slow.number_returned,
        slow.more,
    )
    assert fast.number_matched_exact


PLACES = [q for q in MIX if q.area or q.near] + [PremisesQuery(area="sentrum", sort="walk")]


@pytest.mark.parametrize("q", PLACES, ids=lambda q: repr(q)[:90])
def test_a_search_by_place_past_the_cap_reads_its_page_again(loaded_db, conn, monkeypatch, q):
    # a search by place reads its matches once, keeping up to COUNT_CAP + 1 of them to count and
    # sort; past the cap the kept ones are not all, and the page is read again in its order
    _buildings(conn)
    q = check_query(conn, q)
    assert " m AS MATERIALIZED" in search_module._fast_search(q, default_walk(None)).sql()
    slow = _reference(conn, q)
    assert slow.number_matched > 2  # past the cap below
    monkeypatch.setattr(search_module, "COUNT_CAP", 2)
    fast = search_features(conn, q)
    assert fast.features_json == slow.features_json and fast.more == slow.more
    assert not fast.number_matched_exact and fast.number_matched > 2


def test_unit_filters_count_buildings_by_their_units(loaded_db, conn):
    b0, b1, b2 = _buildings(conn)
    # b0's vacant units: 250 m² now and 600 m² from 2027-06-01; b1: 600 m²; b2 as b0
    q = PremisesQuery(max_area_m2=300, available_by=date(2027, 1, 1), limit=1000)
    found = {f["id"] for f in json.loads(search_features(conn, q).features_json)}
    assert b0 in found and b2 in found and b1 not in found
    page = search_features(conn, q)
    assert page.number_matched == len(found) == _reference(conn, q).number_matched


def test_the_count_of_a_unit_filter_reads_no_listing(loaded_db, conn):
    """The count of ``available_by=…&max_area_m2=…`` is two ranges of indexes of
    ``premises_search``: the area index (single spaces) and the partial index of listings with
    units — not a scan of the listings (≈ 38 ms at 10⁵ before migration 0016)."""
    _buildings(conn)
    conn.execute("SET enable_seqscan = off")  # a tiny test table would rather be scanned
    q = PremisesQuery(available_by=date(2026, 6, 1), max_area_m2=300, sort="updated")
    fast = search_module._fast_search(q, default_walk(None))
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + fast.sql(), fast.params))
    assert "premises_search_area" in plan and "premises_search_with_units" in plan
    assert "JOIN premises_annotated" not in fast.sql()  # the matches: premises_search alone


def test_sort_by_distance_is_nearest_first_within_the_radius(loaded_db, conn):
    _buildings(conn)
    q = PremisesQuery(near=NEAR, radius_m=2000, sort="distance", limit=1000)
    features = json.loads(search_features(conn, check_query(conn, q)).features_json)
    distances = [f["properties"]["distance_m"] for f in features]
    assert len(distances) >= 5 and distances == sorted(distances)
    assert distances[0] < 1 and all(d <= 2000 for d in distances)  # b0 stands on the point
    # the distance on the ellipsoid, as radius_m measures it
    ids = [f["id"] for f in features]
    expected = conn.execute(
        """SELECT id, round(ST_Distance(ST_Transform(geom, 4326)::geography,
                  ST_SetSRID(ST_MakePoint(10.9548, 59.9267), 4326)::geography)::numeric, 1)
           FROM premises WHERE id = ANY(%s)""",
        (ids,),
    ).fetchall()
    assert {i: float(d) for i, d in expected} == dict(zip(ids, distances, strict=True))
    # the other sorts carry no distance_m
    other = json.loads(search_features(conn, PremisesQuery(near=NEAR)).features_json)
    assert other and all("distance_m" not in f["properties"] for f in other)
    # the GeoDataFrame search (CLI table, maps) orders alike and carries the column
    gdf = premises.search(conn, q).features
    assert list(gdf["id"]) == ids and list(gdf["distance_m"]) == distances


def test_sort_by_distance_with_hub_takes_the_listing_path(loaded_db, conn):
    hub = conn.execute("SELECT id FROM hubs ORDER BY id LIMIT 1").fetchone()[0]
    q = PremisesQuery(near=NEAR, radius_m=3000, sort="distance", hub=hub)
    features = json.loads(search_features(conn, check_query(conn, q)).features_json)
    distances = [f["properties"]["distance_m"] for f in features]
    assert distances and distances == sorted(distances)
    assert all(f["properties"]["hub_id"] == hub for f in features)


@pytest.mark.parametrize(
    ("q", "words"),
    [
        (PremisesQuery(sort="distance"), "give near=lon,lat"),
        (PremisesQuery(sort="distance", radius_m=500), "give near=lon,lat"),
        (PremisesQuery(sort="closest", near=NEAR), "must be one of"),
        (PremisesQuery(sort="distance; DROP TABLE premises", near=NEAR), "must be one of"),
    ],
)
def test_a_bad_sort_is_refused_naming_sort(loaded_db, conn, q, words):
    with pytest.raises(ValidationError) as exc:
        check_query(conn, q)
    assert any(e["field"] == "sort" and words in e["message"] for e in exc.value.errors)


@pytest.mark.parametrize(
    "q",
    [
        PremisesQuery(kommune=["3222"], area="sentrum", near=NEAR, sort="distance"),
        PremisesQuery(kommune=["9999"]),
        PremisesQuery(area="atlantis"),
        PremisesQuery(near="59.9267,10.9548"),  # lat,lon: the hint needs a second lookup
        PremisesQuery(within="POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))", sort="distance"),
    ],
    ids=lambda q: repr(q)[:60],
)
def test_checks_give_the_same_answer_on_an_asyncio_connection(loaded_db, conn, q):
    def synchronous():
        try:
            check_query(conn, q)
        except ValidationError as exc:
            return exc.errors
        return None

    async def on_asyncio():
        async with await psycopg.AsyncConnection.connect(db.conninfo(loaded_db)) as aconn:
            try:
                await check_query_async(aconn, q)
            except ValidationError as exc:
                return exc.errors
            return None

    errors = synchronous()
    assert asyncio.run(on_asyncio()) == errors
    assert (errors is None) == (q.kommune == ["3222"])  # the others are each refused
