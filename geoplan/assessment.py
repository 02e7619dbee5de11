"""Case assessment: does this use, at this site, fit "rett virksomhet på rett sted"?

A case officer gives a site (GeoJSON Point or Polygon in any CRS PostGIS knows), a use category,
the floor area and optionally employees and daily visitors. :func:`assess` measures the facts in
PostGIS (municipality, focus areas and overlap shares, nearest hubs and walking times, the site's
ABC location class) and applies the rules of the policy file (:mod:`geoplan.policy`). Every rule
that applied becomes a *reason* naming the rule id and its citation; every check that was made
but did not apply becomes a *not* (as PlanX lists them), so the officer sees all that was
considered. The verdict is the most severe effect of the reasons.

The result is deterministic: the same input and policy give the same verdict, reasons and facts
(sorted, rounded, no timestamps). Storing a case (:func:`store_assessment`) adds the id and time.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID
from geoplan.errors import NotFoundError, ValidationError
from geoplan.policy import CLASS_RANK, OUTSIDE, SEVERITY, Policy, load_policy
from geoplan.proximity import HubDistance, nearest_hubs
from geoplan.region import site_in_municipality

SITE_TYPES = ("Point", "Polygon", "MultiPolygon")
VERDICT_LABELS = {
    "conforms": "In line with the policy",
    "needs_review": "Needs review",
    "conflicts": "Conflicts with the policy",
}


@dataclass(frozen=True)
class AssessmentInput:
    """What the case officer asks about. ``site`` is a GeoJSON geometry or Feature."""

    site: dict[str, Any]
    use: str
    floor_area_m2: float
    employees: int | None = None
    daily_visitors: int | None = None
    crs: str | int | None = None


# -- input checks ------------------------------------------------------------------------------
_EPSG_PATTERNS = (
    re.compile(r"^(?:EPSG:)?(\d{4,6})$", re.I),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d{4,6})$", re.I),
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d{4,6})$", re.I),
)
_WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "crs84",
}


def parse_crs(value: str | int | None, field: str = "crs") -> int | None:
    """An EPSG code from ``EPSG:25833``, an OGC URN/URI, CRS84 or a bare number."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lower() in _WGS84_NAMES:
        return 4326
    for pattern in _EPSG_PATTERNS:
        m = pattern.match(text)
        if m:
            return int(m.group(1))
    raise ValidationError(
        f"unrecognised CRS {text!r}; give e.g. 'EPSG:25833' or 'urn:ogc:def:crs:EPSG::25833'",
        field=field,
    )


def _geojson_crs(obj: dict[str, Any]) -> str | None:
    crs = obj.get("crs")
    if crs is None:
        return None
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        name = crs["properties"].get("name")
        if isinstance(name, str):
            return name
    raise ValidationError(
        'the GeoJSON "crs" member must be {"type": "name", "properties": {"name": "EPSG:..."}}',
        field="site.crs",
    )


def parse_site(site: Any, crs: str | int | None = None) -> tuple[BaseGeometry, int]:
    """The site geometry and its EPSG code (GeoJSON default: WGS84 lon/lat)."""
    if not isinstance(site, dict) or "type" not in site:
        raise ValidationError("site must be a GeoJSON geometry or Feature", field="site")
    member_crs = _geojson_crs(site)
    geometry = site
    if site["type"] == "FeatureCollection":
        feats = site.get("features") or []
        if len(feats) != 1:
            raise ValidationError(
                "a site FeatureCollection must hold exactly one feature", field="site"
            )
        geometry = feats[0]
    if geometry.get("type") == "Feature":
        member_crs = member_crs or _geojson_crs(geometry)
        geometry = geometry.get("geometry")
        if not isinstance(geometry, dict):
            raise ValidationError("the site Feature has no geometry", field="site")
        member_crs = member_crs or _geojson_crs(geometry)
    if geometry.get("type") not in SITE_TYPES:
        raise ValidationError(
            f"site must be a {', '.join(SITE_TYPES)}, not {geometry.get('type')!r}",
            field="site",
        )
    explicit = parse_crs(crs, "crs")
    from_member = parse_crs(member_crs, "site.crs")
    if explicit and from_member and explicit != from_member:
        raise ValidationError(
            f"crs EPSG:{explicit} contradicts the site's GeoJSON crs EPSG:{from_member}",
            field="crs",
        )
    srid = explicit or from_member or 4326
    try:
        geom = shape(geometry)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValidationError(f"site is not valid GeoJSON: {exc}", field="site") from None
    if geom.is_empty:
        raise ValidationError("site geometry is empty", field="site")
    if not all(math.isfinite(c) for c in shapely.get_coordinates(geom).ravel()):
        raise ValidationError("site coordinates must be finite numbers", field="site")
    return geom, srid


