"""Premises search: a checked :class:`~geoplan.premises.query.PremisesQuery` compiled to SQL over
``premises_annotated``, returned as a GeoDataFrame (maps, CLI) or as GeoJSON built in SQL (API).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from geoplan.geo.crs import WGS84
from geoplan.layers.spec import (
    API_ORDER,
    DERIVED,
    PREMISES,
    RECORD_ROLES,
    SEARCH,
    ColumnSpec,
)
from geoplan.layers.sql import json_pairs, select_list
from geoplan.premises.conditions import (
    either,
    field_conditions,
    matching_units_sql,
    size_conditions,
    unit_alternatives,
)
from geoplan.premises.lookups import LOOKUP_LAYERS
from geoplan.premises.place import DISTANCE_DECIMALS, distance_sql
from geoplan.premises.query import (
    SORTS,
    PremisesQuery,
    SearchResult,
    Sort,
    place_where,
    validate_query,
)
from geoplan.proximity import HubSelection, WalkSettings, default_walk, walk_to_nearest_hub
from geoplan.store.db import read_gdf
from geoplan.store.steps import Known, Steps, run, run_async, statement_key
from geoplan.vocab import USE_CATEGORIES

HUB_WALK_TABLE = "_pq_hub_walk"
"""Session temp table holding the walk from each candidate premises to the named ``hub``."""


@dataclass
class _Where:
    """The conditions of a search, each written against the listing as readers see it (``p``,
    the view ``premises_annotated``) and, where the narrow table ``premises_search`` holds what
    it reads, against that (``s``; migration ``premises_search``).

    A filter that gives no ``s`` form (``where.add(sql)`` or ``where.append(sql)``) still works
    on the fast path: the statement then joins ``premises_annotated p`` to the rows ``s``
    narrows down to (see :func:`search_features`). Parameters are shared by both forms.
    """

    params: dict[str, Any]
    listing: list[str] = field(default_factory=list)
    """Every condition, on ``p``."""
    search: list[str] = field(default_factory=list)
    """The conditions ``premises_search`` answers, on ``s``."""
    rest: list[str] = field(default_factory=list)
    """The conditions only the listing answers, on ``p``."""

    def add(self, on_listing: str, on_search: str | None = None) -> None:
        self.listing.append(on_listing)
        if on_search is None:
            self.rest.append(on_listing)
        else:
            self.search.append(on_search)

    append = add  # a condition on the listing only


def _uses_masks(uses: list[str]) -> list[int]:
    """Every value of ``premises_search.uses_mask`` (SQL ``geoplan_uses_mask``: bit *i* for the
    *i*-th of :data:`~geoplan.vocab.USE_CATEGORIES`) that holds one of ``uses``: as a list,
    ``uses_mask = ANY(…)`` is an index condition on ``(uses_mask, walk_min)`` where a bit test
    would read every entry."""
    wanted = sum(1 << USE_CATEGORIES.index(u) for u in set(uses) if u in USE_CATEGORIES)
    return [m for m in range(1, 1 << len(USE_CATEGORIES)) if m & wanted]


def _filters(q: PremisesQuery, walking: WalkSettings) -> _Where:
    """The conditions of a (validated) query, except those of ``hub`` (see :func:`_compile`)."""
    where = _Where({"withdrawn": q.include_withdrawn, "v": walking.m_per_min})
    where.add(
        "(%(withdrawn)s OR p.status = 'available')", "(%(withdrawn)s OR s.status = 'available')"
    )
    if q.uses:
        where.add("p.uses && %(uses)s::text[]", "s.uses_mask = ANY(%(uses_masks)s::int[])")
        where.params |= {"uses": list(q.uses), "uses_masks": _uses_masks(q.uses)}
    # size, rent, availability and floor: per vacant unit for a listing with units
    # (premises/conditions.py); what bounds every unit also runs on the narrow table
    for on_listing, on_search in size_conditions(q, where.params):
        where.add(on_listing, on_search)
    for on_listing in field_conditions(q, where.params):
        where.add(on_listing)
    if q.kommune:
        where.add("p.kommunenummer = ANY(%(kommune)s)", "s.kommunenummer = ANY(%(kommune)s)")
        where.params["kommune"] = list(q.kommune)
    if q.area:
        area = "EXISTS (SELECT 1 FROM areas a WHERE a.id = %(area)s AND ST_Intersects(a.geom, {}))"
        where.add(area.format("p.geom"), area.format("s.geom"))
        where.params["area"] = q.area
    if q.within or q.near:
        on_listing, place_params = place_where(q, "p")
        on_search, _ = place_where(q, "s")
        for listing, search in zip(on_listing, on_search, strict=True):
            where.add(listing, search)
        where.params |= place_params
    if q.max_walk_min is not None:
        where.params["walk"] = q.max_walk_min
        if not q.hub:
            where.add("p.walk_min <= %(walk)s", "s.walk_min <= %(walk)s")
    return where


def _compile(
    conn: psycopg.Connection, q: PremisesQuery, walking: WalkSettings
) -> tuple[str, str, dict[str, Any]]:
    """The FROM+WHERE clause (over the listings, ``p``), the ORDER BY and the parameters of a
    (validated) query.

    With ``hub`` the selection also carries ``hub_walk_m``/``hub_walk_min``/``hub_walk_method``:
    the walk from each candidate to that hub, computed now by
    :func:`geoplan.proximity.walk_to_nearest_hub` restricted to that one hub — on the walking
    network where one is loaded (``network``), else straight line × ``detour_factor``
    (``straight_line``). No walk is shorter than the straight line, so with ``max_walk_min``
    only premises within that many minutes *as the crow flies* are routed (``ST_DWithin`` on
    the GiST index).
    """
    filters = _filters(q, walking)
    where, params = filters.listing, filters.params
    source = "premises_annotated p LEFT JOIN hubs h ON h.id = p.nearest_hub_id"
    walk = "p.walk_min"
    if q.hub:
        params["hub"] = q.hub
        if q.max_walk_min is not None:
            where.append(
                "ST_DWithin(p.geom, (SELECT geom FROM hubs WHERE id = %(hub)s), %(walk)s * %(v)s)"
            )
        walk_to_nearest_hub(
            conn,
            premises_where=" AND ".join(where),
            params=params,
            hubs=HubSelection(ids=(q.hub,)),
            out=HUB_WALK_TABLE,
            walk=walking,
        )
        source += (
            f" JOIN {HUB_WALK_TABLE} hw ON hw.seq = p.seq"
            " CROSS JOIN (SELECT id, name FROM hubs WHERE id = %(hub)s) th"
        )
        walk = "hw.walk_m / %(v)s"
        if q.max_walk_min is not None:
            where.append("hw.walk_m <= %(walk)s * %(v)s")
    order = SORTS[q.sort].replace("walk_min", walk) + ", p.id"
    return f"{source} WHERE {' AND '.join(where)}", order, params


# Values a search reads from other relations than the listing ``p``: the nearest hub's name
# (``h``) and, with ``hub``, that hub (``th``) and the walk to it (``hw``, see _compile).
_SOURCES = {
    "nearest_hub_name": "h.name",
    "hub_id": "th.id",
    "hub_name": "th.name",
    "hub_walk_m": "hw.walk_m",
    "hub_walk_min": "hw.walk_m / %(v)s",
    "hub_walk_method": "hw.method",
}
_SELECT_COLUMNS = select_list(PREMISES.by_role(*RECORD_ROLES), "p", _SOURCES)
_HUB_COLUMNS = ", " + select_list(PREMISES.by_role(SEARCH), "p", _SOURCES)


def search(
    conn: psycopg.Connection, q: PremisesQuery, *, walk: WalkSettings | None = None
) -> SearchResult:
    """Premises matching ``q`` (a GeoDataFrame in EPSG:25833) and how many match in total.

    ``walk`` (default: the process settings) turns the walk to ``q.hub`` into minutes.
    """
    validate_query(conn, q)
    source, order, params = _compile(conn, q, default_walk(walk))
    total = conn.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    gdf = read_gdf(
        conn,
        f"""SELECT {_SELECT_COLUMNS}{_HUB_COLUMNS if q.hub else ""},
                   {matching_units_sql(q)} AS units{_distance_column(q, "p")},
                   ST_AsBinary(p.geom) AS geom
            FROM {source} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s""",
        params | {"limit": q.limit, "offset": q.offset},
    )
    return SearchResult(gdf, total, q)


def _feature_sql(q: PremisesQuery) -> str:
    """A GeoJSON Feature (WGS84) of one premises row, built in PostGIS: the record's fields in
    :data:`~geoplan.layers.spec.API_ORDER` (the search's own with ``hub``), walks rounded, and
    its units that match the search (:func:`~geoplan.premises.conditions.matching_units_sql`)."""
    fields = PREMISES.by_role(*(API_ORDER if q.hub else RECORD_ROLES))
    distance = f", 'distance_m', {_distance('p')}" if q.sort == Sort.distance else ""
    return f"""json_build_object(
        'type', 'Feature', 'id', p.id,
        'geometry', ST_AsGeoJSON(ST_Transform(p.geom, {WGS84}), 7)::json,
        'properties', json_build_object({json_pairs(fields, "p", _SOURCES, rounded=True)},
                                        'units', {matching_units_sql(q)}{distance}))"""


def _distance(alias: str) -> str:
    """``distance_m`` of the row ``alias`` (rounded), for a search sorted by distance."""
    return f"round(({distance_sql(alias)})::numeric, {DISTANCE_DECIMALS})"


def _distance_column(q: PremisesQuery, alias: str) -> str:
    """``, <distance> AS distance_m`` in a select list of a search sorted by distance."""
    if q.sort != Sort.distance:
        return ""
    return f", {_distance(alias)}::float8 AS distance_m"


def _stored_feature_sql(units: str, distance: str | None = None) -> str:
    """:func:`_feature_sql` (without ``hub``) made from the listing's stored search head
    (``premises_search_heads`` ``x``, migration 0018: its OGC head, rendered when the listing
    was written, cut into the pieces before and after the walk), as text: the same bytes, at a
    fraction of the cost of building 24 properties per row.

    A search's record is in API order — key, attributes, derived (the walk, live from
    ``w``/``h``), provenance, kept: ``x.head`` holds the Feature up to the end of the
    attributes, key first, ``x.tail`` the provenance and kept properties.
    ``units``: the listing's units the search lists (the head does not hold them);
    ``distance``: its ``distance_m`` as text, in a search sorted by distance.
    """
    derived = " || ".join(
        f"""', "{c.name}" : ' || coalesce({_json_value(c)}, 'null')"""
        for c in PREMISES.by_role(DERIVED)
    )
    tail = "" if distance is None else f""" || ', "distance_m" : ' || {distance}"""
    return f"""x.head || {derived} || x.tail
        || ', "units" : ' || ({units})::text{tail} || '}}}}'"""


_DERIVED_SOURCES = {
    "nearest_hub_id": "w.hub_id",
    "nearest_hub_name": "h.name",
    "walk_m": "w.walk_m",
    "walk_min": "w.walk_min",
    "walk_method": "w.method",
}
"""The derived values straight from ``premises_walk w`` and ``hubs h`` (what the view
``premises_annotated`` names them)."""


def _json_value(c: ColumnSpec) -> str:
    """A derived value as JSON text, as ``json_build_object`` writes it: strings through
    ``to_json`` (escaping), numbers as they print (walks rounded to their ``decimals``) — valid
    JSON because ``premises_walk``'s CHECK keeps them finite (migration 0004)."""
    expr = _DERIVED_SOURCES[c.name]
    if c.kind == "text":
        return f"to_json({expr})::text"
    if c.decimals is not None:
        return f"round(({expr})::numeric, {c.decimals})::text"
    return f"({expr})::text"


