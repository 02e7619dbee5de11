"""pgRouting plumbing: anchoring points on the walking network through virtual vertices, the edge
SQL pgRouting reads, and reach from many hubs at once (multi-source ``pgr_drivingDistance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import psycopg

from geoplan.config import STORAGE_SRID

MAX_NETWORK_WALK_M = 20_000.0
"""Network searches stop here (4 hours' walk); anything farther is reported as straight line."""


def network_loaded(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM walk_edges)").fetchone()[0]


@lru_cache(maxsize=4)
def _pgr_start_column(version: str) -> str:
    # pgRouting 3.6 renamed pgr_drivingDistance's ``from_v`` to ``start_vid``.
    major, minor = (int(p) for p in version.split(".")[:2])
    return "start_vid" if (major, minor) >= (3, 6) else "from_v"


def start_column(conn: psycopg.Connection) -> str:
    return _pgr_start_column(conn.execute("SELECT pgr_version()").fetchone()[0])


def anchored_sql(points_sql: str) -> str:
    """SQL of ``points_sql``'s points (``key``, ``geom``) each on its nearest walk edge:
    ``key, geom, edge, source, target, len, snap, f`` — ``f`` the share of the edge from
    ``source``, ``snap`` the metres off it. Points farther than ``%(max_snap)s`` are left out."""
    return f"""
        SELECT pts.key, pts.geom, e.id AS edge, e.source, e.target, e.length_m AS len, e.snap,
               ST_LineLocatePoint(e.geom, ST_ClosestPoint(e.geom, pts.geom)) AS f
        FROM ({points_sql}) pts
        CROSS JOIN LATERAL (
            SELECT w.id, w.source, w.target, w.length_m, w.geom,
                   ST_Distance(w.geom, pts.geom) AS snap
            FROM walk_edges w ORDER BY w.geom <-> pts.geom LIMIT 1
        ) e
        WHERE e.snap <= %(max_snap)s
        """


def anchor(
    conn: psycopg.Connection, table: str, points_sql: str, params: dict, max_snap_m: float
) -> int:
    """Create temp ``table`` (key, geom, vid, edge, source, target, len, snap, f).

    ``points_sql`` selects ``key`` and ``geom``; each is anchored on its nearest walk edge within
    ``max_snap_m`` (:attr:`WalkSettings.max_snap_m`; points farther away are left out) and
    given a virtual vertex id ``vid`` above every real node id.
    """
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"CREATE TEMP TABLE {table} (key text, geom geometry, vid bigint, edge bigint, "
        "source bigint, target bigint, len float8, snap float8, f float8)"
    )
    conn.execute(
        f"""
        INSERT INTO {table}
        SELECT a.key, a.geom,
               (SELECT coalesce(max(id), 0) FROM walk_nodes)
                 + row_number() OVER (ORDER BY a.key) AS vid,
               a.edge, a.source, a.target, a.len, a.snap, a.f
        FROM ({anchored_sql(points_sql)}) a
        """,
        {**params, "max_snap": max_snap_m},
    )
    conn.execute(f"ANALYZE {table}")
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def link_anchors(conn: psycopg.Connection, table: str, anchors: Sequence[str]) -> None:
    """Temp ``table`` of edges joining each anchored point's virtual vertex to its edge's ends."""
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    parts = " UNION ALL ".join(
        f"""
        SELECT vid, source AS node, snap + f * len AS c FROM {a}
        UNION ALL SELECT vid, target, snap + (1 - f) * len FROM {a}
        """
        for a in anchors
    )
    conn.execute(
        f"""
        CREATE TEMP TABLE {table} AS
        SELECT (SELECT coalesce(max(id), 0) FROM walk_edges) + row_number() OVER () AS id,
               vid AS source, node AS target, c AS cost, c AS reverse_cost
        FROM ({parts}) l
        """
    )


def edges_sql(links: str, bbox: tuple[float, float, float, float] | None = None) -> str:
    where = ""
    if bbox:
        x0, y0, x1, y1 = (float(v) for v in bbox)
        where = f" WHERE geom && ST_MakeEnvelope({x0!r}, {y0!r}, {x1!r}, {y1!r}, {STORAGE_SRID})"
    return (
        f"SELECT id, source, target, cost, reverse_cost FROM walk_edges{where} "
        f"UNION ALL SELECT id, source, target, cost, reverse_cost FROM {links}"
    )


def reach_from_hubs(
    conn: psycopg.Connection,
    anchors: str,
    links: str,
    out: str,
    max_m: float,
    *,
    nearest_only: bool,
) -> None:
    """Temp table ``out`` (node, hub_id, agg_cost): network nodes within ``max_m`` of the hubs
    anchored in ``anchors``. ``nearest_only`` keeps each node for its nearest hub alone (pgRouting's
    ``equicost``), which labels nodes for nearest-hub annotation; catchments need every hub's
    reach, so they pass False.
    """
    link_anchors(conn, links, [anchors])
    col = start_column(conn)
    conn.execute(f"DROP TABLE IF EXISTS {out}")
    conn.execute(
        f"""
        CREATE TEMP TABLE {out} AS
        SELECT dd.node, a.key AS hub_id, dd.agg_cost
        FROM pgr_drivingDistance(%(edges)s, (SELECT array_agg(vid) FROM {anchors}),
                                 %(max)s, directed := false, equicost := %(eq)s) dd
        JOIN {anchors} a ON a.vid = dd.{col}
        """,
        {"edges": edges_sql(links), "max": max_m, "eq": nearest_only},
    )
    conn.execute(
        f"CREATE INDEX ON {out} (hub_id, node)"
        if not nearest_only
        else f"CREATE INDEX ON {out} (node)"
    )
    conn.execute(f"ANALYZE {out}")
