"""SQL derived from a layer description: SELECT lists, JSON objects, the history snapshot.

Callers name the fields (usually ``spec.by_role(...)``) and the alias of the row they read; a value
that is not a column of that row (a name joined from another table, a walk computed for one
search) comes from ``sources``, which maps a field to its SQL expression. The statements stay
plain SQL text built once at import time, so nothing here runs per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from geoplan.layers.spec import STORED, ColumnSpec, LayerSpec

SNAPSHOT_DECIMALS = 7
"""Decimals of a snapshot's WGS84 coordinates: about a centimetre, finer than any listing's
position and than ``geoplan import``'s change tolerance."""


def _expr(c: ColumnSpec, alias: str, sources: Mapping[str, str] | None) -> str:
    return (sources or {}).get(c.name) or f"{alias}.{c.name}"


def select_list(
    fields: Iterable[ColumnSpec], alias: str, sources: Mapping[str, str] | None = None
) -> str:
    """``p.id, p.address, h.name AS nearest_hub_name, ...``: the fields as result columns."""
    parts = []
    for c in fields:
        expr = _expr(c, alias, sources)
        parts.append(expr if expr == f"{alias}.{c.name}" else f"{expr} AS {c.name}")
    return ", ".join(parts)


def json_pairs(
    fields: Iterable[ColumnSpec],
    alias: str,
    sources: Mapping[str, str] | None = None,
    *,
    rounded: bool = False,
) -> str:
    """``'id', p.id, 'address', p.address, ...``: arguments of ``json(b)_build_object``.

    ``rounded``: fields with ``decimals`` are rounded to them (search results show a walk to the
    decimetre, not to the micrometre the computation gives).
    """
    pairs = []
    for c in fields:
        expr = _expr(c, alias, sources)
        if rounded and c.decimals is not None:
            expr = f"round(({expr})::numeric, {c.decimals})"
        pairs.append(f"'{c.name}', {expr}")
    return ", ".join(pairs)


def snapshot_sql(spec: LayerSpec, alias: str) -> str:
    """One row as ``premises_history`` records it: a jsonb of the row's stored fields (key,
    attributes, provenance, version and timestamps) and its geometry in WGS84.

    The one shape of a history snapshot, whatever wrote the row (API, ``geoplan import``). Derived
    values (nearest hub, walk) are left out: re-annotation rewrites them without writing history,
    so in a snapshot they would be stale the first time a hub moved. Built column by column:
    ``to_jsonb(row)`` is several times slower (it renders the geometry and derived columns only
    to drop them), which matters for 100 000-row imports.
    """
    pairs = json_pairs(spec.by_role(*STORED), alias)
    units = f", 'units', {units_json(spec, alias)}" if spec.unit_fields else ""
    return (
        f"jsonb_build_object({pairs}{units}, 'geometry', "
        f"ST_AsGeoJSON(ST_Transform({alias}.geom, 4326), {SNAPSHOT_DECIMALS})::jsonb)"
    )


UNITS_TABLE = "premises_units"


def units_json(spec: LayerSpec, alias: str, where: str = "") -> str:
    """The record's units as a jsonb array in their order (``[]`` without units): each an object
    of ``spec.unit_fields``. ``where``: a further condition on the units (``u``), e.g. the
    search's unit filters, so only matching units are listed."""
    pairs = json_pairs(spec.unit_fields, "u")
    more = f" AND ({where})" if where else ""
    return (
        f"(SELECT coalesce(jsonb_agg(jsonb_build_object({pairs}) ORDER BY u.position), "
        f"'[]'::jsonb) FROM {UNITS_TABLE} u WHERE u.premises_seq = {alias}.seq{more})"
    )


_ROLLUP = {
    "sum": "sum({c}){f}",
    "min": "min({c}){f}",
    # NULL (available now) when any vacant unit is, else the earliest date
    "earliest": "CASE WHEN bool_or({c} IS NULL){f} THEN NULL ELSE min({c}){f} END",
}
_VACANT = " FILTER (WHERE u.status = 'available')"


def units_rollup_sql(spec: LayerSpec) -> str:
    """``UPDATE`` setting each listing's ``unit_count`` and its values derived from its units
    (:attr:`~geoplan.layers.spec.ColumnSpec.from_units`) for the listings whose ``seq`` is in
    ``%(seqs)s``: over the vacant units, or over all units when none is vacant (a fully let
    building keeps its total). A listing without units keeps its own values. One statement for
    the register (one listing) and ``geoplan import`` (thousands); rows it would not change
    are not written (no new stored head, no trigger work)."""
    names, aggs, news = _rollup_parts(spec)
    return f"""
        UPDATE premises p
        SET ({", ".join(["unit_count", *names])}) = (r.n, {", ".join(news)})
        FROM (SELECT s.seq, count(u.premises_seq)::int AS n, {", ".join(aggs)}
              FROM unnest(%(seqs)s::bigint[]) s(seq)
              LEFT JOIN {UNITS_TABLE} u ON u.premises_seq = s.seq GROUP BY s.seq) r
        WHERE p.seq = r.seq
          AND ({", ".join(["p.unit_count", *(f"p.{n}" for n in names)])})
              IS DISTINCT FROM (r.n, {", ".join(news)})"""


def units_rollup_into_sql(spec: LayerSpec, table: str, units_table: str) -> str:
    """The same derivation for rows about to be imported: ``table`` (``id`` and the derived
    columns) from ``units_table`` (``id`` and the unit fields); rows without units keep their
    values. So an import compares and stores what the register would."""
    names, aggs, _ = _rollup_parts(spec)
    return f"""
        UPDATE {table} p SET ({", ".join(names)}) = ({", ".join(f"r.{n}" for n in names)})
        FROM (SELECT u.id, {", ".join(aggs)} FROM {units_table} u GROUP BY u.id) r
        WHERE p.id = r.id"""


def _rollup_parts(spec: LayerSpec) -> tuple[list[str], list[str], list[str]]:
    unit_names = {c.name for c in spec.unit_fields}
    derived = [c for c in spec.fields if c.from_units]
    aggs, news = [], []
    for c in derived:
        col = f"u.{c.name if c.name in unit_names else 'area_m2'}"  # floor_area_m2 ← area_m2
        rule = _ROLLUP[c.from_units]
        aggs.append(
            f"CASE WHEN bool_or(u.status = 'available') THEN {rule.format(c=col, f=_VACANT)} "
            f"ELSE {rule.format(c=col, f='')} END AS {c.name}"
        )
        news.append(f"CASE WHEN r.n > 0 THEN r.{c.name} ELSE p.{c.name} END")
    return [c.name for c in derived], aggs, news