COUNT_CAP = 10_000
"""``numberMatched`` is exact up to this many matches; beyond, the planner's estimate, flagged
(:attr:`FeaturePage.number_matched_exact`). Counting stops at ``COUNT_CAP + 1``, so a search
matching most of 10⁶ listings costs what one matching ten thousand does."""

_SEARCH_ORDER = {
    Sort.walk: "s.walk_min ASC NULLS LAST",
    Sort.area: "s.floor_area_m2 DESC",
    Sort.rent: "s.rent_nok_m2_year ASC NULLS LAST",
    Sort.updated: "s.updated_at DESC",
    Sort.distance: f"{distance_sql('s')} ASC",
}
""":data:`~geoplan.premises.query.SORTS` on ``premises_search`` (each has an index there)."""


@dataclass
class FeaturePage:
    """One page of search results as GeoJSON text, built in SQL for speed (API, CLI)."""

    features_json: str  # a JSON array of GeoJSON Features in WGS84
    number_matched: int
    number_returned: int
    number_matched_exact: bool = True
    """False when more than :data:`COUNT_CAP` match: ``number_matched`` is then an estimate."""
    more: bool = False
    """Whether matches follow this page (its ``next`` link)."""


def _count_sql(source: str, parts: list[str]) -> str:
    """How many rows of ``source`` meet one of the disjoint conditions ``parts``, each counted
    up to :data:`COUNT_CAP` + 1 (a sum over :data:`COUNT_CAP` means "more than that")."""
    return " + ".join(
        f"(SELECT count(*) FROM (SELECT FROM {source} WHERE {part} LIMIT {COUNT_CAP + 1}) c)"
        for part in parts
    )


