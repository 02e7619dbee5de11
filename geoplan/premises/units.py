"""Units: several spaces in one building, each with its own floor, area, rent and availability.

A premises listing is one space, or a building whose vacant spaces are listed as *units*
(``premises_units``, in the listing's order, each ``label`` unique within it). With units, the
listing's area, rent and availability are derived from its vacant units (the layer description's
``from_units``: the sum of their areas, the lowest rent, the earliest date) by one statement
(:func:`geoplan.layers.sql.units_rollup_sql`), so every reader that knows only the listing —
OGC items and tiles, coverage, exports, older clients — still sees consistent numbers, and a
search reads each unit (:mod:`geoplan.premises.search`: a listing matches when any vacant unit
matches the area, rent, availability and floor filters).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import psycopg

from geoplan.errors import ValidationError
from geoplan.layers.spec import MAX_FLOOR_AREA_M2, MAX_UNITS, PREMISES, ColumnSpec
from geoplan.layers.sql import UNITS_TABLE, units_rollup_sql

UNIT_FIELDS = PREMISES.unit_fields
UNIT_NAMES = tuple(c.name for c in UNIT_FIELDS)
DERIVED_FROM_UNITS = tuple(c for c in PREMISES.fields if c.from_units)
"""The listing's fields its units decide when it has any (area, rent, available from)."""
ROLLUP_SQL = units_rollup_sql(PREMISES)
AREA_TOLERANCE = 0.005
"""A derived number sent back differs from the derived one only by rounding below this."""


def check_units(
    value: Any, check: Any, errors: list[dict[str, Any]], name: str = "units"
) -> list[dict[str, Any]] | None:
    """The units of a request body, checked field by field (``check(col, value)`` is the
    register's check of one value); errors are appended naming ``units[i].field``. ``None`` or
    ``[]``: no units."""

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if value is None:
        return []
    if not isinstance(value, list | tuple):
        bad(name, "must be a list of units (objects with label, area_m2, …)")
        return None
    if len(value) > MAX_UNITS:
        bad(name, f"at most {MAX_UNITS} units per listing")
        return None
    out: list[dict[str, Any]] = []
    labels: dict[str, int] = {}
    n_errors = len(errors)
    for i, unit in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(unit, Mapping):
            bad(where, "must be an object with label, area_m2, …")
            continue
        for key in unit:
            if key not in UNIT_NAMES:
                known = ", ".join(UNIT_NAMES)
                bad(f"{where}.{str(key)[:50]}", f"is not a field of a unit ({known})")
        clean: dict[str, Any] = {}
        for col in UNIT_FIELDS:
            v = unit.get(col.name)
            if v is None:
                if col.required:
                    bad(f"{where}.{col.name}", "is required")
                clean[col.name] = col.default
                continue
            problem, checked = check(col, v)
            if problem:
                bad(f"{where}.{col.name}", problem)
            else:
                clean[col.name] = checked
        label = clean.get("label")
        if isinstance(label, str):
            if label.casefold() in labels:
                bad(f"{where}.label", f"{label!r} is also unit {labels[label.casefold()]}'s label")
            labels.setdefault(label.casefold(), i)
        out.append(clean)
    if len(errors) == n_errors:
        total = sum(u["area_m2"] for u in out)
        if not math.isfinite(total) or total > MAX_FLOOR_AREA_M2:
            bad(name, f"the units' areas add up to more than {MAX_FLOOR_AREA_M2:.0f} m²")
    return out if len(errors) == n_errors else None


def as_json(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checked units as a record shows them (dates as text): what history snapshots compare."""
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in u.items()} for u in units]


def write_units(conn: psycopg.Connection, seq: int, units: list[dict[str, Any]]) -> None:
    """Replace the listing's units with ``units`` (checked) and derive its values from them."""
    conn.execute(f"DELETE FROM {UNITS_TABLE} WHERE premises_seq = %s", (seq,))
    if units:
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {UNITS_TABLE} (premises_seq, position, {', '.join(UNIT_NAMES)}) "
                f"VALUES (%s, %s, {', '.join(['%s'] * len(UNIT_NAMES))})",
                [(seq, i, *(u[n] for n in UNIT_NAMES)) for i, u in enumerate(units)],
            )
    rollup(conn, [seq])


def rollup(conn: psycopg.Connection, seqs: list[int]) -> None:
    """Set ``unit_count`` and the derived values of the listings ``seqs`` from their units."""
    conn.execute(ROLLUP_SQL, {"seqs": list(seqs)})


def check_derived(conn: psycopg.Connection, seq: int, sent: Mapping[str, Any]) -> None:
    """Refuse a value sent for a field the listing's units decide that differs from theirs.

    A record read back and sent again (its derived values unchanged) passes; an area, rent or
    date changed on a listing with units would be overwritten by its units, so it is refused
    naming the field rather than silently dropped.
    """
    names = [c.name for c in DERIVED_FROM_UNITS if c.name in sent]
    if not names:
        return
    row = conn.execute(
        f"SELECT unit_count, {', '.join(names)} FROM premises WHERE seq = %s", (seq,)
    ).fetchone()
    if row is None or row[0] == 0:
        return
    errors = []
    for name, stored in zip(names, row[1:], strict=True):
        given = sent[name]
        if _same(given, stored):
            continue
        col: ColumnSpec = PREMISES.column(name)
        errors.append(
            {
                "field": name,
                "message": f"is derived from the listing's units ({_rule(col)}: "
                f"{'empty' if stored is None else stored}); change the units, or leave it out",
            }
        )
    if errors:
        raise ValidationError(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            field=errors[0]["field"],
            errors=errors,
        )


def _same(given: Any, stored: Any) -> bool:
    if given is None or stored is None:
        return given is None and stored is None
    if isinstance(stored, float):
        return abs(float(given) - stored) < AREA_TOLERANCE
    return given == stored


def _rule(col: ColumnSpec) -> str:
    return {
        "sum": "the sum of the vacant units' areas",
        "min": "the lowest rent of the vacant units",
        "earliest": "the earliest date of the vacant units",
    }[col.from_units or ""]
