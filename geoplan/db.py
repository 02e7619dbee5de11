"""Connections to the store and the schema migrations that shape it.

Runtime queries use psycopg 3 directly (parameterised SQL, ``COPY``, prepared statements): spatial
work happens in PostGIS and Python only pulls what it needs. SQLAlchemy is used for Alembic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import geopandas as gpd
import psycopg
import shapely
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from geoplan.config import REPO_ROOT, STORAGE_SRID, Settings, get_settings
from geoplan.errors import GeoplanError
from geoplan.localdb import LocalCluster

MIGRATIONS_DIR = REPO_ROOT / "geoplan" / "migrations"


class DatabaseError(GeoplanError):
    """The store is unreachable or not set up; the message says what to do."""


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
        raise DatabaseError(f"cannot connect to the database: {first}{hint}") from exc


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
