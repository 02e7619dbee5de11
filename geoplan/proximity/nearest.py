"""Nearest hubs on foot: for one site (KNN candidates ranked by ``pgr_dijkstraCost``) and for many
premises at once (a k-d tree by straight line, then one multi-source network pass).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import psycopg
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID
from geoplan.proximity.checks import check_k, site_from_lonlat
from geoplan.proximity.hubs import EXISTING_HUBS, HubDistance, HubSelection
from geoplan.proximity.routing import (
    MAX_NETWORK_WALK_M,
    anchor,
    edges_sql,
    link_anchors,
    network_loaded,
    reach_from_hubs,
)
from geoplan.proximity.walk import WalkSettings, default_walk
from geoplan.store.copy import copy_in, copy_out, copy_row


def nearest_hubs(
    conn: psycopg.Connection,
    site: BaseGeometry,
    k: int = 3,
    *,
    statuses: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    walk: WalkSettings | None = None,
) -> list[HubDistance]:
    """The ``k`` hubs nearest on foot to ``site`` (shapely, EPSG:25833), nearest first.

    Candidates are the ``k + 5`` nearest by straight line (KNN ``<->`` on the GiST index); with a
    network loaded they are ranked by walking distance (``pgr_dijkstraCost`` from the site to all
    candidates in one call, on the part of the network around them). A hub that is near as the
    crow flies but far on foot — across a railway without a crossing — drops down the list.

    ``walk``: the walking model (default: the process settings, see :mod:`~.walk`).
    """
    check_k(k)
    walk = default_walk(walk)
    params = {
        "wkb": site.wkb,
        "n": k + 5,
        "statuses": list(statuses) if statuses else None,
        "modes": list(modes) if modes else None,
    }
    site_sql = f"ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID})"
    rows = conn.execute(
        f"""
        SELECT id, name, mode, status, ST_Distance(geom, {site_sql}) AS d
        FROM hubs
        WHERE (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s))
          AND (%(modes)s::text[] IS NULL OR mode = ANY(%(modes)s))
        ORDER BY geom <-> {site_sql}
        LIMIT %(n)s
        """,
        params,
    ).fetchall()
    if not rows:
        return []
    walks = {r[0]: (r[4] * walk.detour_factor, "straight_line") for r in rows}
    if network_loaded(conn):
        walks.update(
            _network_walk_from_site(
                conn, site, [r[0] for r in rows], max(r[4] for r in rows), walk.max_snap_m
            )
        )
    out = [
        HubDistance(
            hub_id,
            name,
            mode,
            status,
            round(d, 1),
            round(walks[hub_id][0], 1),
            round(walks[hub_id][0] / walk.m_per_min, 2),
            walks[hub_id][1],
        )
        for hub_id, name, mode, status, d in rows
    ]
    out.sort(key=lambda h: (h.walk_m, h.straight_m))
    return out[:k]


def _network_walk_from_site(
    conn: psycopg.Connection,
    site: BaseGeometry,
    hub_ids: list[str],
    farthest_m: float,
    max_snap_m: float,
) -> dict[str, tuple[float, str]]:
    """Walking metres from ``site`` to each reachable hub of ``hub_ids`` on the network."""
    site_sql = f"ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID})"
    n_site = anchor(
        conn,
        "_px_site",
        f"SELECT 'site'::text AS key, {site_sql} AS geom",
        {"wkb": site.wkb},
        max_snap_m,
    )
    if not n_site:
        return {}
    conn.execute("DROP TABLE IF EXISTS _px_hubs_a")
    n_hubs = anchor(
        conn,
        "_px_hubs_a",
        "SELECT id AS key, geom FROM hubs WHERE id = ANY(%(ids)s)",
        {"ids": hub_ids},
        max_snap_m,
    )
    if not n_hubs:
        return {}
    # virtual vertex ids of the two anchor tables must not collide
    conn.execute("UPDATE _px_hubs_a SET vid = vid + 1")
    link_anchors(conn, "_px_links1", ["_px_site", "_px_hubs_a"])
    # Search only the network around the site and candidates: a generous box (the farthest
    # candidate's distance on every side) keeps detours in while keeping pgRouting's load small.
    x0, y0, x1, y1 = site.bounds
    pad = max(farthest_m, 1000.0)
    bbox = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    rows = conn.execute(
        """
        WITH site AS (SELECT * FROM _px_site),
        routed AS (
            SELECT h.key, d.agg_cost AS m
            FROM pgr_dijkstraCost(%(edges)s, (SELECT vid FROM site),
                                  (SELECT array_agg(vid) FROM _px_hubs_a), directed := false) d
            JOIN _px_hubs_a h ON h.vid = d.end_vid
        ),
        same_edge AS (  -- on the same edge the direct way along it may beat going via its ends
            SELECT h.key, s.snap + abs(s.f - h.f) * s.len + h.snap AS m
            FROM _px_hubs_a h, site s WHERE h.edge = s.edge
        )
        SELECT key, min(m) FROM (SELECT * FROM routed UNION ALL SELECT * FROM same_edge) x
        GROUP BY key
        """,
        {"edges": edges_sql("_px_links1", bbox)},
    ).fetchall()
    return {key: (float(m), "network") for key, m in rows}


POINT_ROW = copy_row(("seq", ">i8"), ("x", ">f8"), ("y", ">f8"))


@dataclass
class Nearest:
    """Straight-line nearest hub of each selected premises (``hub`` indexes ``hub_ids``)."""

    seq: np.ndarray
    hub: np.ndarray
    dist: np.ndarray
    hub_ids: list[str]


def straight_line_nearest(
    conn: psycopg.Connection, points_sql: str, params: dict, hubs: HubSelection
) -> Nearest:
    """Nearest hub by straight line for the points ``points_sql`` selects as (seq, x, y).

    The points come out by binary COPY, and a k-d tree over the hubs answers all of them at once
    (hubs are points, so a k-d tree on coordinates is exact — and several times faster than an
    STRtree of geometries).
    """
    hub_where, hub_params = hubs.where()
    hub_rows = conn.execute(
        f"SELECT id, ST_X(geom), ST_Y(geom) FROM hubs WHERE {hub_where} ORDER BY id", hub_params
    ).fetchall()
    hub_ids = [h[0] for h in hub_rows]
    pts = copy_out(conn, points_sql, params, POINT_ROW)
    if not hub_rows or not len(pts):
        empty = np.empty(0)
        return Nearest(empty.astype(np.int64), empty.astype(np.int32), empty, hub_ids)
    tree = cKDTree(np.array([(h[1], h[2]) for h in hub_rows], dtype=np.float64))
    xy = np.column_stack((pts["x"].astype(np.float64), pts["y"].astype(np.float64)))
    dist, hub = tree.query(xy, k=1)
    return Nearest(pts["seq"].astype(np.int64), hub.astype(np.int32), dist, hub_ids)


@contextmanager
def batch_settings(conn: psycopg.Connection) -> Iterator[None]:
    """Planner settings for the batch statements, restored afterwards (transaction-local).

    The temp tables have no statistics (ANALYZE would cost more than it saves), so the planner
    overestimates the joins and JIT-compiles them — 0.15 s of compiling for a 0.05 s join — and
    the default 4 MB ``work_mem`` spills 10⁵-row hashes and sorts to disk.
    """
    wanted = {"jit": "off", "work_mem": "256MB"}
    before = {k: conn.execute("SELECT current_setting(%s)", (k,)).fetchone()[0] for k in wanted}
    for k, v in wanted.items():
        conn.execute("SELECT set_config(%s, %s, true)", (k, v))
    try:
        yield
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            for k, v in before.items():
                conn.execute("SELECT set_config(%s, %s, true)", (k, v))


def walk_to_nearest_hub(
    conn: psycopg.Connection,
    *,
    premises_where: str = "true",
    params: dict | None = None,
    hubs: HubSelection = EXISTING_HUBS,
    out: str = "_px_result",
    walk: WalkSettings | None = None,
) -> int:
    """Nearest hub and walking distance for a set of premises, into temp table ``out``.

    ``out`` gets ``(seq bigint, id text, hub_id text, straight_m, walk_m, method)``, one row per
    premises matching ``premises_where`` when any hub is in ``hubs`` (select one hub by id to get
    every premises' walk to *that* hub). ``premises_where`` is an SQL condition on ``premises p``
    written by geoplan code, never by a user: values go in ``params``. Two set-based passes:

    1. straight line for all (:func:`straight_line_nearest`), results back by binary COPY;
    2. with a network: one multi-source ``pgr_drivingDistance`` from every hub's virtual vertex
       (``equicost``: each node keeps its closest hub), joined to each premises' anchor edge.
       Premises it reaches get ``method='network'`` and possibly a different hub than the
       straight-line one; the rest keep ``straight_line``.

    ``walk``: the walking model (default: the process settings, see :mod:`~.walk`).
    """
    with batch_settings(conn):
        return nearest_hub_pass(
            conn, premises_where, params or {}, hubs, out, walk=default_walk(walk)
        )


def nearest_hub_pass(
    conn: psycopg.Connection,
    premises_where: str,
    params: dict,
    hubs: HubSelection,
    out: str,
    *,
    walk: WalkSettings,
) -> int:
    conn.execute("DROP TABLE IF EXISTS _px_pts")
    conn.execute(
        f"CREATE TEMP TABLE _px_pts AS SELECT p.seq, p.id, p.geom FROM premises p "
        f"WHERE {premises_where}",
        params,
    )
    nearest = straight_line_nearest(
        conn, "SELECT seq, ST_X(geom), ST_Y(geom) FROM _px_pts", {}, hubs
    )
    conn.execute("DROP TABLE IF EXISTS _px_nn")
    conn.execute("CREATE TEMP TABLE _px_nn (seq bigint, hub_id text, d float8)")
    copy_in(conn, "_px_nn", seq=nearest.seq, hub_id=(nearest.hub, nearest.hub_ids), d=nearest.dist)
    conn.execute(f"DROP TABLE IF EXISTS {out}")
    n = conn.execute(
        f"""
        CREATE TEMP TABLE {out} AS
        SELECT t.seq, t.id, nn.hub_id, nn.d AS straight_m, nn.d * %(f)s AS walk_m,
               'straight_line'::text AS method
        FROM _px_nn nn JOIN _px_pts t ON t.seq = nn.seq
        """,
        {"f": walk.detour_factor},
    ).rowcount
    if n and network_loaded(conn):
        conn.execute(f"CREATE INDEX ON {out} (seq)")
        conn.execute("CREATE INDEX ON _px_pts (seq)")
        conn.execute("ANALYZE _px_pts")
        _network_pass(conn, hubs, out, walk.max_snap_m)
    return n


def _network_pass(
    conn: psycopg.Connection, hubs: HubSelection, out: str, max_snap_m: float
) -> None:
    hub_where, hub_params = hubs.where()
    if not anchor(
        conn,
        "_px_hub_anchor",
        f"SELECT id AS key, geom FROM hubs WHERE {hub_where}",
        hub_params,
        max_snap_m,
    ):
        return
    # premises virtual ids are not used, only their anchor edge
    if not anchor(
        conn, "_px_pt_anchor", "SELECT seq::text AS key, geom FROM _px_pts", {}, max_snap_m
    ):
        return
    reach_from_hubs(
        conn, "_px_hub_anchor", "_px_links", "_px_reach", MAX_NETWORK_WALK_M, nearest_only=True
    )
    conn.execute(
        f"""
        WITH cand AS (
            SELECT p.key, r.hub_id, p.snap + p.f * p.len + r.agg_cost AS m
            FROM _px_pt_anchor p JOIN _px_reach r ON r.node = p.source
            UNION ALL
            SELECT p.key, r.hub_id, p.snap + (1 - p.f) * p.len + r.agg_cost
            FROM _px_pt_anchor p JOIN _px_reach r ON r.node = p.target
            UNION ALL  -- premises and hub on the same edge: along it directly
            SELECT p.key, h.key, p.snap + abs(p.f - h.f) * p.len + h.snap
            FROM _px_pt_anchor p JOIN _px_hub_anchor h ON h.edge = p.edge
        ),
        best AS (
            SELECT DISTINCT ON (key) key::bigint AS seq, hub_id, m
            FROM cand ORDER BY key, m, hub_id
        )
        UPDATE {out} o SET hub_id = b.hub_id, walk_m = b.m, method = 'network',
               straight_m = ST_Distance(h.geom, t.geom)
        FROM best b JOIN hubs h ON h.id = b.hub_id JOIN _px_pts t ON t.seq = b.seq
        WHERE o.seq = b.seq AND b.m <= %(max)s
        """,
        {"max": MAX_NETWORK_WALK_M},
    )


def nearest_report(
    conn: psycopg.Connection,
    lon: float,
    lat: float,
    k: int = 3,
    *,
    walk: WalkSettings | None = None,
    margin_m: float | None = None,
) -> dict:
    """The ``k`` nearest hubs on foot from ``lon``/``lat`` (WGS84), checked, as plain data.

    ``walk``: the walking model; ``margin_m``: how far outside the municipality the point may
    lie (defaults: the process settings).
    """
    check_k(k)
    walk = default_walk(walk)
    point = site_from_lonlat(conn, lon, lat, margin_m)
    hubs = nearest_hubs(conn, point, k, walk=walk)
    where = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT id, round(ST_X(g)::numeric, 6)::float8, round(ST_Y(g)::numeric, 6)::float8 "
            "FROM (SELECT id, ST_Transform(geom, 4326) AS g FROM hubs WHERE id = ANY(%s)) h",
            ([h.hub_id for h in hubs],),
        ).fetchall()
    }
    return {
        "lon": lon,
        "lat": lat,
        "k": k,
        "walk_speed_kmh": walk.speed_kmh,
        "detour_factor": walk.detour_factor,
        "network_loaded": network_loaded(conn),
        "hubs": [
            {**h.to_dict(), "lon": where[h.hub_id][0], "lat": where[h.hub_id][1]} for h in hubs
        ],
    }
