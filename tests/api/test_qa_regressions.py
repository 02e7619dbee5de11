"""Regressions found by running the README from a fresh clone (QA)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geoplan.cli import app


def test_search_map_table_shows_missing_rent_as_dash(loaded_db: str) -> None:
    # sample-007 (Søster Mathildes gate 18) has no rent; the table printed "nan".
    with TestClient(create_app(database_url=loaded_db)) as client:
        page = client.get("/maps/premises?use=office&max_walk_min=10")
    assert page.status_code == 200
    assert 'data-id="sample-007"' in page.text
    row = page.text.split('data-id="sample-007"', 1)[1].split("</tr>", 1)[0]
    assert "nan" not in row
    assert "<td>–</td>" in row


def test_map_premises_accepts_the_search_option_name(loaded_db: str, tmp_path: Path) -> None:
    # README: `geoplan map premises --use office --max-walk-min 10 --out søk.html`
    # (the same option name as `geoplan premises search`); it was refused as unknown.
    out = tmp_path / "søk.html"
    result = CliRunner().invoke(
        app, ["map", "premises", "--use", "office", "--max-walk-min", "10", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.exists() and "Søster Mathildes gate 18" in out.read_text(encoding="utf-8")
