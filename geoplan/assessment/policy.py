"""The assessment policy: rules and thresholds read from a planner-editable TOML file.

The policy is data, not code (``layers/policy.toml``, path from ``Settings.policy_file``), so a
planner can change a threshold or an area's profile without a release. This module parses the
file, checks it thoroughly (every reference resolves, every rule id is unique, every geoplan use
category is mapped) and answers the questions the assessment asks: which profile a use has,
which area rule classifies it, which location class it needs. A bad file fails with an error
that names the offending key, because a planner, not a developer, will be editing it.
"""

from __future__ import annotations

import tomllib
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from geoplan.errors import GeoplanError, ValidationError
from geoplan.vocab import AREA_SLUGS, HUB_MODES, KOMMUNENUMMER_PATTERN, USE_CATEGORIES

Effect = Literal["conforms", "needs_review", "conflicts"]
ClassName = Literal["A", "B", "C"]

SEVERITY: dict[str, int] = {"conforms": 0, "needs_review": 1, "conflicts": 2}
"""Verdict order: the assessment's verdict is the most severe effect of the rules that applied."""
CLASS_RANK: dict[str, int] = {"A": 3, "B": 2, "C": 1}
"""A is the best-served location class, C the least."""
KIND_EFFECT: dict[str, str] = {
    "preferred": "conforms",
    "accepted": "needs_review",
    "discouraged": "conflicts",
}
CLASSIFYING_KINDS = tuple(KIND_EFFECT)
OUTSIDE = "outside"
"""Pseudo-area key whose rules apply to sites outside all focus areas."""


class PolicyError(ValidationError):
    """The policy file is missing or wrong; ``field`` is the dotted key path of the mistake."""


class NoPolicyError(GeoplanError):
    """The site lies in a municipality the loaded policy is not for (a store serving Oslo, or
    Lillestrøm next to Lørenskog): there are no rules to assess it by, and geoplan never
    invents a verdict. Not the client's mistake in form, nor a server fault: the store's state
    conflicts with the request (the API answers 409)."""

    def __init__(self, name: str, kommunenummer: str | None, policy: Policy):
        where = f"{name} kommune" + (f" ({kommunenummer})" if kommunenummer else "")
        super().__init__(
            f"no assessment policy is loaded for {where}: the policy file is for "
            f"{policy.authority} (kommunenummer {', '.join(policy.kommunenummer)}); geoplan "
            "assesses a case only against the policy of the municipality it lies in"
        )
        self.kommunenummer = kommunenummer


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


