"""The CLI's place filters (``--within``, ``--near``/``--radius``), saved searches and
``geoplan alerts run``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.premises import saved
from geoplan.store import db

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
BOX = "POLYGON((10.94 59.92, 10.97 59.92, 10.97 59.935, 10.94 59.935, 10.94 59.92))"


def invoke(*args: str):
    return runner.invoke(app, list(args), env=WIDE)


def ids(result) -> set[str]:
    assert result.exit_code == 0, result.output
    return {f["id"] for f in json.loads(result.stdout)["features"]}


def test_search_within_and_near(loaded_db, tmp_path):
    everything = ids(invoke("premises", "search", "--format", "geojson", "--limit", "1000"))
    inside = ids(invoke("premises", "search", "--within", BOX, "--format", "geojson"))
    assert inside and inside < everything
    near = ids(invoke("premises", "search", "--near", "10.9548,59.9267", "--radius", "600",
                      "--format", "geojson"))  # fmt: skip
    assert near and near < everything


def test_bad_places_are_one_line_and_exit_1(loaded_db):
    r = invoke("premises", "search", "--within", "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))")
    assert r.exit_code == 1
    assert "within" in r.output and "cross itself" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = invoke("premises", "search", "--within", BOX, "--within-crs", "EPSG:999999")
    assert r.exit_code == 1 and "within_crs" in r.output
    r = invoke("premises", "search", "--near", "59.93,10.95")
    assert r.exit_code == 1 and "near" in r.output


def test_saved_searches_list_delete_and_alerts_run(loaded_db):
    with db.transaction(loaded_db) as conn:
        record = saved.create(conn, {"within": BOX, "use": "office"}, title="Kontor i sentrum")
    r = invoke("premises", "searches", "list")
    assert r.exit_code == 0 and record["id"] in r.stdout and "Kontor i sentrum" in r.stdout
    r = invoke("alerts", "run", "--once")
    assert r.exit_code == 0, r.output
    assert "0 webhook(s) delivered, 0 failed" in r.output
    assert invoke("premises", "searches", "delete", record["id"]).exit_code == 0
    r = invoke("premises", "searches", "delete", record["id"])
    assert r.exit_code == 1 and "no saved search" in r.output
