"""Transit-hub proximity: nearest hubs, walking distance and time, catchments, coverage.

How a walking distance is obtained (every result says which, in ``method``):

``network``
    The site and each hub are *anchored* on their nearest walkable edge (within
    ``settings.network_max_snap_m``); the perpendicular "snap" distance is walked in a straight
    line, then the route runs along the network (pgRouting Dijkstra, edge cost = metres).
``straight_line``
    No network is loaded, the site or hub lies too far from it, or no path connects them (another
    component of the network, e.g. an island in the extract): straight-line distance ×
    ``settings.detour_factor`` (1.3 by default — a common ratio of street to crow-flies distance
    in Norwegian suburbs).

Anchoring on edges rather than on the nearest intersection matters: edges run between
intersections only, so the nearest *node* can be hundreds of metres away along a long road while
the road itself passes the door.

Hubs are joined to the graph through *virtual vertices*: one extra vertex per hub, linked to the
two ends of its anchor edge with the right partial costs. That lets one pgRouting call answer
"nearest hub on foot" for every premises at once (multi-source ``pgr_drivingDistance`` with
``equicost``: each node is labelled with its closest hub), and "everything within 15 minutes of
every hub" for all catchments at once — set-based work in PostGIS, no per-row Python.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import psycopg
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID, get_settings
from geoplan.errors import NotFoundError, ValidationError
from geoplan.region import locate_lonlat

CATCHMENT_MINUTES = (5, 10, 15)
"""The walking times catchments are stored for (and coverage is reported at)."""

CATCHMENT_BUFFER_M = 40.0
"""Reachable edges are buffered by this much: roughly the distance from a street or path to the
entrance of the buildings along it, so premises fronting a reachable street fall inside."""

MAX_NETWORK_WALK_M = 20_000.0
"""Network searches stop here (4 hours' walk); anything farther is reported as straight line."""

MAX_K = 50
"""Most hubs one nearest-hubs query may ask for."""


@dataclass(frozen=True)
class HubSelection:
    """Which hubs a batch walk may end at: by status, mode and/or id (None = any).

    The values are bound as query parameters, never spliced into SQL text, so a hub id typed
    by a user (``GET /premises?hub=...``) can select hubs but cannot change the statement.
    """

    statuses: tuple[str, ...] | None = None
    modes: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None

    def where(self) -> tuple[str, dict[str, list[str] | None]]:
        """An SQL condition on ``hubs`` (constant text) and the parameters it binds."""
        sql = (
            "(%(hs_statuses)s::text[] IS NULL OR status = ANY(%(hs_statuses)s)) "
            "AND (%(hs_modes)s::text[] IS NULL OR mode = ANY(%(hs_modes)s)) "
            "AND (%(hs_ids)s::text[] IS NULL OR id = ANY(%(hs_ids)s))"
        )
        params = {
            "hs_statuses": list(self.statuses) if self.statuses is not None else None,
            "hs_modes": list(self.modes) if self.modes is not None else None,
            "hs_ids": list(self.ids) if self.ids is not None else None,
        }
        return sql, params

    def describe(self) -> str:
        """The selection as a readable condition, e.g. ``status = 'existing'`` (for reports)."""
        parts = []
        for column, values in (("status", self.statuses), ("mode", self.modes), ("id", self.ids)):
            if values is None:
                continue
            quoted = ", ".join(f"'{v}'" for v in values)
            parts.append(f"{column} = {quoted}" if len(values) == 1 else f"{column} IN ({quoted})")
        return " AND ".join(parts) or "any hub"


EXISTING_HUBS = HubSelection(statuses=("existing",))
"""The hubs every premises' nearest hub is chosen from."""

HUB_GROUPS: dict[str, HubSelection] = {
    "existing": EXISTING_HUBS,
    "existing_rail_metro": HubSelection(statuses=("existing",), modes=("rail", "metro")),
    "planned": HubSelection(statuses=("planned",)),
}
"""Hub selections coverage is reported for."""


@dataclass
class HubDistance:
    """One hub's distance from a site. ``method`` says how ``walk_m`` was obtained."""

    hub_id: str
    name: str
    mode: str
    status: str
    straight_m: float
    walk_m: float
    walk_min: float
    method: str  # "network" | "straight_line"

    def to_dict(self) -> dict:
        return asdict(self)


# -- input checks shared by the API and the CLI ---------------------------------------------------
def check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise ValidationError(f"k must be between 1 and {MAX_K}, got {k}", field="k")
    return k


def check_minutes(minutes: float | None) -> float | None:
    if minutes is not None and not minutes > 0:
        raise ValidationError(f"minutes must be positive, got {minutes:g}", field="minutes")
    if minutes is not None and minutes > 120:
        raise ValidationError(f"minutes must be at most 120, got {minutes:g}", field="minutes")
    return minutes


def site_from_lonlat(conn: psycopg.Connection, lon: float, lat: float) -> BaseGeometry:
    """The point (EPSG:25833) at ``lon``/``lat`` if it lies in the municipality's surroundings.

    "Surroundings" = the region of :func:`geoplan.region.locate_lonlat`: within
    ``settings.region_margin_m`` of the municipality (its fallback envelope when no boundary is
    loaded). The error names the field that is off, so a swapped lon/lat pair is easy to spot.
    """
    if not -180 <= lon <= 180:
        raise ValidationError(f"lon must be between -180 and 180, got {lon}", field="lon")
    if not -90 <= lat <= 90:
        raise ValidationError(f"lat must be between -90 and 90, got {lat}", field="lat")
    where = locate_lonlat(conn, lon, lat)
    if not where.inside:
        # name the coordinate that is off (a swapped pair shows up as lon)
        field_name = "lon" if not where.easting_inside else "lat"
        what = where.municipality_name
        if not where.boundary_loaded:
            what += " (no boundary is loaded)"
        raise ValidationError(
            f"lon={lon}, lat={lat} lies more than {where.margin_m / 1000:g} km outside {what}",
            field=field_name,
        )
    return shapely.Point(where.x, where.y)


# -- network plumbing -----------------------------------------------------------------------------
def network_loaded(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM walk_edges)").fetchone()[0]


@lru_cache(maxsize=4)
def _pgr_start_column(version: str) -> str:
    # pgRouting 3.6 renamed pgr_drivingDistance's ``from_v`` to ``start_vid``.
    major, minor = (int(p) for p in version.split(".")[:2])
    return "start_vid" if (major, minor) >= (3, 6) else "from_v"


def _start_col(conn: psycopg.Connection) -> str:
    return _pgr_start_column(conn.execute("SELECT pgr_version()").fetchone()[0])


def _anchor(conn: psycopg.Connection, table: str, points_sql: str, params: dict) -> int:
    """Create temp ``table`` (key, geom, vid, edge, source, target, len, snap, f).

    ``points_sql`` selects ``key`` and ``geom``; each is anchored on its nearest walk edge within
    the snap limit (points farther away are left out) and given a virtual vertex id ``vid``
    above every real node id.
    """
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"CREATE TEMP TABLE {table} (key text, geom geometry, vid bigint, edge bigint, "
        "source bigint, target bigint, len float8, snap float8, f float8)"
    )
    conn.execute(
        f"""
        INSERT INTO {table}
        SELECT pts.key, pts.geom,
               (SELECT coalesce(max(id), 0) FROM walk_nodes)
                 + row_number() OVER (ORDER BY pts.key) AS vid,
               e.id AS edge, e.source, e.target, e.length_m AS len, e.snap,
               ST_LineLocatePoint(e.geom, ST_ClosestPoint(e.geom, pts.geom)) AS f
        FROM ({points_sql}) pts
        CROSS JOIN LATERAL (
            SELECT w.id, w.source, w.target, w.length_m, w.geom,
                   ST_Distance(w.geom, pts.geom) AS snap
            FROM walk_edges w ORDER BY w.geom <-> pts.geom LIMIT 1
        ) e
        WHERE e.snap <= %(max_snap)s
        """,
        {**params, "max_snap": get_settings().network_max_snap_m},
    )
    conn.execute(f"ANALYZE {table}")
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _links(conn: psycopg.Connection, table: str, anchors: Sequence[str]) -> None:
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


