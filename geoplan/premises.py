"""Vacant premises: search, and create / update / withdraw with a full history.

The register is kept current by the municipality and by brokers, so two promises hold here:

* **Nothing is lost.** Every change writes a ``premises_history`` row (who, when, the record
  before and after as JSON), bumps ``version`` (the API's ETag) and sets ``updated_at``;
  withdrawing only marks the row ``withdrawn``.
* **Nothing is stale.** Each write re-annotates the premises' nearest hub and walking time via
  :func:`geoplan.proximity.annotate_premises` inside the same transaction.

Both the HTTP API and the CLI call these functions; they never commit. Each write runs in a
``conn.transaction()`` block, so a failing write leaves the store exactly as it was, whatever
the caller does with its own transaction.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import psycopg
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geoplan.config import STORAGE_SRID, get_settings
from geoplan.db import read_gdf
from geoplan.errors import GeoplanError, NotFoundError, ValidationError
from geoplan.proximity import HubSelection, walk_to_nearest_hub
from geoplan.region import NoBoundaryError, in_municipality
from geoplan.vocab import PREMISES_STATUSES, USE_CATEGORIES

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

WGS84 = 4326

# Client-editable fields and their kinds; everything else on a row is kept by geoplan.
TEXT_FIELDS = ("address", "contact", "listing_url", "description", "source_url", "licence")
REQUIRED_FIELDS = ("geometry", "address", "uses", "floor_area_m2")
EDITABLE_FIELDS = (
    "geometry",
    "address",
    "uses",
    "floor_area_m2",
    "rent_nok_m2_year",
    "available_from",
    "contact",
    "listing_url",
    "description",
    "status",
    "source_url",
    "licence",
    "accuracy_m",
    "verified",
)


class StaleVersionError(GeoplanError):
    """An update named a version (``If-Match``) that is no longer current: someone else won."""

    def __init__(self, premises_id: str, expected: int, current: int):
        super().__init__(
            f"premises {premises_id!r} is at version {current}, not {expected}: it was changed "
            "since you read it; fetch it again and re-apply your change"
        )
        self.premises_id = premises_id
        self.expected = expected
        self.current = current


# -- search --------------------------------------------------------------------------------------
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
        problem = _text_problem(value, 200)
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


HUB_WALK_TABLE = "_pq_hub_walk"
"""Session temp table holding the walk from each candidate premises to the named ``hub``."""


def _compile(conn: psycopg.Connection, q: PremisesQuery) -> tuple[str, str, dict[str, Any]]:
    """The FROM+WHERE clause, the ORDER BY and the parameters of a (validated) query.

    With ``hub`` the selection also carries ``hub_walk_m``/``hub_walk_min``/``hub_walk_method``:
    the walk from each candidate to that hub, computed now by
    :func:`geoplan.proximity.walk_to_nearest_hub` restricted to that one hub — on the walking
    network where one is loaded (``network``), else straight line × ``detour_factor``
    (``straight_line``). No walk is shorter than the straight line, so with ``max_walk_min``
    only premises within that many minutes *as the crow flies* are routed (``ST_DWithin`` on
    the GiST index).
    """
    s = get_settings()
    params: dict[str, Any] = {"withdrawn": q.include_withdrawn, "v": s.walk_speed_m_per_min}
    where = ["(%(withdrawn)s OR p.status = 'available')"]
    source = "premises_annotated p LEFT JOIN hubs h ON h.id = p.nearest_hub_id"
    walk = "p.walk_min"
    if q.uses:
        where.append("p.uses && %(uses)s::text[]")
        params["uses"] = list(q.uses)
    if q.min_area_m2 is not None:
        where.append("p.floor_area_m2 >= %(min_area)s")
        params["min_area"] = q.min_area_m2
    if q.max_area_m2 is not None:
        where.append("p.floor_area_m2 <= %(max_area)s")
        params["max_area"] = q.max_area_m2
    if q.max_rent_nok_m2 is not None:
        where.append("p.rent_nok_m2_year <= %(max_rent)s")
        params["max_rent"] = q.max_rent_nok_m2
    if q.area:
        where.append(
            "EXISTS (SELECT 1 FROM areas a WHERE a.id = %(area)s AND ST_Intersects(a.geom, p.geom))"
        )
        params["area"] = q.area
    if q.available_by:
        where.append("(p.available_from IS NULL OR p.available_from <= %(by)s)")
        params["by"] = q.available_by
    if q.max_walk_min is not None:
        params["walk"] = q.max_walk_min
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
        )
        source += (
            f" JOIN {HUB_WALK_TABLE} hw ON hw.seq = p.seq"
            " CROSS JOIN (SELECT id, name FROM hubs WHERE id = %(hub)s) th"
        )
        walk = "hw.walk_m / %(v)s"
        if q.max_walk_min is not None:
            where.append("hw.walk_m <= %(walk)s * %(v)s")
    elif q.max_walk_min is not None:
        where.append("p.walk_min <= %(walk)s")
    order = SORTS[q.sort].replace("walk_min", walk) + ", p.id"
    return f"{source} WHERE {' AND '.join(where)}", order, params


_SELECT_COLUMNS = """
    p.id, p.address, p.uses, p.floor_area_m2, p.rent_nok_m2_year, p.available_from, p.contact,
    p.listing_url, p.description, p.status, p.nearest_hub_id, h.name AS nearest_hub_name,
    p.walk_m, p.walk_min, p.walk_method, p.source, p.source_url, p.licence, p.accuracy_m,
    p.verified, p.sample, p.version, p.created_at, p.updated_at"""

_HUB_COLUMNS = """,
    th.id AS hub_id, th.name AS hub_name, hw.walk_m AS hub_walk_m,
    hw.walk_m / %(v)s AS hub_walk_min, hw.method AS hub_walk_method"""


def search(conn: psycopg.Connection, q: PremisesQuery) -> SearchResult:
    """Premises matching ``q`` (a GeoDataFrame in EPSG:25833) and how many match in total."""
    validate_query(conn, q)
    source, order, params = _compile(conn, q)
    total = conn.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    gdf = read_gdf(
        conn,
        f"""SELECT {_SELECT_COLUMNS}{_HUB_COLUMNS if q.hub else ""}, ST_AsBinary(p.geom) AS geom
            FROM {source} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s""",
        params | {"limit": q.limit, "offset": q.offset},
    )
    return SearchResult(gdf, total, q)


def _feature_sql(with_hub: bool) -> str:
    """A GeoJSON Feature (WGS84) of one premises row, built in PostGIS."""
    hub = (
        """, 'hub_id', th.id, 'hub_name', th.name,
           'hub_walk_m', round(hw.walk_m::numeric, 1),
           'hub_walk_min', round((hw.walk_m / %(v)s)::numeric, 1),
           'hub_walk_method', hw.method"""
        if with_hub
        else ""
    )
    return f"""json_build_object(
        'type', 'Feature', 'id', p.id,
        'geometry', ST_AsGeoJSON(ST_Transform(p.geom, {WGS84}), 7)::json,
        'properties', json_build_object(
            'id', p.id, 'address', p.address, 'uses', p.uses,
            'floor_area_m2', p.floor_area_m2, 'rent_nok_m2_year', p.rent_nok_m2_year,
            'available_from', p.available_from, 'contact', p.contact,
            'listing_url', p.listing_url, 'description', p.description, 'status', p.status,
            'nearest_hub_id', p.nearest_hub_id, 'nearest_hub_name', h.name,
            'walk_m', round(p.walk_m::numeric, 1), 'walk_min', round(p.walk_min::numeric, 1),
            'walk_method', p.walk_method{hub},
            'source', p.source, 'source_url', p.source_url, 'licence', p.licence,
            'accuracy_m', p.accuracy_m, 'verified', p.verified, 'sample', p.sample,
            'version', p.version, 'created_at', p.created_at, 'updated_at', p.updated_at))"""


@dataclass
class FeaturePage:
    """One page of search results as GeoJSON text, built in SQL for speed (API, CLI)."""

    features_json: str  # a JSON array of GeoJSON Features in WGS84
    number_matched: int
    number_returned: int


def search_features(conn: psycopg.Connection, q: PremisesQuery) -> FeaturePage:
    """Like :func:`search`, but the page comes back as a GeoJSON features array (WGS84)."""
    validate_query(conn, q)
    source, order, params = _compile(conn, q)
    total = conn.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    row = conn.execute(
        f"""SELECT coalesce(json_agg(f ORDER BY n), '[]'::json)::text, count(*)
            FROM (SELECT {_feature_sql(bool(q.hub))} AS f, row_number() OVER (ORDER BY {order}) n
                  FROM {source} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) page""",
        params | {"limit": q.limit, "offset": q.offset},
    ).fetchone()
    return FeaturePage(row[0], total, row[1])


# -- reading one --------------------------------------------------------------------------------
_RECORD_SQL = f"""
    SELECT to_jsonb(p) - 'geom' - 'seq' - 'lonlat'  -- internal: a bulk key; geom again
           || jsonb_build_object('nearest_hub_name', h.name,
                                 'geometry', ST_AsGeoJSON(ST_Transform(p.geom, {WGS84}), 9)::jsonb)
    FROM premises_annotated p LEFT JOIN hubs h ON h.id = p.nearest_hub_id WHERE p.id = %s"""


def _snapshot(conn: psycopg.Connection, premises_id: str) -> dict[str, Any] | None:
    row = conn.execute(_RECORD_SQL, (premises_id,)).fetchone()
    return row[0] if row else None


def get(conn: psycopg.Connection, premises_id: str) -> dict[str, Any]:
    """One premises as a dict: its columns plus ``geometry`` (GeoJSON, WGS84) and hub name.

    Withdrawn premises are returned too (with ``status='withdrawn'``): links to them keep working.
    """
    problem = _text_problem(premises_id, 200)
    record = None if problem else _snapshot(conn, premises_id)
    if record is None:
        raise NotFoundError(f"no premises with id {premises_id!r}")
    return record


def history(conn: psycopg.Connection, premises_id: str) -> list[dict[str, Any]]:
    """Every recorded change to a premises, oldest first (raises NotFoundError if unknown)."""
    get(conn, premises_id)
    rows = conn.execute(
        """SELECT id, action, actor, at, before, after FROM premises_history
           WHERE premises_id = %s ORDER BY at, id""",
        (premises_id,),
    ).fetchall()
    return [
        {"id": r[0], "action": r[1], "actor": r[2], "at": r[3], "before": r[4], "after": r[5]}
        for r in rows
    ]


def to_feature(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record from :func:`get` as a GeoJSON Feature (geometry out, everything else props)."""
    props = {k: v for k, v in record.items() if k != "geometry"}
    return {
        "type": "Feature",
        "id": record["id"],
        "geometry": record["geometry"],
        "properties": props,
    }


