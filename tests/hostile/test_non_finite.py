"""Defect 1: ``inf``/``Infinity``/``NaN`` in a number column imported with exit 0; the API then
served ``"floor_area_m2": "Infinity"``, coverage totals became null and the GeoJSON export held
bare ``Infinity`` (invalid JSON). Now: a row-numbered "not a finite number", and CHECK
constraints so that no path (not even plain SQL) can store one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.ingest.export import _plain, _write_geojson
from geoplan.layers.spec import LAYER_SPECS, MAX_ACCURACY_M
from geoplan.store import db
from tests.conftest import table_counts

runner = CliRunner()
HEADER = "id,address,uses,floor_area_m2,rent_nok_m2_year,accuracy_m,lon,lat\n"
OK_ROW = "p-ok,Gate 1,office,100,1500,10,10.95,59.93\n"


def import_cli(path: Path, layer: str = "premises", *extra: str):
    return runner.invoke(app, ["import", str(path), "--layer", layer, "-q", *extra])


def one_line_error(result, codes: tuple[int, ...] = (1,)) -> str:
    assert result.exit_code in codes, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith("error: "), result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "p1,Gate 1,office,inf,1500,10,10.95,59.93",
            "floor_area_m2 is not a finite number ('inf')",
        ),
        ("p1,Gate 1,office,100,Infinity,10,10.95,59.93", "rent_nok_m2_year is not a finite number"),
        ("p1,Gate 1,office,100,1500,NaN,10.95,59.93", "accuracy_m is not a finite number ('NaN')"),
        ("p1,Gate 1,office,-inf,1500,10,10.95,59.93", "floor_area_m2 is not a finite number"),
        ("p1,Gate 1,office,1e999,1500,10,10.95,59.93", "floor_area_m2 is not a finite number"),
        ("p1,Gate 1,office,100,1500,10,inf,59.93", "coordinates are not finite numbers"),
    ],
)
def test_csv_non_finite_numbers_are_row_numbered_errors(loaded_db, tmp_path, row, message):
    before = table_counts(loaded_db)
    path = tmp_path / "lokaler.csv"
    path.write_text(HEADER + OK_ROW + row + "\n", encoding="utf-8")
    out = one_line_error(import_cli(path))
    assert f"row 2: {message}" in out, out
    assert table_counts(loaded_db) == before


def test_geojson_infinity_and_nan_literals_are_refused(loaded_db, tmp_path):
    """GDAL's GeoJSON reader takes the non-standard literals ``Infinity`` and ``NaN``."""
    before = table_counts(loaded_db)
    path = tmp_path / "lokaler.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"id": "a", "address": "Gate 1", "uses": "office", '
        '"floor_area_m2": 100}, "geometry": {"type": "Point", "coordinates": [10.95, 59.93]}},'
        '{"type": "Feature", "properties": {"id": "b", "address": "Gate 2", "uses": "office", '
        '"floor_area_m2": Infinity}, "geometry": {"type": "Point", "coordinates": [10.95, 59.93]}},'
        '{"type": "Feature", "properties": {"id": "c", "address": "Gate 3", "uses": "office", '
        '"floor_area_m2": 100, "accuracy_m": NaN}, '
        '"geometry": {"type": "Point", "coordinates": [10.95, 59.93]}}]}',
        encoding="utf-8",
    )
    out = one_line_error(import_cli(path))
    assert "row 2: floor_area_m2 is not a finite number (inf)" in out
    # NaN reads as a missing value: no number, no error, nothing stored
    assert table_counts(loaded_db) == before


def test_provenance_option_must_be_finite(loaded_db, tmp_path):
    path = tmp_path / "lokaler.csv"
    path.write_text(HEADER + OK_ROW, encoding="utf-8")
    for value in ("inf", "nan", str(MAX_ACCURACY_M * 10)):
        # typer itself refuses nan (a usage error, 2); geoplan the rest (1)
        out = one_line_error(import_cli(path, "premises", "--accuracy-m", value), (1, 2))
        assert "accuracy" in out and len(out.strip().splitlines()) == 1


# -- the store: CHECK constraints ---------------------------------------------------------------
INSERTS = {
    "premises": (
        "INSERT INTO premises (id, address, uses, floor_area_m2, rent_nok_m2_year, accuracy_m,"
        " source, geom) VALUES ('x', 'a', '{office}', %(floor_area_m2)s, %(rent_nok_m2_year)s,"
        " %(accuracy_m)s, 's', ST_SetSRID(ST_MakePoint(274000, 6648000), 25833))",
        {"floor_area_m2": 100.0, "rent_nok_m2_year": 1000.0, "accuracy_m": 10.0},
    ),
    "hubs": (
        "INSERT INTO hubs (id, name, mode, departures_per_hour, accuracy_m, source, geom)"
        " VALUES ('x', 'a', 'rail', %(departures_per_hour)s, %(accuracy_m)s, 's',"
        " ST_SetSRID(ST_MakePoint(274000, 6648000), 25833))",
        {"departures_per_hour": 4.0, "accuracy_m": 10.0},
    ),
    "walk_edges": (
        "INSERT INTO walk_edges (source, target, cost, reverse_cost, length_m, geom) VALUES"
        " (1, 2, %(cost)s, %(reverse_cost)s, %(length_m)s,"
        " ST_SetSRID(ST_MakeLine(ST_MakePoint(0, 0), ST_MakePoint(1, 0)), 25833))",
        {"cost": 1.0, "reverse_cost": 1.0, "length_m": 1.0},
    ),
}