def _edges_sql(links: str, bbox: tuple[float, float, float, float] | None = None) -> str:
    where = ""
    if bbox:
        x0, y0, x1, y1 = (float(v) for v in bbox)
        where = f" WHERE geom && ST_MakeEnvelope({x0!r}, {y0!r}, {x1!r}, {y1!r}, {STORAGE_SRID})"
    return (
        f"SELECT id, source, target, cost, reverse_cost FROM walk_edges{where} "
        f"UNION ALL SELECT id, source, target, cost, reverse_cost FROM {links}"
    )


# -- nearest hubs for one site --------------------------------------------------------------------
def nearest_hubs(
    conn: psycopg.Connection,
    site: BaseGeometry,
    k: int = 3,
    *,
    statuses: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
) -> list[HubDistance]:
    """The ``k`` hubs nearest on foot to ``site`` (shapely, EPSG:25833), nearest first.

    Candidates are the ``k + 5`` nearest by straight line (KNN ``<->`` on the GiST index); with a
    network loaded they are ranked by walking distance (``pgr_dijkstraCost`` from the site to all
    candidates in one call, on the part of the network around them). A hub that is near as the
    crow flies but far on foot — across a railway without a crossing — drops down the list.
    """
    check_k(k)
    s = get_settings()
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
    walk = {r[0]: (r[4] * s.detour_factor, "straight_line") for r in rows}
    if network_loaded(conn):
        walk.update(
            _network_walk_from_site(conn, site, [r[0] for r in rows], max(r[4] for r in rows))
        )
    out = [
        HubDistance(
            hub_id,
            name,
            mode,
            status,
            round(d, 1),
            round(walk[hub_id][0], 1),
            round(walk[hub_id][0] / s.walk_speed_m_per_min, 2),
            walk[hub_id][1],
        )
        for hub_id, name, mode, status, d in rows
    ]
    out.sort(key=lambda h: (h.walk_m, h.straight_m))
    return out[:k]


