"""``geoplan serve``'s checks before it starts uvicorn (the server itself: tests/faults)."""

from __future__ import annotations

from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.cli.serve import capacity_warnings
from geoplan.config import Settings
from tests.conftest import free_port

runner = CliRunner()


def test_workers_whose_pools_exceed_max_connections_are_warned_about(db_url: str) -> None:
    assert capacity_warnings(Settings(database_url=db_url), 1) == []
    big = Settings(database_url=db_url, pool_size=100, read_pool_size=100)
    (line,) = capacity_warnings(big, 64)
    assert "64 worker(s) × 200 connections" in line and "max_connections" in line
    # with a replica, its limit is checked too
    (primary, replica) = capacity_warnings(big.model_copy(update={"read_database_url": db_url}), 64)
    assert "the database allows" in primary and "the read replica allows" in replica


def test_an_unreachable_database_is_left_to_the_server_to_report() -> None:
    down = Settings(database_url=f"postgresql+psycopg://x:y@127.0.0.1:{free_port()}/nope")
    assert capacity_warnings(down, 64) == []


def test_reload_with_several_workers_is_one_line() -> None:
    result = runner.invoke(app, ["serve", "--reload", "--workers", "2"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: --reload serves from one process; leave out --workers (or set GEOPLAN_WORKERS=1)"
    ]