COUNT_LAYERS: tuple[str, ...] = ("premises", *LOOKUP_LAYERS)
"""The layers (``data_versions`` names) whose writes may change a search's count: the
listings, and the reference layers a search names (``area``, ``kommune``)."""

_VERSIONS = (
    "(SELECT array_agg(version ORDER BY layer) FROM data_versions WHERE layer IN ("
    + ", ".join(f"'{layer}'" for layer in COUNT_LAYERS)
    + "))"
)
"""The versions of :data:`COUNT_LAYERS` as a statement sees them (in its own snapshot)."""


_NOTHING_KEPT = {"kept_count": None, "kept_versions": None}
"""The parameters of :func:`_reusing` when no count is kept: the statement counts."""


def _reusing(count: str) -> str:
    """``count``, unless the versions of :data:`COUNT_LAYERS` this statement sees are
    ``%(kept_versions)s``: then ``%(kept_count)s``, which a statement counted seeing them.

    Every write to a layer bumps its version in the writing transaction (migration 0015), so
    equal versions mean the same data: the kept count is exact, with no wait for a
    notification and on a replica as on the primary. The count's own subqueries are
    evaluated only when the CASE needs them (PostgreSQL runs an InitPlan on first use)."""
    return (
        f"CASE WHEN {_VERSIONS} = %(kept_versions)s::bigint[] THEN %(kept_count)s::bigint "
        f"ELSE {count} END"
    )