def _network_walk_from_site(
    conn: psycopg.Connection, site: BaseGeometry, hub_ids: list[str], farthest_m: float
) -> dict[str, tuple[float, str]]:
    """Walking metres from ``site`` to each reachable hub of ``hub_ids`` on the network."""
    site_sql = f"ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID})"
    n_site = _anchor(
        conn, "_px_site", f"SELECT 'site'::text AS key, {site_sql} AS geom", {"wkb": site.wkb}
    )
    if not n_site:
        return {}
    conn.execute("DROP TABLE IF EXISTS _px_hubs_a")
    n_hubs = _anchor(
        conn,
        "_px_hubs_a",
        "SELECT id AS key, geom FROM hubs WHERE id = ANY(%(ids)s)",
        {"ids": hub_ids},
    )
    if not n_hubs:
        return {}
    # virtual vertex ids of the two anchor tables must not collide
    conn.execute("UPDATE _px_hubs_a SET vid = vid + 1")
    _links(conn, "_px_links1", ["_px_site", "_px_hubs_a"])
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
        {"edges": _edges_sql("_px_links1", bbox)},
    ).fetchall()
    return {key: (float(m), "network") for key, m in rows}


# -- batch: nearest hub for many premises ---------------------------------------------------------
# Binary COPY moves fixed-width rows between PostGIS and numpy without per-row Python: a row is
# its field count (int16), then each field's length (int32) and big-endian value.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)


def _copy_row(*fields: tuple[str, str]) -> np.dtype:
    """The numpy dtype of one binary-COPY row of the fixed-width ``fields`` (name, dtype)."""
    parts: list[tuple[str, str]] = [("_n", ">i2")]
    for name, dtype in fields:
        parts += [(f"_len_{name}", ">i4"), (name, dtype)]
    return np.dtype(parts)


_POINT_ROW = _copy_row(("seq", ">i8"), ("x", ">f8"), ("y", ">f8"))


def _copy_out(conn: psycopg.Connection, sql: str, params: dict | None, row: np.dtype) -> np.ndarray:
    """The rows of ``sql`` (fixed-width columns matching ``row``) as a numpy record array."""
    buf = io.BytesIO()
    with conn.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
        for chunk in copy:
            buf.write(chunk)
    return np.frombuffer(buf.getbuffer()[len(_COPY_HEADER) : -len(_COPY_TRAILER)], dtype=row)


Labels = tuple[np.ndarray, Sequence[str]]
"""A text column given as codes (one per row) into a short list of distinct labels."""


def _copy_in(conn: psycopg.Connection, table: str, **columns: np.ndarray | str | Labels) -> None:
    """Binary-COPY columns into the like-named columns of ``table``, in one write.

    A column is a numpy array of int32/int64/float64, a ``str`` (the same text in every row) or
    :data:`Labels` (at most one such column, e.g. hub ids). Rows that share a label share one
    fixed layout, so each group is encoded as one numpy record array: no per-row Python.
    """
    labelled = [name for name, col in columns.items() if isinstance(col, tuple)]
    if len(labelled) > 1:
        raise ValueError("at most one Labels column")
    if labelled:
        codes, labels = columns[labelled[0]]  # type: ignore[misc]
        order = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=len(labels)))
        groups = [
            (label, order[end - count : end])
            for label, end, count in zip(labels, ends, np.diff(ends, prepend=0), strict=True)
            if count
        ]
    else:
        n = len(next(c for c in columns.values() if isinstance(c, np.ndarray)))
        groups = [("", np.arange(n))]
    parts = [_COPY_HEADER]
    for label, rows in groups:
        fields: list[tuple[str, np.dtype | str]] = [("_n", ">i2")]
        values: dict[str, object] = {}
        for name, col in columns.items():
            if isinstance(col, np.ndarray):
                dtype, value = col.dtype.newbyteorder(">"), col[rows]
            else:
                text = (label if name in labelled else col).encode()  # type: ignore[union-attr]
                dtype, value = f"S{len(text)}", text
            fields += [(f"_len_{name}", ">i4"), (name, dtype)]
            values[name] = value
        arr = np.empty(len(rows), dtype=fields)
        arr["_n"] = len(columns)
        for name, value in values.items():
            arr[f"_len_{name}"] = arr.dtype[name].itemsize
            arr[name] = value
        parts.append(arr.tobytes())
    parts.append(_COPY_TRAILER)
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as c:
        c.write(b"".join(parts))


@dataclass
class _Nearest:
    """Straight-line nearest hub of each selected premises (``hub`` indexes ``hub_ids``)."""

    seq: np.ndarray
    hub: np.ndarray
    dist: np.ndarray
    hub_ids: list[str]


def _straight_line_nearest(
    conn: psycopg.Connection, points_sql: str, params: dict, hubs: HubSelection
) -> _Nearest:
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
    pts = _copy_out(conn, points_sql, params, _POINT_ROW)
    if not hub_rows or not len(pts):
        empty = np.empty(0)
        return _Nearest(empty.astype(np.int64), empty.astype(np.int32), empty, hub_ids)
    tree = cKDTree(np.array([(h[1], h[2]) for h in hub_rows], dtype=np.float64))
    xy = np.column_stack((pts["x"].astype(np.float64), pts["y"].astype(np.float64)))
    dist, hub = tree.query(xy, k=1)
    return _Nearest(pts["seq"].astype(np.int64), hub.astype(np.int32), dist, hub_ids)