def test_no_path_can_store_a_non_finite_or_implausible_number(empty_db):
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        for table, (sql, good) in INSERTS.items():
            with conn.transaction(force_rollback=True):
                conn.execute(sql, good)  # the statement itself is fine
            for column in good:
                for bad in (math.inf, -math.inf, math.nan, 1e308):
                    if bad == 1e308 and table == "walk_edges":
                        continue  # only finiteness is checked there
                    with pytest.raises(psycopg.errors.CheckViolation) as exc, conn.transaction():
                        conn.execute(sql, {**good, column: bad})
                    # revision hostile_input's check, or one that was there before (area > 0)
                    assert exc.value.diag.constraint_name.startswith(table), (column, bad)


POINT = "ST_SetSRID(ST_MakePoint(274000, 6648000), 25833)"
MINIMAL_ROWS = {
    "boundary": "INSERT INTO boundary (id, name, source, geom) "
    f"VALUES ('x', 'x', 's', ST_Multi(ST_Buffer({POINT}, 10)))",
    "areas": "INSERT INTO areas (id, name, role, source, geom) "
    f"VALUES ('x', 'x', 'centre', 's', ST_Multi(ST_Buffer({POINT}, 10)))",
    "hubs": "INSERT INTO hubs (id, name, mode, source, geom) "
    f"VALUES ('x', 'x', 'rail', 's', {POINT})",
    "premises": "INSERT INTO premises (id, address, uses, floor_area_m2, source, geom) "
    f"VALUES ('x', 'x', '{{office}}', 100, 's', {POINT})",
}


def test_the_stored_ranges_are_the_layer_descriptions(empty_db):
    """The migration writes the bounds out (revisions are frozen); they must stay the ones the
    layer description declares, which the imports, the register and OpenAPI use: at each bound
    the store accepts exactly what the description accepts."""
    compared = 0
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        for name, spec in LAYER_SPECS.items():
            conn.execute(MINIMAL_ROWS[name])
            for col in spec.columns:
                if col.max_value is None:
                    continue
                step = 1 if col.kind == "int" else None
                low, high = col.min_value, col.max_value

                def beyond(v: float, direction: float, step: int | None = step) -> float:
                    return v + direction * step if step else math.nextafter(v, direction * math.inf)

                cases = [(high, True), (beyond(high, 1), False), (beyond(low, -1), False)]
                cases.append((low, not col.min_exclusive))
                for value, accepted in cases:
                    assert col.in_range(value) == accepted, (name, col.name, value)
                    value = int(value) if step else value
                    try:
                        with conn.transaction():
                            conn.execute(f"UPDATE {name} SET {col.name} = %s", (value,))
                        stored = True
                    except psycopg.errors.CheckViolation:
                        stored = False
                    assert stored == accepted, (name, col.name, value)
                compared += 1
        conn.rollback()
        # every other float column of every table is at least finite
        floats = conn.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = 'public' AND c.data_type = 'double precision' "
            "AND t.table_type = 'BASE TABLE' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contype = 'c' "
            "AND k.conrelid = c.table_name::regclass "
            "AND k.conname IN (c.table_name || '_' || c.column_name || '_range', "
            "'premises_walk_finite_check'))"
        ).fetchall()
    # accuracy_m of four layers, four attributes, and six premises fields of issue 13 (floor,
    # workplaces, parking_spaces, year_built, year_renovated, ceiling_height_m)
    assert compared == 14
    assert floats == [], floats


def test_migration_refuses_rows_an_earlier_version_stored(make_database):
    url = make_database()
    db.upgrade("0007", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute(
            "INSERT INTO premises (id, address, uses, floor_area_m2, source, geom) VALUES "
            "('p-inf', 'a', '{office}', 'Infinity', 's', "
            "ST_SetSRID(ST_MakePoint(274000, 6648000), 25833))"
        )
        conn.commit()
    with pytest.raises(db.DatabaseError) as exc:
        db.upgrade(url=url)
    message = str(exc.value)
    assert "premises.floor_area_m2 of 1 row (p-inf)" in message
    assert "geoplan db up" in message
    assert db.current_revision(url) == "0008"  # nothing half-done
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute("UPDATE premises SET floor_area_m2 = 120 WHERE id = 'p-inf'")
        conn.commit()
    db.upgrade("0009", url=url)
    assert db.current_revision(url) == "0009"


# -- the export ----------------------------------------------------------------------------------
def test_geojson_export_is_strict_json(loaded_db, tmp_path):
    out = tmp_path / "premises.geojson"
    result = runner.invoke(
        app, ["export", "--layer", "premises", "--format", "geojson", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output

    def no_constant(name: str):
        raise AssertionError(f"bare {name} in the export")

    doc = json.loads(out.read_text(encoding="utf-8"), parse_constant=no_constant)
    assert len(doc["features"]) == 45


def test_export_writes_null_never_bare_infinity(tmp_path):
    """Should a non-finite number ever reach the writer, it is written as null."""
    out = tmp_path / "x.geojson"
    records = [{"id": "a", "floor_area_m2": _plain(math.inf), "rent": _plain(float("nan"))}]
    import shapely

    _write_geojson(out, "premises", records, [shapely.Point(10.9, 59.9)])
    text = out.read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text)["features"][0]["properties"]["floor_area_m2"] is None


def test_zoning_numbers_that_are_not_finite_are_no_numbers():
    """A plan's utilisation reads as unknown when it is no finite number (as for text that
    is no number at all); coordinates are refused by the GML reader."""
    from geoplan.zoning import gml, sosi

    for read in (gml._float, sosi._float):
        assert read("INF") is None and read("nan") is None and read("-Infinity") is None
        assert read("1.5") == 1.5