# -- validation of writes -----------------------------------------------------------------------
def _text_problem(value: Any, max_len: int = MAX_TEXT) -> str | None:
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


def srid_of(crs: Any) -> int:
    """The EPSG code of a CRS given as ``EPSG:25833``, an OGC URI/URN, or a bare number.

    CRS84 (the GeoJSON default, lon/lat) maps to 4326; coordinates are always read x=lon/east,
    y=lat/north, as GeoJSON clients send them.
    """
    text = str(crs).strip()
    if "CRS84" in text.upper():
        return WGS84
    try:
        parsed = CRS.from_user_input(int(text) if text.isdigit() else text)
    except (CRSError, ValueError, TypeError, OverflowError) as exc:
        raise ValidationError(f"unknown coordinate reference system {text[:100]!r}", "crs") from exc
    epsg = parsed.to_epsg()
    if epsg is None:
        raise ValidationError(f"{text[:100]!r} has no EPSG code; use one", "crs")
    return epsg


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _point_25833(geometry: Any, crs: Any, errors: list[dict]) -> tuple[float, float] | None:
    """The point in EPSG:25833 from a GeoJSON geometry in ``crs``, or None (error appended)."""

    def bad(message: str, name: str = "geometry") -> None:
        errors.append({"field": name, "message": message})

    if not isinstance(geometry, Mapping):
        bad("must be a GeoJSON Point object")
        return None
    if geometry.get("type") != "Point":
        bad(f"must be a Point, not {str(geometry.get('type'))[:40]!r}")
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list | tuple) or len(coords) not in (2, 3):
        bad("coordinates must be [x, y] (or [x, y, z])")
        return None
    xy = [_number(c) for c in coords[:2]]
    if None in xy:
        bad("coordinates must be finite numbers")
        return None
    try:
        srid = srid_of(WGS84 if crs is None else crs)
    except ValidationError as exc:
        bad(str(exc), "crs")
        return None
    x, y = xy
    if srid != STORAGE_SRID:
        try:
            t = Transformer.from_crs(srid, STORAGE_SRID, always_xy=True)
            x, y = t.transform(x, y, errcheck=True)
        except Exception:  # pyproj raises several types for out-of-domain input
            x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        bad(f"coordinates cannot be placed in EPSG:{srid} (outside its area of use?)")
        return None
    return x, y


