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
from geoplan.proximity.checks import check_k, locating_site
from geoplan.proximity.hubs import EXISTING_HUBS, HubDistance, HubSelection
from geoplan.proximity.routing import (
    MAX_NETWORK_WALK_M,
    anchor,
    anchored_sql,
    edges_sql,
    network_loaded,
    reach_from_hubs,
)
from geoplan.proximity.walk import WalkSettings, default_walk
from geoplan.store.copy import copy_in, copy_out, copy_row
from geoplan.store.steps import Rows, Statement, Steps, run, run_async

_SITE = f"ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID})"
_CANDIDATES_SQL = f"""
WITH cand AS (
    SELECT id, name, mode, status, geom, ST_Distance(geom, {_SITE}) AS d
    FROM hubs
    WHERE (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s))
      AND (%(modes)s::text[] IS NULL OR mode = ANY(%(modes)s))
    ORDER BY geom <-> {_SITE}
    LIMIT %(n)s
),
points AS (SELECT NULL::text AS key, {_SITE} AS geom UNION ALL SELECT id, geom FROM cand),
anchored AS ({anchored_sql("SELECT key, geom FROM points")})  -- none without a network
SELECT p.key, c.name, c.mode, c.status, c.d,
       round(ST_X(ll.g)::numeric, 6)::float8, round(ST_Y(ll.g)::numeric, 6)::float8,
       a.edge, a.source, a.target, a.len, a.snap, a.f,
       (SELECT EXISTS (SELECT 1 FROM walk_edges)),
       (SELECT coalesce(max(id), 0) FROM walk_nodes),
       (SELECT coalesce(max(id), 0) FROM walk_edges)
FROM points p
LEFT JOIN cand c ON c.id = p.key
LEFT JOIN anchored a ON a.key IS NOT DISTINCT FROM p.key
CROSS JOIN LATERAL (SELECT ST_Transform(c.geom, 4326) AS g) ll
ORDER BY p.key IS NOT NULL, c.d, p.key
"""
"""The ``n`` candidate hubs nearest by straight line (KNN on the GiST index), where the site and
each candidate meet the walking network, and what the routing needs to know of the network
(loaded? its highest node and edge ids), in one statement. The site's row comes first and has
no id."""


@dataclass(frozen=True)
class _Anchor:
    """Where a point meets the walking network: ``f`` along ``edge`` (``len`` metres, from
    ``source`` to ``target``), ``snap`` metres off it."""

    edge: int
    source: int
    target: int
    len: float
    snap: float
    f: float

    def links(self, vid: int) -> tuple[tuple[int, int, float], tuple[int, int, float]]:
        """The two edges joining virtual vertex ``vid`` to the ends of its edge."""
        return (
            (vid, self.source, self.snap + self.f * self.len),
            (vid, self.target, self.snap + (1 - self.f) * self.len),
        )


@dataclass(frozen=True)
class _Found:
    """What one nearest-hubs search found: the hubs, nearest on foot first, where each lies
    (WGS84 lon/lat) and whether a walking network is loaded."""

    hubs: list[HubDistance]
    lonlat: dict[str, tuple[float, float]]
    network_loaded: bool


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

    Two statements at most, no temporary tables: this runs for every ``/proximity/nearest`` and
    twice for every assessment, where creating, analysing and dropping tables cost more than the
    routing itself.

    ``walk``: the walking model (default: the process settings, see :mod:`~.walk`).
    """
    return run(conn, _finding(site, k, statuses, modes, default_walk(walk))).hubs


def _finding(
    site: BaseGeometry,
    k: int,
    statuses: Sequence[str] | None,
    modes: Sequence[str] | None,
    walk: WalkSettings,
) -> Steps[_Found]:
    """:func:`nearest_hubs` as :mod:`geoplan.store.steps` work, with the hubs' lon/lat."""
    check_k(k)
    params = {
        "wkb": site.wkb,
        "n": k + 5,
        "statuses": list(statuses) if statuses else None,
        "modes": list(modes) if modes else None,
        "max_snap": walk.max_snap_m,
    }
    site_row, *rows = yield _CANDIDATES_SQL, params
    network, top_node, top_edge = site_row[13:]
    if not rows:
        return _Found([], {}, network)
    walks = {r[0]: (r[4] * walk.detour_factor, "straight_line") for r in rows}
    anchors = {r[0]: _Anchor(*r[7:13]) for r in rows if r[7] is not None}
    if site_row[7] is not None and anchors:
        site_anchor = _Anchor(*site_row[7:13])
        farthest_m = max(r[4] for r in rows)
        walked = yield _walk_from_site_sql(
            site, site_anchor, anchors, farthest_m, top_node, top_edge
        )
        walks.update(_network_walks(walked, site_anchor, anchors))
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
        for hub_id, name, mode, status, d, *_ in rows
    ]
    out.sort(key=lambda h: (h.walk_m, h.straight_m))
    return _Found(out[:k], {r[0]: (r[5], r[6]) for r in rows}, network)


