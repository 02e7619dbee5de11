"""What a premises seeker asks for: the search query, its parameters as users type them, and the
checks that name the parameter that is off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import psycopg

from geoplan.errors import ValidationError
from geoplan.vocab import USE_CATEGORIES

MAX_LIMIT = 10_000
"""Largest page for callers in geoplan (the maps fetch everything in pages of this size)."""
API_MAX_LIMIT = 1000
"""Largest page a client may ask for over HTTP or the CLI."""
MAX_OFFSET = 2**31 - 1
MAX_TEXT = 2000
"""Longest accepted free text (address, contact, description, URLs...)."""

SORTS: dict[str, str] = {
    "walk": "walk_min ASC NULLS LAST",
    "area": "p.floor_area_m2 DESC",
    "rent": "p.rent_nok_m2_year ASC NULLS LAST",
    "updated": "p.updated_at DESC",
}
"""``sort`` values and their SQL order (``walk`` means to ``hub`` when one is named)."""


@dataclass
class PremisesQuery:
    """What a company looking for premises asks for; every filter is optional.

    ``max_walk_min`` limits the walking time to the nearest existing hub (kept on each row by
    :mod:`geoplan.proximity`), or to ``hub`` when one is named — e.g. a planned T-bane stop.
    """

    uses: list[str] | None = None  # match any of these use categories
    min_area_m2: float | None = None
    max_area_m2: float | None = None
    max_rent_nok_m2: float | None = None
    area: str | None = None  # focus-area slug
    available_by: date | None = None
    max_walk_min: float | None = None
    hub: str | None = None  # walking time to this hub instead of the nearest
    sort: str = "walk"
    limit: int = 100
    offset: int = 0
    include_withdrawn: bool = False


@dataclass
class SearchResult:
    features: gpd.GeoDataFrame  # EPSG:25833, one row per premises, with nearest hub + walk time
    number_matched: int
    query: PremisesQuery = field(default_factory=PremisesQuery)


def validate_query(conn: psycopg.Connection, q: PremisesQuery) -> None:
    """Raise :class:`ValidationError` naming every bad value in ``q`` (all at once)."""
    errors: list[dict] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    for name in ("min_area_m2", "max_area_m2", "max_rent_nok_m2", "max_walk_min"):
        value = getattr(q, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            bad(name, "must be a number")
        elif not math.isfinite(value):
            bad(name, "must be a finite number")
        elif value < 0:
            bad(name, "must be ≥ 0")
    if (
        not errors
        and q.min_area_m2 is not None
        and q.max_area_m2 is not None
        and q.min_area_m2 > q.max_area_m2
    ):
        bad("max_area_m2", "must be ≥ min_area_m2")
    if q.uses:
        unknown = [u for u in q.uses if u not in USE_CATEGORIES]
        if unknown:
            bad("uses", f"unknown use {unknown[0]!r}; known uses: {', '.join(USE_CATEGORIES)}")
    if q.available_by is not None and not isinstance(q.available_by, date):
        bad("available_by", "must be a date (YYYY-MM-DD)")
    if q.sort not in SORTS:
        bad("sort", f"must be one of {', '.join(SORTS)}, not {q.sort!r}")
    if isinstance(q.limit, bool) or not isinstance(q.limit, int) or not 1 <= q.limit <= MAX_LIMIT:
        bad("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    if (
        isinstance(q.offset, bool)
        or not isinstance(q.offset, int)
        or not 0 <= q.offset <= MAX_OFFSET
    ):
        bad("offset", f"must be an integer from 0 to {MAX_OFFSET}")
    for name in ("area", "hub"):
        value = getattr(q, name)
        if value is None:
            continue
        problem = text_problem(value, 200)
        if problem:
            bad(name, problem)
            continue
        table, what = ("areas", "focus area") if name == "area" else ("hubs", "hub")
        if conn.execute(f"SELECT 1 FROM {table} WHERE id = %s", (value,)).fetchone() is None:
            known = [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
            hint = f"; known: {', '.join(known)}" if known and len(known) <= 30 else ""
            bad(name, f"unknown {what} {value!r}{hint}")
    if errors:
        raise ValidationError(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            field=errors[0]["field"],
            errors=errors,
        )


QUERY_PARAMS: tuple[str, ...] = (
    "use",
    "min_area_m2",
    "max_area_m2",
    "max_rent_nok_m2",
    "area",
    "available_by",
    "max_walk_min",
    "hub",
    "sort",
    "limit",
    "offset",
    "include_withdrawn",
)
"""The search parameters users type: ``GET /premises``, ``/maps/premises`` and (as ``--min-area``
etc.) the CLI. ``use`` is the parameter for :attr:`PremisesQuery.uses`."""


def query_from_params(params: Mapping[str, Any]) -> PremisesQuery:
    """A :class:`PremisesQuery` from search parameters as a user gave them (names: QUERY_PARAMS).

    The one parser behind ``GET /premises``, ``/maps/premises``, ``geoplan premises search`` and
    ``geoplan map premises``. A value may already be typed (FastAPI, typer) or be text from a
    URL or an HTML form, and may be a list (a repeated parameter; the last one counts, except
    ``use``). Empty text means "no filter" because a GET form sends every field. ``use`` may
    repeat or be comma-separated (``uses`` is accepted too). A value that does not parse raises
    :class:`ValidationError` naming the parameter; range and existence checks are
    :func:`check_query`'s.
    """

    def values(name: str) -> list[Any]:
        raw = params.get(name)
        items = raw if isinstance(raw, list | tuple) else [raw]
        return [v.strip() if isinstance(v, str) else v for v in items if v is not None]

    def one(name: str) -> Any:
        given = [v for v in values(name) if v != ""]
        return given[-1] if given else None

    def number(name: str, kind: type = float) -> Any:
        value = one(name)
        if not isinstance(value, str):
            return value
        try:
            return kind(value.replace(",", ".") if kind is float else value)
        except ValueError:
            what = "a number" if kind is float else "a whole number"
            raise ValidationError(f"{name} must be {what}, got {value!r}", field=name) from None

    uses = [u.strip() for name in ("use", "uses") for v in values(name) for u in str(v).split(",")]
    available_by = one("available_by")
    if isinstance(available_by, str):
        try:
            available_by = date.fromisoformat(available_by)
        except ValueError:
            raise ValidationError(
                f"available_by must be a date (YYYY-MM-DD), got {available_by!r}",
                field="available_by",
            ) from None
    withdrawn = one("include_withdrawn")
    if isinstance(withdrawn, str):
        withdrawn = withdrawn.lower() in ("1", "true", "yes", "on")
    limit, offset = number("limit", int), number("offset", int)
    return PremisesQuery(
        uses=[u for u in uses if u] or None,
        min_area_m2=number("min_area_m2"),
        max_area_m2=number("max_area_m2"),
        max_rent_nok_m2=number("max_rent_nok_m2"),
        area=one("area"),
        available_by=available_by,
        max_walk_min=number("max_walk_min"),
        hub=one("hub"),
        sort=one("sort") or "walk",
        limit=100 if limit is None else limit,
        offset=0 if offset is None else offset,
        include_withdrawn=bool(withdrawn),
    )


def check_query(
    conn: psycopg.Connection, q: PremisesQuery, *, max_limit: int = API_MAX_LIMIT
) -> PremisesQuery:
    """:func:`validate_query` for a query a user typed, with errors named by the parameter.

    Pages are at most ``max_limit`` (the API's limit; geoplan's own callers may page further
    through :func:`search`), and the ``uses`` field is reported as ``use``, the name the user
    typed (``?use=`` / ``--use``). A search map for a misspelt area would silently show nothing;
    a planner deserves to be told, so the maps check through here too.
    """
    errors: list[dict] = []
    message = ""
    try:
        validate_query(conn, q)
    except ValidationError as exc:
        errors = [e | {"field": "use"} if e["field"] == "uses" else e for e in exc.errors]
        message = str(exc).replace("uses: unknown", "use: unknown")
    if not any(e["field"] == "limit" for e in errors) and not 1 <= q.limit <= max_limit:
        errors.append({"field": "limit", "message": f"must be an integer from 1 to {max_limit}"})
        message = "; ".join(filter(None, (message, f"limit: {errors[-1]['message']}")))
    if errors:
        raise ValidationError(message, field=errors[0]["field"], errors=errors)
    return q


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