_KEPT_COUNT = "(SELECT count(*) FROM m)"
"""The count of a search whose matches are read once (:func:`_fast_sql` with ``once``)."""


def _fast_sql(
    q: PremisesQuery,
    source: str,
    cond: str,
    order: str,
    count: str,
    *,
    live: bool = False,
    once: bool = False,
    reusable: bool = False,
) -> str:
    """The fast path's one statement (see :func:`search_features`): ``source``, ``cond`` and
    ``order`` are the search's, ``count`` its capped count (:func:`_count_sql`); the page's
    features from the stored heads (with the units the search lists), and how many of the
    page's listings have none (``missing``). With ``live``, such a listing's Feature is built
    live instead: the statement the (rare) page with one is answered by — planning the live
    build costs every search ≈ a quarter of its planning time, though it is never run.

    ``once``: the matches are read once (:func:`_scanned_once`), kept (up to
    :data:`COUNT_CAP` + 1 of them, the CTE ``m``) and both counted (``count`` is then
    :data:`_KEPT_COUNT`) and sorted from there; only when more match is the page read again,
    in the search's own order.

    ``reusable``: the statement also returns the versions of :data:`COUNT_LAYERS` it reads
    (``versions``), and counts only when they differ from ``%(kept_versions)s``: then the
    data is that of the statement that counted ``%(kept_count)s``, which it returns instead
    (:func:`_reusing`)."""
    distance, stored = "", None
    if q.sort == Sort.distance:  # computed once per row of the page, in k
        distance, stored = f", {_distance('s')} AS distance_m", "k.distance_m::text"
    # a listing without units (most) lists none: no per-row subquery for it
    units = f"CASE WHEN k.unit_count = 0 THEN '[]'::jsonb ELSE {matching_units_sql(q, 'k')} END"
    feature = _stored_feature_sql(units, stored)
    if live:
        feature = f"""coalesce({feature},
                         (SELECT ({_feature_sql(q)})::text
                          FROM premises_annotated p LEFT JOIN hubs h ON h.id = p.nearest_hub_id
                          WHERE p.seq = k.seq))"""
    keys = f"SELECT s.seq, s.id, s.unit_count, row_number() OVER (ORDER BY {order}) AS n{distance}"
    page = f"ORDER BY {order} LIMIT %(limit)s + 1 OFFSET %(offset)s"
    matches, k = "", f"{keys} FROM {source} WHERE {cond} {page}"
    if once:
        capped = f"LIMIT {COUNT_CAP + 1}"
        matches = f"m AS MATERIALIZED (SELECT s.* FROM {source} WHERE {cond} {capped}),"
        # one of the two is read: a one-time filter decides before either scans
        k = f"""({keys} FROM m s WHERE {_KEPT_COUNT} <= {COUNT_CAP} {page})
        UNION ALL
        ({keys} FROM {source} WHERE {cond} AND {_KEPT_COUNT} > {COUNT_CAP} {page})"""
    return f"""
    WITH {matches} k AS MATERIALIZED ({k})
    SELECT {_reusing(count) if reusable else count}, (SELECT count(*) FROM k), f.features,
           f.missing, {_VERSIONS if reusable else "NULL::bigint[]"}
    FROM (SELECT '[' || coalesce(string_agg({feature}, ', ' ORDER BY k.n), '') || ']'
                 AS features,
                 count(*) - count(x.seq) AS missing
          FROM k LEFT JOIN premises_search_heads x ON x.seq = k.seq
          LEFT JOIN premises_walk w ON w.premises_seq = k.seq
          LEFT JOIN hubs h ON h.id = w.hub_id
          WHERE k.n <= %(offset)s + %(limit)s) f"""


