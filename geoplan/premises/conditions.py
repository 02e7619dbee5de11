"""The search conditions on a listing's size, rent, availability and floor — read per unit for a
listing with units — and on the fields premises seekers filter on (issue 13).

Semantics, in one place: a listing without units (``unit_count = 0``) is one space and matches
on its own values. A listing with units matches when **any one vacant unit** meets every unit
filter at once (``min_area_m2``, ``max_area_m2``, ``max_rent_nok_m2``, ``available_by``,
``floor``): a building with two vacant 300 m² floors does not match ``min_area_m2=500``, and
one unit must be both large enough and cheap enough. Let units are never matched. Results list
the matching units (:func:`matching_units_sql`).

The listing's own derived values (:mod:`geoplan.premises.units`: the vacant area's sum, the
lowest rent, the earliest date) bound every vacant unit's, so ``min_area_m2``,
``max_rent_nok_m2`` and ``available_by`` stay plain conditions on the listing for every row —
what the search's indexes serve — and only the rows that pass them with units look at their
units (one primary-key range read each).
"""

from __future__ import annotations

from typing import Any

from geoplan.layers.spec import PREMISES
from geoplan.layers.sql import UNITS_TABLE, units_json
from geoplan.premises.query import PremisesQuery
from geoplan.vocab import ENERGY_LABELS

# (filter, listing condition on the row ``{a}``, unit condition); the listing's holds for every
# row when ``bounds`` is true (the derived values bound every vacant unit's), else for single
# spaces only
_UNIT_FILTERS = (
    ("min_area_m2", "{a}.floor_area_m2 >= %(min_area)s", "u.area_m2 >= %(min_area)s", True),
    ("max_area_m2", "{a}.floor_area_m2 <= %(max_area)s", "u.area_m2 <= %(max_area)s", False),
    (
        "max_rent_nok_m2",
        "{a}.rent_nok_m2_year <= %(max_rent)s",
        "u.rent_nok_m2_year <= %(max_rent)s",
        True,
    ),
    (
        "available_by",
        "({a}.available_from IS NULL OR {a}.available_from <= %(by)s)",
        "(u.available_from IS NULL OR u.available_from <= %(by)s)",
        True,
    ),
    ("floor", "{a}.floor = %(floor)s", "u.floor = %(floor)s", False),
)
_PARAM = {
    "min_area_m2": "min_area",
    "max_area_m2": "max_area",
    "max_rent_nok_m2": "max_rent",
    "available_by": "by",
    "floor": "floor",
}


def unit_conditions(q: PremisesQuery) -> list[str]:
    """The conditions a vacant unit (``u``) must meet, all at once."""
    return [unit for name, _, unit, _ in _UNIT_FILTERS if getattr(q, name) is not None]


_NOT_ON_SEARCH = frozenset({"floor"})
"""Unit filters whose listing value ``premises_search`` does not copy."""


def unit_alternatives(q: PremisesQuery, a: str = "p") -> tuple[str, str] | None:
    """The two disjoint ways the row ``a`` meets the unit filters of ``q`` — as a single space,
    on its own values, or by one of its vacant units — or None when ``q`` has no unit filter
    (or, on ``s``, one that ``premises_search`` cannot answer). Counted apart, each half is a
    range of one index (the search counts them so, :mod:`geoplan.premises.search`)."""
    units = unit_conditions(q)
    if not units or (a == "s" and any(getattr(q, n) is not None for n in _NOT_ON_SEARCH)):
        return None
    single = "".join(
        f" AND {listing.format(a=a)}"
        for name, listing, _, bounds in _UNIT_FILTERS
        if not bounds and getattr(q, name) is not None
    )
    return (
        f"({a}.unit_count = 0{single})",
        f"({a}.unit_count > 0 AND EXISTS (SELECT 1 FROM {UNITS_TABLE} u "
        f"WHERE u.premises_seq = {a}.seq AND u.status = 'available' AND {' AND '.join(units)}))",
    )


def either(alternatives: tuple[str, str]) -> str:
    return f"({alternatives[0]} OR {alternatives[1]})"


def size_conditions(q: PremisesQuery, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    """``WHERE`` conditions of the size, rent, availability and floor filters, unit-aware; sets
    their ``params``. Each is a pair: the condition on a listing ``p`` and, where it reads only
    what the narrow search table holds, the same on its row ``s`` (``premises_search``, which
    copies the listing's derived values and ``unit_count``, migration 0016); else
    None."""
    where: list[tuple[str, str | None]] = []
    for name, listing, _, bounds in _UNIT_FILTERS:
        value = getattr(q, name)
        if value is None:
            continue
        params[_PARAM[name]] = value
        if bounds:
            where.append((listing.format(a="p"), listing.format(a="s")))
    on_listing, on_search = unit_alternatives(q, "p"), unit_alternatives(q, "s")
    if on_listing:
        where.append((either(on_listing), either(on_search) if on_search else None))
    return where


def matching_units_sql(q: PremisesQuery, alias: str = "p") -> str:
    """A result's ``units``: its vacant units that meet the unit filters, or all its units
    (vacant and let) when the search has none."""
    units = unit_conditions(q)
    where = " AND ".join(["u.status = 'available'", *units]) if units else ""
    return units_json(PREMISES, alias, where)


def field_conditions(q: PremisesQuery, params: dict[str, Any]) -> list[str]:
    """``WHERE`` conditions of the filters on the premises fields; sets their ``params``."""
    where = []
    if q.min_workplaces is not None:
        where.append("p.workplaces >= %(min_workplaces)s")
        params["min_workplaces"] = q.min_workplaces
    if q.min_parking is not None:
        where.append("p.parking_spaces >= %(min_parking)s")
        params["min_parking"] = q.min_parking
    if q.max_energy_label is not None:
        where.append("p.energy_label = ANY(%(energy_labels)s::text[])")
        params["energy_labels"] = list(ENERGY_LABELS[: ENERGY_LABELS.index(q.max_energy_label) + 1])
    if q.built_after is not None:  # greatest() ignores NULLs: either year counts
        where.append("greatest(p.year_built, p.year_renovated) >= %(built_after)s")
        params["built_after"] = q.built_after
    if q.min_ceiling_height_m is not None:
        where.append("p.ceiling_height_m >= %(min_ceiling)s")
        params["min_ceiling"] = q.min_ceiling_height_m
    if q.loading_dock:
        where.append("p.loading_dock")
    if q.broker_org:
        where.append("strpos(lower(p.broker_org), lower(%(broker_org)s)) > 0")
        params["broker_org"] = q.broker_org
    return where