def _check_numbers(inp: AssessmentInput, policy: Policy) -> None:
    if inp.use not in policy.uses:
        known = ", ".join(sorted(policy.uses))
        raise ValidationError(f"unknown use category {inp.use!r}; known: {known}", field="use")
    area = inp.floor_area_m2
    if isinstance(area, bool) or not isinstance(area, int | float) or not math.isfinite(area):
        raise ValidationError("floor_area_m2 must be a number", field="floor_area_m2")
    if area <= 0:
        raise ValidationError(
            f"floor_area_m2 must be greater than 0 (got {area:g})", field="floor_area_m2"
        )
    for name in ("employees", "daily_visitors"):
        value = getattr(inp, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be a whole number", field=name)
        if value < 0:
            raise ValidationError(f"{name} must not be negative (got {value})", field=name)


def site_to_storage(
    conn: psycopg.Connection, geom: BaseGeometry, srid: int
) -> tuple[BaseGeometry, dict[str, Any]]:
    """Validate the site in PostGIS and transform it to EPSG:25833; also its WGS84 GeoJSON."""
    known = conn.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", (srid,)).fetchone()
    if not known:
        raise ValidationError(f"unknown CRS EPSG:{srid}", field="crs")
    valid, reason = conn.execute(
        "SELECT ST_IsValid(g), ST_IsValidReason(g) "
        "FROM (SELECT ST_SetSRID(ST_GeomFromWKB(%s), %s) AS g) s",
        (geom.wkb, srid),
    ).fetchone()
    if not valid:
        raise ValidationError(
            f"site polygon is invalid ({reason}); a polygon must not intersect itself",
            field="site",
        )
    try:
        with conn.transaction():
            wkb, gj = conn.execute(
                f"""
                SELECT ST_AsBinary(t), ST_AsGeoJSON(ST_Transform(t, 4326), 6)
                FROM (SELECT ST_Transform(ST_SetSRID(ST_GeomFromWKB(%s), %s), {STORAGE_SRID})
                      AS t) s
                """,
                (geom.wkb, srid),
            ).fetchone()
    except psycopg.errors.DataException as exc:
        raise ValidationError(
            f"site cannot be transformed from EPSG:{srid}: {str(exc).splitlines()[0]}",
            field="site",
        ) from None
    site = shapely.from_wkb(bytes(wkb))
    if not all(math.isfinite(c) for c in shapely.get_coordinates(site).ravel()):
        raise ValidationError(f"site coordinates are out of range for EPSG:{srid}", field="site")
    return site, json.loads(gj)


# -- facts measured in PostGIS -----------------------------------------------------------------
_SITE_CTE = f"WITH s AS (SELECT ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID}) AS g)"


def _municipality_facts(conn: psycopg.Connection, site: BaseGeometry) -> dict[str, Any]:
    """The site against the loaded boundary (see :mod:`geoplan.region`): it must touch the
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


def _area_facts(conn: psycopg.Connection, site: BaseGeometry) -> list[dict[str, Any]]:
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


def _hub_facts(
    conn: psycopg.Connection, site: BaseGeometry, policy: Policy
) -> list[dict[str, Any]]:
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
        fact["grants_class"] = _hub_class(fact, policy)
        out.append(fact)
    out.sort(key=lambda f: (f["walk_min"] if f["walk_min"] is not None else math.inf, f["hub_id"]))
    return out


def _hub_class(hub: dict[str, Any], policy: Policy) -> str:
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


def _best(hubs: list[dict[str, Any]]) -> tuple[str, dict[str, Any] | None]:
    best: tuple[str, dict[str, Any] | None] = ("C", None)
    for h in hubs:  # nearest first, so ties keep the nearest hub
        if CLASS_RANK[h["grants_class"]] > CLASS_RANK[best[0]]:
            best = (h["grants_class"], h)
    return best


# -- the assessment ----------------------------------------------------------------------------
class _Findings:
    """Collects reasons (rules that applied) and nots (checks that did not apply)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.reasons: list[dict[str, Any]] = []
        self.nots: list[dict[str, Any]] = []

    def reason(self, rule: str, effect: str, message: str) -> None:
        cites = self.policy._rule_index().get(rule, [])
        self.reasons.append(
            {
                "rule": rule,
                "effect": effect,
                "message": message,
                "cites": self.policy.cites_json(cites),
            }
        )

    def not_applied(self, rule: str, message: str) -> None:
        self.nots.append({"rule": rule, "message": message})

    def sorted(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        reasons = sorted(
            self.reasons, key=lambda r: (-SEVERITY[r["effect"]], r["rule"], r["message"])
        )
        nots = sorted(self.nots, key=lambda n: (n["rule"], n["message"]))
        return reasons, nots


def _hub_phrase(hub: dict[str, Any] | None) -> str:
    if hub is None:
        return "no hub meets the class A or B criteria"
    walk = f"{hub['walk_min']:g} min walk" if hub["walk_min"] is not None else "unreachable"
    return f"{hub['name']} ({hub['mode']}, {walk}, {hub['method'].replace('_', ' ')})"


def assess(
    conn: psycopg.Connection, inp: AssessmentInput, policy: Policy | None = None
) -> dict[str, Any]:
    """Assess one case; raises ValidationError (with ``field``) on bad input."""
    policy = policy or load_policy()
    _check_numbers(inp, policy)
    geom, srid = parse_site(inp.site, inp.crs)
    site, site_wgs84 = site_to_storage(conn, geom, srid)

    municipality = _municipality_facts(conn, site)
    all_areas = _area_facts(conn, site)
    min_share = policy.assessment.area_min_overlap_share
    assessed = [a for a in all_areas if a["overlap_share"] >= min_share or site.area == 0]
    outside_share = round(max(0.0, 1.0 - sum(a["overlap_share"] for a in all_areas)), 3)
    outside_assessed = not assessed or outside_share >= min_share
    hubs = _hub_facts(conn, site, policy)
    existing_class, existing_hub = _best([h for h in hubs if h["status"] == "existing"])
    planned_counts = policy.planned_hubs.counts_towards != "ignored"
    with_planned_class, planned_hub = _best(hubs if planned_counts else [])
    if CLASS_RANK[with_planned_class] < CLASS_RANK[existing_class]:
        with_planned_class, planned_hub = existing_class, existing_hub

    use_label = policy.uses[inp.use].label
    profile_id, profile = policy.profile_of(inp.use)
    required, required_rule, triggers = policy.required_class(
        inp.use, inp.floor_area_m2, inp.employees, inp.daily_visitors
    )
    f = _Findings(policy)
    what = f"{use_label} ({inp.use}, {inp.floor_area_m2:g} m²)"

    # Municipality.
    mid = policy.municipality.partly_outside_id
    if municipality["inside"] == "partly":
        f.reason(
            mid,
            policy.municipality.partly_outside_effect,
            f"Only {municipality['inside_share']:.0%} of the site lies in "
            f"{municipality['name']}; the rest is outside the municipality's planning authority.",
        )
    else:
        f.not_applied(mid, f"The site lies wholly inside {municipality['name']}.")

    # Focus areas (and the rules for land outside them).
    exemptions = []
    touched = {a["id"] for a in all_areas}
    for area in assessed:
        _apply_area(f, policy, area["id"], area["name"], area["overlap_share"], inp, what)
        exemptions.append(
            policy.area_rules(area["id"], inp.use, "abc_exempt")
            if area["id"] in policy.areas
            else []
        )
    if outside_assessed:
        _apply_area(f, policy, OUTSIDE, "outside the focus areas", outside_share, inp, what)
        exemptions.append(policy.area_rules(OUTSIDE, inp.use, "abc_exempt"))
    else:
        for rule in policy.areas[OUTSIDE].rules:
            f.not_applied(rule.id, "The site lies within the focus areas.")
    for area in all_areas:
        if area not in assessed:
            f.not_applied(
                f"area.{area['id']}",
                f"Only {area['overlap_share']:.0%} of the site overlaps {area['name']} "
                f"(below {min_share:.0%}); reported, not assessed.",
            )
    for slug, ap in sorted(policy.areas.items()):
        if slug != OUTSIDE and slug not in touched:
            f.not_applied(f"area.{slug}", f"The site does not touch {ap.name}.")

    # Location class (ABC).
    exempt = exemptions[0][0] if exemptions and all(exemptions) else None
    if exempt is not None:
        f.reason(
            exempt.id,
            "conforms",
            f"The class {required} requirement for {profile.label.lower()} is waived here: "
            f"{exempt.reason}",
        )
        f.not_applied(required_rule, f"Waived by {exempt.id} (site is class {existing_class}).")
        f.not_applied(policy.planned_hubs.id, "No location-class requirement to meet.")
    elif CLASS_RANK[existing_class] >= CLASS_RANK[required]:
        f.reason(
            required_rule,
            "conforms",
            f"The site is class {existing_class} via {_hub_phrase(existing_hub)}; "
            f"{what} needs class {required}" + (f" ({'; '.join(triggers)})." if triggers else "."),
        )
        f.not_applied(policy.planned_hubs.id, "Existing hubs meet the requirement.")
    elif CLASS_RANK[with_planned_class] >= CLASS_RANK[required]:
        effect = policy.planned_hubs.counts_towards
        f.reason(
            required_rule,
            effect,
            f"{what} needs class {required}"
            + (f" ({'; '.join(triggers)})" if triggers else "")
            + f"; existing hubs make the site only class {existing_class}. Class "
            f"{with_planned_class} is reached only via the planned {_hub_phrase(planned_hub)}.",
        )
        f.reason(
            policy.planned_hubs.id,
            effect,
            f"{planned_hub['name']} is planned, not built: it can support a review, "
            "not a conforming verdict, until it opens.",
        )
    else:
        f.reason(
            required_rule,
            "conflicts",
            f"{what} needs class {required}"
            + (f" ({'; '.join(triggers)})" if triggers else "")
            + f", but the site is class {existing_class}: nearest qualifying hub "
            + (
                _hub_phrase(existing_hub)
                if existing_hub
                else "none within the class A/B walking limits"
            )
            + ".",
        )
        if planned_counts:
            f.not_applied(
                policy.planned_hubs.id, "No planned hub would lift the site to the needed class."
            )
    if profile.class_a_when and not triggers:
        w = profile.class_a_when
        limits = [
            f"floor area {inp.floor_area_m2:g} ≤ {w.floor_area_m2:g} m²"
            if w.floor_area_m2 is not None
            else None,
            (
                f"employees {inp.employees} ≤ {w.employees}"
                if inp.employees is not None
                else f"employees not given (limit {w.employees})"
            )
            if w.employees is not None
            else None,
            (
                f"visitors/day {inp.daily_visitors} ≤ {w.daily_visitors}"
                if inp.daily_visitors is not None
                else f"visitors/day not given (limit {w.daily_visitors})"
            )
            if w.daily_visitors is not None
            else None,
        ]
        f.not_applied(
            f"abc.{profile_id}.class_a",
            "Class A is not required: " + ", ".join(x for x in limits if x) + ".",
        )
    avoid = profile.avoid_class_a_when
    if avoid is not None:
        if existing_class == "A" and inp.floor_area_m2 > avoid.floor_area_m2:
            f.reason(
                avoid.id,
                avoid.effect,
                f"{what} would take {inp.floor_area_m2:g} m² of scarce class A land by "
                f"{_hub_phrase(existing_hub)} (limit {avoid.floor_area_m2:g} m²).",
            )
        else:
            f.not_applied(
                avoid.id,
                f"The site is class {existing_class}"
                + ("" if existing_class != "A" else f" but ≤ {avoid.floor_area_m2:g} m²")
                + "; no hub land is taken.",
            )
    if profile.always_review:
        f.reason(
            f"abc.{profile_id}.always_review",
            "needs_review",
            f"The use {inp.use!r} is not classified; an officer must judge its mobility profile.",
        )

    reasons, nots = f.sorted()
    verdict = max((r["effect"] for r in reasons), key=SEVERITY.__getitem__, default="conforms")
    key = reasons[0] if reasons else None
    return {
        "verdict": verdict,
        "verdict_label": VERDICT_LABELS[verdict],
        "summary": key["message"] if key and verdict != "conforms" else f"{what}: no rule objects.",
        "key_rule": key["rule"] if key else None,
        "policy": {"version": policy.version, "updated": str(policy.updated)},
        "input": {
            "use": inp.use,
            "floor_area_m2": inp.floor_area_m2,
            "employees": inp.employees,
            "daily_visitors": inp.daily_visitors,
            "crs": f"EPSG:{srid}",
            "site": inp.site,
        },
        "facts": {
            "site": {
                "type": site.geom_type,
                "area_m2": round(site.area),
                "point_on_surface": site_wgs84_point(site_wgs84),
                "geometry_wgs84": site_wgs84,
            },
            "use": {
                "id": inp.use,
                "label": use_label,
                "profile": profile_id,
                "profile_label": profile.label,
            },
            "municipality": municipality,
            "areas": all_areas,
            "outside_all_areas": not all_areas,
            "outside_share": outside_share,
            "nearest_hubs": hubs,
            "location_class": {
                "existing": existing_class,
                "via_hub": existing_hub["hub_id"] if existing_hub else None,
                "with_planned": with_planned_class,
                "via_planned_hub": planned_hub["hub_id"]
                if planned_hub and with_planned_class != existing_class
                else None,
                "required": required,
                "required_by": required_rule,
                "required_because": triggers,
            },
        },
        "reasons": reasons,
        "nots": nots,
    }


def site_wgs84_point(gj: dict[str, Any]) -> list[float]:
    """A representative [lon, lat] of the site (the point itself, or a point on the surface)."""
    p = shape(gj).representative_point()
    return [round(p.x, 6), round(p.y, 6)]


def _apply_area(
    f: _Findings,
    policy: Policy,
    area_id: str,
    area_name: str,
    share: float,
    inp: AssessmentInput,
    what: str,
) -> None:
    share_text = "" if share >= 0.999 else f" ({share:.0%} of the site)"
    if area_id not in policy.areas:
        f.reason(
            f"{area_id}.unlisted",
            "needs_review",
            f"The policy has no profile for area {area_name!r}{share_text}.",
        )
        return
    ap = policy.areas[area_id]
    where = area_name if area_id == OUTSIDE else f"in {area_name}"
    rule = policy.classify(area_id, inp.use)
    if rule is not None:
        f.reason(
            rule.id,
            rule.applied_effect,
            f"{what} is {rule.kind} {where}{share_text}: {rule.reason}",
        )
    else:
        f.reason(
            f"{area_id}.unlisted",
            ap.unlisted_effect,
            f"The strategy names no role for {what} {where}{share_text}.",
        )
    for limit in policy.area_rules(area_id, inp.use, "size_limit"):
        if inp.floor_area_m2 > limit.max_floor_area_m2:
            f.reason(
                limit.id,
                limit.effect,
                f"{inp.floor_area_m2:g} m² exceeds the {limit.max_floor_area_m2:g} m² limit "
                f"{where}: {limit.reason}",
            )
        else:
            f.not_applied(
                limit.id,
                f"{inp.floor_area_m2:g} m² is within the {limit.max_floor_area_m2:g} m² limit "
                f"{where}.",
            )


# -- storage -----------------------------------------------------------------------------------
def store_assessment(
    conn: psycopg.Connection, result: dict[str, Any], created_by: str | None = None
) -> dict[str, Any]:
    """Store a case (id + timestamp added here, never inside the assessment itself)."""
    case_id = "asm-" + uuid.uuid4().hex[:12]
    created_at = conn.execute(
        """
        INSERT INTO assessments (id, created_by, use, verdict, input, result, geom)
        VALUES (%s, %s, %s, %s, %s, %s,
                ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), %s))
        RETURNING created_at
        """,
        (
            case_id,
            created_by,
            result["input"]["use"],
            result["verdict"],
            json.dumps(result["input"]),
            json.dumps(result),
            json.dumps(result["facts"]["site"]["geometry_wgs84"]),
            STORAGE_SRID,
        ),
    ).fetchone()[0]
    return _record(case_id, created_at, created_by, result)


def get_assessment(conn: psycopg.Connection, case_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT id, created_at, created_by, result FROM assessments WHERE id = %s", (case_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"assessment {case_id!r} does not exist")
    return _record(*row)


def _record(case_id: str, created_at: Any, created_by: str | None, result: dict) -> dict[str, Any]:
    return {
        "id": case_id,
        "created_at": created_at.isoformat() if created_at is not None else None,
        "created_by": created_by,
        **result,
    }
