"""The case a case officer asks about, checked, and seen through the policy: the use's label and
mobility profile, and the location class it needs at this size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from geoplan.assessment.policy import Policy, Profile
from geoplan.errors import ValidationError
from geoplan.layers.spec import MAX_FLOOR_AREA_M2

MAX_PEOPLE = 1_000_000
"""Most employees or daily visitors a case may name: beyond it the number is a mistake."""


@dataclass(frozen=True)
class AssessmentInput:
    """What the case officer asks about. ``site`` is a GeoJSON geometry or Feature."""

    site: dict[str, Any]
    use: str
    floor_area_m2: float
    employees: int | None = None
    daily_visitors: int | None = None
    crs: str | int | None = None


def check_input(inp: AssessmentInput, policy: Policy) -> None:
    """The use must be one the policy knows; the numbers must be positive (whole ones whole).

    Raises :class:`ValidationError` naming the field; the site is checked when it is measured
    (:func:`geoplan.assessment.facts.gather_facts`).
    """
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
    if area > MAX_FLOOR_AREA_M2:
        raise ValidationError(
            f"floor_area_m2 must be at most {MAX_FLOOR_AREA_M2:.0f} (got {area:g})",
            field="floor_area_m2",
        )
    for name in ("employees", "daily_visitors"):
        value = getattr(inp, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be a whole number", field=name)
        if value < 0:
            raise ValidationError(f"{name} must not be negative (got {value})", field=name)
        if value > MAX_PEOPLE:
            raise ValidationError(f"{name} must be at most {MAX_PEOPLE} (got {value})", field=name)


@dataclass(frozen=True)
class Case:
    """A checked input as the policy sees it.

    ``required``/``required_rule``/``triggers``: the location class the use needs at this size
    (:meth:`Policy.required_class`), the rule that says so, and the thresholds that raised it
    (empty when the profile's base class applies).
    """

    inp: AssessmentInput
    use_label: str
    profile_id: str
    profile: Profile
    required: str
    required_rule: str
    triggers: list[str]

    @classmethod
    def of(cls, inp: AssessmentInput, policy: Policy) -> Case:
        """The case for ``inp`` (checked with :func:`check_input` first)."""
        profile_id, profile = policy.profile_of(inp.use)
        required, required_rule, triggers = policy.required_class(
            inp.use, inp.floor_area_m2, inp.employees, inp.daily_visitors
        )
        return cls(
            inp,
            policy.uses[inp.use].label,
            profile_id,
            profile,
            required,
            required_rule,
            triggers,
        )

    @property
    def what(self) -> str:
        """How messages name the case: ``Kontor (office, 2500 m²)``."""
        return f"{self.use_label} ({self.inp.use}, {self.inp.floor_area_m2:g} m²)"
