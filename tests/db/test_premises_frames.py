"""The search map (through :mod:`geoplan.mapdata`) and ``geoplan premises search`` read the fast
search (:func:`geoplan.premises.search_frame` over ``search_features``) and list what the search
over the listings (:func:`geoplan.premises.search`, which they used before) lists: the same
premises in the same order, the same count and the same values — walks as ``GET /premises``
rounds them (one decimal), positions as its GeoJSON gives them (7 decimals)."""

from __future__ import annotations

import csv
import importlib
import io
import math
from datetime import date, datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from geoplan import mapdata
from geoplan.cli import app
from geoplan.premises import PremisesQuery, check_query, search
from maps.search import render_premises_map
from tests.db.test_premises_search_table import QUERIES as FAST_PATH_QUERIES

search_module = importlib.import_module("geoplan.premises.search")

QUERIES = [
    *FAST_PATH_QUERIES,  # the fast path's own comparisons (tests/db/test_premises_search_table.py)
    PremisesQuery(hub="lorenskog_st", max_walk_min=20, sort="walk"),  # the listing path itself
    PremisesQuery(near="10.9548,59.9267", radius_m=1500),
]
ROUNDED = {"walk_m", "walk_min", "hub_walk_m", "hub_walk_min"}
"""Values the search rounds to one decimal (the listing search gives them unrounded)."""


def _same(a, b, name: str) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if name in ROUNDED:
        return abs(a - b) <= 0.05 + 1e-9
    if isinstance(a, pd.Timestamp | datetime):
        return pd.Timestamp(a) == pd.Timestamp(b)
    if isinstance(a, float):
        return isinstance(b, float) and a == b
    return type(a) is type(b) and a == b  # a date stays a date, a list a list


def assert_same_result(fast, slow) -> None:
    assert fast.number_matched == slow.number_matched and fast.number_matched_exact
    f, s = fast.features, slow.features.to_crs(4326)
    assert list(f["id"]) == list(s["id"])
    assert f.crs.to_epsg() == 4326
    for name in s.columns:
        if name == "geometry":
            continue
        for i, (a, b) in enumerate(zip(s[name], f[name], strict=True)):
            assert _same(a, b, name), (name, f["id"].iloc[i], a, b)
    for a, b in zip(s.geometry, f.geometry, strict=True):
        assert a.distance(b) < 1e-6  # degrees: 7 decimals


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: repr(q)[:90])
def test_the_map_reads_the_fast_search_with_the_listing_searchs_results(loaded_db, conn, q):
    conn.execute("UPDATE premises SET status = 'withdrawn' WHERE id = 'sample-002'")
    conn.execute(
        "UPDATE premises SET floor = 2, workplaces = 30, energy_label = 'B', loading_dock = true, "
        "ceiling_height_m = 4.5, year_built = 1990 WHERE id IN ('sample-001', 'sample-010')"
    )
    q = check_query(conn, q)
    fast = mapdata.premises(conn, q)
    slow = search(conn, q)
    assert_same_result(fast, slow)
    assert "area_id" in fast.features


def test_everything_in_pages_is_the_whole_listing_search(loaded_db, conn, monkeypatch):
    monkeypatch.setattr(mapdata, "SEARCH_PAGE", 4)
    q = PremisesQuery(uses=["office", "retail"])
    fast = mapdata.premises(conn, q, everything=True)
    assert_same_result(fast, search(conn, PremisesQuery(uses=["office", "retail"], limit=1000)))


def test_neither_the_map_nor_the_cli_runs_the_listing_search(loaded_db, conn, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the listing search ran")

    # the listing search reads its page with read_gdf, whatever name it is called by
    monkeypatch.setattr(search_module, "read_gdf", refuse)
    with pytest.raises(AssertionError, match="the listing search ran"):
        search(conn, PremisesQuery())
    html = render_premises_map(conn, PremisesQuery(uses=["office"]))
    assert "ledige lokaler passer" in html
    for fmt in ("table", "csv"):
        r = CliRunner().invoke(app, ["premises", "search", "--format", fmt], env={"COLUMNS": "250"})
        assert r.exit_code == 0, r.output


def test_past_the_cap_the_map_and_the_cli_say_the_count_is_an_estimate(
    loaded_db, conn, monkeypatch
):
    monkeypatch.setattr(search_module, "COUNT_CAP", 10)  # the statement reads it when built
    # available by 2100: every listing, in a search counted in its matches (a search on
    # status, use and municipality alone is counted exactly: migration 0019)
    q = PremisesQuery(limit=20, available_by=date(2100, 1, 1))
    result = mapdata.premises(conn, q)
    assert not result.number_matched_exact and result.number_matched > 10
    assert len(result.features) == 20
    html = render_premises_map(conn, q)
    assert f"ca. {result.number_matched} ledige lokaler passer" in html
    assert f"treff 20 av ca. {result.number_matched}" in html  # the title panel (in a script)
    r = CliRunner().invoke(
        app,
        ["premises", "search", "--limit", "20", "--available-by", "2100-01-01"],
        env={"COLUMNS": "250"},
    )
    assert r.exit_code == 0, r.output
    assert f"20 of about {result.number_matched} matching" in r.stdout
    # everything is read to its end, and counted exactly
    whole = mapdata.premises(conn, PremisesQuery(), everything=True)
    assert whole.number_matched_exact and whole.number_matched == len(whole.features) == 45


def test_cli_csv_lists_the_apis_values(loaded_db, conn):
    r = CliRunner().invoke(
        app, ["premises", "search", "--format", "csv", "--sort", "rent", "--limit", "1000"]
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    slow = search(conn, PremisesQuery(sort="rent", limit=1000)).features.to_crs(4326)
    assert [row["id"] for row in rows] == list(slow["id"])
    for row, (_, ref) in zip(rows, slow.iterrows(), strict=True):
        assert float(row["walk_min"]) == pytest.approx(ref["walk_min"], abs=0.05 + 1e-9)
        assert row["floor_area_m2"] == str(ref["floor_area_m2"])
        assert row["available_from"] == (str(ref["available_from"] or ""))
        assert float(row["lon"]) == pytest.approx(ref.geometry.x, abs=1e-6)
