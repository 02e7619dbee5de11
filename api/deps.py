"""Request dependencies shared by the routers: database connections from a pool."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from fastapi import Request
from psycopg_pool import ConnectionPool


def open_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> ConnectionPool:
    from geoplan.db import conninfo

    pool = ConnectionPool(
        conninfo(url), min_size=min_size, max_size=max_size, open=False, name="geoplan"
    )
    pool.open(wait=True, timeout=30)
    return pool


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled connection for one request; committed when the request succeeds."""
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        yield conn
