"""The assessment: the policy's rules applied to the measured facts, giving a verdict, its reasons
with rule ids and citations, and the checks that did not apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import psycopg

from geoplan.assessment.facts import area_facts, hub_facts, municipality_facts
from geoplan.assessment.policy import CLASS_RANK, OUTSIDE, SEVERITY, Policy, load_policy
from geoplan.assessment.site import parse_site, site_to_storage, site_wgs84_point
from geoplan.errors import ValidationError

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


def _best(hubs: list[dict[str, Any]]) -> tuple[str, dict[str, Any] | None]:
    best: tuple[str, dict[str, Any] | None] = ("C", None)
    for h in hubs:  # nearest first, so ties keep the nearest hub
        if CLASS_RANK[h["grants_class"]] > CLASS_RANK[best[0]]:
            best = (h["grants_class"], h)
    return best


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

    municipality = municipality_facts(conn, site)
    all_areas = area_facts(conn, site)
    min_share = policy.assessment.area_min_overlap_share
    assessed = [a for a in all_areas if a["overlap_share"] >= min_share or site.area == 0]
    outside_share = round(max(0.0, 1.0 - sum(a["overlap_share"] for a in all_areas)), 3)
    outside_assessed = not assessed or outside_share >= min_share
    hubs = hub_facts(conn, site, policy)
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
