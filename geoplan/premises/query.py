"""What a premises seeker asks for: the search filters, declared once, and the checks that name
the filter that is off.

:class:`PremisesQuery` is the one model of a premises search (as digital-land.info's search
filters are one model used by every route): each of its fields is a filter, declared once — its
type and default as the field's, and in the field's metadata (:func:`search_filter`) the name
users type, its bounds, help text, CLI option and its label on the map's filter form.
:data:`SEARCH_FILTERS` reads the declarations back, and every way in is generated from it:
``GET /premises`` and ``/maps/premises`` (:mod:`api.search_filters`), the options of
``geoplan premises search`` and ``geoplan map premises`` (:mod:`geoplan.cli.search_filters`),
the map's filter form and its page links (:mod:`maps.page`). :func:`query_from_params` parses
them alike for all, :func:`check_query` checks them and names the filter as users typed it.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from enum import StrEnum
from typing import Any

import geopandas as gpd
import psycopg

from geoplan.errors import ValidationError
from geoplan.layers.spec import (
    MAX_CEILING_HEIGHT_M,
    MAX_FLOOR,
    MAX_PARKING_SPACES,
    MAX_WORKPLACES,
    MAX_YEAR,
    MIN_FLOOR,
    MIN_YEAR,
    PREMISES,
    number_text,
)
from geoplan.premises import place
from geoplan.proximity.checks import MAX_MINUTES
from geoplan.store.steps import Known, Steps, run, run_async
from geoplan.vocab import ENERGY_LABELS, KOMMUNENUMMER_PATTERN, USE_CATEGORIES

MAX_LIMIT = 10_000
"""Largest page for callers in geoplan (the maps fetch everything in pages of this size)."""
API_MAX_LIMIT = 1000
"""Largest page a client may ask for over HTTP or the CLI."""
MAX_OFFSET = 2**31 - 1
MAX_TEXT = 2000
"""Longest accepted free text (address, contact, description, URLs...)."""
MAX_ID = 200
"""Longest accepted id (an area's slug, a hub's id)."""
_FLOOR_AREA = PREMISES.column("floor_area_m2")
_RENT = PREMISES.column("rent_nok_m2_year")


class Sort(StrEnum):
    """The ``sort`` values: the one spelling of each (HTTP, CLI, SQL order below)."""

    walk = "walk"
    area = "area"
    rent = "rent"
    updated = "updated"
    distance = "distance"


SORTS: dict[Sort, str] = {
    Sort.walk: "walk_min ASC NULLS LAST",
    Sort.area: "p.floor_area_m2 DESC",
    Sort.rent: "p.rent_nok_m2_year ASC NULLS LAST",
    Sort.updated: "p.updated_at DESC",
    Sort.distance: f"{place.distance_sql('p')} ASC",
}
"""Each ``sort`` value's SQL order (``walk`` means to ``hub`` when one is named; ``distance``
from ``near``, which it needs)."""
_SORT_NOTES: dict[Sort, str] = {
    Sort.walk: "shortest first",
    Sort.area: "largest",
    Sort.rent: "cheapest",
    Sort.distance: "nearest to `near` first; only with `near`; each feature then carries "
    "`distance_m`",
}


@dataclass(frozen=True)
class FormField:
    """How the map's filter form (Norwegian bokmål) shows a filter."""

    label: str
    id: str
    """The control's element id (the page's style and the browser tests find it by id)."""
    step: float | None = None
    """The step of a number input."""


@dataclass(frozen=True)
class SearchFilter:
    """One search filter as users meet it: ``?name=`` over HTTP and on the map's form, an
    option in the CLI. Read from :class:`PremisesQuery`'s fields (see :data:`SEARCH_FILTERS`).
    """

    name: str
    """As users type it: the query parameter and the form field (``use``, ``min_area_m2``...)."""
    attr: str
    """The :class:`PremisesQuery` field it sets (``uses`` for ``use``; else ``name``)."""
    kind: type
    """The type of one value: ``float``, ``int``, ``str``, ``date``, ``bool`` or :class:`Sort`."""
    many: bool
    """It may be repeated (or comma-separated): a list of ``kind``."""
    default: Any
    help: str
    """What it does, in English (OpenAPI description, CLI help)."""
    cli: tuple[str, ...]
    """Its CLI option names (``--min-area``)."""
    minimum: float | None = None
    maximum: float | None = None
    """Bounds of a number: any number beyond is a mistake (and ``1e308`` would overflow the
    search's arithmetic). Filters on a layer's column take its bounds (the layer description)."""
    max_length: int | None = None
    enum: tuple[str, ...] | None = None
    """The values ``GET /premises`` lists in its OpenAPI schema (and checks before geoplan)."""
    form: FormField | None = None
    """How the map's filter form shows it; ``None``: not on the form."""