def _text_as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Kommunenummer = Annotated[str, Field(pattern=KOMMUNENUMMER_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Strict):
    source: str
    section: str
    page: str | None = None
    quote: str | None = None


Cites = Annotated[list[Citation], BeforeValidator(_as_list), Field(min_length=1)]


class Source(_Strict):
    title: str
    file: str | None = None
    url: str | None = None


class AssessmentSettings(_Strict):
    hubs_per_class: int = Field(ge=1, le=50)
    area_min_overlap_share: float = Field(ge=0, le=1)
    cite: Cites


class LocationClass(_Strict):
    label: str
    hub_modes: list[str] = []
    min_departures_per_hour: float | None = Field(default=None, ge=0)
    max_walk_min: float | None = Field(default=None, gt=0)
    cite: Cites


class PlannedHubs(_Strict):
    id: str
    counts_towards: Literal["needs_review", "ignored"]
    assumed_departures_per_hour: float = Field(ge=0)
    cite: Cites


class MunicipalityRule(_Strict):
    partly_outside_id: str
    partly_outside_effect: Effect
    cite: Cites


class ClassAWhen(_Strict):
    floor_area_m2: float | None = Field(default=None, gt=0)
    employees: int | None = Field(default=None, gt=0)
    daily_visitors: int | None = Field(default=None, gt=0)
    cite: Cites


class AvoidClassA(_Strict):
    id: str
    floor_area_m2: float = Field(gt=0)
    effect: Effect
    cite: Cites


class Profile(_Strict):
    label: str
    requires_class: ClassName
    cite: Cites
    class_a_when: ClassAWhen | None = None
    avoid_class_a_when: AvoidClassA | None = None
    always_review: bool = False


class Use(_Strict):
    label: str
    profile: str


class AreaRule(_Strict):
    id: str
    kind: Literal["preferred", "accepted", "discouraged", "size_limit", "abc_exempt"]
    categories: list[str] = Field(min_length=1)
    reason: str
    cite: Cites
    max_floor_area_m2: float | None = Field(default=None, gt=0)
    effect: Effect | None = None

    @property
    def applied_effect(self) -> str:
        return self.effect if self.kind == "size_limit" else KIND_EFFECT.get(self.kind, "conforms")


class AreaPolicy(_Strict):
    name: str
    unlisted_effect: Effect
    cite: Cites
    rules: list[AreaRule] = []


class Policy(_Strict):
    """The whole policy file. Build it with :func:`load_policy` (which also cross-checks it)."""

    version: str
    updated: date
    title: str
    authority: str
    # the municipalities this policy is for: one number ("3222") or a list
    kommunenummer: Annotated[
        list[Kommunenummer], BeforeValidator(_text_as_list), Field(min_length=1)
    ]
    sources: dict[str, Source]
    assessment: AssessmentSettings
    location_classes: dict[ClassName, LocationClass]
    planned_hubs: PlannedHubs
    municipality: MunicipalityRule
    profiles: dict[str, Profile]
    uses: dict[str, Use]
    areas: dict[str, AreaPolicy]

    # -- questions the assessment asks ----------------------------------------------------
    def covers(self, kommunenummer: str | None) -> bool:
        """Whether this policy is the policy of municipality ``kommunenummer``."""
        return kommunenummer is not None and kommunenummer in self.kommunenummer

    def profile_of(self, use: str) -> tuple[str, Profile]:
        profile_id = self.uses[use].profile
        return profile_id, self.profiles[profile_id]

    def _matches(self, rule: AreaRule, use: str) -> int:
        """0 = no match, 1 = via the use's profile, 2 = the use itself is named."""
        if use in rule.categories:
            return 2
        return 1 if self.uses[use].profile in rule.categories else 0

    def classify(self, area: str, use: str) -> AreaRule | None:
        """The area's preferred/accepted/discouraged rule for ``use`` (a named use wins)."""
        best: tuple[int, AreaRule] | None = None
        for rule in self.areas[area].rules:
            if rule.kind not in CLASSIFYING_KINDS:
                continue
            m = self._matches(rule, use)
            if m and (best is None or m > best[0]):
                best = (m, rule)
        return best[1] if best else None

    def area_rules(self, area: str, use: str, kind: str) -> list[AreaRule]:
        """The area's rules of ``kind`` (size_limit, abc_exempt) that cover ``use``."""
        return [r for r in self.areas[area].rules if r.kind == kind and self._matches(r, use)]

    def required_class(
        self,
        use: str,
        floor_area_m2: float,
        employees: int | None,
        daily_visitors: int | None,
    ) -> tuple[str, str, list[str]]:
        """(class, rule id, triggers): the location class ``use`` needs at this size.

        ``triggers`` lists the thresholds exceeded (empty when the base class applies).
        """
        profile_id, profile = self.profile_of(use)
        when = profile.class_a_when
        triggers: list[str] = []
        if when is not None:
            if when.floor_area_m2 is not None and floor_area_m2 > when.floor_area_m2:
                triggers.append(f"floor area {floor_area_m2:g} m² > {when.floor_area_m2:g} m²")
            if when.employees is not None and employees is not None and employees > when.employees:
                triggers.append(f"{employees} employees > {when.employees}")
            if (
                when.daily_visitors is not None
                and daily_visitors is not None
                and daily_visitors > when.daily_visitors
            ):
                triggers.append(f"{daily_visitors} visitors/day > {when.daily_visitors}")
        if triggers:
            return "A", f"abc.{profile_id}.class_a", triggers
        return profile.requires_class, f"abc.{profile_id}.base", []

    def cite_text(self, cite: Citation) -> str:
        """One line a case officer can look up: document, section, page."""
        parts = [self.sources[cite.source].title, cite.section]
        if cite.page:
            parts.append(f"s. {cite.page}")
        return ", ".join(parts)

    def cites_json(self, cites: list[Citation]) -> list[dict[str, Any]]:
        return [
            {**c.model_dump(exclude_none=True), "text": self.cite_text(c)}
            for c in sorted(cites, key=lambda c: (c.source == "geoplan", c.source, c.section))
        ]

    def rule_cites(self, rule_id: str) -> list[Citation]:
        """The citations of any rule by id (area rules, ABC rules, planned hubs, boundary);
        empty for an id the policy does not cite (the ``area.<slug>`` notes, the ``unlisted``
        rule of an area the policy has no profile for)."""
        return self.rule_index().get(rule_id, [])

    def rule_index(self) -> dict[str, list[Citation]]:
        """Every rule id the policy cites -> its citations (an assessment looks up each reason's
        citations here)."""
        idx: dict[str, list[Citation]] = {
            self.planned_hubs.id: self.planned_hubs.cite,
            self.municipality.partly_outside_id: self.municipality.cite,
            "assessment.area_overlap": self.assessment.cite,
        }
        for name, cls in self.location_classes.items():
            idx[f"class.{name}"] = cls.cite
        for pid, p in self.profiles.items():
            idx[f"abc.{pid}.base"] = p.cite
            if p.class_a_when:
                idx[f"abc.{pid}.class_a"] = p.class_a_when.cite
            if p.avoid_class_a_when:
                idx[p.avoid_class_a_when.id] = p.avoid_class_a_when.cite
            if p.always_review:
                idx[f"abc.{pid}.always_review"] = p.cite
        for aid, a in self.areas.items():
            idx[f"{aid}.unlisted"] = a.cite
            for r in a.rules:
                idx[r.id] = r.cite
        return idx

    def all_categories(self) -> set[str]:
        return set(self.uses) | set(self.profiles)


# -- loading and checking ----------------------------------------------------------------------
def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _check(policy: Policy) -> None:
    """Cross-reference checks pydantic cannot express; raise PolicyError naming the key."""

    def bad(key: str, message: str) -> PolicyError:
        return PolicyError(f"{key}: {message}", field=key)

    def check_cites(key: str, cites: list[Citation]) -> None:
        for i, c in enumerate(cites):
            if c.source not in policy.sources:
                raise bad(
                    f"{key}.cite[{i}].source",
                    f"unknown source {c.source!r} (known: {', '.join(sorted(policy.sources))})",
                )

    if sorted(policy.location_classes) != ["A", "B", "C"]:
        raise bad("location_classes", "must define exactly the classes A, B and C")
    for name, cls in policy.location_classes.items():
        key = f"location_classes.{name}"
        check_cites(key, cls.cite)
        if name == "C":
            if cls.hub_modes or cls.max_walk_min is not None:
                raise bad(key, "class C is the rest and takes no hub criteria")
            continue
        if not cls.hub_modes or cls.max_walk_min is None or cls.min_departures_per_hour is None:
            raise bad(key, "needs hub_modes, min_departures_per_hour and max_walk_min")
        for mode in cls.hub_modes:
            if mode not in HUB_MODES:
                raise bad(f"{key}.hub_modes", f"unknown hub mode {mode!r} (known: {HUB_MODES})")
    check_cites("assessment", policy.assessment.cite)
    check_cites("planned_hubs", policy.planned_hubs.cite)
    check_cites("municipality", policy.municipality.cite)

    for pid, p in policy.profiles.items():
        key = f"profiles.{pid}"
        check_cites(key, p.cite)
        if p.class_a_when:
            check_cites(f"{key}.class_a_when", p.class_a_when.cite)
            w = p.class_a_when
            if w.floor_area_m2 is None and w.employees is None and w.daily_visitors is None:
                raise bad(f"{key}.class_a_when", "give at least one threshold")
        if p.avoid_class_a_when:
            check_cites(f"{key}.avoid_class_a_when", p.avoid_class_a_when.cite)

    for uid, u in policy.uses.items():
        if u.profile not in policy.profiles:
            raise bad(f"uses.{uid}.profile", f"unknown profile {u.profile!r}")
        if uid in policy.profiles:
            raise bad(f"uses.{uid}", "a use may not have the same name as a profile")
    missing = [u for u in USE_CATEGORIES if u not in policy.uses]
    if missing:
        raise bad("uses", f"geoplan use categories missing from the policy: {', '.join(missing)}")

    for slug in (*AREA_SLUGS, OUTSIDE):
        if slug not in policy.areas:
            raise bad("areas", f"no profile for area {slug!r}")
    seen_ids: dict[str, str] = {}
    reserved = {
        policy.planned_hubs.id,
        policy.municipality.partly_outside_id,
        *(p.avoid_class_a_when.id for p in policy.profiles.values() if p.avoid_class_a_when),
    }
    categories = policy.all_categories()
    for aid, area in policy.areas.items():
        akey = f"areas.{aid}"
        if aid not in AREA_SLUGS and aid != OUTSIDE:
            raise bad(akey, f"unknown area slug (known: {', '.join(AREA_SLUGS)}, {OUTSIDE})")
        check_cites(akey, area.cite)
        named: dict[str, str] = {}
        for i, rule in enumerate(area.rules):
            rkey = f"{akey}.rules[{i}]"
            check_cites(rkey, rule.cite)
            if rule.id in seen_ids or rule.id in reserved:
                raise bad(f"{rkey}.id", f"rule id {rule.id!r} is used twice")
            seen_ids[rule.id] = rkey
            for c in rule.categories:
                if c not in categories:
                    raise bad(
                        f"{rkey}.categories", f"unknown category {c!r} (not a use nor a profile)"
                    )
            if rule.kind == "size_limit":
                if rule.max_floor_area_m2 is None or rule.effect is None:
                    raise bad(rkey, "a size_limit rule needs max_floor_area_m2 and effect")
            elif rule.max_floor_area_m2 is not None or rule.effect is not None:
                raise bad(rkey, "max_floor_area_m2/effect only belong to size_limit rules")
            if rule.kind in CLASSIFYING_KINDS:
                for c in rule.categories:
                    if c in named:
                        raise bad(
                            f"{rkey}.categories",
                            f"{c!r} is already classified by rule {named[c]!r} in this area",
                        )
                    named[c] = rule.id


def parse_policy(data: dict[str, Any], origin: str = "policy") -> Policy:
    """Validate parsed TOML into a :class:`Policy`; errors name ``origin`` and the key."""
    try:
        policy = Policy.model_validate(data)
    except PydanticValidationError as exc:
        errors = [
            {"field": _loc(e["loc"]), "message": e["msg"]} for e in exc.errors(include_url=False)
        ]
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PolicyError(
            f"{origin}: {first['field']}: {first['message']}{more}",
            field=first["field"],
            errors=errors,
        ) from None
    try:
        _check(policy)
    except PolicyError as exc:
        raise PolicyError(f"{origin}: {exc}", field=exc.field) from None
    return policy


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Policy:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}", field="policy_file") from None
    return parse_policy(data, origin=path)


def load_policy(path: Path | str | None = None) -> Policy:
    """The policy at ``path`` (default ``Settings.policy_file``); re-read when the file changes."""
    if path is None:
        from geoplan.config import get_settings

        path = get_settings().policy_file
    p = Path(path)
    if not p.is_file():
        raise PolicyError(f"policy file not found: {p}", field="policy_file")
    st = p.stat()
    return _load_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)
