"""Facts measured in PostGIS for an assessment, before any rule is applied: the site, the
municipality, focus areas with overlap shares, nearest hubs with walking times, and the
location class (A/B/C) the hubs give the site.

:func:`gather_facts` measures them all and returns one :class:`Facts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import psycopg
from shapely.geometry.base import BaseGeometry

from geoplan.assessment.policy import CLASS_RANK, NoPolicyError, Policy
from geoplan.assessment.site import parse_site, site_to_storage
from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.region import site_in_municipality
from geoplan.proximity import HubDistance, WalkSettings, nearest_hubs

_SITE_CTE = f"WITH s AS (SELECT ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID}) AS g)"


def municipality_facts(
    conn: psycopg.Connection, site: BaseGeometry, policy: Policy | None = None
) -> dict[str, Any]:
    """The site against the loaded boundary (see :mod:`geoplan.geo.region`): it must touch a
    served municipality; of several, the one holding most of the site is the one assessed
    against, and a site partly outside it is assessed with its share inside.

    With ``policy``: raises :class:`~geoplan.assessment.policy.NoPolicyError` when the policy is
    not that municipality's — before anything else is measured, and never a verdict."""
    facts = site_in_municipality(conn, site)
    if not facts.touches:
        raise ValidationError(
            f"site lies outside {facts.served} ({facts.distance_m:,.0f} m from the "
            "boundary); geoplan assesses sites inside the municipality only",
            field="site",
        )
    if policy is not None and not policy.covers(facts.kommunenummer):
        raise NoPolicyError(facts.name, facts.kommunenummer, policy)
    return {
        "name": facts.name,
        "kommunenummer": facts.kommunenummer,
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


def hub_facts(
    conn: psycopg.Connection,
    site: BaseGeometry,
    policy: Policy,
    walk: WalkSettings | None = None,
) -> list[dict[str, Any]]:
    """Nearest hubs per class's hub modes, merged, with the class each hub grants the site."""
    found: dict[str, HubDistance] = {}
    for name in ("A", "B"):
        cls = policy.location_classes[name]
        nearest = nearest_hubs(
            conn, site, policy.assessment.hubs_per_class, modes=cls.hub_modes, walk=walk
        )
        for h in nearest:
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


@dataclass(frozen=True)
class SiteClass:
    """The site's location class by existing hubs, and with planned hubs counted (when the policy
    counts them), each with the hub that gives it (None for class C)."""

    existing: str
    existing_hub: dict[str, Any] | None
    with_planned: str
    planned_hub: dict[str, Any] | None


def _best(hubs: list[dict[str, Any]]) -> tuple[str, dict[str, Any] | None]:
    best: tuple[str, dict[str, Any] | None] = ("C", None)
    for h in hubs:  # nearest first, so ties keep the nearest hub
        if CLASS_RANK[h["grants_class"]] > CLASS_RANK[best[0]]:
            best = (h["grants_class"], h)
    return best


def site_class(hubs: list[dict[str, Any]], policy: Policy) -> SiteClass:
    """The best class any existing hub gives, and the best with planned hubs counted too (never
    worse than the existing one; the same when the policy ignores planned hubs)."""
    existing_class, existing_hub = _best([h for h in hubs if h["status"] == "existing"])
    planned_counts = policy.planned_hubs.counts_towards != "ignored"
    with_planned_class, planned_hub = _best(hubs if planned_counts else [])
    if CLASS_RANK[with_planned_class] < CLASS_RANK[existing_class]:
        with_planned_class, planned_hub = existing_class, existing_hub
    return SiteClass(existing_class, existing_hub, with_planned_class, planned_hub)


@dataclass(frozen=True)
class Facts:
    """Everything measured about one site. ``site`` is in EPSG:25833, ``site_wgs84`` its WGS84
    GeoJSON, ``srid`` the EPSG code it was given in; ``areas`` are all focus areas it touches
    (largest overlap first) and ``outside_share`` the share outside all of them; ``hubs`` are
    the nearest hubs, nearest first, each with the class it grants."""

    srid: int
    site: BaseGeometry
    site_wgs84: dict[str, Any]
    municipality: dict[str, Any]
    areas: list[dict[str, Any]]
    outside_share: float
    hubs: list[dict[str, Any]]
    location: SiteClass


def gather_facts(
    conn: psycopg.Connection,
    site: Any,
    crs: str | int | None,
    policy: Policy,
    *,
    walk: WalkSettings | None = None,
) -> Facts:
    """Parse ``site`` (GeoJSON in ``crs``, see :func:`~geoplan.assessment.site.parse_site`),
    bring it into storage and measure it. The policy says which hubs to look for and what class
    each grants; ``walk`` is the walking model (default: the process settings).

    Raises :class:`ValidationError` (``field`` = ``site`` or ``crs``) for a bad site or one
    outside the municipality, :class:`~geoplan.assessment.policy.NoPolicyError` for a site in
    a served municipality the policy is not for.
    """
    geom, srid = parse_site(site, crs)
    stored, wgs84 = site_to_storage(conn, geom, srid)
    municipality = municipality_facts(conn, stored, policy)
    areas = area_facts(conn, stored)
    outside_share = round(max(0.0, 1.0 - sum(a["overlap_share"] for a in areas)), 3)
    hubs = hub_facts(conn, stored, policy, walk)
    return Facts(
        srid=srid,
        site=stored,
        site_wgs84=wgs84,
        municipality=municipality,
        areas=areas,
        outside_share=outside_share,
        hubs=hubs,
        location=site_class(hubs, policy),
    )
