"""The layers' data versions: a counter and a time per layer, bumped by every committed write.

Kept by triggers (migration 0015); nothing in geoplan writes them. The API derives
its ETag and Last-Modified from them (``api/conditional.py``): one short read of a dozen rows,
or none at all while the ``NOTIFY`` channel :data:`CHANNEL` says nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

LAYERS: tuple[str, ...] = (
    "boundary",
    "areas",
    "hubs",
    "premises",
    "catchments",
    "network",
    "plans",
    "land_use",
    "addresses",
    "assessments",
    "municipalities",
)
"""Every layer with a version (the rows of ``data_versions``)."""

CHANNEL = "geoplan_data_versions"
"""The ``NOTIFY`` channel each bump signals (payload: the layer), delivered at commit."""

_READ = "SELECT layer, version, changed_at FROM data_versions"


@dataclass(frozen=True)
class LayerVersion:
    """A layer's counter and the time of its last write statement (``clock_timestamp()``)."""

    version: int
    changed_at: datetime


def _rows(rows: list[tuple[str, int, datetime]]) -> dict[str, LayerVersion]:
    return {layer: LayerVersion(version, changed_at) for layer, version, changed_at in rows}


def read_versions(conn: psycopg.Connection) -> dict[str, LayerVersion]:
    """Every layer's version, as this connection's snapshot sees it."""
    return _rows(conn.execute(_READ).fetchall())


async def read_versions_async(conn: psycopg.AsyncConnection) -> dict[str, LayerVersion]:
    """:func:`read_versions` on an asyncio connection."""
    cur = await conn.execute(_READ)
    return _rows(await cur.fetchall())