def search_filter(
    default: Any = None,
    *,
    help: str,
    cli: str | tuple[str, ...],
    name: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    max_length: int | None = None,
    enum: tuple[str, ...] | None = None,
    form: FormField | None = None,
) -> Any:
    """A :class:`PremisesQuery` field that is a search filter (see :class:`SearchFilter`);
    ``name`` defaults to the field's name."""
    return field(
        default=default,
        metadata={
            "filter": {
                "name": name,
                "help": help,
                "cli": (cli,) if isinstance(cli, str) else cli,
                "minimum": minimum,
                "maximum": maximum,
                "max_length": max_length,
                "enum": enum,
                "form": form,
            }
        },
    )


@dataclass
class PremisesQuery:
    """What a company looking for premises asks for; every filter is optional.

    ``max_walk_min`` limits the walking time to the nearest existing hub (kept on each row by
    :mod:`geoplan.proximity`), or to ``hub`` when one is named — e.g. a planned T-bane stop.
    Values are as given until :func:`validate_query` / :func:`check_query` has checked them
    (``sort`` may be any text until then).
    """

    uses: list[str] | None = search_filter(
        name="use",
        help="Use category; repeat or comma-separate to match any of several",
        cli="--use",
        form=FormField("Bruk", "gp-use"),
    )
    min_area_m2: float | None = search_filter(
        help="Minimum floor area, m² (of one vacant unit, for a listing with units)",
        cli="--min-area",
        minimum=0,
        maximum=_FLOOR_AREA.max_value,
        form=FormField("Areal fra (m²)", "gp-min", step=10),
    )
    max_area_m2: float | None = search_filter(
        help="Maximum floor area, m² (of one vacant unit, for a listing with units)",
        cli="--max-area",
        minimum=0,
        maximum=_FLOOR_AREA.max_value,
        form=FormField("Areal til (m²)", "gp-max", step=10),
    )
    max_rent_nok_m2: float | None = search_filter(
        help="Maximum rent, NOK per m² and year (of one vacant unit, for a listing with units)",
        cli="--max-rent",
        minimum=0,
        maximum=_RENT.max_value,
        form=FormField("Maks leie (kr/m²/år)", "gp-rent", step=50),
    )
    kommune: list[str] | None = search_filter(
        help="Municipality number (kommunenummer, e.g. 3222); repeat or comma-separate to "
        "match any of several",
        cli="--kommune",
        form=FormField("Kommune", "gp-kommune"),
    )
    area: str | None = search_filter(
        help="Focus-area id (slug), e.g. `visperud`: any area in the areas layer",
        cli="--area",
        max_length=MAX_ID,
        form=FormField("Fokusområde", "gp-area"),
    )
    within: str | None = search_filter(
        help="Only premises inside this polygon: a GeoJSON Polygon/MultiPolygon (or Feature) or "
        f"WKT, x/y in `within_crs`; at most {place.MAX_WITHIN_VERTICES} vertices and "
        f"{place.MAX_WITHIN_AREA_KM2:g} km², valid (no self-intersection), near the region",
        cli="--within",
        max_length=place.MAX_WITHIN_URL_CHARS,
    )
    within_crs: str | None = search_filter(
        help="CRS of `within` (EPSG:25833, 25832, an OGC URI...; default WGS84 lon/lat)",
        cli="--within-crs",
        max_length=MAX_ID,
    )
    near: str | None = search_filter(
        help="Only premises within `radius_m` of this point: lon,lat in WGS84 degrees",
        cli="--near",
        max_length=100,
    )
    radius_m: float | None = search_filter(
        help=f"Radius around `near`, metres on the ground (default {place.DEFAULT_RADIUS_M:g})",
        cli="--radius",
        minimum=place.MIN_RADIUS_M,
        maximum=place.MAX_RADIUS_M,
    )
    available_by: date | None = search_filter(
        help="Available on or before this date (YYYY-MM-DD); for a listing with units, one "
        "vacant unit that also meets the area and rent filters",
        cli="--available-by",
    )
    max_walk_min: float | None = search_filter(
        help="Maximum walking time (minutes) to the nearest hub, or to `hub`",
        cli=("--max-walk-min", "--max-walk"),
        minimum=0,
        maximum=MAX_MINUTES,
        form=FormField("Gange til knutepunkt", "gp-walk"),
    )
    hub: str | None = search_filter(
        help="Hub id: walking time to this hub, not the nearest", cli="--hub", max_length=MAX_ID
    )
    # The fields premises seekers filter on (issue 13): see geoplan.premises.conditions.
    floor: int | None = search_filter(
        help="On this floor (1 = ground floor, 0 and below basement): the listing's, or that of "
        "one vacant unit meeting the area, rent and availability filters",
        cli="--floor",
        minimum=MIN_FLOOR,
        maximum=MAX_FLOOR,
    )
    min_workplaces: int | None = search_filter(
        help="At least this many office workplaces",
        cli="--min-workplaces",
        minimum=0,
        maximum=MAX_WORKPLACES,
        form=FormField("Arbeidsplasser, minst", "gp-workplaces", step=1),
    )
    min_parking: int | None = search_filter(
        help="At least this many parking spaces",
        cli="--min-parking",
        minimum=0,
        maximum=MAX_PARKING_SPACES,
        form=FormField("Parkeringsplasser, minst", "gp-parking", step=1),
    )
    max_energy_label: str | None = search_filter(
        help="Energy label this good or better (A best … G); listings without one are left out",
        cli="--max-energy-label",
        enum=ENERGY_LABELS,
        form=FormField("Energikarakter", "gp-energy"),
    )
    built_after: int | None = search_filter(
        help="Built or last renovated in this year or later",
        cli="--built-after",
        minimum=MIN_YEAR,
        maximum=MAX_YEAR,
        form=FormField("Bygget/rehabilitert fra år", "gp-built", step=1),
    )
    min_ceiling_height_m: float | None = search_filter(
        help="Minimum free ceiling height, metres (warehouses, production)",
        cli="--min-ceiling-height",
        minimum=0,
        maximum=MAX_CEILING_HEIGHT_M,
    )
    loading_dock: bool = search_filter(
        False, help="Only premises with a loading dock", cli="--loading-dock"
    )
    broker_org: str | None = search_filter(
        help="Broker or landlord whose name contains this text (any case)",
        cli="--broker",
        max_length=MAX_ID,
    )
    sort: Sort = search_filter(
        Sort.walk,
        help=", ".join(f"{s} ({_SORT_NOTES[s]})" if s in _SORT_NOTES else s for s in Sort),
        cli="--sort",
        form=FormField("Sortering", "gp-sort"),
    )
    limit: int = search_filter(
        100,
        help=f"Results per page (1–{API_MAX_LIMIT})",
        cli="--limit",
        minimum=1,
        maximum=API_MAX_LIMIT,
    )
    offset: int = search_filter(
        0, help="Results to skip (paging)", cli="--offset", minimum=0, maximum=MAX_OFFSET
    )
    include_withdrawn: bool = search_filter(
        False, help="Also list withdrawn premises", cli="--include-withdrawn"
    )


