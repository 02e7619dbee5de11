"""``geoplan db ...`` commands, in managed mode (own cluster) and with GEOPLAN_DATABASE_URL."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.config import get_settings
from geoplan.store import db
from tests.conftest import free_port

runner = CliRunner()


@pytest.fixture
def managed_env(monkeypatch):
    home = Path(tempfile.mkdtemp(prefix="geoplan-cli-", dir="/tmp"))
    monkeypatch.delenv("GEOPLAN_DATABASE_URL", raising=False)
    monkeypatch.setenv("GEOPLAN_HOME", str(home))
    monkeypatch.setenv("GEOPLAN_DB_PORT", str(free_port()))
    get_settings.cache_clear()
    yield home
    runner.invoke(app, ["db", "down"])
    get_settings.cache_clear()
    import shutil

    shutil.rmtree(home, ignore_errors=True)


def test_managed_up_status_down(managed_env: Path) -> None:
    result = runner.invoke(app, ["db", "up"])
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output
    assert "***" in result.output  # the password is never printed by default

    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0
    assert "running:    yes" in status.output
    assert str(managed_env / "pgdata") in status.output
    assert "postgis:    3." in status.output
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    assert f"schema:     {head}" in status.output

    url = runner.invoke(app, ["db", "url", "--show-password"])
    assert (managed_env / "db-password").read_text().strip() in url.output

    assert runner.invoke(app, ["db", "down"]).exit_code == 0
    status = runner.invoke(app, ["db", "status"])
    assert "running:    no" in status.output


def test_external_url_is_used_and_never_managed(db_url: str) -> None:
    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0
    assert "managed:    no" in status.output
    assert "postgis:    3." in status.output
    down = runner.invoke(app, ["db", "down"])
    assert down.exit_code == 1
    assert "does not manage" in down.output


def test_unreachable_database_is_one_readable_line(monkeypatch) -> None:
    monkeypatch.setenv(
        "GEOPLAN_DATABASE_URL", f"postgresql+psycopg://x:y@127.0.0.1:{free_port()}/nope"
    )
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["load"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "cannot connect to the database" in result.output
    assert "Traceback" not in result.output
