"""Command-line mistakes (bad option values, unknown options, missing arguments) end with exit
code 2 and ONE readable line naming the option, not typer's boxed usage panel.

None of these reach the database: click refuses them while parsing, so no fixture is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geoplan.cli import app

runner = CliRunner()

CASES: list[tuple[list[str], str]] = [
    (
        ["premises", "search", "--format", "xls"],
        "error: --format: 'xls' is not one of 'table', 'geojson', 'csv'",
    ),
    (
        ["premises", "search", "--sort", "nonsense"],
        "error: --sort: 'nonsense' is not one of 'walk', 'area', 'rent', 'updated', 'distance'",
    ),
    (
        ["premises", "search", "--min-area", "big"],
        "error: --min-area: input should be a valid number, unable to parse string as a number "
        "(got 'big')",
    ),
    (
        ["map", "premises", "--out", "x.html", "--max-walk", "abc"],
        "error: --max-walk-min: input should be a valid number, unable to parse string as a "
        "number (got 'abc')",
    ),
    (
        ["premises", "search", "--form", "csv"],
        "error: no such option: --form (did you mean --floor or --format or --sort?)",
    ),
    (["premises", "search", "--limit"], "error: --limit: requires an argument"),
    (
        ["premises", "show"],
        "error: missing argument premises_id (see 'geoplan premises show --help')",
    ),
    (["map", "premises"], "error: missing option --out (see 'geoplan map premises --help')"),
    (["nonsense"], "error: no such command 'nonsense' (see 'geoplan --help')"),
]


@pytest.mark.parametrize(("args", "line"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_usage_error_is_one_line_and_exit_2(args: list[str], line: str) -> None:
    result = runner.invoke(app, args, prog_name="geoplan")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [line]


def test_help_still_works_and_exits_0() -> None:
    for args in (["--help"], ["premises", "search", "--help"], ["map", "premises", "-h"]):
        result = runner.invoke(app, args, prog_name="geoplan")
        assert result.exit_code == 0, result.output
        assert "Usage: geoplan" in result.stdout and "--" in result.stdout
        assert "error:" not in result.output


def _geoplan(*args: str, **setting: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``geoplan`` console script next to this interpreter (with ``setting``
    added to its environment)."""
    exe = Path(sys.executable).parent / "geoplan"
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm-256color", **setting}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_real_process_prints_one_line_without_panel() -> None:
    for args, line in (CASES[0], CASES[2], CASES[6]):
        proc = _geoplan(*args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.splitlines() == [line]
        assert "╭" not in proc.stderr and "Usage" not in proc.stderr

    proc = _geoplan("premises", "search", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--format" in proc.stdout and proc.stderr == ""


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("GEOPLAN_SEARCH_SLOTS", "abc", "valid integer"),
        ("GEOPLAN_SEARCH_SLOTS", "1e308", "valid integer"),
        ("GEOPLAN_SEARCH_SLOTS", "inf", "valid integer"),
        ("GEOPLAN_SEARCH_SLOTS", "", "valid integer"),
        ("GEOPLAN_SEARCH_SLOTS", "0", "greater than or equal to 1"),
        ("GEOPLAN_SEARCH_SLOTS", "500", "less than or equal to 100"),
        ("GEOPLAN_SEARCH_CACHE_MB", "inf", "valid integer"),
        ("GEOPLAN_SEARCH_CACHE_MB", "-1", "greater than or equal to 0"),
        ("GEOPLAN_SEARCH_CACHE_MB", "1e308", "valid integer"),
        ("GEOPLAN_READ_POOL_SIZE", "-1", "greater than or equal to 1"),
        ("GEOPLAN_CORS_ORIGINS", "https://a.no;script-src *", "is not an origin"),
    ],
)
def test_a_bad_setting_is_one_line_naming_its_variable(variable: str, value: str, says: str):
    # read by the command before its own error handling: ends at the root, as one line
    for args in (("db", "status"), ("premises", "search", "--limit", "1")):
        proc = _geoplan(*args, **{variable: value})
        assert proc.returncode == 1, proc.stderr
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith(f"error: {variable}: ") and says in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
