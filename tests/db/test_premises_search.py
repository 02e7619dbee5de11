"""Vacant-premises search (geoplan.premises.search) against the shipped sample premises.

Each filter is checked against a plain-Python reference over all rows, so a wrong WHERE clause
shows up as a different set of ids.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from geoplan import premises
from geoplan.config import get_settings
from geoplan.errors import ValidationError
from geoplan.premises import PremisesQuery, search, search_features
from geoplan.proximity import HubSelection, walk_to_nearest_hub


@pytest.fixture
def rows(loaded_db, conn) -> list[dict]:
    """Every premises row, with straight-line metres to each hub and its focus area (if any)."""
    cur = conn.execute(
        """SELECT p.id, p.uses, p.floor_area_m2, p.rent_nok_m2_year, p.available_from,
                  p.walk_min, p.status, p.updated_at,
                  (SELECT a.id FROM areas a WHERE ST_Intersects(a.geom, p.geom) LIMIT 1) AS area,
                  (SELECT jsonb_object_agg(h.id, ST_Distance(h.geom, p.geom)) FROM hubs h) AS d
           FROM premises_annotated p"""
    )
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def ids(result) -> set[str]:
    return set(result.features["id"])


def run(conn, **kw) -> premises.SearchResult:
    return search(conn, PremisesQuery(limit=1000, **kw))


def test_default_search_returns_available_premises_with_hub_and_walk_time(conn, rows):
    result = run(conn)
    assert result.number_matched == len(rows) == 45
    gdf = result.features
    assert gdf.crs.to_epsg() == 25833
    assert gdf["nearest_hub_id"].notna().all() and gdf["nearest_hub_name"].notna().all()
    assert gdf["walk_min"].gt(0).all()
    assert gdf["sample"].all()  # the shipped premises are all sample data
    assert list(gdf["walk_min"]) == sorted(gdf["walk_min"])  # default sort: walk


def test_uses_filter_matches_any_of_several(conn, rows):
    office = {r["id"] for r in rows if "office" in r["uses"]}
    either = {r["id"] for r in rows if {"office", "retail"} & set(r["uses"])}
    assert office and either > office
    assert ids(run(conn, uses=["office"])) == office
    assert ids(run(conn, uses=["office", "retail"])) == either


def test_area_and_rent_filters(conn, rows):
    expect = {r["id"] for r in rows if r["floor_area_m2"] >= 500 and r["floor_area_m2"] <= 2000}
    assert 0 < len(expect) < len(rows)
    assert ids(run(conn, min_area_m2=500, max_area_m2=2000)) == expect
    cheap = {
        r["id"] for r in rows if r["rent_nok_m2_year"] is not None and r["rent_nok_m2_year"] <= 1500
    }
    assert 0 < len(cheap) < len(rows)
    assert ids(run(conn, max_rent_nok_m2=1500)) == cheap


def test_focus_area_filter(conn, rows):
    visperud = {r["id"] for r in rows if r["area"] == "visperud"}
    assert visperud
    assert ids(run(conn, area="visperud")) == visperud


def test_available_by(conn, rows):
    by = date(2027, 1, 1)
    expect = {r["id"] for r in rows if r["available_from"] is None or r["available_from"] <= by}
    assert 0 < len(expect) < len(rows)
    assert ids(run(conn, available_by=by)) == expect


def test_max_walk_min_to_nearest_hub(conn, rows):
    expect = {r["id"] for r in rows if r["walk_min"] <= 5}
    assert 0 < len(expect) < len(rows)
    result = run(conn, max_walk_min=5)
    assert ids(result) == expect
    assert result.features["walk_min"].le(5).all()


def test_max_walk_min_to_a_named_hub(conn, rows):
    s = get_settings()
    minutes = {
        r["id"]: r["d"]["visperud_tbane"] * s.detour_factor / s.walk_speed_m_per_min for r in rows
    }
    expect = {pid for pid, m in minutes.items() if m <= 10}
    nearest = {r["id"] for r in rows if r["walk_min"] <= 10}
    assert expect and expect != nearest  # the named hub (planned, not "nearest") matters
    result = run(conn, max_walk_min=10, hub="visperud_tbane")
    assert ids(result) == expect
    gdf = result.features
    assert (gdf["hub_id"] == "visperud_tbane").all()
    assert (gdf["hub_walk_method"] == "straight_line").all()
    for pid, m in zip(gdf["id"], gdf["hub_walk_min"], strict=True):
        assert m == pytest.approx(minutes[pid])
    assert list(gdf["hub_walk_min"]) == sorted(gdf["hub_walk_min"])  # sort=walk uses the hub


def test_named_hub_walk_comes_from_the_proximity_module(conn):
    result = run(conn, hub="ahus")
    walk_to_nearest_hub(conn, hubs=HubSelection(ids=("ahus",)), out="_t_ahus")
    walk = {r[0]: r[1:] for r in conn.execute("SELECT id, walk_m, method FROM _t_ahus")}
    assert len(walk) == len(result.features)
    for pid, m, method in zip(
        result.features["id"],
        result.features["hub_walk_m"],
        result.features["hub_walk_method"],
        strict=True,
    ):
        assert walk[pid] == (pytest.approx(m), method)
        assert method == "straight_line"  # no walking network ships


@pytest.mark.parametrize(
    ("sort", "column", "descending"),
    [("walk", "walk_min", False), ("area", "floor_area_m2", True), ("updated", "updated_at", True)],
)
def test_sorts(conn, rows, sort, column, descending):
    gdf = run(conn, sort=sort).features
    values = list(gdf[column])
    assert values == sorted(values, reverse=descending)


def test_sort_rent_cheapest_first_with_unknown_rent_last(conn, rows):
    gdf = run(conn, sort="rent").features
    rents = [r for r in gdf["rent_nok_m2_year"] if r == r]  # drop NaN (unknown)
    assert rents == sorted(rents)
    known = len(rents)
    assert gdf["rent_nok_m2_year"].iloc[:known].notna().all()


def test_sort_updated_puts_a_changed_premises_first(conn, rows):
    conn.execute(
        "UPDATE premises SET updated_at = now() + interval '1 day' WHERE id = 'sample-030'"
    )
    assert run(conn, sort="updated").features["id"].iloc[0] == "sample-030"


def test_paging_is_stable_and_complete(conn, rows):
    pages = [search(conn, PremisesQuery(sort="area", limit=10, offset=o)) for o in range(0, 50, 10)]
    seen = [pid for p in pages for pid in p.features["id"]]
    assert len(seen) == len(set(seen)) == 45
    assert all(p.number_matched == 45 for p in pages)
    assert len(pages[-1].features) == 5


def test_withdrawn_premises_are_hidden_unless_asked(conn, rows):
    conn.execute("UPDATE premises SET status = 'withdrawn' WHERE id = 'sample-001'")
    assert "sample-001" not in ids(run(conn))
    assert "sample-001" in ids(run(conn, include_withdrawn=True))


def test_search_features_is_the_same_search_as_geojson(conn, rows):
    q = PremisesQuery(uses=["office"], sort="area", limit=5, offset=2, hub="lorenskog_st")
    page = search_features(conn, q)
    features = json.loads(page.features_json)
    gdf = search(conn, q).features
    assert [f["id"] for f in features] == list(gdf["id"])
    assert page.number_returned == 5 and page.number_matched == search(conn, q).number_matched
    f = features[0]
    lon, lat = f["geometry"]["coordinates"]
    assert 10.8 < lon < 11.1 and 59.8 < lat < 60.0  # WGS84
    props = f["properties"]
    for key in ("nearest_hub_id", "nearest_hub_name", "walk_min", "walk_method", "sample"):
        assert key in props
    assert props["hub_id"] == "lorenskog_st" and props["sample"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (PremisesQuery(uses=["office", "spaceport"]), "uses"),
        (PremisesQuery(min_area_m2=-1), "min_area_m2"),
        (PremisesQuery(max_area_m2=float("nan")), "max_area_m2"),
        (PremisesQuery(min_area_m2=500, max_area_m2=100), "max_area_m2"),
        (PremisesQuery(max_rent_nok_m2=float("inf")), "max_rent_nok_m2"),
        (PremisesQuery(max_walk_min=-3), "max_walk_min"),
        (PremisesQuery(area="atlantis"), "area"),
        (PremisesQuery(area="visperud\x00"), "area"),
        (PremisesQuery(hub="no_such_hub", max_walk_min=5), "hub"),
        (PremisesQuery(sort="price"), "sort"),
        (PremisesQuery(limit=0), "limit"),
        (PremisesQuery(limit=10_001), "limit"),
        (PremisesQuery(offset=-1), "offset"),
        (PremisesQuery(offset=2**40), "offset"),
    ],
)
def test_bad_query_values_are_named(conn, rows, query, field):
    with pytest.raises(ValidationError) as err:
        search(conn, query)
    assert err.value.field == field
    assert field in str(err.value)


def test_all_bad_values_are_reported_at_once(conn, rows):
    with pytest.raises(ValidationError) as err:
        search(conn, PremisesQuery(area="atlantis", sort="price", limit=0))
    assert {e["field"] for e in err.value.errors} == {"area", "sort", "limit"}
