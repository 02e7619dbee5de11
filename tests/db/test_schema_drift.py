"""A database migrated by an older edit of migration 0001 is detected and, when managed, rebuilt.

Until the first release 0001 is edited in place, so `alembic_version` says "0001" on a database
that lacks newer columns (found by QA: `make run` against an existing /var/lib/geoplan cluster
died in `geoplan load` with "column inputs_md5 does not exist").
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from geoplan.config import Settings
from geoplan.store import db


def _outdated(make_database) -> str:
    url = make_database()
    db.upgrade(url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute("ALTER TABLE catchments DROP COLUMN inputs_md5")
        conn.execute(
            "INSERT INTO api_keys (name, prefix, key_hash, scope) VALUES "
            "('Megler AS', 'gp_abc', 'x', 'write')"
        )
    return url


def test_drift_found_and_managed_store_rebuilt_with_backup(make_database, tmp_path: Path) -> None:
    url = _outdated(make_database)
    assert db.schema_drift(url) == ["catchments.inputs_md5"]

    messages: list[str] = []
    settings = Settings(database_url=None, home=tmp_path)
    backup = db.ensure_current_schema(url, settings, log=messages.append)

    assert backup is not None and backup.exists() and backup.stat().st_size > 0
    assert backup.parent == tmp_path / "backups"
    assert db.schema_drift(url) == []
    assert "catchments.inputs_md5" in messages[0]
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone()[0] == 0
    # a current schema is left alone
    assert db.ensure_current_schema(url, settings, log=messages.append) is None


def test_drift_in_external_database_is_reported_not_rebuilt(make_database) -> None:
    url = _outdated(make_database)
    with pytest.raises(db.DatabaseError, match=r"missing catchments\.inputs_md5"):
        db.ensure_current_schema(url, Settings(database_url=url), log=lambda _m: None)
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone()[0] == 1
