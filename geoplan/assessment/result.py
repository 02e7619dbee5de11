"""The assessment result: verdict, reasons and checks that did not apply, the input echoed and the
facts, as one plain dict — what the API returns, the CLI prints and
:func:`~geoplan.assessment.records.store_assessment` stores.

Deterministic: built only from the case, the facts and the sorted findings (rounded, no
timestamps), so the same input and policy give the same bytes.
"""

from __future__ import annotations

from typing import Any

from geoplan.assessment.case import Case
from geoplan.assessment.facts import Facts
from geoplan.assessment.policy import SEVERITY, Policy
from geoplan.assessment.site import site_wgs84_point

VERDICT_LABELS = {
    "conforms": "In line with the policy",
    "needs_review": "Needs review",
    "conflicts": "Conflicts with the policy",
}


def build_result(
    policy: Policy,
    case: Case,
    facts: Facts,
    reasons: list[dict[str, Any]],
    nots: list[dict[str, Any]],
) -> dict[str, Any]:
    """The result of one assessment. ``reasons`` (most severe first) and ``nots`` come sorted
    from :meth:`geoplan.assessment.rules.Findings.sorted`; the verdict is the most severe effect
    of the reasons and the summary is the first reason's message (unless all conform)."""
    inp = case.inp
    location = facts.location
    verdict = max((r["effect"] for r in reasons), key=SEVERITY.__getitem__, default="conforms")
    key = reasons[0] if reasons else None
    return {
        "verdict": verdict,
        "verdict_label": VERDICT_LABELS[verdict],
        "summary": key["message"]
        if key and verdict != "conforms"
        else f"{case.what}: no rule objects.",
        "key_rule": key["rule"] if key else None,
        "policy": {"version": policy.version, "updated": str(policy.updated)},
        "input": {
            "use": inp.use,
            "floor_area_m2": inp.floor_area_m2,
            "employees": inp.employees,
            "daily_visitors": inp.daily_visitors,
            "crs": f"EPSG:{facts.srid}",
            "site": inp.site,
        },
        "facts": {
            "site": {
                "type": facts.site.geom_type,
                "area_m2": round(facts.site.area),
                "point_on_surface": site_wgs84_point(facts.site_wgs84),
                "geometry_wgs84": facts.site_wgs84,
            },
            "use": {
                "id": inp.use,
                "label": case.use_label,
                "profile": case.profile_id,
                "profile_label": case.profile.label,
            },
            "municipality": facts.municipality,
            "areas": facts.areas,
            "outside_all_areas": not facts.areas,
            "outside_share": facts.outside_share,
            "nearest_hubs": facts.hubs,
            "location_class": {
                "existing": location.existing,
                "via_hub": location.existing_hub["hub_id"] if location.existing_hub else None,
                "with_planned": location.with_planned,
                "via_planned_hub": location.planned_hub["hub_id"]
                if location.planned_hub and location.with_planned != location.existing
                else None,
                "required": case.required,
                "required_by": case.required_rule,
                "required_because": case.triggers,
            },
        },
        "reasons": reasons,
        "nots": nots,
    }
