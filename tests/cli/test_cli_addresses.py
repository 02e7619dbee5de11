"""``geoplan import-addresses`` and ``geoplan geocode`` on Elverum's real address file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from tests.conftest import table_counts, truncate_all
from tests.real_data import ELVERUM_ADDRESSES, csv_records, load_boundary

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def geoplan(*args: str):
    return runner.invoke(app, list(args), env=WIDE, prog_name="geoplan")


@pytest.fixture(scope="module")
def imported(db_url: str):
    truncate_all(db_url)
    load_boundary(db_url, "3420")
    return geoplan("import-addresses", str(ELVERUM_ADDRESSES), "--quiet")


def test_import_reports_rows_municipality_and_date(imported, db_url) -> None:
    assert imported.exit_code == 0, imported.output
    n = len(csv_records())
    assert imported.stdout.strip() == (
        f"addresses: {n} from {ELVERUM_ADDRESSES.name} (kommune 3420 ELVERUM; EPSG:25833, "
        "dataset date 2025-06-12; 0 replaced)"
    )
    assert table_counts(db_url)["addresses"] == n == 10_871


def test_geocode_table(imported) -> None:
    r = geoplan("geocode", "Storgata 2, Elverum")
    assert r.exit_code == 0, r.output
    first = r.stdout.splitlines()[1]
    assert "1.000" in first and "exact" in first and "Storgata 2 " in first
    assert "2408 ELVERUM" in first and "313431.9" in first and "6754772.9" in first
    assert "CC BY 4.0 © Kartverket" in r.stderr


def test_geocode_json(imported) -> None:
    r = geoplan("geocode", "storgt 3", "--json", "--limit", "2")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["parsed"]["street"] == "storgt" and out["parsed"]["number"] == 3
    assert [c["address"] for c in out["candidates"]] == ["Storgata 2", "Storgata 4"]
    assert {c["match_kind"] for c in out["candidates"]} == {"nearest_house_number"}
    c = out["candidates"][0]
    assert c["epsg25833"] == {"x": 313431.88, "y": 6754772.89}
    assert c["kommunenummer"] == "3420" and c["licence"] == "CC BY 4.0 © Kartverket"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["Qwxzy 12"], "error: no address matches 'Qwxzy 12'"),
        ([""], "error: the address is empty; give a street and house number, e.g. "
               "'Storgata 2, Elverum'"),
        (["Storgata 2", "--limit", "0"], "error: limit must be 1–50, got 0"),
    ],
)  # fmt: skip
def test_geocode_errors_are_one_line(imported, args: list[str], line: str) -> None:
    r = geoplan("geocode", *args)
    assert r.exit_code == 1, r.output
    assert r.stdout == "" and r.stderr.splitlines() == [line]


def test_bad_file_is_one_line_and_writes_nothing(imported, db_url, tmp_path: Path) -> None:
    before = table_counts(db_url)
    rows = ELVERUM_ADDRESSES.read_text(encoding="utf-8").splitlines(keepends=True)[:10]
    rows[3] = ";".join(rows[3].split(";")[:12]) + "\n"
    bad = tmp_path / "ragged.csv"
    bad.write_text("".join(rows), encoding="utf-8")
    r = geoplan("import-addresses", str(bad))
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "error: ragged.csv: 1 error, nothing was imported: line 4: 12 fields, the header has 46"
    ]
    r = geoplan("import-addresses", str(tmp_path / "missing.csv"))
    assert r.exit_code == 1 and len(r.stderr.splitlines()) == 1 and "missing.csv" in r.stderr
    assert table_counts(db_url) == before


def test_geocode_without_addresses_says_what_to_do(imported, db_url) -> None:
    truncate_all(db_url)
    r = geoplan("geocode", "Storgata 2")
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        "error: no addresses are loaded; run `geoplan import-addresses FILE` first"
    ]
