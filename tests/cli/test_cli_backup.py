"""``geoplan db backup`` / ``geoplan db restore``: a round trip gives back the same data, a
restore that fails changes nothing, and every mistake is one line (missing file, wrong format,
database down, no confirmation)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geoplan.auth import keys
from geoplan.cli import app
from geoplan.config import get_settings
from geoplan.store import db
from tests.conftest import APP_TABLES, LAYERS_DIR, free_port

runner = CliRunner()


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row, per app table: equal fingerprints, equal data."""
    with psycopg.connect(db.conninfo(url)) as conn:
        return {
            t: conn.execute(
                f"SELECT count(*), coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '')"
                f" FROM {t} r"
            ).fetchone()
            for t in (*APP_TABLES, "alembic_version", "premises_walk")
        }


@pytest.fixture
def own_database(make_database, monkeypatch) -> Iterator[str]:
    """A migrated database holding the shipped layers and a key, as GEOPLAN_DATABASE_URL."""
    from geoplan.ingest.shipped import load_layers

    url = make_database()
    db.upgrade(url=url)
    with db.transaction(url) as conn:
        load_layers(conn, LAYERS_DIR)
        keys.create_key(conn, "megler", "write")
    monkeypatch.setenv("GEOPLAN_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_backup_and_restore_round_trip(own_database: str, tmp_path: Path) -> None:
    before = fingerprint(own_database)
    assert before["premises"][0] > 0 and before["api_keys"][0] == 1
    file = tmp_path / "nightly.dump"

    result = runner.invoke(app, ["db", "backup", str(file)])
    assert result.exit_code == 0, result.output
    assert f"backed up to {file}" in result.output
    assert file.read_bytes().startswith(b"PGDMP")
    assert not file.with_name("nightly.dump.partial").exists()

    # the data changes after the backup: rows gone, rows added, a key revoked
    with db.transaction(own_database) as conn:
        conn.execute("DELETE FROM premises_history")
        conn.execute("DELETE FROM premises WHERE id IN (SELECT id FROM premises LIMIT 5)")
        keys.create_key(conn, "another", "admin")
        conn.execute("UPDATE api_keys SET revoked_at = now()")
    assert fingerprint(own_database) != before

    result = runner.invoke(app, ["db", "restore", str(file), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"restored {file}" in result.output
    assert fingerprint(own_database) == before


def test_a_restore_that_fails_changes_nothing(own_database: str, tmp_path: Path) -> None:
    file = tmp_path / "b.dump"
    assert runner.invoke(app, ["db", "backup", str(file)]).exit_code == 0
    with db.transaction(own_database) as conn:
        conn.execute("DELETE FROM premises WHERE id IN (SELECT id FROM premises LIMIT 3)")
    changed = fingerprint(own_database)
    # a truncated backup: pg_restore reads its table of contents, then fails part-way
    broken = tmp_path / "broken.dump"
    data = file.read_bytes()
    broken.write_bytes(data[: len(data) * 2 // 3])

    result = runner.invoke(app, ["db", "restore", str(broken), "--yes"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output
    assert fingerprint(own_database) == changed


def test_backup_goes_to_the_backups_directory_by_default(
    own_database: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("GEOPLAN_HOME", str(tmp_path))
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "backup"])
    assert result.exit_code == 0, result.output
    written = list((tmp_path / "backups").glob("geoplan-*.dump"))
    assert len(written) == 1 and written[0].stat().st_size > 0
    assert str(written[0]) in result.output


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_restore_mistakes_are_one_line(own_database: str, tmp_path: Path) -> None:
    before = fingerprint(own_database)
    missing = tmp_path / "nope.dump"
    _one_line_error(
        runner.invoke(app, ["db", "restore", str(missing), "--yes"]),
        f"no such backup file: {missing}",
    )
    text = tmp_path / "notes.dump"
    text.write_text("not a backup\n")
    _one_line_error(
        runner.invoke(app, ["db", "restore", str(text), "--yes"]),
        "is not a geoplan backup",
    )
    plain = tmp_path / "plain.sql"
    plain.write_text("--\n-- PostgreSQL database dump\n--\n")
    _one_line_error(runner.invoke(app, ["db", "restore", str(plain), "--yes"]), "psql")
    # without --yes and no terminal to ask on: refused, nothing touched
    file = tmp_path / "b.dump"
    assert runner.invoke(app, ["db", "backup", str(file)]).exit_code == 0
    _one_line_error(runner.invoke(app, ["db", "restore", str(file)]), "--yes")
    assert fingerprint(own_database) == before


def test_backup_and_restore_with_the_database_down(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(
        "GEOPLAN_DATABASE_URL", f"postgresql+psycopg://x:y@127.0.0.1:{free_port()}/nope"
    )
    get_settings.cache_clear()
    try:
        file = tmp_path / "b.dump"
        _one_line_error(
            runner.invoke(app, ["db", "backup", str(file)]), "cannot connect to the database"
        )
        assert not file.exists() and not list(tmp_path.iterdir())
        file.write_bytes(b"PGDMP" + b"\0" * 100)
        _one_line_error(
            runner.invoke(app, ["db", "restore", str(file), "--yes"]),
            "cannot connect to the database",
        )
    finally:
        get_settings.cache_clear()


def test_managed_cluster_round_trip(monkeypatch) -> None:
    """The managed cluster: its own pg_dump/pg_restore, the backup under GEOPLAN_HOME."""
    # under /tmp itself: the cluster's service user (when root) cannot reach pytest's tmp_path
    home = Path(tempfile.mkdtemp(prefix="geoplan-cli-", dir="/tmp"))
    monkeypatch.delenv("GEOPLAN_DATABASE_URL", raising=False)
    monkeypatch.setenv("GEOPLAN_HOME", str(home))
    monkeypatch.setenv("GEOPLAN_DB_PORT", str(free_port()))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["db", "up"])
        assert result.exit_code == 0, result.output
        url = db.database_url()
        with db.transaction(url) as conn:
            keys.create_key(conn, "kommunen", "admin")
        before = fingerprint(url)
        result = runner.invoke(app, ["db", "backup"])
        assert result.exit_code == 0, result.output
        (backup,) = (home / "backups").glob("geoplan-*.dump")
        with db.transaction(url) as conn:
            conn.execute("DELETE FROM api_keys")
        assert runner.invoke(app, ["db", "restore", str(backup), "--yes"]).exit_code == 0
        assert fingerprint(url) == before
    finally:
        runner.invoke(app, ["db", "down"])
        get_settings.cache_clear()
        shutil.rmtree(home, ignore_errors=True)
