"""The assessment: the policy's rules applied to the measured facts, giving a verdict, its reasons
with rule ids and citations, and the checks that did not apply.

:func:`assess` runs the steps in order: the input is checked and seen through the policy
(:mod:`~geoplan.assessment.case`), the site is measured (:func:`~geoplan.assessment.facts.
gather_facts`), each rule family is applied by its own function below — the municipality, the
area profiles, the location class (ABC), size and intensity, unclassified uses — into one
:class:`Findings`, and the result is built (:func:`~geoplan.assessment.result.build_result`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from geoplan.assessment.case import AssessmentInput, Case, check_input
from geoplan.assessment.facts import Facts, gather_facts
from geoplan.assessment.policy import CLASS_RANK, OUTSIDE, SEVERITY, AreaRule, Policy, load_policy
from geoplan.assessment.result import build_result
from geoplan.proximity import WalkSettings


def assess(
    conn: psycopg.Connection,
    inp: AssessmentInput,
    policy: Policy | None = None,
    *,
    walk: WalkSettings | None = None,
) -> dict[str, Any]:
    """Assess one case; raises ValidationError (with ``field``) on bad input.

    ``policy`` defaults to :func:`~geoplan.assessment.policy.load_policy` (the process settings'
    policy file), ``walk`` — the walking model of the hub distances — to the process settings;
    the API passes both from its app's settings.
    """
    policy = policy or load_policy()
    check_input(inp, policy)
    facts = gather_facts(conn, inp.site, inp.crs, policy, walk=walk)
    case = Case.of(inp, policy)
    reasons, nots = apply_rules(policy, case, facts).sorted()
    return build_result(policy, case, facts, reasons, nots)


def apply_rules(policy: Policy, case: Case, facts: Facts) -> Findings:
    """Every rule family applied to the case and its facts."""
    f = Findings(policy)
    zones = assessed_zones(policy, facts)
    municipality_rules(f, policy, facts)
    area_rules(f, policy, facts, case, zones)
    location_class_rules(f, policy, facts, case, abc_exemption(policy, case, zones))
    intensity_rules(f, facts, case)
    unclassified_use_rules(f, case)
    return f


class Findings:
    """Collects reasons (rules that applied, with their citations) and nots (checks that did not
    apply)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self._cites = policy.rule_index()
        self.reasons: list[dict[str, Any]] = []
        self.nots: list[dict[str, Any]] = []

    def reason(self, rule: str, effect: str, message: str) -> None:
        self.reasons.append(
            {
                "rule": rule,
                "effect": effect,
                "message": message,
                "cites": self.policy.cites_json(self._cites.get(rule, [])),
            }
        )

    def not_applied(self, rule: str, message: str) -> None:
        self.nots.append({"rule": rule, "message": message})

    def sorted(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Reasons most severe first, then by rule and message; nots by rule and message."""
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


# -- the municipality ----------------------------------------------------------------------------
def municipality_rules(f: Findings, policy: Policy, facts: Facts) -> None:
    """A site partly outside the municipality lies partly outside its planning authority."""
    mid = policy.municipality.partly_outside_id
    municipality = facts.municipality
    if municipality["inside"] == "partly":
        f.reason(
            mid,
            policy.municipality.partly_outside_effect,
            f"Only {municipality['inside_share']:.0%} of the site lies in "
            f"{municipality['name']}; the rest is outside the municipality's planning authority.",
        )
    else:
        f.not_applied(mid, f"The site lies wholly inside {municipality['name']}.")


# -- area profiles -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Zone:
    """Where the site is assessed: a focus area it overlaps enough, or the land outside them
    (:data:`~geoplan.assessment.policy.OUTSIDE`), with the share of the site there."""

    id: str
    name: str
    share: float


def assessed_zones(policy: Policy, facts: Facts) -> list[Zone]:
    """The focus areas overlapping at least ``area_min_overlap_share`` of the site (every touched
    area for a point), then the land outside them if no area qualifies or enough lies outside."""
    min_share = policy.assessment.area_min_overlap_share
    assessed = [a for a in facts.areas if a["overlap_share"] >= min_share or facts.site.area == 0]
    zones = [Zone(a["id"], a["name"], a["overlap_share"]) for a in assessed]
    if not assessed or facts.outside_share >= min_share:
        zones.append(Zone(OUTSIDE, "outside the focus areas", facts.outside_share))
    return zones


def area_rules(f: Findings, policy: Policy, facts: Facts, case: Case, zones: list[Zone]) -> None:
    """Each assessed zone's profile (:func:`_zone_rules`); the areas reported but not assessed,
    not touched at all, and the outside rules when the site lies within the areas, as nots."""
    for zone in zones:
        _zone_rules(f, policy, zone, case)
    assessed = {z.id for z in zones}
    if OUTSIDE not in assessed:
        for rule in policy.areas[OUTSIDE].rules:
            f.not_applied(rule.id, "The site lies within the focus areas.")
    min_share = policy.assessment.area_min_overlap_share
    for area in facts.areas:
        if area["id"] not in assessed:
            f.not_applied(
                f"area.{area['id']}",
                f"Only {area['overlap_share']:.0%} of the site overlaps {area['name']} "
                f"(below {min_share:.0%}); reported, not assessed.",
            )
    touched = {a["id"] for a in facts.areas}
    for slug, ap in sorted(policy.areas.items()):
        if slug != OUTSIDE and slug not in touched:
            f.not_applied(f"area.{slug}", f"The site does not touch {ap.name}.")


def _zone_rules(f: Findings, policy: Policy, zone: Zone, case: Case) -> None:
    """The zone's verdict on the use (preferred / accepted / discouraged / unlisted) and its
    size limits."""
    inp, what = case.inp, case.what
    share_text = "" if zone.share >= 0.999 else f" ({zone.share:.0%} of the site)"
    if zone.id not in policy.areas:
        f.reason(
            f"{zone.id}.unlisted",
            "needs_review",
            f"The policy has no profile for area {zone.name!r}{share_text}.",
        )
        return
    ap = policy.areas[zone.id]
    where = zone.name if zone.id == OUTSIDE else f"in {zone.name}"
    rule = policy.classify(zone.id, inp.use)
    if rule is not None:
        f.reason(
            rule.id,
            rule.applied_effect,
            f"{what} is {rule.kind} {where}{share_text}: {rule.reason}",
        )
    else:
        f.reason(
            f"{zone.id}.unlisted",
            ap.unlisted_effect,
            f"The strategy names no role for {what} {where}{share_text}.",
        )
    for limit in policy.area_rules(zone.id, inp.use, "size_limit"):
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


def abc_exemption(policy: Policy, case: Case, zones: list[Zone]) -> AreaRule | None:
    """The ``abc_exempt`` rule waiving the location-class requirement, when every assessed zone
    has one for the use (the first zone's is cited)."""
    exemptions = [
        policy.area_rules(z.id, case.inp.use, "abc_exempt") if z.id in policy.areas else []
        for z in zones
    ]
    return exemptions[0][0] if exemptions and all(exemptions) else None


# -- location class (ABC) ------------------------------------------------------------------------
def location_class_rules(
    f: Findings, policy: Policy, facts: Facts, case: Case, exempt: AreaRule | None
) -> None:
    """The class the use needs against the class the site has: waived, met by existing hubs,
    met only via planned hubs (review at best), or not met."""
    loc = facts.location
    required, required_rule, triggers, what = (
        case.required,
        case.required_rule,
        case.triggers,
        case.what,
    )
    because = f" ({'; '.join(triggers)})" if triggers else ""
    if exempt is not None:
        f.reason(
            exempt.id,
            "conforms",
            f"The class {required} requirement for {case.profile.label.lower()} is waived here: "
            f"{exempt.reason}",
        )
        f.not_applied(required_rule, f"Waived by {exempt.id} (site is class {loc.existing}).")
        f.not_applied(policy.planned_hubs.id, "No location-class requirement to meet.")
    elif CLASS_RANK[loc.existing] >= CLASS_RANK[required]:
        f.reason(
            required_rule,
            "conforms",
            f"The site is class {loc.existing} via {_hub_phrase(loc.existing_hub)}; "
            f"{what} needs class {required}" + (f"{because}." if triggers else "."),
        )
        f.not_applied(policy.planned_hubs.id, "Existing hubs meet the requirement.")
    elif CLASS_RANK[loc.with_planned] >= CLASS_RANK[required]:
        effect = policy.planned_hubs.counts_towards
        f.reason(
            required_rule,
            effect,
            f"{what} needs class {required}{because}; existing hubs make the site only class "
            f"{loc.existing}. Class {loc.with_planned} is reached only via the planned "
            f"{_hub_phrase(loc.planned_hub)}.",
        )
        f.reason(
            policy.planned_hubs.id,
            effect,
            f"{loc.planned_hub['name']} is planned, not built: it can support a review, "
            "not a conforming verdict, until it opens.",
        )
    else:
        f.reason(
            required_rule,
            "conflicts",
            f"{what} needs class {required}{because}, but the site is class {loc.existing}: "
            "nearest qualifying hub "
            + (
                _hub_phrase(loc.existing_hub)
                if loc.existing_hub
                else "none within the class A/B walking limits"
            )
            + ".",
        )
        if policy.planned_hubs.counts_towards != "ignored":
            f.not_applied(
                policy.planned_hubs.id, "No planned hub would lift the site to the needed class."
            )


# -- size and intensity --------------------------------------------------------------------------
def intensity_rules(f: Findings, facts: Facts, case: Case) -> None:
    """The profile's thresholds for needing class A (noted when not crossed), and large
    space-extensive uses taking scarce class A land."""
    inp, profile, what = case.inp, case.profile, case.what
    if profile.class_a_when and not case.triggers:
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
            f"abc.{case.profile_id}.class_a",
            "Class A is not required: " + ", ".join(x for x in limits if x) + ".",
        )
    avoid = profile.avoid_class_a_when
    if avoid is None:
        return
    existing = facts.location.existing
    if existing == "A" and inp.floor_area_m2 > avoid.floor_area_m2:
        f.reason(
            avoid.id,
            avoid.effect,
            f"{what} would take {inp.floor_area_m2:g} m² of scarce class A land by "
            f"{_hub_phrase(facts.location.existing_hub)} (limit {avoid.floor_area_m2:g} m²).",
        )
    else:
        f.not_applied(
            avoid.id,
            f"The site is class {existing}"
            + ("" if existing != "A" else f" but ≤ {avoid.floor_area_m2:g} m²")
            + "; no hub land is taken.",
        )


# -- unclassified uses ---------------------------------------------------------------------------
def unclassified_use_rules(f: Findings, case: Case) -> None:
    """A use whose profile is marked ``always_review`` always needs an officer's judgement."""
    if case.profile.always_review:
        f.reason(
            f"abc.{case.profile_id}.always_review",
            "needs_review",
            f"The use {case.inp.use!r} is not classified; an officer must judge its mobility "
            "profile.",
        )