def _value_type(hint: Any) -> tuple[type, bool]:
    """``(kind, many)`` of a field's annotation: ``float | None`` → float; ``list[str]`` → str."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = args
        args = list(typing.get_args(hint))
    if typing.get_origin(hint) is list:
        return args[0], True
    return hint, False


def _declared_filters() -> tuple[SearchFilter, ...]:
    hints = typing.get_type_hints(PremisesQuery)
    declared = []
    for f in fields(PremisesQuery):
        meta = dict(f.metadata["filter"])
        kind, many = _value_type(hints[f.name])
        name = meta.pop("name") or f.name
        declared.append(
            SearchFilter(name=name, attr=f.name, kind=kind, many=many, default=f.default, **meta)
        )
    return tuple(declared)


SEARCH_FILTERS: tuple[SearchFilter, ...] = _declared_filters()
"""Every search filter, in :class:`PremisesQuery`'s order: what each route and command takes."""
_BY_FIELD: dict[str, SearchFilter] = {f.attr: f for f in SEARCH_FILTERS}


@dataclass
class SearchResult:
    features: gpd.GeoDataFrame  # one row per premises, with nearest hub + walk time (its crs)
    number_matched: int
    query: PremisesQuery = field(default_factory=PremisesQuery)
    number_matched_exact: bool = True
    """False when ``number_matched`` is an estimate (past :data:`~geoplan.premises.search.
    COUNT_CAP` matches, :attr:`~geoplan.premises.search.FeaturePage.number_matched_exact`)."""


