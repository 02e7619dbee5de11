"""Transit-hub proximity: nearest hubs, walking distance and time, premises annotation.

INTERIM VERSION (foundation): straight-line KNN with the detour factor. The proximity issue
replaces the internals with network walking times; the function signatures stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import psycopg
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID, get_settings


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


def nearest_hubs(
    conn: psycopg.Connection,
    site: BaseGeometry,
    k: int = 3,
    *,
    statuses: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
) -> list[HubDistance]:
    """The ``k`` nearest hubs to ``site`` (a shapely geometry in EPSG:25833), nearest first."""
    s = get_settings()
    rows = conn.execute(
        f"""
        SELECT id, name, mode, status, ST_Distance(geom, site) AS d
        FROM hubs, (SELECT ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID}) AS site) s
        WHERE (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s))
          AND (%(modes)s::text[] IS NULL OR mode = ANY(%(modes)s))
        ORDER BY geom <-> site
        LIMIT %(k)s
        """,
        {
            "wkb": site.wkb,
            "k": k,
            "statuses": list(statuses) if statuses else None,
            "modes": list(modes) if modes else None,
        },
    ).fetchall()
    out = []
    for hub_id, name, mode, status, d in rows:
        walk = d * s.detour_factor
        out.append(
            HubDistance(
                hub_id, name, mode, status, d, walk, walk / s.walk_speed_m_per_min, "straight_line"
            )
        )
    out.sort(key=lambda h: h.walk_m)
    return out


def annotate_premises(conn: psycopg.Connection, premises_ids: Sequence[str] | None = None) -> int:
    """Set each premises' nearest hub and walking time (all premises when ``ids`` is None).

    Call after any write to premises or hubs so no stale value is ever served.
    """
    s = get_settings()
    cur = conn.execute(
        """
        UPDATE premises p SET nearest_hub_id = n.id, walk_m = n.d * %(f)s,
               walk_min = n.d * %(f)s / %(v)s, walk_method = 'straight_line'
        FROM premises p2
        CROSS JOIN LATERAL (
            SELECT h.id, ST_Distance(h.geom, p2.geom) AS d FROM hubs h
            WHERE h.status = 'existing' ORDER BY h.geom <-> p2.geom LIMIT 1
        ) n
        WHERE p.id = p2.id AND (%(ids)s::text[] IS NULL OR p.id = ANY(%(ids)s))
        """,
        {
            "f": s.detour_factor,
            "v": s.walk_speed_m_per_min,
            "ids": list(premises_ids) if premises_ids is not None else None,
        },
    )
    return cur.rowcount