def _walk_from_site_sql(
    site: BaseGeometry,
    site_anchor: _Anchor,
    hub_anchors: dict[str, _Anchor],
    farthest_m: float,
    top_node: int,
    top_edge: int,
) -> Statement:
    """The ``pgr_dijkstraCost`` statement of walking metres from ``site`` to each hub of
    ``hub_anchors`` it reaches on the network: rows of (hub id, metres).

    The site and the hubs become virtual vertices above every real node id (``top_node``),
    joined to the ends of their edges by link edges that the edge SQL carries as literal rows
    (numbers geoplan computed, never a user's text).
    """
    site_vid = top_node + 1
    hub_vid = {hub_id: site_vid + 1 + i for i, hub_id in enumerate(hub_anchors)}
    links = [
        *site_anchor.links(site_vid),
        *(link for h, a in hub_anchors.items() for link in a.links(hub_vid[h])),
    ]
    rows = ", ".join(
        f"({top_edge + i}::bigint, {vid}::bigint, {node}::bigint, {c}::float8, {c}::float8)"
        for i, (vid, node, cost) in enumerate(links, start=1)
        for c in (repr(float(cost)),)
    )
    # Search only the network around the site and candidates: a generous box (the farthest
    # candidate's distance on every side) keeps detours in while keeping pgRouting's load small.
    x0, y0, x1, y1 = site.bounds
    pad = max(farthest_m, 1000.0)
    edges = edges_sql(
        f"(VALUES {rows}) AS links (id, source, target, cost, reverse_cost)",
        (x0 - pad, y0 - pad, x1 + pad, y1 + pad),
    )
    return (
        "SELECT h.hub_id, d.agg_cost FROM pgr_dijkstraCost(%(edges)s, %(site)s::bigint, "
        "%(ends)s::bigint[], directed := false) d "
        "JOIN unnest(%(ends)s::bigint[], %(hubs)s::text[]) AS h (vid, hub_id) ON h.vid = d.end_vid",
        {"edges": edges, "site": site_vid, "ends": list(hub_vid.values()), "hubs": list(hub_vid)},
    )


def _network_walks(
    walked: Rows, site_anchor: _Anchor, hub_anchors: dict[str, _Anchor]
) -> dict[str, tuple[float, str]]:
    """Walking metres to each hub the network reached (``walked``: hub id, metres), where a
    hub on the site's own edge may be reached along it directly."""
    metres: dict[str, float] = {hub_id: float(m) for hub_id, m in walked}
    for hub_id, a in hub_anchors.items():
        if a.edge == site_anchor.edge:  # along the same edge the direct way may beat its ends
            direct = site_anchor.snap + abs(site_anchor.f - a.f) * site_anchor.len + a.snap
            metres[hub_id] = min(metres.get(hub_id, direct), direct)
    return {hub_id: (m, "network") for hub_id, m in metres.items()}


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
    return run(conn, _reporting(lon, lat, k, default_walk(walk), margin_m))


async def nearest_report_async(
    conn: psycopg.AsyncConnection,
    lon: float,
    lat: float,
    k: int = 3,
    *,
    walk: WalkSettings | None = None,
    margin_m: float | None = None,
) -> dict:
    """:func:`nearest_report` on an asyncio connection (the API's read pool): the same
    statements, three at most, without a worker thread."""
    return await run_async(conn, _reporting(lon, lat, k, default_walk(walk), margin_m))


def _reporting(
    lon: float, lat: float, k: int, walk: WalkSettings, margin_m: float | None
) -> Steps[dict]:
    check_k(k)
    site = yield from locating_site(lon, lat, margin_m)
    found = yield from _finding(site, k, None, None, walk)
    return {
        "lon": lon,
        "lat": lat,
        "k": k,
        "walk_speed_kmh": walk.speed_kmh,
        "detour_factor": walk.detour_factor,
        "network_loaded": found.network_loaded,
        "hubs": [
            {**h.to_dict(), "lon": found.lonlat[h.hub_id][0], "lat": found.lonlat[h.hub_id][1]}
            for h in found.hubs
        ],
    }