_KOMMUNE = re.compile(KOMMUNENUMMER_PATTERN)
_KNOWN_KOMMUNER = """
    SELECT array(SELECT kommunenummer FROM municipalities WHERE kommunenummer = ANY(%s)),
           EXISTS (SELECT 1 FROM municipalities)"""
"""Which of the numbers are municipalities, and whether the national register is loaded."""


def _problems(q: PremisesQuery) -> Steps[list[tuple[str, str]]]:
    """``(field, message)`` for every bad value in ``q``, fields named as in :class:`PremisesQuery`.

    Bounds are the declared ones, except that pages may be up to :data:`MAX_LIMIT` long for
    geoplan's own callers (:func:`check_query` holds users to the declared maximum). A check
    that reads the database (``kommune``, ``area``, ``hub``, the place filters) through
    :mod:`geoplan.store.steps`, so it runs on either kind of connection.
    """
    problems = _number_problems(q, SEARCH_FILTERS)

    def bad(name: str, message: str) -> None:
        problems.append((name, message))

    if (
        not problems
        and q.min_area_m2 is not None
        and q.max_area_m2 is not None
        and q.min_area_m2 > q.max_area_m2
    ):
        bad("max_area_m2", "must be ≥ min_area_m2")
    if q.uses:
        unknown = [u for u in q.uses if u not in USE_CATEGORIES]
        if unknown:
            bad("uses", f"unknown use {unknown[0]!r}; known uses: {', '.join(USE_CATEGORIES)}")
    if q.kommune:
        malformed = [k for k in q.kommune if not isinstance(k, str) or not _KOMMUNE.fullmatch(k)]
        if malformed:
            bad(
                "kommune",
                f"{str(malformed[0])[:40]!r} is not a kommunenummer (four digits, e.g. 3222)",
            )
        else:
            rows = yield _KNOWN_KOMMUNER, (list(q.kommune),)
            known, national = set(rows[0][0]), rows[0][1]
            unknown = [k for k in q.kommune if k not in known]
            # without the national register (never loaded) only the form can be checked
            if unknown and national:
                bad("kommune", f"unknown kommunenummer {unknown[0]!r}")
    if q.available_by is not None and not isinstance(q.available_by, date):
        bad("available_by", "must be a date (YYYY-MM-DD)")
    if q.sort not in SORTS:
        bad("sort", f"must be one of {', '.join(SORTS)}, not {q.sort!r}")
    elif q.sort == Sort.distance and q.near is None:
        bad("sort", "distance is the distance from near: give near=lon,lat too")
    for f in SEARCH_FILTERS:
        if f.kind is not int:
            continue
        value = getattr(q, f.attr)
        if value is None and f.default is None:
            continue
        low, high = f.minimum, MAX_LIMIT if f.attr == "limit" else f.maximum
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bad(f.attr, f"must be an integer from {low:g} to {high}")
    for name in ("area", "hub"):
        value = getattr(q, name)
        if value is None:
            continue
        problem = text_problem(value, MAX_ID)
        if problem:
            bad(name, problem)
            continue
        table, what = ("areas", "focus area") if name == "area" else ("hubs", "hub")
        if not (yield f"SELECT 1 FROM {table} WHERE id = %s", (value,)):
            known = [r[0] for r in (yield f"SELECT id FROM {table} ORDER BY id", ())]
            hint = f"; known: {', '.join(known)}" if known and len(known) <= 30 else ""
            bad(name, f"unknown {what} {value!r}{hint}")
    problems += yield from place.place_problems(q.within, q.within_crs, q.near, q.radius_m)
    problems.extend(_field_problems(q))
    return problems


def _number_problems(q: PremisesQuery, filters: Iterable[SearchFilter]) -> list[tuple[str, str]]:
    """The number filters among ``filters`` that are no finite number within their bounds."""
    problems: list[tuple[str, str]] = []
    for f in filters:
        if f.kind is not float:
            continue
        value = getattr(q, f.attr)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append((f.attr, "must be a number"))
        elif not math.isfinite(value):
            problems.append((f.attr, "must be a finite number"))
        elif f.minimum is not None and value < f.minimum:
            problems.append((f.attr, f"must be ≥ {f.minimum:g}"))
        elif f.maximum is not None and value > f.maximum:
            problems.append((f.attr, f"must be ≤ {number_text(f.maximum)}"))
    return problems


PLACE_FILTERS: tuple[SearchFilter, ...] = tuple(
    f for f in SEARCH_FILTERS if f.attr in ("within", "within_crs", "near", "radius_m")
)
"""The filters saying where to look (:mod:`geoplan.premises.place`): the ones the premises
vector tiles take besides their own (``api/routers/tiles.py``)."""