@contextmanager
def _batch_settings(conn: psycopg.Connection) -> Iterator[None]:
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
) -> int:
    """Nearest hub and walking distance for a set of premises, into temp table ``out``.

    ``out`` gets ``(seq bigint, id text, hub_id text, straight_m, walk_m, method)``, one row per
    premises matching ``premises_where`` when any hub is in ``hubs`` (select one hub by id to get
    every premises' walk to *that* hub). ``premises_where`` is an SQL condition on ``premises p``
    written by geoplan code, never by a user: values go in ``params``. Two set-based passes:

    1. straight line for all (:func:`_straight_line_nearest`), results back by binary COPY;
    2. with a network: one multi-source ``pgr_drivingDistance`` from every hub's virtual vertex
       (``equicost``: each node keeps its closest hub), joined to each premises' anchor edge.
       Premises it reaches get ``method='network'`` and possibly a different hub than the
       straight-line one; the rest keep ``straight_line``.
    """
    with _batch_settings(conn):
        return _walk_to_nearest_hub(conn, premises_where, params or {}, hubs, out)


def _walk_to_nearest_hub(
    conn: psycopg.Connection, premises_where: str, params: dict, hubs: HubSelection, out: str
) -> int:
    conn.execute("DROP TABLE IF EXISTS _px_pts")
    conn.execute(
        f"CREATE TEMP TABLE _px_pts AS SELECT p.seq, p.id, p.geom FROM premises p "
        f"WHERE {premises_where}",
        params,
    )
    nearest = _straight_line_nearest(
        conn, "SELECT seq, ST_X(geom), ST_Y(geom) FROM _px_pts", {}, hubs
    )
    conn.execute("DROP TABLE IF EXISTS _px_nn")
    conn.execute("CREATE TEMP TABLE _px_nn (seq bigint, hub_id text, d float8)")
    _copy_in(conn, "_px_nn", seq=nearest.seq, hub_id=(nearest.hub, nearest.hub_ids), d=nearest.dist)
    conn.execute(f"DROP TABLE IF EXISTS {out}")
    n = conn.execute(
        f"""
        CREATE TEMP TABLE {out} AS
        SELECT t.seq, t.id, nn.hub_id, nn.d AS straight_m, nn.d * %(f)s AS walk_m,
               'straight_line'::text AS method
        FROM _px_nn nn JOIN _px_pts t ON t.seq = nn.seq
        """,
        {"f": get_settings().detour_factor},
    ).rowcount
    if n and network_loaded(conn):
        conn.execute(f"CREATE INDEX ON {out} (seq)")
        conn.execute("CREATE INDEX ON _px_pts (seq)")
        conn.execute("ANALYZE _px_pts")
        _network_pass(conn, hubs, out)
    return n