def _counted_sql(q: PremisesQuery, where: _Where, walking: WalkSettings) -> str | None:
    """The exact count of a search whose every condition is on status, use or municipality —
    the search page as it opens, one use, a municipality's warehouses: the broadest, which
    :func:`_count_sql` would stop counting at :data:`COUNT_CAP` — summed from
    ``premises_search_counts`` (migration 0019) with the search's own conditions; None for
    any other search.

    Such a search is told by its conditions: they are those of the same search with every
    other filter left out."""
    if where.rest:
        return None
    plain = PremisesQuery(uses=q.uses, kommune=q.kommune, include_withdrawn=q.include_withdrawn)
    if where.search != _filters(plain, walking).search:
        return None
    cond = " AND ".join(where.search)
    return f"(SELECT coalesce(sum(s.n), 0)::bigint FROM premises_search_counts s WHERE {cond})"


def _scanned_once(q: PremisesQuery) -> bool:
    """Whether a search's matches are best read once, then counted and sorted (see
    :func:`_fast_sql`): a search by place (``area``, ``within``, ``near``). Its matches come
    off the GiST index of position in no useful order, so the page reads all of them to sort
    anyway, and the count read them a second time (``area=sentrum`` at 10⁵ premises: ≈ 1 700
    matches, each scan about half of the statement's time)."""
    return bool(q.area or q.within or q.near)


