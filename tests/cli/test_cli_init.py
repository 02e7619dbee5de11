"""``geoplan init --kommune``: choosing the municipality, and its bad input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.config import get_settings
from geoplan.store import db
from tests.db.test_municipalities import _store_at_0004_with_data

runner = CliRunner()


@pytest.fixture
def fresh_url(make_database, monkeypatch):
    """A new, unmigrated database as GEOPLAN_DATABASE_URL (an external store for geoplan)."""
    url = make_database()
    monkeypatch.setenv("GEOPLAN_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("9999", "--kommune: unknown kommunenummer '9999'"),
        ("abc", "--kommune: 'abc' is not a kommunenummer (four digits, e.g. 0301 or 3222)"),
        ("03011", "--kommune: '03011' is not a kommunenummer"),
        ("0301,9999", "unknown kommunenummer '9999'"),
        (",", "--kommune: give at least one kommunenummer"),
    ],
)
def test_bad_kommune_is_one_line_naming_the_value(fresh_url, value, says):
    result = runner.invoke(app, ["init", "--kommune", value])
    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert says in lines[0]
    assert db.current_revision(fresh_url) is None  # refused before the store was touched


def test_bad_geoplan_kommune_setting_is_named(fresh_url, monkeypatch):
    monkeypatch.setenv("GEOPLAN_KOMMUNE", "Oslo")
    get_settings.cache_clear()
    for command in (["init"], ["load"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1
        assert _lines(result.output) == [
            "error: GEOPLAN_KOMMUNE: 'Oslo' is not a kommunenummer (four digits, e.g. 0301 or 3222)"
        ]


def test_init_oslo_then_load_and_assess(fresh_url):
    result = runner.invoke(app, ["init", "--kommune", "0301"])
    assert result.exit_code == 0, result.output
    assert "serving    0301 Oslo" in result.output
    assert "were not loaded" in result.output  # Lørenskog's sample stays out
    again = runner.invoke(app, ["load"])
    assert again.exit_code == 0, again.output
    assert "serving    0301 Oslo" in again.output and "rows (" not in again.output
    with db.connect(fresh_url) as conn:
        assert conn.execute("SELECT count(*) FROM premises").fetchone()[0] == 0
        assert conn.execute("SELECT name FROM boundary").fetchall() == [("Oslo",)]

    site = ["--lon", "10.7522", "--lat", "59.9111"]
    assess = runner.invoke(app, ["assess", *site, "--use", "office", "--floor-area", "100"])
    assert assess.exit_code == 1
    lines = _lines(assess.output)
    assert len(lines) == 1, assess.output
    assert lines[0].startswith("error: no assessment policy is loaded for Oslo kommune (0301)")


def test_init_a_city_region_and_back_to_the_default(fresh_url):
    result = runner.invoke(app, ["init", "--kommune", "3205,3222,3224"])
    assert result.exit_code == 0, result.output
    assert "serving    3205 Lillestrøm, 3222 Lørenskog, 3224 Rælingen" in result.output
    assert "premises       45 rows (45 new" in result.output
    result = runner.invoke(app, ["init"])  # GEOPLAN_KOMMUNE, default 3222
    assert result.exit_code == 0, result.output
    assert "serving    3222 Lørenskog" in result.output
    assert "premises       45 rows (0 new, 0 updated)" in result.output


def test_db_up_migrates_an_existing_store_in_place(make_database, monkeypatch):
    url = _store_at_0004_with_data(make_database)
    monkeypatch.setenv("GEOPLAN_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["db", "up"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "national register: 357 municipalities" in result.output
    assert "kommunenummer derived for 1 areas, 1 hubs, 2 premises" in result.output
    with db.connect(url) as conn:
        rows = conn.execute("SELECT id, kommunenummer FROM premises ORDER BY id").fetchall()
    assert rows == [("p1", "3222"), ("p2", "0301")]


def test_commands_scope_to_a_municipality(loaded_db, tmp_path):
    search = runner.invoke(app, ["premises", "search", "--kommune", "3222", "--format", "csv"])
    assert search.exit_code == 0, search.output
    assert len(search.output.strip().splitlines()) == 1 + 45  # header and Lørenskog's sample
    none = runner.invoke(app, ["premises", "search", "--kommune", "0301", "--format", "csv"])
    assert none.exit_code == 0 and len(none.output.strip().splitlines()) == 1
    out = tmp_path / "lorenskog.html"
    result = runner.invoke(app, ["map", "overview", "--kommune", "3222", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "<title>Lørenskog – næringsområder" in out.read_text(encoding="utf-8")
    coverage = runner.invoke(app, ["proximity", "coverage", "--kommune", "3222", "--json"])
    assert coverage.exit_code == 0 and '"kommuner": [' in coverage.output
    for command in (
        ["proximity", "coverage", "--kommune", "9999"],
        ["map", "overview", "--kommune", "abc", "--out", str(out)],
        ["premises", "search", "--kommune", "03011"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, (command, result.output)
        lines = _lines(result.output)
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert command[3] in lines[0] and "kommune" in lines[0]
