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
    return (
        f"jsonb_build_object({pairs}, 'geometry', "
        f"ST_AsGeoJSON(ST_Transform({alias}.geom, 4326), {SNAPSHOT_DECIMALS})::jsonb)"
    )