@dataclass(frozen=True)
class _FastSearch:
    """A search as one statement over ``premises_search`` (see :func:`search_features`), and
    how its answer becomes a page; shared by the sync and the asyncio callers."""

    q: PremisesQuery
    source: str
    cond: str
    order: str
    count: str
    """The statement's count (:func:`_count_sql`, :func:`_counted_sql` or :data:`_KEPT_COUNT`)."""
    once: bool
    estimate_sql: str
    """``EXPLAIN`` of the matches: the planner's estimate, asked only past :data:`COUNT_CAP`."""
    params: dict[str, Any]
    counted: bool = False
    """Whether the count comes from ``premises_search_counts`` (exact however many match)."""
    count_key: Hashable | None = None
    """What the count depends on besides the data — its SQL and the search's parameters, the
    page's excepted — as a key to keep it under (:data:`~geoplan.store.steps.Known`);
    None for a count made from the page's own matches (:func:`_scanned_once`), which costs
    nothing more."""

    def sql(self, *, live: bool = False, reusable: bool = False) -> str:
        """The statement; ``live``: building the Feature of a listing without a stored head
        (asked only then: a rare page, and the statement is long to plan); ``reusable``:
        answering a kept count while its versions hold (:func:`_reusing`; only for a search
        with a :attr:`count_key`)."""
        return _fast_sql(
            self.q,
            self.source,
            self.cond,
            self.order,
            self.count,
            live=live,
            once=self.once,
            reusable=reusable and self.count_key is not None,
        )

    def page(self, row: tuple[Any, ...], matched: int, exact: bool) -> FeaturePage:
        """The page of the statement's ``row``, with ``matched`` (an estimate if not
        ``exact``: then at least past the cap and past this page)."""
        keys, features = row[1], row[2]
        returned, more = min(keys, self.q.limit), keys > self.q.limit
        if exact:
            return FeaturePage(features, matched, returned, more=more)
        estimate = max(matched, COUNT_CAP + 1, self.q.offset + keys)
        return FeaturePage(features, estimate, returned, number_matched_exact=False, more=more)


def _fast_search(q: PremisesQuery, walking: WalkSettings) -> _FastSearch | None:
    """The statement of a (validated) search over ``premises_search``; None for a search that
    reads the listings (``hub``: its walks are computed for the search)."""
    if q.hub or q.sort not in _SEARCH_ORDER:
        return None
    where = _filters(q, walking)
    source = "premises_search s"
    if where.rest:  # a condition premises_search cannot answer: on the listing, joined
        source += " JOIN premises_annotated p ON p.seq = s.seq"
    conditions = where.search + where.rest
    cond = " AND ".join(conditions)
    order = f"{_SEARCH_ORDER[q.sort]}, s.id"
    # a unit filter's two halves (single spaces; listings with units) are counted apart: each
    # is a range of one index, their disjunction of none (migration 0016)
    halves = unit_alternatives(q, "s")
    parts = [cond]
    if halves and either(halves) in conditions:
        common = [c for c in conditions if c != either(halves)]
        parts = [" AND ".join([*common, half]) for half in halves]
    counted = _counted_sql(q, where, walking)
    once = counted is None and _scanned_once(q)
    count = counted or (_KEPT_COUNT if once else _count_sql(source, parts))
    return _FastSearch(
        q,
        source,
        cond,
        order,
        count,
        once,
        f"EXPLAIN (FORMAT JSON) SELECT FROM {source} WHERE {cond}",
        where.params | {"limit": q.limit, "offset": q.offset} | _NOTHING_KEPT,
        counted is not None,
        None if once else statement_key((count, where.params)),
    )


