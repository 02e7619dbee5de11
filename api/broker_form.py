"""The broker page's form (``/megler``), derived from the premises layer's description.

Every field an API client may set (:attr:`geoplan.layers.spec.LayerSpec.writable`) becomes one
form control, chosen by its kind: a closed list of several values (``text[]``) a group of
checkboxes, a closed single value a select, a number a number field with its bounds, a date a
date field, a flag a checkbox, free text a text field. So a field added to the layer
description appears on the page without an edit here; its Norwegian label, unit and bounds come
from the same description. A field of a kind this module does not know is left out of the form,
and so left unchanged by the page (it saves with PATCH, naming only the fields it shows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geoplan.layers.spec import ATTRIBUTE, PREMISES, PROVENANCE, ColumnSpec, number_text
from maps.labels import PREMISES_STATUS_LABELS, USE_LABELS, nok

VALUE_LABELS: dict[str, dict[str, str]] = {"uses": USE_LABELS, "status": PREMISES_STATUS_LABELS}
"""Norwegian words for the codes of closed vocabularies (a code without one is shown as is)."""
LONG_TEXT = ("description",)
"""Free-text fields given several lines."""
UNITS_NB = {"m²": "m²", "NOK/m²/year": "kr per m² per år", "m": "meter", "min": "minutter"}
GROUPS = {ATTRIBUTE: "Om lokalet", PROVENANCE: "Kilde og nøyaktighet"}
"""Fieldsets of the form, by the role of the fields in them (the layer description's order)."""


@dataclass(frozen=True)
class FormControl:
    """One field of the form: ``control`` is ``checkboxes``, ``select``, ``number``, ``date``,
    ``checkbox``, ``textarea`` or ``text``; ``kind`` is the layer description's, which the page's
    script reads to turn the control's value into JSON."""

    name: str
    label: str
    control: str
    kind: str
    required: bool
    hint: str
    options: list[tuple[str, str]] = field(default_factory=list)
    min: str | None = None
    max: str | None = None
    step: str | None = None
    admin_only: bool = False

    @property
    def id(self) -> str:
        return f"f-{self.name}"


def _number_nb(value: float) -> str:
    """A bound as Norwegians write it: ``1 000 000``, ``0,5``."""
    return nok(value) if float(value).is_integer() else number_text(value).replace(".", ",")


def _bounds_hint(col: ColumnSpec) -> str:
    parts = []
    if col.min_value is not None:
        low = _number_nb(col.min_value)
        parts.append(f"over {low}" if col.min_exclusive else f"minst {low}")
    if col.max_value is not None:
        parts.append(f"høyst {_number_nb(col.max_value)}")
    return " og ".join(parts)


def _hint(col: ColumnSpec) -> str:
    parts = []
    if col.unit:
        parts.append(UNITS_NB.get(col.unit, col.unit))
    if col.kind in ("float", "int") and (bounds := _bounds_hint(col)):
        parts.append(bounds)
    if col.name == "verified":
        parts.append("bare kommunen (administratornøkkel) kan merke en oppføring som verifisert")
    return ", ".join(parts)


def control_for(col: ColumnSpec) -> FormControl | None:
    """The form control of one writable field, or None for a kind the form cannot show."""
    labels = VALUE_LABELS.get(col.name, {})
    options = [(v, labels.get(v, v)) for v in col.allowed or ()]
    common = {
        "name": col.name,
        "label": col.label_nb or col.name,
        "kind": col.kind,
        "required": col.required,
        "hint": _hint(col),
    }
    if col.kind == "text[]" and col.allowed:
        return FormControl(control="checkboxes", options=options, **common)
    if col.kind == "text" and col.allowed:
        return FormControl(control="select", options=options, **common)
    if col.kind in ("float", "int"):
        return FormControl(
            control="number",
            min=None if col.min_value is None else number_text(col.min_value),
            max=None if col.max_value is None else number_text(col.max_value),
            step="1" if col.kind == "int" else "any",
            **common,
        )
    if col.kind == "date":
        return FormControl(control="date", **common)
    if col.kind == "bool":
        return FormControl(control="checkbox", admin_only=col.name == "verified", **common)
    if col.kind == "text":
        return FormControl(control="textarea" if col.name in LONG_TEXT else "text", **common)
    return None


def form_groups() -> list[tuple[str, list[FormControl]]]:
    """The form's fieldsets: (legend, controls), in the layer description's order."""
    groups: dict[str, list[FormControl]] = {role: [] for role in GROUPS}
    for col in PREMISES.writable:
        control = control_for(col)
        if control is not None and col.role in groups:
            groups[col.role].append(control)
    return [(GROUPS[role], controls) for role, controls in groups.items() if controls]
