"""``geoplan premises search | show | history``: formats, filters, SAMPLE marking, errors."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from geoplan import premises
from geoplan.cli import app
from geoplan.store import db

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def invoke(*args: str):
    return runner.invoke(app, ["premises", *args], env=WIDE)


def test_table_marks_sample_rows(loaded_db):
    r = invoke("search", "--use", "office", "--limit", "5")
    assert r.exit_code == 0, r.output
    assert "SAMPLE" in r.stdout and "invented demonstration data" in r.stdout
    assert "5 of" in r.stdout and "More results: --offset 5" in r.stdout


def test_geojson_format_and_filters(loaded_db):
    r = invoke(
        "search",
        "--use",
        "office",
        "--use",
        "retail",
        "--min-area",
        "200",
        "--max-rent",
        "2500",
        "--limit",
        "1000",
        "--format",
        "geojson",
    )
    assert r.exit_code == 0, r.output
    fc = json.loads(r.stdout)
    assert fc["type"] == "FeatureCollection" and fc["numberReturned"] == fc["numberMatched"] > 0
    for f in fc["features"]:
        p = f["properties"]
        assert {"office", "retail"} & set(p["uses"]) and p["floor_area_m2"] >= 200
        assert p["rent_nok_m2_year"] <= 2500 and p["sample"] is True


def test_csv_format_with_hub_and_area(loaded_db):
    r = invoke(
        "search",
        "--area",
        "visperud",
        "--hub",
        "visperud_tbane",
        "--max-walk-min",
        "10",
        "--available-by",
        "2028-01-01",
        "--sort",
        "walk",
        "--format",
        "csv",
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows and all(row["hub_id"] == "visperud_tbane" for row in rows)
    minutes = [float(row["hub_walk_min"]) for row in rows]
    assert minutes == sorted(minutes) and max(minutes) <= 10
    assert all(row["sample"] == "True" for row in rows)
    assert 10.8 < float(rows[0]["lon"]) < 11.1 and 59.8 < float(rows[0]["lat"]) < 60.0


def test_bad_options_fail_with_one_line(loaded_db):
    for args, text in (
        (("search", "--area", "atlantis"), "area"),
        (("search", "--use", "casino"), "uses"),
        (("search", "--limit", "5000"), "limit"),
        (("show", "p-nope"), "no premises"),
        (("history", "p-nope"), "no premises"),
    ):
        r = invoke(*args)
        assert r.exit_code == 1, (args, r.output)
        assert text in r.output and "Traceback" not in r.output
        assert r.output.strip().startswith("error:")


def test_show_and_history(loaded_db):
    with db.transaction(loaded_db) as conn:
        rec = premises.create(
            conn,
            {
                "geometry": {"type": "Point", "coordinates": [10.9548, 59.9267]},
                "address": "Festplassen 1",
                "uses": ["office"],
                "floor_area_m2": 120,
            },
            "alice",
        )
        premises.update(conn, rec["id"], {"floor_area_m2": 150}, "bob", partial=True)
    shown = invoke("show", rec["id"])
    assert shown.exit_code == 0 and "Festplassen 1" in shown.stdout and "(WGS84)" in shown.stdout
    assert "SAMPLE" not in shown.stdout
    assert "SAMPLE" in invoke("show", "sample-001").stdout
    hist = invoke("history", rec["id"])
    assert hist.exit_code == 0, hist.output
    assert "create" in hist.stdout and "update" in hist.stdout and "bob" in hist.stdout
    assert "floor_area_m2: 120" in hist.stdout and "150" in hist.stdout


def _option_names(*path: str) -> set[str]:
    import typer

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {opt for p in command.params for opt in p.opts}


def test_search_and_map_take_the_same_filters_from_one_list(loaded_db, tmp_path):
    import inspect

    from geoplan.cli.search_filters import search_filter_options

    params = inspect.signature(search_filter_options).parameters.values()
    declared = {opt for p in params for opt in p.default.param_decls}
    assert {"--use", "--max-walk-min", "--max-walk", "--sort"} <= declared
    assert declared | {"--offset", "--limit"} <= _option_names("premises", "search")
    assert declared | {"--offset", "--limit"} <= _option_names("map", "premises")

    # The same filters select the same premises in both commands, and they do filter.
    filters = ["--use", "office", "--max-rent", "2000", "--max-walk", "15", "--sort", "rent"]
    r = invoke("search", *filters, "--limit", "3", "--format", "geojson")
    assert r.exit_code == 0, r.output
    matched = json.loads(r.stdout)["numberMatched"]
    everything = json.loads(invoke("search", "--format", "geojson").stdout)["numberMatched"]
    assert 3 < matched < everything
    out = tmp_path / "map.html"
    r = runner.invoke(app, ["map", "premises", "--out", str(out), *filters, "--limit", "3"])
    assert r.exit_code == 0, r.output
    assert f"{matched} premises match; 3 on the map" in r.stdout


def test_sorted_by_distance_the_table_and_csv_say_how_far(loaded_db):
    """``--sort distance`` lists the distance it sorted by, in the table and in CSV, the
    numbers ``GET /premises`` gives; another order has no distance column."""
    near = ("--near", "10.9548,59.9267", "--radius", "3000")
    r = invoke("search", *near, "--sort", "distance", "--limit", "5")
    assert r.exit_code == 0, r.output
    assert "distance (m)" in r.stdout
    r = invoke("search", *near, "--sort", "distance", "--limit", "1000", "--format", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    distances = [float(row["distance_m"]) for row in rows]
    assert len(distances) > 3 and distances == sorted(distances) and distances[-1] <= 3000
    geojson = invoke(
        "search", *near, "--sort", "distance", "--limit", "1000", "--format", "geojson"
    )
    api = [f["properties"]["distance_m"] for f in json.loads(geojson.stdout)["features"]]
    assert distances == api
    walk = invoke("search", *near, "--limit", "5", "--format", "csv")
    assert "distance_m" not in next(csv.reader(io.StringIO(walk.stdout)))
    assert "distance (m)" not in invoke("search", *near, "--limit", "5").stdout