async def check_place_async(
    conn: psycopg.AsyncConnection, q: PremisesQuery, known: Known | None = None
) -> PremisesQuery:
    """:func:`check_query`'s checks of the place filters of ``q`` (:data:`PLACE_FILTERS`; the
    others are not looked at), on an asyncio connection; errors named as users type them.
    ``known``: lookups answered before (:class:`~geoplan.store.steps.Known`)."""
    problems = _number_problems(q, PLACE_FILTERS)
    problems += await run_async(
        conn, place.place_problems(q.within, q.within_crs, q.near, q.radius_m), known
    )
    _raise_if_any([{"field": _BY_FIELD[attr].name, "message": m} for attr, m in problems])
    return q


def place_condition(q: PremisesQuery, alias: str = "t") -> tuple[str, list[Any]]:
    """The place filters of a checked ``q`` as one SQL condition on the row ``alias`` with
    positional parameters (:func:`geoplan.premises.place.place_condition`)."""
    return place.place_condition(q.within, q.within_crs, q.near, q.radius_m, alias)


def _field_problems(q: PremisesQuery) -> list[tuple[str, str]]:
    """The checks of the filters on the premises fields that the generic ones above leave."""
    problems = []
    if q.max_energy_label is not None and q.max_energy_label not in ENERGY_LABELS:
        problems.append(
            ("max_energy_label", f"must be one of {', '.join(ENERGY_LABELS)} (A is best)")
        )
    if q.broker_org is not None:
        problem = text_problem(q.broker_org, MAX_ID)
        if problem:
            problems.append(("broker_org", problem))
    return problems