def _answering(fast: _FastSearch, counts: Known | None) -> Steps[FeaturePage]:
    """A search's page as a check (:mod:`geoplan.store.steps`: it yields its statements
    and is sent their rows), so the sync and asyncio callers run the same steps.

    ``counts``: counts made by earlier searches, each with the versions of
    :data:`COUNT_LAYERS` it was made at (and where this one's is kept). The statement counts
    only when the versions it sees differ (:func:`_reusing`): the next page of a search, the
    same search in another order or asked again, is answered without counting while nothing
    it counts was written — an exact count, whoever wrote."""
    key = fast.count_key if counts is not None else None
    kept = counts.get(key) if key is not None else None
    ((kept_count, kept_exact, kept_versions),) = kept or [(None, None, None)]
    params = fast.params | {"kept_count": kept_count, "kept_versions": kept_versions}
    reusable = key is not None
    (row,) = yield fast.sql(reusable=reusable), params
    if row[3]:  # a listing of the page without a stored head
        (row,) = yield fast.sql(live=True, reusable=reusable), params
    versions = row[4]
    if kept is not None and versions == kept_versions:  # the statement answered kept_count
        return fast.page(row, row[0], kept_exact)
    matched, exact = row[0], fast.counted or row[0] <= COUNT_CAP
    if not exact:  # past the cap: the planner's estimate
        ((plan,),) = yield fast.estimate_sql, fast.params
        matched = int(plan[0]["Plan"]["Plan Rows"])
    if key is not None and versions is not None:
        counts.put(key, [(matched, exact, versions)])
    return fast.page(row, matched, exact)


def search_features(
    conn: psycopg.Connection, q: PremisesQuery, *, walk: WalkSettings | None = None
) -> FeaturePage:
    """Like :func:`search`, but the page comes back as a GeoJSON features array (WGS84).

    One statement over ``premises_search`` (migration ``premises_search``): the matches are
    counted in one index-only scan, stopping at :data:`COUNT_CAP` + 1, and the page's keys come
    off the index of the requested order (``LIMIT`` stops early, one row past the page tells
    whether another follows); only the page's listings are read, and their Features are their
    stored heads with the walk spliced in (:func:`_stored_feature_sql`). A search naming
    ``hub`` computes its walks first and reads the listings (:func:`_compile`).
    """
    validate_query(conn, q)
    walking = default_walk(walk)
    fast = _fast_search(q, walking)
    if fast is None:
        return _listing_features(conn, q, walking)
    return run(conn, _answering(fast, None))


def answered_async(q: PremisesQuery) -> bool:
    """Whether :func:`search_features_async` can answer ``q``: every search but one naming
    ``hub``, whose walks are computed for it on a synchronous connection (its checks, lookups
    included, run on either: :func:`~geoplan.premises.query.check_query_async`)."""
    return not q.hub


async def search_features_async(
    conn: psycopg.AsyncConnection,
    q: PremisesQuery,
    *,
    walk: WalkSettings | None = None,
    counts: Known | None = None,
) -> FeaturePage:
    """:func:`search_features` on an asyncio connection (the API's read pool), for a query
    already checked (:func:`~geoplan.premises.query.check_query_async`) that
    :func:`answered_async` allows.

    ``counts``: counts of earlier searches, reused while nothing they count was written
    (:func:`_answering`); the API keeps them per worker."""
    fast = _fast_search(q, default_walk(walk)) if answered_async(q) else None
    if fast is None:
        raise ValueError("search_features_async: a checked query without hub")
    return await run_async(conn, _answering(fast, counts))


def _listing_features(
    conn: psycopg.Connection, q: PremisesQuery, walking: WalkSettings
) -> FeaturePage:
    """:func:`search_features` over the listings, counted exactly (a search naming ``hub``)."""
    source, order, params = _compile(conn, q, walking)
    total = conn.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    row = conn.execute(
        f"""SELECT coalesce(json_agg(f ORDER BY n), '[]'::json)::text, count(*)
            FROM (SELECT {_feature_sql(q)} AS f, row_number() OVER (ORDER BY {order}) n
                  FROM {source} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) page""",
        params | {"limit": q.limit, "offset": q.offset},
    ).fetchone()
    return FeaturePage(row[0], total, row[1], more=q.offset + row[1] < total)
