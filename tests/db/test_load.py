"""``geoplan load``: the shipped layers, idempotent, through the validated import path."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.ingest.shipped import load_layers
from geoplan.ingest.validation import RowValidationError
from geoplan.store import db
from tests.conftest import LAYERS_DIR, table_counts
from tests.db.test_import import state

runner = CliRunner()


def test_load_twice_gives_the_same_counts_and_rows(loaded_db: str):
    first = state(loaded_db)
    assert first[0]["boundary"] == 1
    assert first[0]["areas"] == 6
    assert first[0]["hubs"] >= 10
    assert first[0]["premises"] == 45

    with db.transaction(loaded_db) as conn:
        results = load_layers(conn, LAYERS_DIR)

    assert state(loaded_db) == first  # nothing rewritten: same counts, same rows, no history
    assert all(r.inserted == 0 and r.updated == 0 for r in results)


def test_load_fills_provenance_and_annotates(loaded_db: str):
    with psycopg.connect(db.conninfo(loaded_db)) as c:
        unlabelled = c.execute(
            "SELECT count(*) FROM premises WHERE NOT sample OR source IS NULL"
        ).fetchone()[0]
        annotated = c.execute(
            "SELECT count(*) FROM premises_annotated WHERE nearest_hub_id IS NOT NULL"
        ).fetchone()[0]
        srid = c.execute("SELECT DISTINCT ST_SRID(geom) FROM areas").fetchall()
    assert unlabelled == 0
    assert annotated == 45
    assert srid == [(25833,)]


def test_load_is_all_or_nothing(empty_db: str, tmp_path: Path):
    broken = tmp_path / "layers"
    shutil.copytree(LAYERS_DIR, broken)
    text = (broken / "premises_sample.geojson").read_text()
    (broken / "premises_sample.geojson").write_text(
        text.replace('"floor_area_m2": 850.0', '"floor_area_m2": -850.0', 1)
    )
    before = state(empty_db)
    with pytest.raises(RowValidationError, match="floor_area_m2"), db.transaction(empty_db) as conn:
        load_layers(conn, broken)
    assert state(empty_db) == before  # boundary, areas, hubs were rolled back too


def test_cli_load(empty_db: str):
    res = runner.invoke(app, ["load"])
    assert res.exit_code == 0, res.output
    assert "premises" in res.output and "45 rows (45 new" in res.output
    counts = table_counts(empty_db)
    res = runner.invoke(app, ["load"])
    assert res.exit_code == 0 and "45 rows (0 new, 0 updated)" in res.output
    assert table_counts(empty_db) == counts


def test_cli_load_missing_dir(empty_db: str, tmp_path: Path):
    res = runner.invoke(app, ["load", "--dir", str(tmp_path / "none")])
    assert res.exit_code == 1
    assert "boundary.geojson" in res.output