def place_where(q: PremisesQuery, alias: str = "p") -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on the premises row ``alias`` for the place filters of a checked ``q``
    (``within``, ``near``/``radius_m``), and their parameters (named ``place_*``)."""
    return place.place_where(q.within, q.within_crs, q.near, q.radius_m, alias)


def _raise_if_any(errors: list[dict[str, Any]]) -> None:
    if errors:
        raise ValidationError(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            field=errors[0]["field"],
            errors=errors,
        )


def validate_query(conn: psycopg.Connection, q: PremisesQuery) -> None:
    """Raise :class:`ValidationError` naming every bad value in ``q`` (all at once) by its
    :class:`PremisesQuery` field (``uses``)."""
    _raise_if_any([{"field": name, "message": m} for name, m in run(conn, _problems(q))])


def check_query(
    conn: psycopg.Connection | None, q: PremisesQuery, *, max_limit: int = API_MAX_LIMIT
) -> PremisesQuery:
    """:func:`validate_query` for a query a user typed, with errors named as the user typed them.

    Each error names the filter's :attr:`SearchFilter.name` (``use``, as in ``?use=`` /
    ``--use``, not the field ``uses``). Pages are at most ``max_limit`` (the API's limit;
    geoplan's own callers may page further through :func:`search`). A search map for a misspelt
    area would silently show nothing; a planner deserves to be told, so the maps check through
    here too. ``conn`` may be None for a query that looks nothing up.
    """
    return _checked(q, run(conn, _problems(q)), max_limit)


async def check_query_async(
    conn: psycopg.AsyncConnection,
    q: PremisesQuery,
    *,
    max_limit: int = API_MAX_LIMIT,
    known: Known | None = None,
) -> PremisesQuery:
    """:func:`check_query` on an asyncio connection (the API's read pool): the same checks,
    their lookups awaited instead of run in a worker thread, and those ``known`` holds not
    asked again (:class:`~geoplan.store.steps.Known`)."""
    return _checked(q, await run_async(conn, _problems(q), known), max_limit)


def _checked(q: PremisesQuery, problems: list[tuple[str, str]], max_limit: int) -> PremisesQuery:
    errors = [{"field": _BY_FIELD[attr].name, "message": message} for attr, message in problems]
    if not any(e["field"] == "limit" for e in errors) and not 1 <= q.limit <= max_limit:
        errors.append({"field": "limit", "message": f"must be an integer from 1 to {max_limit}"})
    _raise_if_any(errors)
    return q


_TRUE = ("1", "true", "yes", "on", "t", "y")
_FALSE = ("0", "false", "no", "off", "f", "n")
"""The spellings of yes and no that a URL or a form may carry (those pydantic accepts)."""


def _from_text(f: SearchFilter, text: str) -> Any:
    """One value of ``f`` typed as text (a URL, an HTML form); raises naming ``f.name``."""
    try:
        if f.kind is float:
            return float(text.replace(",", "."))
        if f.kind is int:
            return int(text)
        if f.kind is date:
            return date.fromisoformat(text)
    except ValueError:
        what = {float: "a number", int: "a whole number", date: "a date (YYYY-MM-DD)"}[f.kind]
        raise ValidationError(f"{f.name} must be {what}, got {text[:40]!r}", field=f.name) from None
    if f.kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValidationError(f"{f.name} must be true or false, got {text[:40]!r}", field=f.name)
    return text


PARAMETER_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(n for f in SEARCH_FILTERS for n in ((f.name, f.attr) if f.many else (f.name,)))
)
"""Every parameter name :func:`query_from_params` reads (``use`` may also be spelt ``uses``)."""


def check_parameter_names(names: Iterable[str]) -> None:
    """Refuse parameters that are no search filter, naming each (and the filter it resembles).

    A misspelt filter (``?are=visperud``, ``?max_walk=10``) would otherwise be ignored and the
    search answer every listing, which looks like an answer to the question asked.
    """
    errors = []
    for name in dict.fromkeys(names):
        if name in PARAMETER_NAMES:
            continue
        close = difflib.get_close_matches(name, PARAMETER_NAMES, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        errors.append(
            {
                "field": name[:100],
                "message": f"is not a search filter ({hint}the filters are "
                f"{', '.join(f.name for f in SEARCH_FILTERS)})",
            }
        )
    _raise_if_any(errors)


def query_from_params(params: Mapping[str, Any]) -> PremisesQuery:
    """A :class:`PremisesQuery` from search parameters as a user gave them (names:
    :attr:`SearchFilter.name`).

    The one parser behind ``GET /premises``, ``/maps/premises``, ``geoplan premises search`` and
    ``geoplan map premises``. A value may already be typed (FastAPI, typer) or be text from a
    URL or an HTML form, and may be a list (a repeated parameter; the last one counts, except
    for a filter that may repeat). Empty text means "no filter" because a GET form sends every
    field. ``use`` may repeat or be comma-separated (``uses`` is accepted too). Values that do
    not parse raise one :class:`ValidationError` naming each parameter (in
    :data:`SEARCH_FILTERS` order). Range and existence checks are :func:`check_query`'s.
    """

    def values(name: str) -> list[Any]:
        raw = params.get(name)
        items = raw if isinstance(raw, list | tuple) else [raw]
        return [v.strip() if isinstance(v, str) else v for v in items if v is not None]

    def value(f: SearchFilter) -> Any:
        if f.many:
            names = dict.fromkeys((f.name, f.attr))
            given = [u.strip() for n in names for v in values(n) for u in str(v).split(",")]
            return [u for u in given if u] or f.default
        given = [v for v in values(f.name) if v != ""]
        if not given:
            return f.default
        one = given[-1]
        one = _from_text(f, one) if isinstance(one, str) else one
        return bool(one) if f.kind is bool else one

    parsed: dict[str, Any] = {}
    errors: list[ValidationError] = []
    for f in SEARCH_FILTERS:
        try:
            parsed[f.attr] = value(f)
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationError(
            "; ".join(str(e) for e in errors),
            field=errors[0].field,
            errors=[e for exc in errors for e in exc.errors],
        )
    return PremisesQuery(**parsed)


def query_params(q: PremisesQuery, **override: Any) -> list[tuple[str, str]]:
    """``q`` (with ``override``, by field) as the search parameters a user would type, e.g.
    for a link to its next page: the inverse of :func:`query_from_params`. Unset filters
    (``None``, empty, false) are left out."""
    q = replace(q, **override) if override else q
    params: list[tuple[str, str]] = []
    for f in SEARCH_FILTERS:
        given = getattr(q, f.attr)
        for v in (given or []) if f.many else [given]:
            if v is None or v is False:
                continue
            if isinstance(v, float):
                text = number_text(v)  # exact: a link or a saved search keeps the very filter
            elif isinstance(v, date):
                text = v.isoformat()
            elif isinstance(v, bool):
                text = "true"
            else:
                text = str(v)
            params.append((f.name, text))
    return params


def text_problem(value: Any, max_len: int = MAX_TEXT) -> str | None:
    """Why ``value`` cannot be stored as PostgreSQL text (None when it can)."""
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > max_len:
        return f"must be at most {max_len} characters"
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None
