"""Connections to the store and the schema migrations that shape it.

Runtime queries use psycopg 3 directly (parameterised SQL, ``COPY``, prepared statements): spatial
work happens in PostGIS and Python only pulls what it needs. SQLAlchemy is used for Alembic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import shapely
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from geoplan.config import STORAGE_SRID, Settings, get_settings
from geoplan.errors import GeoplanError
from geoplan.store.cluster import LocalCluster

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseError(GeoplanError):
    """The store is unreachable or not set up; the message says what to do."""


class DatabaseUnavailableError(DatabaseError):
    """The store cannot be reached now (down, restarting, refusing connections, no pooled
    connection free in time): an outage, not a mistake in the request; worth retrying later.

    psycopg reports the same as ``psycopg.OperationalError`` (``psycopg_pool.PoolTimeout`` is
    one); the API answers both with 503 and ``Retry-After`` (``api/errors.py``).
    """

    retry_after_s = 5
    """How long a client should wait before trying again."""


def database_url(settings: Settings | None = None) -> str:
    """The SQLAlchemy URL of the store: ``GEOPLAN_DATABASE_URL`` or the managed cluster's."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    return LocalCluster.from_settings(settings).url


def conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (drops the ``+psycopg`` driver part)."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def ensure_store(settings: Settings | None = None, *, log=print) -> str:
    """Make the store reachable: start the managed cluster when no URL is configured."""
    settings = settings or get_settings()
    if settings.managed:
        return LocalCluster.from_settings(settings, log=log).up()
    return settings.database_url  # type: ignore[return-value]


def connect(url: str | None = None, **kwargs: Any) -> psycopg.Connection:
    """A new psycopg connection to the store."""
    url = url or database_url()
    try:
        return psycopg.connect(conninfo(url), **kwargs)
    except psycopg.OperationalError as exc:
        hint = (
            " (run `geoplan db up` to start the managed database)" if get_settings().managed else ""
        )
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise DatabaseUnavailableError(f"cannot connect to the database: {first}{hint}") from exc


@contextmanager
def transaction(url: str | None = None) -> Iterator[psycopg.Connection]:
    """A connection whose work is committed on success and rolled back on any error."""
    with connect(url) as conn, conn.transaction():
        yield conn


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True)


def engine(url: str | None = None) -> Engine:
    return _engine(url or database_url())


def postgis_version(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT postgis_lib_version()").fetchone()[0]


def read_gdf(
    conn: psycopg.Connection,
    sql: str,
    params: Sequence[Any] | dict[str, Any] | None = None,
    *,
    geom_col: str = "geom",
    crs: int | str = STORAGE_SRID,
) -> gpd.GeoDataFrame:
    """Run ``sql`` (which selects ``ST_AsBinary(...) AS geom``) into a GeoDataFrame."""
    cur = conn.execute(sql, params)
    cols = [d.name for d in cur.description]
    rows = cur.fetchall()
    data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    wkb = data.pop(geom_col)
    geoms = shapely.from_wkb([bytes(g) if g is not None else None for g in wkb])
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


# -- migrations --------------------------------------------------------------------------------
def alembic_config(url: str | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return cfg


def upgrade(revision: str = "head", url: str | None = None) -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(revision: str, url: str | None = None) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    with connect(url) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else None


# -- schema drift --------------------------------------------------------------------------------
# Until the first release, migration 0001 is edited in place (parallel branches must not create
# several Alembic heads). A database migrated by an older checkout therefore says "at head" yet
# lacks tables or columns the code needs, and every command then fails deep inside a query.
def schema_drift(url: str) -> list[str]:
    """Tables (``name``) and columns (``table.column``) the models define but the store lacks."""
    from geoplan.store.models import Base

    with connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        ).fetchall()
    have: dict[str, set[str]] = {}
    for table, column in rows:
        have.setdefault(table, set()).add(column)
    missing: list[str] = []
    for table in Base.metadata.sorted_tables:
        if table.name not in have:
            missing.append(table.name)
            continue
        missing += [
            f"{table.name}.{c.name}" for c in table.columns if c.name not in have[table.name]
        ]
    return missing


def rebuild_schema(url: str, backup_dir: Path, *, pg_bindir: Path | None = None) -> Path:
    """Back the database up with ``pg_dump``, drop geoplan's tables and migrate afresh.

    Returns the backup file. The backup is taken first and the rebuild refused if it fails, so
    listings and keys written through the API are never lost without a copy.
    """
    from geoplan.store.backup import BackupError, backup, default_backup_file
    from geoplan.store.models import Base

    try:
        backup_file = backup(url, default_backup_file(backup_dir), bindir=pg_bindir)
    except BackupError as exc:
        raise DatabaseError(f"cannot back up the outdated schema: {exc}") from exc
    tables = [t.name for t in Base.metadata.sorted_tables] + ["alembic_version"]
    with transaction(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(tables)} CASCADE")
    upgrade(url=url)
    return backup_file


def ensure_current_schema(
    url: str, settings: Settings | None = None, *, log: Callable[[str], None] = print
) -> Path | None:
    """Migrate, then make sure the schema really matches the code; returns a backup if rebuilt.

    The managed cluster is geoplan's own: an outdated schema there is backed up and rebuilt (the
    caller reloads the layers). A database given by ``GEOPLAN_DATABASE_URL`` belongs to someone
    else, so geoplan only says what is wrong and how to rebuild it.
    """
    settings = settings or get_settings()
    upgrade(url=url)
    missing = schema_drift(url)
    if not missing:
        return None
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    if not settings.managed:
        raise DatabaseError(
            f"the database schema is older than this version of geoplan (missing {shown}); "
            "back it up, then run `geoplan db downgrade base && geoplan db upgrade`"
        )
    backup_dir = settings.home / "backups"
    log(
        f"the database schema is older than this version of geoplan (missing {shown}); "
        f"backing it up to {backup_dir} and recreating it"
    )
    cluster = LocalCluster.from_settings(settings, log=log)
    backup = rebuild_schema(url, backup_dir, pg_bindir=cluster.bindir)
    log(f"schema recreated; the old data is in {backup} (restore with pg_restore)")
    return backup
