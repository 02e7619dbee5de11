"""Coverage: how much available floor space lies within 5/10/15 minutes' walk of which hubs, per
focus area and for the whole municipality — or for some of the served municipalities
(``kommuner``): their premises, their focus areas, their boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import psycopg

from geoplan.proximity.catchments import CATCHMENT_MINUTES
from geoplan.proximity.hubs import HUB_GROUPS
from geoplan.proximity.nearest import walk_to_nearest_hub
from geoplan.proximity.routing import network_loaded
from geoplan.proximity.walk import WalkSettings, default_walk


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


def coverage(
    conn: psycopg.Connection,
    *,
    walk: WalkSettings | None = None,
    kommuner: Sequence[str] | None = None,
) -> list[CoverageRow]:
    """Count and floor area of available premises within 5/10/15 min walk, per focus area and
    for the whole municipality, of: any existing hub, an existing rail/metro hub, a planned hub,
    and ``planned_adds`` — within reach of a planned hub but NOT of an existing rail/metro hub
    (what the planned T-bane would add).

    Walking times come from the same batch path as the premises annotation (network where
    loaded, straight line × detour factor otherwise), computed now for each hub group with
    ``walk`` (default: the process settings, see :mod:`~.walk`).

    ``kommuner`` (checked municipality numbers): only premises and focus areas with those
    numbers, and the "whole municipality" row is their union (hubs anywhere still count: a
    premises in Lørenskog may be served by Lillestrøm stasjon).
    """
    walk = default_walk(walk)
    v = walk.m_per_min
    k = {"k": list(kommuner) if kommuner is not None else None}
    in_scope = "(%(k)s::text[] IS NULL OR p.kommunenummer = ANY(%(k)s))"
    for group, selection in HUB_GROUPS.items():
        walk_to_nearest_hub(
            conn,
            premises_where=f"p.status = 'available' AND {in_scope}",
            params=k,
            hubs=selection,
            out=f"_px_cov_{group}",
            walk=walk,
        )
    boundaries = "boundary WHERE %(k)s::text[] IS NULL OR kommunenummer = ANY(%(k)s)"
    has_boundary = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {boundaries})", k).fetchone()[0]
    muni_geom = f"(SELECT ST_Union(geom) FROM {boundaries})" if has_boundary else "NULL::geometry"
    n_kommuner = len(kommuner) if kommuner is not None else None
    whole = "Hele kommunen" if n_kommuner in (None, 1) else "Alle valgte kommuner"
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
            FROM premises p WHERE p.status = 'available' AND {in_scope}
        ),
        zones AS (
            SELECT id, name, geom, 1 AS ord FROM areas
            WHERE %(k)s::text[] IS NULL OR kommunenummer = ANY(%(k)s)
            UNION ALL SELECT '{MUNICIPALITY_ID}', %(whole)s, {muni_geom}, 0
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
        """,
        {**k, "whole": whole},
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


def coverage_report(
    conn: psycopg.Connection,
    *,
    walk: WalkSettings | None = None,
    kommuner: Sequence[str] | None = None,
) -> dict:
    """:func:`coverage` with the assumptions it rests on (and its scope, when ``kommuner``)."""
    walk = default_walk(walk)
    scope = {"kommuner": list(kommuner)} if kommuner is not None else {}
    return {
        **scope,
        "minutes": list(CATCHMENT_MINUTES),
        "walk_speed_kmh": walk.speed_kmh,
        "detour_factor": walk.detour_factor,
        "network_loaded": network_loaded(conn),
        "hub_groups": {
            **{group: selection.describe() for group, selection in HUB_GROUPS.items()},
            "planned_adds": "planned, and not existing rail/metro",
        },
        "rows": [r.to_dict() for r in coverage(conn, walk=walk, kommuner=kommuner)],
    }