def _reach_from_hubs(
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
    _links(conn, links, [anchors])
    col = _start_col(conn)
    conn.execute(f"DROP TABLE IF EXISTS {out}")
    conn.execute(
        f"""
        CREATE TEMP TABLE {out} AS
        SELECT dd.node, a.key AS hub_id, dd.agg_cost
        FROM pgr_drivingDistance(%(edges)s, (SELECT array_agg(vid) FROM {anchors}),
                                 %(max)s, directed := false, equicost := %(eq)s) dd
        JOIN {anchors} a ON a.vid = dd.{col}
        """,
        {"edges": _edges_sql(links), "max": max_m, "eq": nearest_only},
    )
    conn.execute(
        f"CREATE INDEX ON {out} (hub_id, node)"
        if not nearest_only
        else f"CREATE INDEX ON {out} (node)"
    )
    conn.execute(f"ANALYZE {out}")


def _network_pass(conn: psycopg.Connection, hubs: HubSelection, out: str) -> None:
    hub_where, hub_params = hubs.where()
    if not _anchor(
        conn, "_px_hub_anchor", f"SELECT id AS key, geom FROM hubs WHERE {hub_where}", hub_params
    ):
        return
    # premises virtual ids are not used, only their anchor edge
    if not _anchor(conn, "_px_pt_anchor", "SELECT seq::text AS key, geom FROM _px_pts", {}):
        return
    _reach_from_hubs(
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


def annotate_premises(conn: psycopg.Connection, premises_ids: Sequence[str] | None = None) -> int:
    """Set each premises' nearest existing hub and walking time; returns the premises annotated.

    Call after any write to premises (with their ids) or to hubs/the network (without ids).
    With ``premises_ids=None`` the hubs may have changed, so catchments are brought up to date
    too — only those of hubs whose position (or the network) changed are recomputed, so a call
    after a premises-only change costs a hash check (see :func:`refresh_catchments`); every
    premises is then annotated in one batch.
    Premises with no existing hub at all get no row in ``premises_walk`` (NULLs in
    ``premises_annotated``), so no stale value survives.
    """
    if premises_ids is None:
        refresh_catchments(conn, force=False)
    return update_walk_times(conn, premises_ids)


def update_walk_times(conn: psycopg.Connection, premises_ids: Sequence[str] | None = None) -> int:
    """The batch annotation without refreshing catchments (premises-only changes, benchmarks).

    With ``premises_ids=None`` ``premises_walk`` is rebuilt from scratch (TRUNCATE, bulk insert,
    index built afterwards): at a million premises that is several times cheaper than updating
    rows in place. TRUNCATE locks the table until the transaction commits, so reads of
    ``premises_annotated`` wait for the rebuild (≈ 1 s per million premises; nothing at the
    municipality's scale); they never see a half-written table.
    """
    if premises_ids is not None and not premises_ids:
        return 0
    with _batch_settings(conn):
        return _update_walk_times(conn, premises_ids)


def _update_walk_times(conn: psycopg.Connection, premises_ids: Sequence[str] | None) -> int:
    s = get_settings()
    ids = list(premises_ids) if premises_ids is not None else None
    where = "true" if ids is None else "p.id = ANY(%(ids)s)"
    if network_loaded(conn):
        n = _walk_to_nearest_hub(conn, where, {"ids": ids}, EXISTING_HUBS, "_px_result")
        walks = f"""
            SELECT seq, hub_id, round(walk_m::numeric, 1)::float8,
                   round((walk_m / {s.walk_speed_m_per_min!r})::numeric, 2)::float8, method
            FROM _px_result"""
    else:  # the straight-line fast path: rounded in numpy, one binary COPY into premises_walk
        nearest = _straight_line_nearest(
            conn,
            f"SELECT p.seq, ST_X(p.geom), ST_Y(p.geom) FROM premises p WHERE {where}",
            {"ids": ids},
            EXISTING_HUBS,
        )
        n = len(nearest.seq)
        walks = ""
    _clear_walks(conn, ids)
    if walks:
        conn.execute(f"INSERT INTO premises_walk {walks}")
    elif n:
        walk_m = nearest.dist * s.detour_factor
        _copy_in(
            conn,
            "premises_walk",
            premises_seq=nearest.seq,
            hub_id=(nearest.hub, nearest.hub_ids),
            walk_m=np.round(walk_m, 1),
            walk_min=np.round(walk_m / s.walk_speed_m_per_min, 2),
            method="straight_line",
        )
    if ids is None:  # built after the bulk load: far cheaper than maintained row by row
        conn.execute("ALTER TABLE premises_walk ADD PRIMARY KEY (premises_seq)")
        conn.execute(f"CREATE INDEX {WALK_MIN_INDEX} ON premises_walk (walk_min)")
    return n


WALK_MIN_INDEX = "premises_walk_min_idx"
"""Serves searches by walking time (``max_walk_min``, ``sort=walk``) in walk order."""


def _clear_walks(conn: psycopg.Connection, ids: list[str] | None) -> None:
    """Empty ``premises_walk`` for a full pass (indexes dropped until reloaded), else the ids'."""
    if ids is None:
        conn.execute("TRUNCATE premises_walk")
        conn.execute("ALTER TABLE premises_walk DROP CONSTRAINT premises_walk_pkey")
        conn.execute(f"DROP INDEX {WALK_MIN_INDEX}")
    else:
        conn.execute(
            "DELETE FROM premises_walk w USING premises p "
            "WHERE p.seq = w.premises_seq AND p.id = ANY(%(ids)s)",
            {"ids": ids},
        )


def on_hubs_changed(conn: psycopg.Connection) -> tuple[int, int]:
    """After hubs are added, moved or removed: catchments of the changed hubs, every premises' hub.

    Returns (catchments recomputed, premises annotated)."""
    return refresh_catchments(conn, force=False), update_walk_times(conn, None)


def on_network_changed(conn: psycopg.Connection) -> tuple[int, int]:
    """After a network import: every hub's catchments and every premises' walking time."""
    return refresh_catchments(conn, force=True), update_walk_times(conn, None)


# -- catchments -----------------------------------------------------------------------------------
@dataclass
class Catchment:
    hub_id: str
    minutes: float
    method: str
    geom: BaseGeometry


def compute_catchments(
    conn: psycopg.Connection,
    hub_ids: Sequence[str] | None = None,
    minutes: Sequence[float] = CATCHMENT_MINUTES,
) -> list[Catchment]:
    """The area reachable on foot from each hub within each of ``minutes``.

    Network method: one ``pgr_drivingDistance`` from all hubs' virtual vertices (no
    ``equicost``: each hub gets its own tree) up to the largest budget; for each budget every
    edge contributes the part reachable from either end (whole, or a ``ST_LineSubstring`` from
    each end), plus the hub's own anchor segment and connector; each piece is buffered by
    :data:`CATCHMENT_BUFFER_M` and the buffers are unioned.

    Why a buffered edge union and not a concave hull of reached nodes: a hull fills in whatever
    lies between reached streets — the far side of a railway, a lake, a fenced hospital — and
    so claims premises that are in fact a long detour away; the buffered edges show exactly the
    streets one can reach, which is what a planner asks ("which addresses are within 10
    minutes?"). The cost is a lacier polygon, which is honest.

    Straight-line method (no network, or the hub lies farther than the snap limit from it):
    a circle of radius ``speed × minutes / detour_factor``.
    """
    s = get_settings()
    v = s.walk_speed_m_per_min
    ids = list(hub_ids) if hub_ids is not None else None
    hub_rows = conn.execute(
        "SELECT id FROM hubs WHERE %(ids)s::text[] IS NULL OR id = ANY(%(ids)s) ORDER BY id",
        {"ids": ids},
    ).fetchall()
    all_ids = [r[0] for r in hub_rows]
    result: list[Catchment] = []
    networked: set[str] = set()
    mins = sorted({float(m) for m in minutes})
    if all_ids and mins and network_loaded(conn):
        n = _anchor(
            conn,
            "_px_cat_anchor",
            "SELECT id AS key, geom FROM hubs WHERE id = ANY(%(ids)s)",
            {"ids": all_ids},
        )
        if n:
            _reach_from_hubs(
                conn,
                "_px_cat_anchor",
                "_px_cat_links",
                "_px_cat_reach",
                max(mins) * v,
                nearest_only=False,
            )
            rows = conn.execute(
                """
                WITH budgets AS (SELECT unnest(%(mins)s::float8[]) AS minutes),
                touched AS (  -- edges with a reached end, per hub
                    SELECT r.hub_id, e.id FROM _px_cat_reach r
                    JOIN walk_edges e ON e.source = r.node
                    UNION
                    SELECT r.hub_id, e.id FROM _px_cat_reach r
                    JOIN walk_edges e ON e.target = r.node
                ),
                ends AS (
                    SELECT t.hub_id, b.minutes, e.geom, e.length_m AS len,
                           CASE WHEN rs.agg_cost IS NULL THEN 0 ELSE greatest(0, least(1,
                               (b.minutes * %(v)s - rs.agg_cost) / e.length_m)) END AS a,
                           CASE WHEN rt.agg_cost IS NULL THEN 0 ELSE greatest(0, least(1,
                               (b.minutes * %(v)s - rt.agg_cost) / e.length_m)) END AS z
                    FROM touched t JOIN walk_edges e ON e.id = t.id
                    CROSS JOIN budgets b
                    LEFT JOIN _px_cat_reach rs ON rs.hub_id = t.hub_id AND rs.node = e.source
                    LEFT JOIN _px_cat_reach rt ON rt.hub_id = t.hub_id AND rt.node = e.target
                ),
                pieces AS (
                    SELECT hub_id, minutes, geom AS g FROM ends WHERE a + z >= 1
                    UNION ALL
                    SELECT hub_id, minutes, ST_LineSubstring(geom, 0, a) FROM ends
                    WHERE a + z < 1 AND a > 0
                    UNION ALL
                    SELECT hub_id, minutes, ST_LineSubstring(geom, 1 - z, 1) FROM ends
                    WHERE a + z < 1 AND z > 0
                    UNION ALL  -- the hub's own edge around its anchor, and the way onto it
                    SELECT h.key, b.minutes, ST_LineSubstring(
                        e.geom,
                        greatest(0, h.f - (b.minutes * %(v)s - h.snap) / h.len),
                        least(1, h.f + (b.minutes * %(v)s - h.snap) / h.len))
                    FROM _px_cat_anchor h JOIN walk_edges e ON e.id = h.edge CROSS JOIN budgets b
                    WHERE b.minutes * %(v)s > h.snap
                    UNION ALL
                    SELECT h.key, b.minutes,
                           ST_MakeLine(h.geom, ST_LineInterpolatePoint(e.geom, h.f))
                    FROM _px_cat_anchor h JOIN walk_edges e ON e.id = h.edge CROSS JOIN budgets b
                )
                -- buffer each piece, then one cascaded union: ~4× faster than one buffer of
                -- the collected pieces (GEOS nodes all offset curves of a collection at once)
                SELECT hub_id, minutes,
                       ST_AsBinary(ST_Multi(ST_Union(ST_Buffer(g, %(buf)s, 'quad_segs=4'))))
                FROM pieces WHERE NOT ST_IsEmpty(g)
                GROUP BY hub_id, minutes
                """,
                {"mins": mins, "v": v, "buf": CATCHMENT_BUFFER_M},
            ).fetchall()
            for hub_id, m, wkb in rows:
                result.append(Catchment(hub_id, m, "network", shapely.from_wkb(bytes(wkb))))
                networked.add(hub_id)
    straight = [h for h in all_ids if h not in networked]
    if straight:
        rows = conn.execute(
            """
            SELECT h.id, b.minutes,
                   ST_AsBinary(ST_Multi(ST_Buffer(h.geom, b.minutes * %(v)s / %(f)s, 16)))
            FROM hubs h CROSS JOIN unnest(%(mins)s::float8[]) AS b(minutes)
            WHERE h.id = ANY(%(ids)s)
            """,
            {"v": v, "f": s.detour_factor, "mins": mins, "ids": straight},
        ).fetchall()
        result += [Catchment(h, m, "straight_line", shapely.from_wkb(bytes(g))) for h, m, g in rows]
    result.sort(key=lambda c: (c.hub_id, c.minutes))
    return result


def catchment_inputs(conn: psycopg.Connection) -> dict[str, str]:
    """Per hub, an md5 of everything its catchments are computed from.

    A hub's catchments depend on its own position, the whole walking network (edges, costs,
    shapes), the settings (speed, detour factor, snap limit) and the buffer — not on other hubs
    or on premises. Hashing all of it costs ~0.03 s for a 20 000-edge network, so the check can
    run on every hub write.
    """
    s = get_settings()
    (network,) = conn.execute(
        "SELECT md5(coalesce(string_agg(md5(ST_AsBinary(geom)) || ',' || cost || ','"
        " || reverse_cost || ',' || source || ',' || target, ';' ORDER BY id), ''))"
        " FROM walk_edges"
    ).fetchone()
    common = "|".join(
        str(x)
        for x in (
            network,
            s.walk_speed_m_per_min,
            s.detour_factor,
            s.network_max_snap_m,
            CATCHMENT_BUFFER_M,
            CATCHMENT_MINUTES,
        )
    )
    rows = conn.execute(
        "SELECT id, md5(encode(ST_AsEWKB(geom), 'hex') || %s) FROM hubs", (common,)
    ).fetchall()
    return dict(rows)


def refresh_catchments(conn: psycopg.Connection, *, force: bool = True) -> int:
    """Recompute the stored 5/10/15-minute catchments; returns how many were (re)computed.

    ``force=True`` (``geoplan network catchments``, network imports) recomputes every hub's.
    ``force=False`` (hub writes) recomputes only hubs whose inputs changed — see
    :func:`catchment_inputs` — so editing one hub's name costs two hashes, and adding one hub
    costs that hub's catchments, not everyone's. Catchments of deleted hubs go with them.
    """
    inputs = catchment_inputs(conn)
    conn.execute(
        "DELETE FROM catchments c WHERE NOT EXISTS (SELECT 1 FROM hubs h WHERE h.id = c.hub_id)"
    )
    if force:
        stale = sorted(inputs)
    else:
        stored: dict[str, set[tuple[int, str | None]]] = {}
        for hub_id, m, md5 in conn.execute("SELECT hub_id, minutes, inputs_md5 FROM catchments"):
            stored.setdefault(hub_id, set()).add((m, md5))
        stale = sorted(
            h for h, key in inputs.items() if stored.get(h) != {(m, key) for m in CATCHMENT_MINUTES}
        )
    if not stale:
        return 0
    cats = compute_catchments(conn, stale)
    conn.execute("DELETE FROM catchments WHERE hub_id = ANY(%s)", (stale,))
    with conn.cursor().copy(
        "COPY catchments (hub_id, minutes, method, inputs_md5, geom) FROM STDIN"
    ) as copy:
        for c in cats:
            g = shapely.to_wkb(shapely.set_srid(c.geom, STORAGE_SRID), hex=True, include_srid=True)
            copy.write_row((c.hub_id, int(c.minutes), c.method, inputs[c.hub_id], g))
    return len(cats)


def catchments_geojson(
    conn: psycopg.Connection, hub_id: str | None = None, minutes: float | None = None
) -> dict:
    """Catchments as a GeoJSON FeatureCollection in WGS84 (stored ones; others computed now)."""
    check_minutes(minutes)
    if (
        hub_id is not None
        and not conn.execute(
            "SELECT EXISTS (SELECT 1 FROM hubs WHERE id = %s)", (hub_id,)
        ).fetchone()[0]
    ):
        raise NotFoundError(f"no hub with id {hub_id!r}")
    if minutes is not None and float(minutes) not in {float(m) for m in CATCHMENT_MINUTES}:
        cats = compute_catchments(conn, [hub_id] if hub_id else None, [minutes])
        rows = conn.execute(
            f"""
            SELECT c.hub_id, h.name, h.mode, h.status, c.minutes, c.method, NULL::timestamptz,
                   ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_GeomFromWKB(c.g), {STORAGE_SRID}),
                                             4326), 6)
            FROM unnest(%(hubs)s::text[], %(mins)s::float8[], %(methods)s::text[],
                        %(geoms)s::bytea[]) AS c(hub_id, minutes, method, g)
            JOIN hubs h ON h.id = c.hub_id
            """,
            {
                "hubs": [c.hub_id for c in cats],
                "mins": [c.minutes for c in cats],
                "methods": [c.method for c in cats],
                "geoms": [c.geom.wkb for c in cats],
            },
        ).fetchall()
    else:
        rows = conn.execute(
            """
            SELECT c.hub_id, h.name, h.mode, h.status, c.minutes, c.method, c.computed_at,
                   ST_AsGeoJSON(ST_Transform(c.geom, 4326), 6)
            FROM catchments c JOIN hubs h ON h.id = c.hub_id
            WHERE (%(hub)s::text IS NULL OR c.hub_id = %(hub)s)
              AND (%(m)s::float8 IS NULL OR c.minutes = %(m)s)
            ORDER BY c.hub_id, c.minutes
            """,
            {"hub": hub_id, "m": minutes},
        ).fetchall()
    features = [
        {
            "type": "Feature",
            "id": f"{hub}-{m:g}",
            "properties": {
                "hub_id": hub,
                "hub_name": name,
                "mode": mode,
                "status": status,
                "minutes": float(m),
                "method": method,
                "computed_at": at.isoformat() if at else None,
            },
            "geometry": json.loads(gj),
        }
        for hub, name, mode, status, m, method, at, gj in rows
    ]
    return {"type": "FeatureCollection", "features": features}


# -- coverage -------------------------------------------------------------------------------------
@dataclass
class CoverageRow:
    """Available premises in one zone within walking reach of one group of hubs."""

    area_id: str
    area_name: str
    hubs: str  # a key of HUB_GROUPS, or "planned_adds"
    premises: int
    floor_area_m2: float
    within: dict[int, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


MUNICIPALITY_ID = "municipality"


def coverage(conn: psycopg.Connection) -> list[CoverageRow]:
    """Count and floor area of available premises within 5/10/15 min walk, per focus area and
    for the whole municipality, of: any existing hub, an existing rail/metro hub, a planned hub,
    and ``planned_adds`` — within reach of a planned hub but NOT of an existing rail/metro hub
    (what the planned T-bane would add).

    Walking times come from the same batch path as the premises annotation (network where
    loaded, straight line × detour factor otherwise), computed now for each hub group.
    """
    v = get_settings().walk_speed_m_per_min
    for group, selection in HUB_GROUPS.items():
        walk_to_nearest_hub(
            conn, premises_where="p.status = 'available'", hubs=selection, out=f"_px_cov_{group}"
        )
    has_boundary = conn.execute("SELECT EXISTS (SELECT 1 FROM boundary)").fetchone()[0]
    muni_geom = "(SELECT ST_Union(geom) FROM boundary)" if has_boundary else "NULL::geometry"
    cols = []
    for m in CATCHMENT_MINUTES:
        lim = m * v
        conds = {
            "existing": f"e.walk_m <= {lim}",
            "existing_rail_metro": f"r.walk_m <= {lim}",
            "planned": f"pl.walk_m <= {lim}",
            "planned_adds": f"pl.walk_m <= {lim} AND NOT coalesce(r.walk_m <= {lim}, false)",
        }
        for g, c in conds.items():
            cols.append(f"count(*) FILTER (WHERE {c}) AS n_{g}_{m}")
            cols.append(f"coalesce(sum(w.floor_area_m2) FILTER (WHERE {c}), 0) AS a_{g}_{m}")
    cur = conn.execute(
        f"""
        WITH w AS (
            SELECT p.id, p.floor_area_m2, p.geom
            FROM premises p WHERE p.status = 'available'
        ),
        zones AS (
            SELECT id, name, geom, 1 AS ord FROM areas
            UNION ALL SELECT '{MUNICIPALITY_ID}', 'Hele kommunen', {muni_geom}, 0
        )
        SELECT z.id, z.name, count(w.id) AS n, coalesce(sum(w.floor_area_m2), 0) AS a,
               {", ".join(cols)}
        FROM zones z
        LEFT JOIN w ON (z.geom IS NULL OR ST_Intersects(z.geom, w.geom))
        LEFT JOIN _px_cov_existing e ON e.id = w.id
        LEFT JOIN _px_cov_existing_rail_metro r ON r.id = w.id
        LEFT JOIN _px_cov_planned pl ON pl.id = w.id
        GROUP BY z.id, z.name, z.ord
        ORDER BY z.ord, z.id
        """
    )
    names = [d.name for d in cur.description]
    out = []
    for rec in cur.fetchall():
        r = dict(zip(names, rec, strict=True))
        for g in (*HUB_GROUPS, "planned_adds"):
            out.append(
                CoverageRow(
                    r["id"],
                    r["name"],
                    g,
                    r["n"],
                    round(float(r["a"]), 1),
                    {
                        m: {
                            "premises": r[f"n_{g}_{m}"],
                            "floor_area_m2": round(float(r[f"a_{g}_{m}"]), 1),
                        }
                        for m in CATCHMENT_MINUTES
                    },
                )
            )
    return out


# -- what the API and CLI serve -------------------------------------------------------------------
def nearest_report(conn: psycopg.Connection, lon: float, lat: float, k: int = 3) -> dict:
    """The ``k`` nearest hubs on foot from ``lon``/``lat`` (WGS84), checked, as plain data."""
    check_k(k)
    point = site_from_lonlat(conn, lon, lat)
    hubs = nearest_hubs(conn, point, k)
    where = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT id, round(ST_X(g)::numeric, 6)::float8, round(ST_Y(g)::numeric, 6)::float8 "
            "FROM (SELECT id, ST_Transform(geom, 4326) AS g FROM hubs WHERE id = ANY(%s)) h",
            ([h.hub_id for h in hubs],),
        ).fetchall()
    }
    s = get_settings()
    return {
        "lon": lon,
        "lat": lat,
        "k": k,
        "walk_speed_kmh": s.walk_speed_kmh,
        "detour_factor": s.detour_factor,
        "network_loaded": network_loaded(conn),
        "hubs": [
            {**h.to_dict(), "lon": where[h.hub_id][0], "lat": where[h.hub_id][1]} for h in hubs
        ],
    }


def coverage_report(conn: psycopg.Connection) -> dict:
    """:func:`coverage` with the assumptions it rests on."""
    s = get_settings()
    return {
        "minutes": list(CATCHMENT_MINUTES),
        "walk_speed_kmh": s.walk_speed_kmh,
        "detour_factor": s.detour_factor,
        "network_loaded": network_loaded(conn),
        "hub_groups": {
            **{group: selection.describe() for group, selection in HUB_GROUPS.items()},
            "planned_adds": "planned, and not existing rail/metro",
        },
        "rows": [r.to_dict() for r in coverage(conn)],
    }
