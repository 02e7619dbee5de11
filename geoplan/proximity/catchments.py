"""Walking catchments (5/10/15 minutes) of each hub: computed on the network or as straight-line
rings, stored, refreshed only when their inputs change, served as GeoJSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID
from geoplan.errors import NotFoundError
from geoplan.proximity.checks import check_minutes
from geoplan.proximity.routing import anchor, network_loaded, reach_from_hubs
from geoplan.proximity.walk import WalkSettings, default_walk

CATCHMENT_MINUTES = (5, 10, 15)
"""The walking times catchments are stored for (and coverage is reported at)."""

CATCHMENT_BUFFER_M = 40.0
"""Reachable edges are buffered by this much: roughly the distance from a street or path to the
entrance of the buildings along it, so premises fronting a reachable street fall inside."""


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
    *,
    walk: WalkSettings | None = None,
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

    ``walk``: the walking model (default: the process settings, see :mod:`~.walk`).
    """
    walk = default_walk(walk)
    v = walk.m_per_min
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
        n = anchor(
            conn,
            "_px_cat_anchor",
            "SELECT id AS key, geom FROM hubs WHERE id = ANY(%(ids)s)",
            {"ids": all_ids},
            walk.max_snap_m,
        )
        if n:
            reach_from_hubs(
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
            {"v": v, "f": walk.detour_factor, "mins": mins, "ids": straight},
        ).fetchall()
        result += [Catchment(h, m, "straight_line", shapely.from_wkb(bytes(g))) for h, m, g in rows]
    result.sort(key=lambda c: (c.hub_id, c.minutes))
    return result


def catchment_inputs(
    conn: psycopg.Connection, *, walk: WalkSettings | None = None
) -> dict[str, str]:
    """Per hub, an md5 of everything its catchments are computed from.

    A hub's catchments depend on its own position, the whole walking network (edges, costs,
    shapes), the settings (speed, detour factor, snap limit) and the buffer — not on other hubs
    or on premises. Hashing all of it costs ~0.03 s for a 20 000-edge network, so the check can
    run on every hub write.
    """
    walk = default_walk(walk)
    (network,) = conn.execute(
        "SELECT md5(coalesce(string_agg(md5(ST_AsBinary(geom)) || ',' || cost || ','"
        " || reverse_cost || ',' || source || ',' || target, ';' ORDER BY id), ''))"
        " FROM walk_edges"
    ).fetchone()
    common = "|".join(
        str(x)
        for x in (
            network,
            walk.m_per_min,
            walk.detour_factor,
            walk.max_snap_m,
            CATCHMENT_BUFFER_M,
            CATCHMENT_MINUTES,
        )
    )
    rows = conn.execute(
        "SELECT id, md5(encode(ST_AsEWKB(geom), 'hex') || %s) FROM hubs", (common,)
    ).fetchall()
    return dict(rows)


def refresh_catchments(
    conn: psycopg.Connection, *, force: bool = True, walk: WalkSettings | None = None
) -> int:
    """Recompute the stored 5/10/15-minute catchments; returns how many were (re)computed.

    ``force=True`` (``geoplan network catchments``, network imports) recomputes every hub's.
    ``force=False`` (hub writes) recomputes only hubs whose inputs changed — see
    :func:`catchment_inputs` — so editing one hub's name costs two hashes, and adding one hub
    costs that hub's catchments, not everyone's. Catchments of deleted hubs go with them.

    ``walk``: the walking model (default: the process settings, see :mod:`~.walk`).
    """
    walk = default_walk(walk)
    inputs = catchment_inputs(conn, walk=walk)
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
    cats = compute_catchments(conn, stale, walk=walk)
    conn.execute("DELETE FROM catchments WHERE hub_id = ANY(%s)", (stale,))
    with conn.cursor().copy(
        "COPY catchments (hub_id, minutes, method, inputs_md5, geom) FROM STDIN"
    ) as copy:
        for c in cats:
            g = shapely.to_wkb(shapely.set_srid(c.geom, STORAGE_SRID), hex=True, include_srid=True)
            copy.write_row((c.hub_id, int(c.minutes), c.method, inputs[c.hub_id], g))
    return len(cats)


def catchments_geojson(
    conn: psycopg.Connection,
    hub_id: str | None = None,
    minutes: float | None = None,
    *,
    walk: WalkSettings | None = None,
) -> dict:
    """Catchments as a GeoJSON FeatureCollection in WGS84 (stored ones; others computed now
    with ``walk``, default the process settings)."""
    check_minutes(minutes)
    if hub_id is not None and "\x00" in hub_id:  # no id holds one (PostgreSQL text cannot)
        raise NotFoundError(f"no hub with id {hub_id!r}")
    if (
        hub_id is not None
        and not conn.execute(
            "SELECT EXISTS (SELECT 1 FROM hubs WHERE id = %s)", (hub_id,)
        ).fetchone()[0]
    ):
        raise NotFoundError(f"no hub with id {hub_id!r}")
    if minutes is not None and float(minutes) not in {float(m) for m in CATCHMENT_MINUTES}:
        cats = compute_catchments(conn, [hub_id] if hub_id else None, [minutes], walk=walk)
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
