"""Which committed writes a connection sees: PostgreSQL's current snapshot as text.

``pg_current_snapshot()`` (``xmin:xmax:xip…``) names the set of transactions whose effects are
visible; every commit of a writing transaction anywhere in the database changes it, and reading
it touches no table (≈ 0.1 ms). Two reads that return the same text see the same data, so it
serves as an exact, if coarse, data version for answers kept in memory (``api/answer_cache.py``)
until a per-layer version (``data_versions``) exists. A replica's snapshot follows its replay.
"""

from __future__ import annotations

import psycopg

_READ = "SELECT pg_current_snapshot()::text"


def read_snapshot(conn: psycopg.Connection) -> str:
    return conn.execute(_READ).fetchone()[0]


async def read_snapshot_async(conn: psycopg.AsyncConnection) -> str:
    cur = await conn.execute(_READ)
    return (await cur.fetchone())[0]
