"""``geoplan import``: every format and CRS, every kind of bad input, --make-valid, --replace."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.errors import ValidationError
from geoplan.ingest.files import ImportOptions, import_file
from geoplan.ingest.validation import ProvenanceDefaults, RowValidationError
from geoplan.store import db
from tests.conftest import table_counts

# A spot in Lørenskog sentrum (EPSG:25833) and points around it.
X0, Y0 = 274_450.0, 6_646_870.0
runner = CliRunner()


def premises_frame(n: int = 3, prefix: str = "imp") -> gpd.GeoDataFrame:
    """``n`` valid premises in EPSG:25833, ids ``imp-1``..."""
    return gpd.GeoDataFrame(
        {
            "id": [f"{prefix}-{i}" for i in range(1, n + 1)],
            "address": [f"Testveien {i}" for i in range(1, n + 1)],
            "uses": ["office;retail"] + ["warehouse_logistics"] * (n - 1),
            "floor_area_m2": [100.0 + i for i in range(n)],
            "rent_nok_m2_year": [1500.0] * n,
        },
        geometry=[shapely.Point(X0 + 40 * i, Y0 + 25 * i) for i in range(n)],
        crs=25833,
    )


def write(gdf: gpd.GeoDataFrame, path: Path, fmt: str) -> Path:
    """Write ``gdf`` as ``fmt`` (geojson, gpkg, shp, csv_lonlat, csv_xy) to ``path``."""
    if fmt == "geojson":
        gdf.to_file(path, driver="GeoJSON")
    elif fmt == "gpkg":
        gdf.to_file(path, driver="GPKG", layer="premises")
    elif fmt == "shp":
        with warnings.catch_warnings():  # GDAL cuts names to 10 characters; import expects it
            warnings.simplefilter("ignore")
            gdf.to_file(path, driver="ESRI Shapefile")
    elif fmt == "csv_lonlat":
        wgs = gdf.to_crs(4326)
        df = wgs.drop(columns="geometry").assign(lon=wgs.geometry.x, lat=wgs.geometry.y)
        df.to_csv(path, index=False)
    elif fmt == "csv_xy":
        df = gdf.drop(columns="geometry").assign(x=gdf.geometry.x, y=gdf.geometry.y)
        df.to_csv(path, index=False)
    return path


def checksum(url: str) -> str:
    """A digest of every row of the layer tables and premises history."""
    with psycopg.connect(db.conninfo(url)) as c:
        parts = [
            c.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {t} t"
            ).fetchone()[0]
            for t in ("boundary", "areas", "hubs", "premises", "premises_history")
        ]
    return ",".join(parts)


def state(url: str) -> tuple[dict[str, int], str]:
    return table_counts(url), checksum(url)


def run_import(url: str, path: Path, layer: str = "premises", **kw) -> object:
    options = ImportOptions(**kw)
    with db.transaction(url) as conn:
        return import_file(conn, path, layer, options)


def stored(url: str, ids: list[str]) -> dict[str, dict]:
    with psycopg.connect(db.conninfo(url)) as c:
        rows = c.execute(
            "SELECT id, address, uses, floor_area_m2, source, verified, accuracy_m, "
            "ST_X(geom), ST_Y(geom), nearest_hub_id FROM premises_annotated WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
    keys = ("id", "address", "uses", "area", "source", "verified", "accuracy", "x", "y", "hub")
    return {r[0]: dict(zip(keys, r, strict=True)) for r in rows}


# -- formats and CRSs ---------------------------------------------------------------------------
CASES = [
    ("geojson", 4326),
    ("geojson", 25832),
    ("geojson", 25833),
    ("gpkg", 4326),
    ("gpkg", 25832),
    ("gpkg", 25833),
    ("shp", 4326),
    ("shp", 25832),
    ("shp", 25833),
    ("csv_lonlat", 4326),
    ("csv_xy", 25832),
    ("csv_xy", 25833),
]


@pytest.mark.parametrize(("fmt", "epsg"), CASES, ids=[f"{f}-{e}" for f, e in CASES])
def test_import_each_format_and_crs(loaded_db: str, tmp_path: Path, fmt: str, epsg: int):
    src = premises_frame(3)
    ext = {"csv_lonlat": "csv", "csv_xy": "csv"}.get(fmt, fmt)
    path = write(src.to_crs(epsg), tmp_path / f"premises.{ext}", fmt)
    crs = f"EPSG:{epsg}" if fmt == "csv_xy" else None
    before = table_counts(loaded_db)

    result = run_import(loaded_db, path, crs=crs)

    assert result.write.inserted == 3
    after = table_counts(loaded_db)
    assert after["premises"] == before["premises"] + 3
    assert after["premises_history"] == before["premises_history"] + 3
    rows = stored(loaded_db, list(src["id"]))
    for _, want in src.iterrows():
        got = rows[want["id"]]
        assert got["x"] == pytest.approx(want.geometry.x, abs=0.01)
        assert got["y"] == pytest.approx(want.geometry.y, abs=0.01)
        assert got["area"] == want["floor_area_m2"]
        assert got["address"] == want["address"]
        assert got["source"] == path.name  # provenance defaults to the file name
        assert got["verified"] is False
        assert got["hub"] is not None  # annotated with the nearest hub
    assert rows["imp-1"]["uses"] == ["office", "retail"]


def test_csv_with_norwegian_headers_semicolons_and_decimal_commas(loaded_db, tmp_path):
    wgs = premises_frame(2).to_crs(4326)
    lines = ["Adresse;Bruk;Areal;Leie;Breddegrad;Lengdegrad;ID"]
    for i, g in enumerate(wgs.geometry, start=1):
        lines.append(f"Storgata {i};kontor, lager;1 200,5;1500;{g.y!r};{g.x!r};no-{i}")
    path = tmp_path / "lokaler.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    run_import(loaded_db, path)

    got = stored(loaded_db, ["no-1", "no-2"])
    assert got["no-1"]["uses"] == ["office", "warehouse_logistics"]
    assert got["no-2"]["area"] == 1200.5


def test_shapefile_without_prj_needs_crs(loaded_db, tmp_path):
    path = write(premises_frame(2).set_crs(None, allow_override=True), tmp_path / "p.shp", "shp")
    assert not (tmp_path / "p.prj").exists()
    before = state(loaded_db)
    with pytest.raises(ValidationError, match="--crs"):
        run_import(loaded_db, path)
    assert state(loaded_db) == before
    run_import(loaded_db, path, crs="EPSG:25833")
    assert len(stored(loaded_db, ["imp-1", "imp-2"])) == 2


def test_crs_option_overrides_a_wrong_declared_crs(loaded_db, tmp_path):
    # Coordinates are EPSG:25832, but the file claims 25833: --crs corrects it.
    wrong = premises_frame(2).to_crs(25832).set_crs(25833, allow_override=True)
    path = write(wrong, tmp_path / "p.geojson", "geojson")
    with pytest.raises(RowValidationError, match="outside the region"):
        run_import(loaded_db, path)
    run_import(loaded_db, path, crs="EPSG:25832")
    got = stored(loaded_db, ["imp-1"])["imp-1"]
    assert got["x"] == pytest.approx(X0, abs=0.01)


def test_provenance_from_options(loaded_db, tmp_path):
    path = write(premises_frame(1), tmp_path / "p.geojson", "geojson")
    run_import(
        loaded_db,
        path,
        provenance=ProvenanceDefaults(source="Megler AS liste 2025", accuracy_m=5, verified=True),
    )
    got = stored(loaded_db, ["imp-1"])["imp-1"]
    assert (got["source"], got["accuracy"], got["verified"]) == ("Megler AS liste 2025", 5, True)


# -- bad input leaves the store unchanged ---------------------------------------------------------
def _bad_premises(kind: str) -> gpd.GeoDataFrame:
    gdf = premises_frame(4)
    if kind == "wrong_geometry_type":
        gdf.loc[2, "geometry"] = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    elif kind == "far_outside":
        gdf.loc[2, "geometry"] = shapely.Point(-30_000, 6_720_000)  # Bergen in EPSG:25833
    elif kind == "non_numeric_area":
        gdf["floor_area_m2"] = gdf["floor_area_m2"].astype(object)
        gdf.loc[2, "floor_area_m2"] = "stor"
    elif kind == "negative_area":
        gdf.loc[2, "floor_area_m2"] = -50.0
    elif kind == "unknown_use":
        gdf.loc[2, "uses"] = "office;casino"
    elif kind == "duplicate_id":
        gdf.loc[2, "id"] = "imp-1"
    elif kind == "empty_required":
        gdf.loc[2, "address"] = None
    return gdf


BAD = {
    "wrong_geometry_type": "expected Point",
    "far_outside": "outside the region",
    "non_numeric_area": "floor_area_m2 is not a number",
    "negative_area": "floor_area_m2 is zero or negative",
    "unknown_use": "unknown uses 'casino'",
    "duplicate_id": "duplicate id 'imp-1' (first on row 1)",
    "empty_required": "address is empty",
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_row_imports_nothing(loaded_db: str, tmp_path: Path, kind: str):
    path = write(_bad_premises(kind), tmp_path / "bad.geojson", "geojson")
    before = state(loaded_db)

    with pytest.raises(RowValidationError) as err:
        run_import(loaded_db, path)

    assert state(loaded_db) == before
    first = str(err.value).splitlines()[0]
    assert "row 3" in first and BAD[kind] in first, first
    assert err.value.row_errors[0].row == 3


def test_csv_text_in_a_number_column_is_reported_once(loaded_db, tmp_path):
    # `abc` in floor_area_m2 (a required column) was reported twice: as "not a number" and, once
    # the cell had become None, again as "floor_area_m2 is empty"; a single error was also
    # repeated under the summary line.
    path = write(premises_frame(3), tmp_path / "p.csv", "csv_lonlat")
    text = path.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    cells = text[2].split(",")
    cells[header.index("floor_area_m2")] = "abc"
    text[2] = ",".join(cells)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    before = state(loaded_db)

    with pytest.raises(RowValidationError) as err:
        run_import(loaded_db, path)

    assert state(loaded_db) == before
    assert [(e.row, e.column, e.message) for e in err.value.row_errors] == [
        (2, "floor_area_m2", "floor_area_m2 is not a number ('abc')")
    ]
    message = str(err.value)
    assert message == (
        "p.csv: 1 error in 1 row, nothing was imported: "
        "row 2: floor_area_m2 is not a number ('abc')"
    )

    # Two bad cells: each listed once under the summary, no "is empty" for either.
    cells = text[3].split(",")
    cells[header.index("floor_area_m2")] = "stor"
    text[3] = ",".join(cells)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(RowValidationError) as err:
        run_import(loaded_db, path)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("p.csv: 2 errors in 2 rows, nothing was imported (first: row 2")
    assert lines[1:] == [
        "  row 2: floor_area_m2 is not a number ('abc')",
        "  row 3: floor_area_m2 is not a number ('stor')",
    ]

    # An empty required cell is still reported as empty.
    cells[header.index("floor_area_m2")] = ""
    text[3] = ",".join(cells)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(RowValidationError) as err:
        run_import(loaded_db, path)
    assert [str(e) for e in err.value.row_errors] == [
        "row 2: floor_area_m2 is not a number ('abc')",
        "row 3: floor_area_m2 is empty",
    ]


def test_cli_reports_a_bad_number_cell_once(loaded_db, tmp_path):
    gdf = premises_frame(2)
    gdf["floor_area_m2"] = gdf["floor_area_m2"].astype(object)
    gdf.loc[1, "floor_area_m2"] = "abc"
    path = write(gdf, tmp_path / "p.csv", "csv_xy")

    res = runner.invoke(app, ["import", str(path), "--layer", "premises"])

    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "error: p.csv: 1 error in 1 row, nothing was imported: "
        "row 2: floor_area_m2 is not a number ('abc')"
    ]


def test_invalid_geometry_is_reported_and_repaired_only_on_request(loaded_db, tmp_path):
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    areas = gpd.GeoDataFrame(
        {"id": ["ok", "bowtie"], "name": ["OK", "Bowtie"], "role": ["centre", "business_area"]},
        geometry=[shapely.box(X0, Y0, X0 + 50, Y0 + 50), bowtie],
        crs=25833,
    )
    path = write(areas, tmp_path / "areas.gpkg", "gpkg")
    before = state(loaded_db)
    with pytest.raises(RowValidationError, match=r"row 2: invalid geometry \(Self-intersection"):
        run_import(loaded_db, path, layer="areas")
    assert state(loaded_db) == before

    result = run_import(loaded_db, path, layer="areas", make_valid=True)
    assert result.write.inserted == 2
    with psycopg.connect(db.conninfo(loaded_db)) as c:
        valid, kind, area = c.execute(
            "SELECT ST_IsValid(geom), GeometryType(geom), ST_Area(geom) FROM areas "
            "WHERE id = 'bowtie'"
        ).fetchone()
    assert valid and kind == "MULTIPOLYGON" and area == pytest.approx(5000, rel=1e-6)


def test_many_errors_are_all_counted(loaded_db, tmp_path):
    gdf = premises_frame(40)
    gdf["floor_area_m2"] = -1.0
    path = write(gdf, tmp_path / "bad.geojson", "geojson")
    with pytest.raises(RowValidationError) as err:
        run_import(loaded_db, path)
    text = str(err.value)
    assert text.splitlines()[0].startswith(
        "bad.geojson: 40 errors in 40 rows, nothing was imported"
    )
    assert "... and 20 more" in text
    assert len(err.value.errors) == 40


def test_missing_required_column_is_named(loaded_db, tmp_path):
    path = write(premises_frame(2).drop(columns=["uses"]), tmp_path / "p.geojson", "geojson")
    before = state(loaded_db)
    with pytest.raises(ValidationError, match=r"missing required column uses \(or use, bruk"):
        run_import(loaded_db, path)
    assert state(loaded_db) == before


def test_unknown_layer_is_refused(loaded_db, tmp_path):
    path = write(premises_frame(1), tmp_path / "p.geojson", "geojson")
    before = state(loaded_db)
    with pytest.raises(ValidationError, match="unknown layer"):
        run_import(loaded_db, path, layer="parking")
    assert state(loaded_db) == before


# -- upsert, replace, history -------------------------------------------------------------------
def test_upsert_updates_changed_rows_only_and_records_history(loaded_db, tmp_path):
    path = write(premises_frame(3), tmp_path / "p.geojson", "geojson")
    run_import(loaded_db, path)
    again = run_import(loaded_db, path)
    assert (again.write.inserted, again.write.updated, again.write.unchanged) == (0, 0, 3)

    changed = premises_frame(3)
    changed.loc[0, "floor_area_m2"] = 999.0
    run_import(loaded_db, write(changed, tmp_path / "p2.geojson", "geojson"))
    with psycopg.connect(db.conninfo(loaded_db)) as c:
        version = c.execute("SELECT version FROM premises WHERE id = 'imp-1'").fetchone()[0]
        hist = c.execute(
            "SELECT action, (before->>'floor_area_m2')::float, (after->>'floor_area_m2')::float, "
            "after->'geometry'->>'type' FROM premises_history WHERE premises_id = 'imp-1' "
            "ORDER BY id"
        ).fetchall()
    assert version == 2
    assert hist == [("import", None, 100.0, "Point"), ("import", 100.0, 999.0, "Point")]


def test_replace_removes_rows_not_in_the_file(loaded_db, tmp_path):
    path = write(premises_frame(2), tmp_path / "p.geojson", "geojson")
    result = run_import(loaded_db, path, replace=True)
    assert result.write.deleted == 45
    with psycopg.connect(db.conninfo(loaded_db)) as c:
        ids = [r[0] for r in c.execute("SELECT id FROM premises ORDER BY id")]
        gone = c.execute(
            "SELECT count(*) FROM premises_history WHERE after IS NULL AND before IS NOT NULL"
        ).fetchone()[0]
    assert ids == ["imp-1", "imp-2"]
    assert gone == 45


def test_hub_import_reannotates_premises(loaded_db, tmp_path):
    # A new hub right on top of sample premises becomes their nearest hub.
    with psycopg.connect(db.conninfo(loaded_db)) as c:
        pid, x, y = c.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM premises ORDER BY id LIMIT 1"
        ).fetchone()
    hubs = gpd.GeoDataFrame(
        {"id": ["new_hub"], "name": ["Ny holdeplass"], "mode": ["bussholdeplass"]},
        geometry=[shapely.Point(x + 1, y)],
        crs=25833,
    )
    run_import(loaded_db, write(hubs, tmp_path / "hubs.geojson", "geojson"), layer="hubs")
    with psycopg.connect(db.conninfo(loaded_db)) as c:
        hub, mode = c.execute(
            "SELECT p.nearest_hub_id, h.mode FROM premises_annotated p JOIN hubs h ON h.id = "
            "p.nearest_hub_id WHERE p.id = %s",
            (pid,),
        ).fetchone()
    assert (hub, mode) == ("new_hub", "bus_stop")


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_import_success_and_errors(loaded_db, tmp_path):
    good = write(premises_frame(2), tmp_path / "good.geojson", "geojson")
    res = runner.invoke(app, ["import", str(good), "--layer", "premises", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "2 rows from good.geojson (2 new" in res.output

    bad = write(_bad_premises("negative_area"), tmp_path / "bad.geojson", "geojson")
    before = state(loaded_db)
    res = runner.invoke(app, ["import", str(bad), "--layer", "premises"])
    assert res.exit_code == 1
    first = res.output.strip().splitlines()[0]
    assert first.startswith("error: bad.geojson: 1 error in 1 row, nothing was imported")
    assert "row 3" in first
    assert "Traceback" not in res.output
    assert state(loaded_db) == before

    res = runner.invoke(app, ["import", str(tmp_path / "nope.csv"), "--layer", "premises"])
    assert res.exit_code == 1 and "file not found" in res.output

    res = runner.invoke(app, ["import", str(good), "--layer", "premises", "--crs", "EPSG:99999"])
    assert res.exit_code == 1 and "unknown CRS" in res.output


def test_cli_import_provenance_options(loaded_db, tmp_path):
    path = write(premises_frame(1), tmp_path / "p.csv", "csv_lonlat")
    res = runner.invoke(
        app,
        [
            "import",
            str(path),
            "-l",
            "premises",
            "--source",
            "Kommunen",
            "--accuracy-m",
            "3",
            "--verified",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    got = stored(loaded_db, ["imp-1"])["imp-1"]
    assert (got["source"], got["accuracy"], got["verified"]) == ("Kommunen", 3, True)


def test_geojson_list_properties_are_read(loaded_db, tmp_path):
    path = tmp_path / "p.geojson"
    feature = {
        "type": "Feature",
        "properties": {
            "id": "list-1",
            "address": "A",
            "uses": ["Kontor", "helse"],
            "floor_area_m2": 10,
        },
        "geometry": {"type": "Point", "coordinates": [10.9555, 59.9272]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    run_import(loaded_db, path)
    assert stored(loaded_db, ["list-1"])["list-1"]["uses"] == ["office", "health"]
