"""Defect 9: 3-D coordinates failed the whole file with a schema hint and no row number;
unreadable files (an empty CSV, an unterminated quote, ragged rows, binary data, a file that is
not a GeoPackage, bad GTFS fields) ended in Python tracebacks. Now: heights are dropped (and the
import says so); every unreadable file is one line naming the file (and row), exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.store import db
from tests.conftest import table_counts

runner = CliRunner()
HEADER = "id,address,uses,floor_area_m2,lon,lat\n"
GEOPLAN = [sys.executable, "-c", "from geoplan.cli import main; main()"]
"""The ``geoplan`` command as a process, from the code under test."""


def write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def gtfs(path: Path, **files: str | bytes) -> Path:
    base = {
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Lørenskog,59.927,10.955\n",
        "routes.txt": "route_id,route_type\nR,3\n",
        "trips.txt": "route_id,service_id,trip_id\nR,WD,t\n",
        "stop_times.txt": "trip_id,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,A,1\nt,08:10:00,A,2\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nWD,1,1,1,1,1,0,0,20250303,20250309\n",
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in {**base, **files}.items():
            if text is not None:
                z.writestr(name, text)
    return path


CASES = [
    ("empty.csv", b"", "empty.csv: the file is empty"),
    ("blank.csv", b"\n\n  \n", "blank.csv: the file is empty"),
    (
        "quote.csv",
        HEADER + 'a,"Gate 1,office,100,10.95,59.93\nb,Gate 2,office,100,10.95,59.93\n',
        'quote.csv: line 2: a quoted value is never closed (an unterminated ")',
    ),
    (
        "ragged.csv",
        HEADER + "a,Gate 1,office,100,10.95,59.93,extra\nb,Gate 2\n",
        "ragged.csv: 2 errors in 2 rows",
    ),
    ("binary.csv", bytes(range(256)) * 64, "binary.csv: binary data, not a CSV text file"),
    ("utf16.csv", HEADER.encode("utf-16"), "utf16.csv: UTF-16 text"),
    ("fake.gpkg", b"not a geopackage at all\n", "fake.gpkg: cannot read the file as GeoPackage"),
    ("fake.geojson", b"{not json", "fake.geojson: cannot read the file as GeoJSON"),
    ("fake.shp", bytes(100), "fake.shp: cannot read the file as Shapefile"),
    ("fake.zip", b"PK\x03\x04 broken", "fake.zip: not a readable zip file"),
]


@pytest.mark.parametrize(("name", "content", "message"), CASES, ids=[c[0] for c in CASES])
def test_unreadable_files_are_one_line(loaded_db, tmp_path, name, content, message):
    before = table_counts(loaded_db)
    result = runner.invoke(app, ["import", str(write(tmp_path / name, content)), "-l", "premises"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    first = result.output.splitlines()[0]
    assert first.startswith(f"error: {message}"), result.output
    assert "Traceback" not in result.output
    assert table_counts(loaded_db) == before


def test_ragged_rows_are_named(loaded_db, tmp_path):
    path = write(
        tmp_path / "ragged.csv", HEADER + "a,Gate 1,office,100,10.95,59.93,extra\nb,Gate 2\n"
    )
    result = runner.invoke(app, ["import", str(path), "-l", "premises"])
    assert "row 1: 7 cells, but the header has 6 (line 2; a separator inside" in result.output
    assert "row 2: 2 cells, but the header has 6 (line 3)" in result.output


GTFS_CASES = [
    ({"stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,A,abc,10.95\n"}, "stop_lat 'abc'"),
    ({"stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,A,59.9,inf\n"}, "stop_lon 'inf'"),
    ({"stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,A,,10.95\n"}, "stop_lat is empty"),
    (
        {
            "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type\n"
            "S,Station,59.9x,10.95,1\nA,A,59.93,10.95,0\n"
        },
        "row 1: stop_lat '59.9x' is not a latitude",
    ),
    (
        {
            "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,"
            "sunday,start_date,end_date\nWD,1,1,1,1,1,0,0,2025-03-03,20250309\n"
        },
        "calendar.txt: 1 error in 1 row, nothing was imported: row 1: start_date '2025-03-03'",
    ),
    ({"calendar.txt": "service_id,monday\nWD,1\n"}, "calendar.txt lacks column tuesday"),
    (
        {"calendar_dates.txt": "service_id,date,exception_type\nWD,tomorrow,1\n"},
        "date 'tomorrow' is not a GTFS date",
    ),
    ({"trips.txt": "route_id,service_id,trip_id\nR,WD,t,extra,more\n"}, "trips.txt is not valid"),
    ({"routes.txt": ""}, "routes.txt is empty"),
    ({"stop_times.txt": "trip_id\n".encode("utf-16")}, "stop_times.txt is not UTF-8 text"),
    ({"stop_times.txt": "trip_id\nt\x00\n"}, "stop_times.txt holds binary data"),
]


@pytest.mark.parametrize(("files", "message"), GTFS_CASES)
def test_bad_gtfs_fields_are_one_line(loaded_db, tmp_path, files, message):
    feed = gtfs(tmp_path / "feed.zip", **files)
    result = runner.invoke(app, ["import-gtfs", str(feed), "-q"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith("error: feed.zip"), result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def test_a_good_small_feed_still_imports(loaded_db, tmp_path):
    result = runner.invoke(app, ["import-gtfs", str(gtfs(tmp_path / "feed.zip")), "-q"])
    assert result.exit_code == 0, result.output


def test_heights_are_dropped_and_said(loaded_db, tmp_path):
    path = write(
        tmp_path / "z.geojson",
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"id": "z1", "address": "Gate 1", "uses": "office", '
        '"floor_area_m2": 100}, "geometry": {"type": "Point", "coordinates": [10.95, 59.93, 140]}},'
        '{"type": "Feature", "properties": {"id": "z2", "address": "Gate 2", "uses": "office", '
        '"floor_area_m2": 100}, "geometry": {"type": "Point", "coordinates": [10.96, 59.93]}}]}',
    )
    result = runner.invoke(app, ["import", str(path), "-l", "premises"])
    assert result.exit_code == 0, result.output
    assert "note: dropped the height (Z coordinate) of 1 row" in result.output
    wkt = write(
        tmp_path / "z.csv",
        "id,address,uses,floor_area_m2,wkt\nz3,Gate 3,office,100,POINT Z (10.95 59.93 150)\n",
    )
    result = runner.invoke(app, ["import", str(wkt), "-l", "premises", "--crs", "EPSG:4326"])
    assert result.exit_code == 0, result.output
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        dims = conn.execute(
            "SELECT DISTINCT ST_NDims(geom) FROM premises WHERE id IN ('z1', 'z2', 'z3')"
        ).fetchall()
    assert dims == [(2,)]


def test_exit_codes_from_a_real_process(loaded_db, tmp_path):
    """The same through the installed command: exit status 1, one line on stderr."""
    env = {**os.environ, "GEOPLAN_DATABASE_URL": loaded_db, "COLUMNS": "80"}
    for name, content, message in (CASES[2], CASES[6]):
        path = write(tmp_path / name, content)
        proc = subprocess.run(
            [*GEOPLAN, "import", str(path), "-l", "premises"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith(f"error: {message}"), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    feed = gtfs(tmp_path / "feed.zip", **GTFS_CASES[0][0])
    proc = subprocess.run(
        [*GEOPLAN, "import-gtfs", str(feed), "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
