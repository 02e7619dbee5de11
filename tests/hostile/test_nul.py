"""Defect 4: a NUL byte in a path or query parameter answered 500 (``/maps/areas/a%00b``,
``/assessments/a%00b``, ``/assessments/a%00b/report``, ``/proximity/catchments?hub=a%00b``) and
reached the log raw; imports silently cut text at a NUL. Now: 404 for a path, 422 (400 under
``/ogc``) naming the parameter, never a raw NUL in a log line; imports refuse the row."""

from __future__ import annotations

import logging
import zipfile

import pytest
from starlette.requests import Request
from typer.testing import CliRunner

from api.errors import error_response
from geoplan.cli import app
from geoplan.errors import NotFoundError
from geoplan.store import db
from tests.conftest import table_counts
from tests.hostile.conftest import refused

runner = CliRunner()

PATHS = [
    "/maps/areas/a%00b",
    "/assessments/a%00b",
    "/assessments/a%00b/report",
    "/premises/a%00b",
    "/premises/a%00b/history",
    "/ogc/collections/premises/items/a%00b",
    "/ogc/collections/a%00b",
]
QUERIES = [
    ("/proximity/catchments", "hub"),
    ("/premises", "area"),
    ("/premises", "hub"),
    ("/premises", "use"),
    ("/maps/premises", "area"),
    ("/geocode", "q"),
    ("/ogc/collections/premises/items", "filter"),
]


def test_nul_in_a_path_or_query_is_a_client_error_and_never_logged_raw(client, caplog):
    caplog.set_level(logging.DEBUG)
    for path in PATHS:
        refused(client.get(path), 404)
    for path, name in QUERIES:
        status = 400 if path.startswith("/ogc") else 422
        refused(client.get(f"{path}?{name}=a%00b"), status, name)
    refused(client.get("/premises?a%00b=1"), 422)  # in a parameter's name
    assert not [r for r in caplog.records if "\x00" in r.getMessage()]


def test_the_core_refuses_nul_ids_too(loaded_db):
    """Not only the HTTP guard: the functions behind the routes answer "not found"."""
    from geoplan.assessment import get_assessment
    from geoplan.mapdata import areas
    from geoplan.proximity import catchments_geojson

    with db.connect(loaded_db) as conn:
        for call in (
            lambda: get_assessment(conn, "a\x00b"),
            lambda: areas(conn, "a\x00b"),
            lambda: catchments_geojson(conn, "a\x00b"),
        ):
            with pytest.raises(NotFoundError):
                call()


def test_error_log_lines_escape_control_characters(caplog):
    caplog.set_level(logging.ERROR, logger="geoplan.api")
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/x\x00y\nFAKE 200 OK",
        "query_string": b"",
        "headers": [],
        "app": None,
    }
    response = error_response(Request(scope), RuntimeError("boom"))
    assert response.status_code == 500
    (record,) = caplog.records
    assert "\x00" not in record.getMessage() and "\n" not in record.getMessage()
    assert "/x\\x00y" in record.getMessage()


def test_imports_refuse_text_with_a_nul_by_row(loaded_db, tmp_path):
    before = table_counts(loaded_db)
    csv_file = tmp_path / "lokaler.csv"
    csv_file.write_bytes(
        b"id,address,uses,floor_area_m2,lon,lat\n"
        b"a,Gate 1,office,100,10.95,59.93\n"
        b"b,Gate\x002,office,100,10.95,59.93\n"
        b"c,Gate 3,office;ret\x00ail,100,10.95,59.93\n"
    )
    out = runner.invoke(app, ["import", str(csv_file), "--layer", "premises", "-q"]).output
    assert "row 2: address contains a NUL character" in out
    assert "row 3: uses contains a NUL character" in out
    geojson = tmp_path / "lokaler.geojson"
    geojson.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"id": "a", "address": "Gate\\u00001", "uses": "office", "floor_area_m2": 100}, '
        '"geometry": {"type": "Point", "coordinates": [10.95, 59.93]}}]}',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", str(geojson), "--layer", "premises", "-q"])
    assert result.exit_code == 1
    assert "row 1: address contains a NUL character" in result.output  # not cut to "Gate"
    assert table_counts(loaded_db) == before


def test_gtfs_with_nul_bytes_is_refused_in_one_line(loaded_db, tmp_path):
    feed = tmp_path / "feed.zip"
    with zipfile.ZipFile(feed, "w") as z:
        z.writestr("stops.txt", b"stop_id,stop_name,stop_lat,stop_lon\nA,A\x00B,59.93,10.95\n")
        for name in ("routes.txt", "trips.txt", "stop_times.txt"):
            z.writestr(name, "x\n")
    result = runner.invoke(app, ["import-gtfs", str(feed), "-q"])
    assert result.exit_code == 1
    assert result.output == "error: feed.zip: stops.txt holds binary data (NUL bytes)\n"
