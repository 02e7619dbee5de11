"""``geoplan import-plan`` and ``geoplan plans``: a summary line and warnings on success, one
``error:`` line (and the findings under it) with exit code 1 on a refused file."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.config import REPO_ROOT

ZONING = REPO_ROOT.parent / "shared" / "data" / "real" / "zoning"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _store(empty_db: str) -> str:
    return empty_db


def test_import_plan_prints_a_summary_and_warnings():
    result = runner.invoke(
        app,
        ["import-plan", str(ZONING / "gml.avgr.1-fail.gml"), "--no-region-check", "--sample"],
        prog_name="geoplan",
    )
    assert result.exit_code == 0, result.output
    assert "3 land-use areas (3× 1169 Annen offentlig eller privat tjenesteyting)" in result.stdout
    assert "not stored: 3 RpFormålGrense" in result.stdout
    assert "warning: RpArealformålOmråde gml:id=_1deb7804" in result.stderr
    listed = runner.invoke(app, ["plans", "list", "--json"], prog_name="geoplan")
    assert '"areas": 3' in listed.stdout
    counted = runner.invoke(app, ["plans", "premises-by-land-use"], prog_name="geoplan")
    assert counted.exit_code == 0 and "1169" in counted.stdout


def test_refused_plan_is_one_error_line_and_exit_1():
    result = runner.invoke(
        app, ["import-plan", str(ZONING / "gml.flate.4-fail.gml"), "--no-region-check"],
        prog_name="geoplan",
    )  # fmt: skip
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: gml.flate.4-fail.gml: RpArealformålOmråde gml:id=_1deb7804")
    assert "interior ring 1 is not inside the exterior ring; nothing was imported" in first
