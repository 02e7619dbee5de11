"""``geoplan export``: formats, CRSs, provenance columns, and the round trip back through import."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.errors import ValidationError
from geoplan.ingest.export import export_layer
from geoplan.ingest.files import ImportOptions, import_file
from geoplan.store import db
from tests.db.test_import import state

runner = CliRunner()
LAYERS = ("boundary", "areas", "hubs", "premises")
FORMATS = ("geojson", "gpkg", "csv")
# geom is compared as geometry below; premises.lonlat is geom again (CRS84, migration 0003)
SKIP = {"created_at", "updated_at", "version", "geom", "seq", "lonlat"}  # seq: internal


def snapshot(url: str, layer: str) -> dict[str, tuple]:
    """Each row's attributes (without timestamps) and its geometry, by id."""
    with psycopg.connect(db.conninfo(url)) as c:
        source = "premises_annotated" if layer == "premises" else layer  # with the walk
        cur = c.execute(f"SELECT *, ST_AsBinary(geom) AS wkb FROM {source} ORDER BY id")
        names = [d.name for d in cur.description]
        out = {}
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            out[rec["id"]] = rec
    return out


def same_geometry(url: str, a: bytes, b: bytes) -> bool:
    with psycopg.connect(db.conninfo(url)) as c:
        return c.execute(
            "SELECT ST_HausdorffDistance(ST_GeomFromWKB(%s), ST_GeomFromWKB(%s)) < 0.001",
            (a, b),
        ).fetchone()[0]


def do_export(url: str, layer: str, fmt: str, out: Path) -> int:
    with db.connect(url) as conn:
        return export_layer(conn, layer, fmt, out)


def do_import(url: str, layer: str, path: Path, **kw):
    with db.transaction(url) as conn:
        return import_file(conn, path, layer, ImportOptions(**kw))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", LAYERS)
def test_round_trip_into_an_emptied_layer(loaded_db: str, tmp_path: Path, layer: str, fmt: str):
    before = snapshot(loaded_db, layer)
    path = tmp_path / f"{layer}.{fmt}"
    assert do_export(loaded_db, layer, fmt, path) == len(before)

    with psycopg.connect(db.conninfo(loaded_db)) as c:
        c.execute(f"DELETE FROM {layer}")
    do_import(loaded_db, layer, path)

    after = snapshot(loaded_db, layer)
    assert after.keys() == before.keys()
    for key, old in before.items():
        new = after[key]
        for col in old:
            if col in SKIP | {"wkb"}:
                continue
            if col in ("walk_m", "walk_min"):  # derived from a position that moved by µm
                assert new[col] == pytest.approx(old[col], abs=0.01), (key, col)
            else:
                assert new[col] == old[col], (key, col)
        assert same_geometry(loaded_db, old["wkb"], new["wkb"]), key


@pytest.mark.parametrize("fmt", FORMATS)
def test_reimporting_an_export_changes_nothing(loaded_db: str, tmp_path: Path, fmt: str):
    for layer in LAYERS:
        path = tmp_path / f"{layer}.{fmt}"
        do_export(loaded_db, layer, fmt, path)
    before = state(loaded_db)
    for layer in LAYERS:
        result = do_import(loaded_db, layer, tmp_path / f"{layer}.{fmt}")
        assert result.write.inserted == result.write.updated == 0, layer
    assert state(loaded_db) == before


def test_geojson_and_csv_are_wgs84_gpkg_is_25833(loaded_db: str, tmp_path: Path):
    do_export(loaded_db, "premises", "geojson", tmp_path / "p.geojson")
    do_export(loaded_db, "premises", "csv", tmp_path / "p.csv")
    do_export(loaded_db, "premises", "gpkg", tmp_path / "p.gpkg")

    fc = json.loads((tmp_path / "p.geojson").read_text())
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    assert 10.8 < lon < 11.1 and 59.8 < lat < 60.0
    props = fc["features"][0]["properties"]
    assert props["sample"] is True and props["source"].startswith("SAMPLE DATA")
    assert {"accuracy_m", "verified", "licence", "source_url"} <= props.keys()
    assert isinstance(props["uses"], list)

    with (tmp_path / "p.csv").open() as f:
        row = next(csv.DictReader(f))
    assert 10.8 < float(row["lon"]) < 11.1 and 59.8 < float(row["lat"]) < 60.0
    assert row["sample"] == "true" and json.loads(row["uses"])

    gpkg = gpd.read_file(tmp_path / "p.gpkg")
    assert gpkg.crs.to_epsg() == 25833
    assert len(gpkg) == 45 and gpkg["sample"].all()


def test_export_errors(empty_db: str, tmp_path: Path):
    with pytest.raises(ValidationError, match="holds no rows"):
        do_export(empty_db, "premises", "geojson", tmp_path / "p.geojson")
    with pytest.raises(ValidationError, match="unknown export format"):
        do_export(empty_db, "premises", "kml", tmp_path / "p.kml")


def test_cli_export(loaded_db: str, tmp_path: Path):
    out = tmp_path / "hubs.csv"
    res = runner.invoke(app, ["export", "--layer", "hubs", "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and "features written" in res.output

    res = runner.invoke(
        app, ["export", "-l", "hubs", "-f", "csv", "-o", str(tmp_path / "no" / "x.csv")]
    )
    assert res.exit_code == 1 and "does not exist" in res.output
