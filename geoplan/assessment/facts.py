"""Facts measured in PostGIS for an assessment: municipality, focus areas with overlap shares,
nearest hubs with walking times.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
from shapely.geometry.base import BaseGeometry

from geoplan.assessment.policy import Policy
from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.region import site_in_municipality
from geoplan.proximity import HubDistance, nearest_hubs

_SITE_CTE = f"WITH s AS (SELECT ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID}) AS g)"


def municipality_facts(conn: psycopg.Connection, site: BaseGeometry) -> dict[str, Any]:
    """The site against the loaded boundary (see :mod:`geoplan.geo.region`): it must touch the
    municipality; a site partly outside is assessed with its share inside."""
    facts = site_in_municipality(conn, site)
    if not facts.touches:
        raise ValidationError(
            f"site lies outside {facts.name} kommune ({facts.distance_m:,.0f} m from the "
            "boundary); geoplan assesses sites inside the municipality only",
            field="site",
        )
    return {
        "name": facts.name,
        "inside": "yes" if facts.within else "partly",
        "inside_share": 1.0 if facts.within else round(facts.share_inside, 3),
    }


def area_facts(conn: psycopg.Connection, site: BaseGeometry) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"""{_SITE_CTE}
        SELECT a.id, a.name, a.role, a.development_area,
               CASE WHEN ST_Area(s.g) > 0
                    THEN ST_Area(ST_Intersection(a.geom, s.g)) / ST_Area(s.g) ELSE 1.0 END
        FROM areas a, s WHERE ST_Intersects(a.geom, s.g)""",
        {"wkb": site.wkb},
    ).fetchall()
    facts = [
        {
            "id": r[0],
            "name": r[1],
            "role": r[2],
            "development_area": r[3],
            "overlap_share": round(float(r[4]), 3),
        }
        for r in rows
    ]
    facts.sort(key=lambda a: (-a["overlap_share"], a["id"]))
    return facts


def hub_facts(conn: psycopg.Connection, site: BaseGeometry, policy: Policy) -> list[dict[str, Any]]:
    """Nearest hubs per class's hub modes, merged, with the class each hub grants the site."""
    found: dict[str, HubDistance] = {}
    for name in ("A", "B"):
        cls = policy.location_classes[name]
        for h in nearest_hubs(conn, site, policy.assessment.hubs_per_class, modes=cls.hub_modes):
            found.setdefault(h.hub_id, h)
    if not found:
        return []
    extra = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT id, departures_per_hour, accuracy_m, ST_X(ST_Transform(geom, 4326)), "
            "ST_Y(ST_Transform(geom, 4326)) FROM hubs WHERE id = ANY(%s)",
            (list(found),),
        ).fetchall()
    }
    out = []
    for hub_id, h in found.items():
        dep, accuracy, lon, lat = extra.get(hub_id, (None, None, None, None))
        walk_min = h.walk_min if h.walk_min is not None and math.isfinite(h.walk_min) else None
        fact = {
            "hub_id": hub_id,
            "name": h.name,
            "mode": h.mode,
            "status": h.status,
            "departures_per_hour": dep,
            "straight_m": round(float(h.straight_m)),
            "walk_m": round(float(h.walk_m)) if walk_min is not None else None,
            "walk_min": round(float(walk_min), 1) if walk_min is not None else None,
            "method": h.method,
            "accuracy_m": accuracy,
            "lon": round(lon, 6) if lon is not None else None,
            "lat": round(lat, 6) if lat is not None else None,
        }
        fact["grants_class"] = hub_class(fact, policy)
        out.append(fact)
    out.sort(key=lambda f: (f["walk_min"] if f["walk_min"] is not None else math.inf, f["hub_id"]))
    return out


def hub_class(hub: dict[str, Any], policy: Policy) -> str:
    """The best class this hub gives the site (planned hubs at their assumed frequency)."""
    dep = hub["departures_per_hour"]
    if hub["status"] == "planned":
        dep = policy.planned_hubs.assumed_departures_per_hour
    for name in ("A", "B"):
        cls = policy.location_classes[name]
        if (
            hub["walk_min"] is not None
            and hub["mode"] in cls.hub_modes
            and dep is not None
            and dep >= cls.min_departures_per_hour
            and hub["walk_min"] <= cls.max_walk_min
        ):
            return name
    return "C"