def _check_inside_boundary(
    conn: psycopg.Connection, xy: tuple[float, float], errors: list[dict]
) -> None:
    """A listing must lie in the municipality itself (not just its region): strict, and only
    against the real boundary (see :mod:`geoplan.region`)."""
    try:
        inside = in_municipality(conn, *xy)
    except NoBoundaryError:
        errors.append(
            {
                "field": "geometry",
                "message": "no municipality boundary is loaded, so the position cannot be "
                "checked (run `geoplan load`)",
            }
        )
        return
    if not inside:
        errors.append({"field": "geometry", "message": "point lies outside the municipality"})


def _clean(conn: psycopg.Connection, data: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
    """Checked, normalised column values from client ``data`` (all errors raised at once).

    ``required`` (create, full replace) demands the fields a listing cannot lack. The result has
    ``geom_xy`` (EPSG:25833) instead of ``geometry``.
    """
    errors: list[dict] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    if not isinstance(data, Mapping):
        raise ValidationError("the body must be a JSON object", "body")
    unknown = [k for k in data if k not in (*EDITABLE_FIELDS, "crs")]
    for k in unknown:
        bad(str(k)[:100], "is not a field of premises that can be set")
    out: dict[str, Any] = {}
    for name in REQUIRED_FIELDS:
        if required and data.get(name) is None:
            bad(name, "is required")
    if data.get("geometry") is not None:
        xy = _point_25833(data["geometry"], data.get("crs"), errors)
        if xy is not None:
            _check_inside_boundary(conn, xy, errors)
            out["geom_xy"] = xy
    elif "crs" in data and data["crs"] is not None:
        bad("crs", "given without a geometry")
    for name in TEXT_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if value is None:
            if name == "address":
                bad(name, "is required")
            out[name] = None
            continue
        problem = _text_problem(value)
        if problem:
            bad(name, problem)
        elif name == "address" and not value.strip():
            bad(name, "must not be empty")
        else:
            out[name] = value.strip()
    if "uses" in data and data["uses"] is not None:
        uses = data["uses"]
        if isinstance(uses, str):
            uses = [uses]
        if not isinstance(uses, list | tuple) or not uses:
            bad("uses", "must be a non-empty list of use categories")
        elif unknown_uses := [u for u in uses if u not in USE_CATEGORIES]:
            bad(
                "uses",
                f"unknown use {str(unknown_uses[0])[:50]!r}; known: " + ", ".join(USE_CATEGORIES),
            )
        else:
            out["uses"] = list(dict.fromkeys(uses))
    elif "uses" in data:
        bad("uses", "is required")
    if "floor_area_m2" in data and data["floor_area_m2"] is not None:
        area = _number(data["floor_area_m2"])
        if area is None or area <= 0:
            bad("floor_area_m2", "must be a finite number > 0")
        else:
            out["floor_area_m2"] = area
    elif "floor_area_m2" in data:
        bad("floor_area_m2", "is required")
    for name in ("rent_nok_m2_year", "accuracy_m"):
        if name in data:
            if data[name] is None:
                out[name] = None
                continue
            value = _number(data[name])
            if value is None or value < 0:
                bad(name, "must be a finite number ≥ 0")
            else:
                out[name] = value
    if "available_from" in data:
        value = data["available_from"]
        if value is None or isinstance(value, date):
            out["available_from"] = value
        elif isinstance(value, str):
            try:
                out["available_from"] = date.fromisoformat(value)
            except ValueError:
                bad("available_from", "must be a valid date (YYYY-MM-DD)")
        else:
            bad("available_from", "must be a date (YYYY-MM-DD)")
    if "verified" in data:
        if isinstance(data["verified"], bool):
            out["verified"] = data["verified"]
        else:
            bad("verified", "must be true or false")
    if data.get("status") is not None:  # None: keep the current status
        if data["status"] in PREMISES_STATUSES:
            out["status"] = data["status"]
        else:
            bad("status", f"must be one of {', '.join(PREMISES_STATUSES)}")
    if errors:
        raise ValidationError(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            field=errors[0]["field"],
            errors=errors,
        )
    return out


# -- writes -------------------------------------------------------------------------------------
def _record_history(
    conn: psycopg.Connection,
    premises_id: str,
    action: str,
    actor: str,
    before: dict | None,
    after: dict | None,
) -> None:
    conn.execute(
        """INSERT INTO premises_history (premises_id, action, actor, before, after)
           VALUES (%s, %s, %s, %s::jsonb, %s::jsonb)""",
        (
            premises_id,
            action,
            actor,
            json.dumps(before, default=str) if before is not None else None,
            json.dumps(after, default=str) if after is not None else None,
        ),
    )


def _finish(
    conn: psycopg.Connection, premises_id: str, action: str, actor: str, before: dict | None
) -> dict[str, Any]:
    """Re-annotate, snapshot, record history: the common end of every write."""
    from geoplan.proximity import annotate_premises

    annotate_premises(conn, [premises_id])
    after = _snapshot(conn, premises_id)
    _record_history(conn, premises_id, action, actor, before, after)
    return after  # type: ignore[return-value]


def _assign(values: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """SQL assignments (``col = %s``) and parameters for cleaned ``values``."""
    sets, params = [], []
    for name, value in values.items():
        if name == "geom_xy":
            sets.append(f"geom = ST_SetSRID(ST_MakePoint(%s, %s), {STORAGE_SRID})")
            params.extend(value)
        else:
            sets.append(f"{name} = %s")
            params.append(value)
    return sets, params


def default_source(actor: str) -> str:
    """Provenance ``source`` of a record written through the API with the key named ``actor``."""
    return f"geoplan API (key: {actor})"


def create(
    conn: psycopg.Connection, data: Mapping[str, Any], actor: str, *, source: str | None = None
) -> dict[str, Any]:
    """Add a premises listing; returns the stored record (see :func:`get`).

    ``data`` holds the editable fields (``geometry`` as GeoJSON, optional ``crs``). Provenance:
    ``source`` (default: written through the API by ``actor``), ``verified`` false unless given,
    never sample data.
    """
    values = _clean(conn, data, required=True)
    premises_id = "p-" + uuid.uuid4().hex[:12]
    values.setdefault("verified", False)
    values.setdefault("status", "available")
    with conn.transaction():
        cols = ["id", "source", "sample", "version"]
        params: list[Any] = [premises_id, source or default_source(actor), False, 1]
        placeholders = ["%s"] * 4
        for name, value in values.items():
            if name == "geom_xy":
                cols.append("geom")
                placeholders.append(f"ST_SetSRID(ST_MakePoint(%s, %s), {STORAGE_SRID})")
                params.extend(value)
            else:
                cols.append(name)
                placeholders.append("%s")
                params.append(value)
        conn.execute(
            f"INSERT INTO premises ({', '.join(cols)}) VALUES ({', '.join(placeholders)})",
            params,
        )
        return _finish(conn, premises_id, "create", actor, None)


def _lock(conn: psycopg.Connection, premises_id: str, expected_version: int | None) -> dict:
    """The current record, locked against concurrent writers, after the version check."""
    problem = _text_problem(premises_id, 200)
    row = (
        None
        if problem
        else conn.execute(
            "SELECT version FROM premises WHERE id = %s FOR UPDATE", (premises_id,)
        ).fetchone()
    )
    if row is None:
        raise NotFoundError(f"no premises with id {premises_id!r}")
    if expected_version is not None and row[0] != expected_version:
        raise StaleVersionError(premises_id, expected_version, row[0])
    return _snapshot(conn, premises_id)  # type: ignore[return-value]


def update(
    conn: psycopg.Connection,
    premises_id: str,
    data: Mapping[str, Any],
    actor: str,
    expected_version: int | None = None,
    partial: bool = False,
    *,
    source: str | None = None,
) -> dict[str, Any]:
    """Change a premises: replace it (``partial=False``, PUT) or merge ``data`` (PATCH).

    A full replacement resets optional fields that ``data`` leaves out. ``expected_version``
    (from ``If-Match``) guards against overwriting someone else's change: a mismatch raises
    :class:`StaleVersionError` and changes nothing.
    """
    values = _clean(conn, data, required=not partial)
    with conn.transaction():
        before = _lock(conn, premises_id, expected_version)
        if not partial:
            for name in EDITABLE_FIELDS:
                if name not in ("geometry", "status", "verified") and name not in values:
                    values[name] = None
            values.setdefault("verified", False)
            values.setdefault("status", before["status"])
        values["source"] = source or default_source(actor)
        sets, params = _assign(values)
        conn.execute(
            f"""UPDATE premises SET {", ".join(sets)}, version = version + 1,
                       updated_at = clock_timestamp()
                WHERE id = %s""",
            [*params, premises_id],
        )
        return _finish(conn, premises_id, "update", actor, before)


def withdraw(
    conn: psycopg.Connection, premises_id: str, actor: str, expected_version: int | None = None
) -> dict[str, Any]:
    """Mark a premises withdrawn (the row and its history stay). Idempotent."""
    with conn.transaction():
        before = _lock(conn, premises_id, expected_version)
        if before["status"] == "withdrawn":
            return before
        conn.execute(
            """UPDATE premises SET status = 'withdrawn', version = version + 1,
                      updated_at = clock_timestamp()
               WHERE id = %s""",
            (premises_id,),
        )
        return _finish(conn, premises_id, "withdraw", actor, before)
