"""The feature collections geoplan publishes (OGC API – Features) and how they are queried.

Core, no web code: ``api/routers/ogc.py`` turns HTTP parameters into an :class:`ItemsQuery`, calls
:func:`query_items` and adds links. Everything a client may name — collection, property, sort key,
CQL2 attribute — is looked up in the registry below; only registry SQL reaches the database, and
every value a client sends travels as a bound parameter (never concatenated into SQL).

Speed matters (QGIS pans issue one request per tile of screen): PostgreSQL builds the GeoJSON
``features`` array itself (``json_build_object`` + ``ST_AsGeoJSON``) and hands back text that is
passed on as bytes, without a Python round trip through dicts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
import shapely
import shapely.geometry
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from pygeofilter import ast as cql
from pygeofilter import values as cql_values

from geoplan.config import STORAGE_SRID
from geoplan.errors import NotFoundError, ValidationError
from geoplan.vocab import AREA_ROLES, HUB_MODES, HUB_STATUSES, PREMISES_STATUSES, USE_CATEGORIES

# -- coordinate reference systems -------------------------------------------------------------
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG_25833 = f"http://www.opengis.net/def/crs/EPSG/0/{STORAGE_SRID}"
STORAGE_CRS = EPSG_25833


@dataclass(frozen=True)
class Crs:
    """A CRS the API speaks: its URI, PostGIS SRID, axis order and output precision."""

    uri: str
    srid: int
    lat_first: bool  # EPSG:4326 is latitude, longitude per OGC Part 2; CRS84 is lon, lat
    decimals: int  # 7 decimals of a degree ≈ 1 cm; UTM metres to the centimetre
    geographic: bool


SUPPORTED_CRS: dict[str, Crs] = {
    CRS84: Crs(CRS84, 4326, False, 7, True),
    EPSG_4326: Crs(EPSG_4326, 4326, True, 7, True),
    EPSG_25833: Crs(EPSG_25833, STORAGE_SRID, False, 2, False),
}
_CRS_ALIASES = {
    "crs84": CRS84,
    "ogc:crs84": CRS84,
    "urn:ogc:def:crs:ogc:1.3:crs84": CRS84,
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "https://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "epsg:4326": EPSG_4326,
    "urn:ogc:def:crs:epsg::4326": EPSG_4326,
    "http://www.opengis.net/def/crs/epsg/0/4326": EPSG_4326,
    "https://www.opengis.net/def/crs/epsg/0/4326": EPSG_4326,
    f"epsg:{STORAGE_SRID}": EPSG_25833,
    f"urn:ogc:def:crs:epsg::{STORAGE_SRID}": EPSG_25833,
    f"http://www.opengis.net/def/crs/epsg/0/{STORAGE_SRID}": EPSG_25833,
    f"https://www.opengis.net/def/crs/epsg/0/{STORAGE_SRID}": EPSG_25833,
}


def parse_crs(value: str | None, field_name: str = "crs") -> Crs:
    """The :class:`Crs` for a URI (or a common short form); CRS84 when ``value`` is empty."""
    if value is None or not value.strip():
        return SUPPORTED_CRS[CRS84]
    key = value.strip().strip("[]<>").lower()
    uri = _CRS_ALIASES.get(key)
    if uri is None:
        raise ValidationError(
            f"unsupported CRS {value!r}; use one of: {', '.join(SUPPORTED_CRS)}", field_name
        )
    return SUPPORTED_CRS[uri]


# -- the registry -----------------------------------------------------------------------------
STRING, NUMBER, INTEGER, BOOLEAN, DATE, DATETIME, ARRAY = (
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "date-time",
    "array",
)
_CAST = {
    STRING: "::text",
    NUMBER: "::double precision",
    INTEGER: "::double precision",
    BOOLEAN: "::boolean",
    DATE: "::date",
    DATETIME: "::timestamptz",
}


@dataclass(frozen=True)
class Prop:
    """One published property: its column, JSON type and what it means."""

    name: str
    type: str
    description: str = ""
    enum: tuple[str, ...] | None = None
    items_enum: tuple[str, ...] | None = None  # for arrays of a closed vocabulary
    queryable: bool = True

    @property
    def sql(self) -> str:
        return f"t.{self.name}"

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"title": self.name}
        if self.description:
            schema["description"] = self.description
        if self.type == ARRAY:
            schema["type"] = "array"
            schema["items"] = {"type": "string"}
            if self.items_enum:
                schema["items"]["enum"] = list(self.items_enum)
        elif self.type in (DATE, DATETIME):
            schema["type"] = "string"
            schema["format"] = self.type
        else:
            schema["type"] = self.type
        if self.enum:
            schema["enum"] = list(self.enum)
        return schema


def _provenance() -> list[Prop]:
    return [
        Prop("source", STRING, "Where the feature comes from."),
        Prop("source_url", STRING, "Link to the source."),
        Prop("licence", STRING, "Licence of the source data."),
        Prop("accuracy_m", NUMBER, "Positional accuracy in metres (estimate)."),
        Prop("verified", BOOLEAN, "Whether someone has checked the feature against the source."),
        Prop("sample", BOOLEAN, "True for invented SAMPLE data, never to be taken as real."),
    ]


@dataclass(frozen=True)
class Collection:
    """A published table: identity, description, properties and geometry type."""

    id: str
    table: str
    title: str
    description: str
    geometry_type: str  # GeoJSON type, for the queryables' geometry entry
    props: tuple[Prop, ...]
    id_type: str = STRING
    aliases: dict[str, str] = field(default_factory=dict)  # simple-filter name -> property
    keywords: tuple[str, ...] = ()
    # A table (row_key, head) holding each row's Feature (CRS84) rendered at write time up to
    # the end of its stored properties, left open; the ``live_props`` (derived data kept
    # elsewhere) are appended at read time. For tables read far more than written (migrations
    # 0003/0004); None: built live.
    features_table: str | None = None
    # Live properties are appended as text: strings through to_json, numbers as they print,
    # so a numeric live property must be finite by constraint (premises_walk's CHECK).
    live_props: tuple[str, ...] = ()
    # Where the ``live_props`` come from without reading the row: a relation with a column
    # ``key`` holding the row's ``row_key`` (premises: premises_walk by seq). With a lonlat
    # index that INCLUDEs id and that key, a default-order bbox page reads no table row at all.
    live_source: str | None = None
    # The column keying stored heads and live properties: an integer (premises: seq, migration
    # 0004) — a page probes both by it a hundred times, and integers compare faster than text.
    row_key: str = "id"
    # The default page order (and the tie-breaker of every sortby): a unique, stable column.
    order_key: str = "id"
    # A stored CRS84 ``point`` column with a GiST index INCLUDE (id) (point tables, migration
    # 0003): a CRS84 bbox then needs no reprojection and is answered from the index alone.
    lonlat: str | None = None

    def prop(self, name: str) -> Prop | None:
        name = self.aliases.get(name, name)
        return next((p for p in self.props if p.name == name), None)

    @property
    def queryables(self) -> tuple[Prop, ...]:
        return tuple(p for p in self.props if p.queryable)


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "areas",
            "areas",
            "Focus areas (næringsområder)",
            "The six focus areas for business development in Lørenskog (sentrum, "
            "stasjonsområdet, Fjellhamar, Visperud, Ahus, Losbydalen) with their role, identity "
            "and target industries, from the municipality's business-area strategy. Outlines are "
            "approximate (see accuracy_m and source on each feature).",
            "MultiPolygon",
            (
                Prop("name", STRING, "Name of the area."),
                Prop("role", STRING, "Role in the strategy.", enum=AREA_ROLES),
                Prop("identity", STRING, "Identity (Norwegian)."),
                Prop("identity_en", STRING, "Identity (English)."),
                Prop("target_industries", ARRAY, "Target industries (Norwegian)."),
                Prop("target_industries_en", ARRAY, "Target industries (English)."),
                Prop("strategy_ref", STRING, "Where in the strategy the area is described."),
                Prop("development_area", BOOLEAN, "Whether it is a development area."),
                Prop("updated_at", DATETIME, "Last change in geoplan."),
                *_provenance(),
            ),
            keywords=("næringsområder", "business areas", "Lørenskog"),
        ),
        Collection(
            "hubs",
            "hubs",
            "Transit hubs (kollektivknutepunkt)",
            "Rail, metro and bus hubs in and near Lørenskog, existing and planned, with lines "
            "and departures per hour. The shipped hubs are hand-curated from public sources "
            "and partly estimated; GTFS imports (e.g. Entur) add more (see source, accuracy_m "
            "and verified on each feature).",
            "Point",
            (
                Prop("name", STRING, "Name of the hub."),
                Prop("mode", STRING, "Transport mode.", enum=HUB_MODES),
                Prop("status", STRING, "Existing or planned.", enum=HUB_STATUSES),
                Prop("lines", ARRAY, "Lines serving the hub."),
                Prop("departures_per_hour", NUMBER, "Departures per hour (weekday daytime)."),
                Prop("nsr_id", STRING, "Entur National Stop Register id."),
                Prop("address", STRING, "Address."),
                Prop("notes", STRING, "Notes."),
                Prop("updated_at", DATETIME, "Last change in geoplan."),
                *_provenance(),
            ),
            keywords=("kollektivknutepunkt", "transit", "Entur"),
        ),
        Collection(
            "premises",
            "premises_annotated",
            "Vacant business premises (ledige næringslokaler)",
            "Vacant business premises with floor area, rent, availability, and the walking "
            "time to the nearest transit hub. The premises shipped with geoplan are SAMPLE DATA "
            "(invented listings, sample=true) for demonstration only; real listings are added "
            "through the API by the municipality and brokers. Withdrawn listings are included "
            "with status=withdrawn; filter with ?status=available.",
            "Point",
            (
                Prop("address", STRING, "Street address."),
                Prop("uses", ARRAY, "Use categories offered.", items_enum=USE_CATEGORIES),
                Prop("floor_area_m2", NUMBER, "Floor area in m²."),
                Prop("rent_nok_m2_year", NUMBER, "Asking rent, NOK per m² per year."),
                Prop("available_from", DATE, "Date the premises is available."),
                Prop("contact", STRING, "Contact."),
                Prop("listing_url", STRING, "Link to the listing."),
                Prop("description", STRING, "Description."),
                Prop("status", STRING, "Listing status.", enum=PREMISES_STATUSES),
                Prop("nearest_hub_id", STRING, "Id of the nearest transit hub (see hubs)."),
                Prop("walk_m", NUMBER, "Walking distance to the nearest hub, metres."),
                Prop("walk_min", NUMBER, "Walking time to the nearest hub, minutes."),
                Prop("walk_method", STRING, "How the walk was computed (network/straight line)."),
                Prop("version", INTEGER, "Version, incremented by each change."),
                Prop("created_at", DATETIME, "When the listing was created."),
                Prop("updated_at", DATETIME, "Last change."),
                *_provenance(),
            ),
            aliases={"use": "uses"},
            keywords=("ledige lokaler", "vacant premises", "SAMPLE DATA"),
            features_table="premises_features",
            live_props=("nearest_hub_id", "walk_m", "walk_min", "walk_method"),  # premises_walk
            live_source="(SELECT premises_seq AS key, hub_id AS nearest_hub_id, walk_m, walk_min, "
            "method AS walk_method FROM premises_walk)",
            row_key="seq",
            # registration order: API-made ids are random ("p-" + hex), so an id order says
            # nothing, and a bbox page sorts ~1 000 integers instead of ~1 000 strings
            order_key="seq",
            lonlat="lonlat",
        ),
        Collection(
            "boundary",
            "boundary",
            "Municipality boundary (kommunegrense)",
            "The boundary of Lørenskog kommune (from Kartverket's administrative units; see "
            "source and licence on the feature).",
            "MultiPolygon",
            (
                Prop("name", STRING, "Name of the municipality."),
                Prop("kommunenummer", STRING, "Municipality number."),
                Prop("valid_from", INTEGER, "Year the boundary is valid from."),
                *_provenance(),
            ),
            keywords=("kommunegrense", "boundary", "Kartverket"),
        ),
        Collection(
            "catchments",
            "catchments",
            "Walking catchments (gangavstand til knutepunkt)",
            "Areas reachable on foot from each hub within a number of minutes, computed by "
            "geoplan from the pedestrian network (method=network) or as a straight-line "
            "estimate (method=straight_line). Derived data: as good as the hub positions and "
            "the network. Empty until `geoplan proximity` has been run.",
            "MultiPolygon",
            (
                Prop("hub_id", STRING, "Hub the catchment belongs to."),
                Prop("minutes", INTEGER, "Walking minutes."),
                Prop("method", STRING, "network or straight_line."),
                Prop("computed_at", DATETIME, "When it was computed."),
            ),
            id_type=INTEGER,
            keywords=("gangavstand", "catchment", "isochrone"),
        ),
    )
}

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
MAX_OFFSET = 100_000_000
COUNT_CAP = 1_000_000
"""numberMatched is exact up to this many matches; beyond, it is left out (it is optional in
OGC API – Features) rather than counting millions of rows on every page request."""
MAX_FILTER_LENGTH = 20_000


def get_collection(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFoundError(
            f"no collection {collection_id!r}; collections: {', '.join(COLLECTIONS)}"
        ) from None


# -- metadata ---------------------------------------------------------------------------------
@dataclass
class Extent:
    bbox: list[float] | None  # CRS84 minlon, minlat, maxlon, maxlat
    count: int


def extent(conn: psycopg.Connection, coll: Collection) -> Extent:
    """The collection's spatial extent in CRS84, computed from the data (None when empty)."""
    # ST_Extent is the box in 25833; its reprojected corners bound the data closely enough for
    # a client's "zoom to layer" (metres at Lørenskog's latitude) and it reads no geometry twice.
    row = conn.execute(
        f"""SELECT n, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
              SELECT count(*) AS n, ST_Transform(
                       ST_SetSRID(ST_Extent(geom)::geometry, {STORAGE_SRID}), 4326) AS e
              FROM {coll.table}) s"""
    ).fetchone()
    if row is None or row[1] is None:
        return Extent(None, 0)
    return Extent([round(v, 7) for v in row[1:]], row[0])


# -- queries ----------------------------------------------------------------------------------
@dataclass
class ItemsQuery:
    """A validated-by-:func:`query_items` request for one page of a collection."""

    bbox: list[float] | None = None
    bbox_crs: str | None = None
    crs: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    filters: dict[str, str] = field(default_factory=dict)  # simple ?property=value filters
    sortby: str | None = None
    properties: list[str] | None = None
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None


@dataclass
class ItemsPage:
    features_json: bytes  # a JSON array of GeoJSON features, ready to splice
    number_returned: int
    number_matched: int | None
    crs: Crs
    limit: int
    offset: int


@dataclass
class _Where:
    """SQL conditions and their bound parameters, in order."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return " AND ".join(f"({c})" for c in self.clauses) or "TRUE"


def _feature_sql(coll: Collection, crs: Crs, props: list[Prop]) -> str:
    geom = "t.geom"
    if crs.srid != STORAGE_SRID:
        geom = f"ST_Transform(t.geom, {crs.srid})"
    if crs.lat_first:
        geom = f"ST_FlipCoordinates({geom})"
    args = ", ".join(f"'{p.name}', {p.sql}" for p in props)
    return (
        f"json_build_object('type', 'Feature', 'id', t.id, "
        f"'geometry', ST_AsGeoJSON({geom}, {crs.decimals}, 0)::json, "
        f"'properties', json_build_object({args}))"
    )


def _live_tail_sql(coll: Collection) -> str:
    """The live properties as the text that closes a stored head: ``, "name" : value}}``.

    The same text ``json_build_object`` would write (its ``" : "`` and ``", "``), built by
    concatenation: ``json_build_object`` works out each value's JSON type again on every call,
    which for four values on a hundred rows was about a fifth of a page's PostgreSQL time.
    Strings go through ``to_json`` (escaping); numbers print as themselves, which is valid JSON
    because the table's constraints keep them finite (see :class:`Collection`).
    """
    parts = []
    for name in coll.live_props:
        prop = coll.prop(name)
        value = f"to_json(t.{name})::text" if prop.type == STRING else f"t.{name}::text"
        parts.append(f"""', "{name}" : ' || coalesce({value}, 'null')""")
    return " || ".join(parts) + " || '}}'"


def _selected_props(coll: Collection, names: list[str] | None) -> list[Prop]:
    if names is None:
        return list(coll.props)
    props = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        prop = coll.prop(name)
        if prop is None:
            raise ValidationError(
                f"unknown property {name!r} for {coll.id}; known: "
                + ", ".join(p.name for p in coll.props),
                "properties",
            )
        if prop not in props:
            props.append(prop)
    return props


def _bbox_clause(where: _Where, coll: Collection, bbox: list[float], bbox_crs: str | None) -> None:
    crs = parse_crs(bbox_crs, "bbox-crs")
    if len(bbox) not in (4, 6):
        raise ValidationError("bbox needs 4 numbers (or 6 with heights)", "bbox")
    if not all(math.isfinite(v) for v in bbox):
        raise ValidationError("bbox values must be finite numbers", "bbox")
    if len(bbox) == 6:
        bbox = [bbox[0], bbox[1], bbox[3], bbox[4]]
    if crs.lat_first:  # EPSG:4326: minlat, minlon, maxlat, maxlon
        bbox = [bbox[1], bbox[0], bbox[3], bbox[2]]
    x1, y1, x2, y2 = bbox
    if x1 > x2 or y1 > y2:
        raise ValidationError("bbox must be minx,miny,maxx,maxy with min ≤ max", "bbox")
    if crs.geographic:
        if not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
            raise ValidationError("bbox is outside longitude ±180 / latitude ±90", "bbox")
        if coll.lonlat:  # a lon/lat box on stored lon/lat points: exact, index-only
            where.add(f"t.{coll.lonlat} <@ box(point(%s, %s), point(%s, %s))", x1, y1, x2, y2)
            return
        # Densify before reprojecting so the box's edges stay box edges in UTM. The scalar
        # subquery is evaluated once per query, also under a generic prepared plan (a bare
        # function of parameters would be re-evaluated, reprojection included, for every row).
        where.add(
            f"ST_Intersects(t.geom, (SELECT ST_Transform(ST_Segmentize("
            f"ST_MakeEnvelope(%s, %s, %s, %s, 4326), 0.01), {STORAGE_SRID})))",
            x1,
            y1,
            x2,
            y2,
        )
    else:
        where.add(
            f"t.geom && (SELECT ST_MakeEnvelope(%s, %s, %s, %s, {STORAGE_SRID}))", x1, y1, x2, y2
        )


def _coerce_text(prop: Prop, raw: str) -> Any:
    """A simple-filter value (query string text) as the property's type."""
    try:
        if prop.type in (NUMBER, INTEGER):
            v = float(raw)
            if not math.isfinite(v):
                raise ValueError
            return v
        if prop.type == BOOLEAN:
            low = raw.strip().lower()
            if low not in ("true", "false"):
                raise ValueError
            return low == "true"
        if prop.type == DATE:
            return date.fromisoformat(raw.strip())
        if prop.type == DATETIME:
            return datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{prop.name} must be {_article(prop.type)}, not {raw!r}", prop.name
        ) from None
    return raw


def _article(type_: str) -> str:
    return {
        NUMBER: "a number",
        INTEGER: "an integer",
        BOOLEAN: "true or false",
        DATE: "a date (YYYY-MM-DD)",
        DATETIME: "a date-time (RFC 3339)",
        ARRAY: "a list",
    }.get(type_, "text")


def _simple_filters(where: _Where, coll: Collection, filters: dict[str, str]) -> None:
    for name, raw in filters.items():
        prop = coll.prop(name)
        if prop is None or not prop.queryable:
            raise ValidationError(
                f"unknown query parameter {name!r}; queryable properties of {coll.id}: "
                + ", ".join(p.name for p in coll.queryables),
                name,
            )
        if prop.type == ARRAY:
            values = [v.strip() for v in raw.split(",") if v.strip()]
            where.add(f"{prop.sql} && %s::text[]", values)
        else:
            where.add(f"{prop.sql} = %s{_CAST[prop.type]}", _coerce_text(prop, raw))


def _order_by(coll: Collection, sortby: str | None) -> str:
    keys = []
    for raw in (sortby or "").split(","):
        # "+name" arrives as " name" when the client did not percent-encode the plus.
        item = raw.strip()
        if not item:
            continue
        desc = item.startswith("-")
        name = item.lstrip("+-").strip()
        prop = coll.prop(name) if name != "id" else Prop("id", coll.id_type)
        if prop is None or prop.type == ARRAY:
            raise ValidationError(
                f"cannot sort {coll.id} by {name!r}; sortable: id, "
                + ", ".join(p.name for p in coll.props if p.type != ARRAY),
                "sortby",
            )
        keys.append(f"{prop.sql} {'DESC NULLS LAST' if desc else 'ASC NULLS LAST'}")
    keys.append(f"t.{coll.order_key}")  # a stable order: pages neither repeat nor skip
    return ", ".join(keys)


def build_where(coll: Collection, q: ItemsQuery) -> _Where:
    """All of the query's conditions as parameterised SQL (validates every part)."""
    where = _Where()
    if q.bbox is not None:
        _bbox_clause(where, coll, q.bbox, q.bbox_crs)
    _simple_filters(where, coll, q.filters)
    if q.filter is not None and q.filter.strip():
        sql, params = cql2_to_sql(q.filter, coll, lang=q.filter_lang, filter_crs=q.filter_crs)
        where.add(sql, *params)
    return where


@dataclass(frozen=True)
class PageStatement:
    """The one SQL statement that answers a page request, and what the answer means.

    One statement, one round trip, returning ``(numberReturned, numberMatched, features)``;
    sync and async callers (CLI, tests, the API's asyncio path) share it, so they cannot drift.
    See :func:`items_statement` for how numberMatched is found without a second full scan.
    """

    sql: str
    params: list[Any]
    crs: Crs
    limit: int
    offset: int

    def page(self, row: tuple[int, int, bytes]) -> ItemsPage:
        returned, matched, features = row
        return ItemsPage(
            features,
            returned,
            matched if matched <= COUNT_CAP else None,
            self.crs,
            self.limit,
            self.offset,
        )


def items_statement(coll: Collection, q: ItemsQuery) -> PageStatement:
    """Validate ``q`` and build the statement for one page of ``coll`` (no database needed).

    numberMatched costs a scan of every match, so it is taken where that scan happens anyway:

    - with a ``bbox`` the GiST index yields the matches unordered, so PostgreSQL reads all of
      them to sort out the page; ``count(*) OVER ()`` counts them in that same pass (over the
      ids only, then the page's rows are joined back, so a bbox around everything does not
      drag every full row through the window);
    - otherwise the page may come straight off the ordered primary key (``LIMIT`` stops
      early), and a separate capped count runs only when the page does not tell: PostgreSQL
      evaluates an uncorrelated scalar subquery lazily, so the ``CASE`` skips it when the
      first page is not full (it then holds every match).
    """
    crs = parse_crs(q.crs, "crs")
    limit = max(1, min(int(q.limit), MAX_LIMIT))  # OGC: the server may clamp the page size
    offset = int(q.offset)
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationError(f"offset must be between 0 and {MAX_OFFSET}", "offset")
    props = _selected_props(coll, q.properties)
    where = build_where(coll, q)
    order = _order_by(coll, q.sortby)
    feature = _feature_sql(coll, crs, props)
    stored = ""
    if coll.features_table and crs.uri == CRS84 and q.properties is None:
        # rendered when the row was written (the same expression) up to its live properties,
        # which are appended here; built live where a row has no stored head
        stored = (
            f"LEFT JOIN {coll.features_table} stored ON stored.{coll.row_key} = t.{coll.row_key}"
        )
        one = f"coalesce(stored.head || {_live_tail_sql(coll)}, ({feature})::text)"
        features = f"'[' || coalesce(string_agg({one}, ',' ORDER BY {order}), '') || ']'"
    else:
        features = f"coalesce(json_agg({feature} ORDER BY {order}), '[]'::json)::text"
    count = (
        f"(SELECT count(*) FROM (SELECT 1 FROM {coll.table} t WHERE {where.sql} "
        f"LIMIT {COUNT_CAP + 1}) c)"
    )
    if q.bbox is not None:
        if stored and coll.live_source and order == f"t.{coll.row_key}":
            # Ordered by the row key — premises' default order, what map clients ask: keys
            # from the index (the lonlat index INCLUDEs them), stored heads and
            # live properties by key — no table row is read unless a head is missing.
            # Aggregated from a subquery in page order, not with ORDER BY inside string_agg:
            # the nested loops keep k's order, where an ordered aggregate sorted the hundred
            # ~800-byte texts once more. (A subquery with ORDER BY is planned on its own and
            # feeds the aggregate in that order.)
            key = f"t.{coll.row_key}"
            row = f"(SELECT ({feature})::text FROM {coll.table} t WHERE {key} = k.key)"
            features = "'[' || coalesce(string_agg(k.feature, ','), '') || ']'"
            page = f"""
            FROM (SELECT coalesce(stored.head || {_live_tail_sql(coll)}, {row}) AS feature,
                         k.matched
                  FROM (SELECT {key} AS key, count(*) OVER () AS matched FROM {coll.table} t
                        WHERE {where.sql} ORDER BY {order} LIMIT %s OFFSET %s) k
                  LEFT JOIN {coll.features_table} stored ON stored.{coll.row_key} = k.key
                  LEFT JOIN {coll.live_source} t ON t.key = k.key
                  ORDER BY k.key) k"""
        else:
            page = f"""
            FROM (SELECT t.id, count(*) OVER () AS matched FROM {coll.table} t
                  WHERE {where.sql} ORDER BY {order} LIMIT %s OFFSET %s) k
            JOIN {coll.table} t ON t.id = k.id {stored}"""
        sql = f"""
            SELECT count(*), coalesce(max(k.matched), CASE WHEN %s = 0 THEN 0 ELSE {count} END),
                   {features} {page}"""
        params = [offset, *where.params, *where.params, limit, offset]
    else:
        sql = f"""
            SELECT p.returned,
                   CASE WHEN %s = 0 AND p.returned < %s THEN p.returned ELSE {count} END,
                   p.features
            FROM (SELECT count(*) AS returned, {features} AS features
                  FROM (SELECT * FROM {coll.table} t WHERE {where.sql}
                        ORDER BY {order} LIMIT %s OFFSET %s) t {stored}) p"""
        params = [offset, limit, *where.params, *where.params, limit, offset]
    return PageStatement(sql, params, crs, limit, offset)


class _TextAsBytes(Loader):
    """Loads a text column as the UTF-8 bytes PostgreSQL sent.

    A page's features array goes into the HTTP response as it is; decoding its ~80 KB to
    ``str`` and encoding them back was ≈ 8 % of the API worker's CPU per page (perf).
    """

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def query_items(conn: psycopg.Connection, coll: Collection, q: ItemsQuery) -> ItemsPage:
    """One page of ``coll`` as a GeoJSON features array built by PostgreSQL."""
    stmt = items_statement(coll, q)
    try:
        # a savepoint when the caller has a transaction open, so a bad value does not spoil it
        with conn.transaction(), conn.cursor() as cur:
            cur.adapters.register_loader("text", _TextAsBytes)
            row = cur.execute(stmt.sql, stmt.params).fetchone()
    except psycopg.DataError as exc:  # a value PostgreSQL cannot take (overflow, NUL byte…)
        raise _invalid_value(exc) from exc
    return stmt.page(row)


async def query_items_async(
    conn: psycopg.AsyncConnection, coll: Collection, q: ItemsQuery
) -> ItemsPage:
    """:func:`query_items` on an asyncio connection (the API's hot path: no thread hops).

    ``conn`` should be in autocommit mode: the statement is then its own transaction and one
    round trip, and an error leaves nothing open.
    """
    stmt = items_statement(coll, q)
    try:
        async with conn.cursor() as cur:
            cur.adapters.register_loader("text", _TextAsBytes)
            await cur.execute(stmt.sql, stmt.params)
            row = await cur.fetchone()
    except psycopg.DataError as exc:
        raise _invalid_value(exc) from exc
    return stmt.page(row)


def _invalid_value(exc: psycopg.DataError) -> ValidationError:
    return ValidationError(f"invalid query value: {_first_line(exc)}", "filter")


def get_item(
    conn: psycopg.Connection, coll: Collection, feature_id: str, crs_uri: str | None = None
) -> dict[str, Any]:
    """One feature as a GeoJSON dict; :class:`NotFoundError` when there is none."""
    crs = parse_crs(crs_uri, "crs")
    missing = NotFoundError(f"no feature {feature_id!r} in {coll.id}")
    key: Any = feature_id
    if coll.id_type == INTEGER:
        if not feature_id.isascii() or not feature_id.isdigit() or len(feature_id) > 18:
            raise missing
        key = int(feature_id)
    if "\x00" in feature_id:
        raise missing
    row = conn.execute(
        f"SELECT {_feature_sql(coll, crs, list(coll.props))}::text "
        f"FROM {coll.table} t WHERE t.id = %s",
        [key],
    ).fetchone()
    if row is None:
        raise missing
    return json.loads(row[0])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- CQL2 → SQL -------------------------------------------------------------------------------
GEOMETRY = "geometry"
GEOMETRY_NAMES = ("geom", "geometry")
_COMPARISON = {
    cql.Equal: "=",
    cql.NotEqual: "<>",
    cql.LessThan: "<",
    cql.LessEqual: "<=",
    cql.GreaterThan: ">",
    cql.GreaterEqual: ">=",
}
_SPATIAL = {
    cql.GeometryIntersects: "ST_Intersects",
    cql.GeometryDisjoint: "ST_Disjoint",
    cql.GeometryContains: "ST_Contains",
    cql.GeometryWithin: "ST_Within",
    cql.GeometryTouches: "ST_Touches",
    cql.GeometryCrosses: "ST_Crosses",
    cql.GeometryOverlaps: "ST_Overlaps",
    cql.GeometryEquals: "ST_Equals",
}
FILTER_LANGS = ("cql2-text", "cql2-json")


@dataclass
class _Expr:
    sql: str
    params: list[Any]
    type: str | None  # None: a literal whose type is its Python value's
    value: Any = None
    literal: bool = False


def parse_filter(text: str, lang: str | None = None) -> cql.Node:
    """The pygeofilter AST of a CQL2 filter; the parser's message on bad syntax."""
    lang = (lang or "cql2-text").strip().lower()
    if lang not in FILTER_LANGS:
        raise ValidationError(
            f"unsupported filter-lang {lang!r}; use {' or '.join(FILTER_LANGS)}", "filter-lang"
        )
    if len(text) > MAX_FILTER_LENGTH:
        raise ValidationError(f"filter is longer than {MAX_FILTER_LENGTH} characters", "filter")
    try:
        if lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse as parse_json

            return parse_json(text)
        from pygeofilter.parsers.cql2_text import parse as parse_text

        return parse_text(text)
    except RecursionError:
        raise ValidationError("filter is nested too deeply", "filter") from None
    except Exception as exc:  # lark/json/pygeofilter raise many types; all mean bad syntax
        message = str(exc).split("\nExpected one of")[0].strip() or type(exc).__name__
        raise ValidationError(f"invalid {lang} filter: {message}", "filter") from None


def cql2_to_sql(
    text: str, coll: Collection, *, lang: str | None = None, filter_crs: str | None = None
) -> tuple[str, list[Any]]:
    """A CQL2 filter on ``coll`` as an SQL condition with bound parameters."""
    node = parse_filter(text, lang)
    crs = parse_crs(filter_crs, "filter-crs")
    try:
        expr = _Translator(coll, crs).condition(node)
    except RecursionError:
        raise ValidationError("filter is nested too deeply", "filter") from None
    return expr.sql, expr.params


class _Translator:
    """Walks a pygeofilter AST; only registry columns and bound parameters come out."""

    def __init__(self, coll: Collection, crs: Crs):
        self.coll = coll
        self.crs = crs

    def fail(self, message: str) -> ValidationError:
        return ValidationError(message, "filter")

    # conditions
    def condition(self, node: Any) -> _Expr:
        if isinstance(node, cql.Not):
            inner = self.condition(node.sub_node)
            return _Expr(f"NOT ({inner.sql})", inner.params, BOOLEAN)
        if isinstance(node, cql.Combination):
            lhs, rhs = self.condition(node.lhs), self.condition(node.rhs)
            op = "AND" if isinstance(node, cql.And) else "OR"
            return _Expr(f"({lhs.sql}) {op} ({rhs.sql})", lhs.params + rhs.params, BOOLEAN)
        if isinstance(node, cql.Include):
            return _Expr("FALSE" if node.not_ else "TRUE", [], BOOLEAN)
        if type(node) in _COMPARISON:
            return self.comparison(node)
        if isinstance(node, cql.Between):
            return self.between(node)
        if isinstance(node, cql.Like):
            return self.like(node)
        if isinstance(node, cql.In):
            return self.in_(node)
        if isinstance(node, cql.IsNull):
            arg = self.expr(node.lhs)
            if arg.literal:
                raise self.fail("IS NULL needs a property")
            return _Expr(f"{arg.sql} IS {'NOT ' if node.not_ else ''}NULL", arg.params, BOOLEAN)
        if type(node) in _SPATIAL:
            lhs, rhs = self.geometry(node.lhs), self.geometry(node.rhs)
            return _Expr(
                f"{_SPATIAL[type(node)]}({lhs.sql}, {rhs.sql})", lhs.params + rhs.params, BOOLEAN
            )
        if isinstance(node, cql.BBox):
            lhs = self.geometry(node.lhs)
            box = self.literal_geometry(shapely.box(node.minx, node.miny, node.maxx, node.maxy))
            return _Expr(f"ST_Intersects({lhs.sql}, {box.sql})", lhs.params + box.params, BOOLEAN)
        if isinstance(node, cql.Attribute) and self.attribute(node).type == BOOLEAN:
            return self.attribute(node)
        if isinstance(node, bool):
            return _Expr("TRUE" if node else "FALSE", [], BOOLEAN)
        raise self.fail(f"unsupported filter expression: {_describe(node)}")

    def comparison(self, node: cql.Comparison) -> _Expr:
        op = _COMPARISON[type(node)]
        lhs, rhs = self.typed_pair(node.lhs, node.rhs)
        array = lhs if lhs.type == ARRAY else rhs if rhs.type == ARRAY else None
        if array is not None:
            other = rhs if array is lhs else lhs
            if op not in ("=", "<>") or other.type == ARRAY:
                raise self.fail("a list property can only be compared with = or <> to one value")
            sql = f"{other.sql} = ANY({array.sql})"
            return _Expr(sql if op == "=" else f"NOT ({sql})", other.params + array.params, BOOLEAN)
        if lhs.type in (GEOMETRY,) or rhs.type in (GEOMETRY,):
            raise self.fail("compare geometries with spatial functions such as S_INTERSECTS")
        if op not in ("=", "<>") and BOOLEAN in (lhs.type, rhs.type):
            raise self.fail(f"booleans can only be compared with = or <>, not {op}")
        return _Expr(f"{lhs.sql} {op} {rhs.sql}", lhs.params + rhs.params, BOOLEAN)

    def between(self, node: cql.Between) -> _Expr:
        arg = self.expr(node.lhs)
        if arg.type not in (NUMBER, INTEGER, DATE, DATETIME, STRING):
            raise self.fail("BETWEEN needs a number, date or text property")
        low, high = self.coerce(node.low, arg.type), self.coerce(node.high, arg.type)
        sql = f"{arg.sql} {'NOT ' if node.not_ else ''}BETWEEN {low.sql} AND {high.sql}"
        return _Expr(sql, arg.params + low.params + high.params, BOOLEAN)

    def like(self, node: cql.Like) -> _Expr:
        arg = self.expr(node.lhs)
        pattern = (
            self.coerce(node.pattern, STRING)
            if not isinstance(node.pattern, cql.Node)
            else self.expr(node.pattern)
        )
        if arg.type not in (STRING, None) or pattern.type != STRING:
            raise self.fail("LIKE needs a text property and a text pattern")
        # CQL2's wildcards are SQL's: % any characters, _ one character, \ escapes.
        op = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        sql = f"{arg.sql}::text {op} {pattern.sql} ESCAPE '\\'"
        return _Expr(sql, arg.params + pattern.params, BOOLEAN)

    def in_(self, node: cql.In) -> _Expr:
        arg = self.expr(node.lhs)
        if arg.type in (GEOMETRY, BOOLEAN):
            raise self.fail("IN needs a text, number or date property")
        if arg.type == ARRAY:
            values = [self.coerce(v, STRING).value for v in node.sub_nodes]
            sql = f"{arg.sql} && %s::text[]"
        else:
            values = [self.coerce(v, arg.type).value for v in node.sub_nodes]
            if arg.type in (NUMBER, INTEGER):
                values = [float(v) for v in values]  # one element type for the array
            sql = f"{arg.sql} = ANY(%s{_CAST[arg.type or STRING]}[])"
        if node.not_:
            sql = f"NOT ({sql})"
        return _Expr(sql, [*arg.params, values], BOOLEAN)

    # values
    def typed_pair(self, a: Any, b: Any) -> tuple[_Expr, _Expr]:
        lhs, rhs = self.expr(a), self.expr(b)
        if GEOMETRY in (lhs.type, rhs.type):
            raise self.fail("compare geometries with spatial functions such as S_INTERSECTS")
        if lhs.literal and not rhs.literal:
            lhs = self.coerce(a, _element(rhs.type))
        elif rhs.literal and not lhs.literal:
            rhs = self.coerce(b, _element(lhs.type))
        elif not lhs.literal and not rhs.literal and _comparable(lhs.type) != _comparable(rhs.type):
            raise self.fail(f"cannot compare a {lhs.type} with a {rhs.type}")
        return lhs, rhs

    def expr(self, node: Any) -> _Expr:
        if isinstance(node, cql.Attribute):
            return self.attribute(node)
        if isinstance(node, cql.Function):
            return self.function(node)
        if isinstance(node, cql.Node):
            raise self.fail(f"unsupported filter expression: {_describe(node)}")
        return self.literal(node)

    def attribute(self, node: cql.Attribute) -> _Expr:
        name = node.name
        if name in GEOMETRY_NAMES:
            return _Expr("t.geom", [], GEOMETRY)
        if name == "id":
            return _Expr("t.id", [], self.coll.id_type)
        prop = self.coll.prop(name)
        if prop is None or not prop.queryable:
            raise self.fail(
                f"unknown property {name!r} in filter; queryables of {self.coll.id}: "
                + ", ".join(["id", "geometry", *(p.name for p in self.coll.queryables)])
            )
        return _Expr(prop.sql, [], prop.type)

    def function(self, node: cql.Function) -> _Expr:
        name = node.name.lower()
        if name in ("lower", "upper", "casei") and len(node.arguments) == 1:
            arg = self.expr(node.arguments[0])
            if arg.literal:
                arg = self.coerce(node.arguments[0], STRING)
            if arg.type != STRING:
                raise self.fail(f"{node.name.upper()}() needs text")
            fn = "upper" if name == "upper" else "lower"
            return _Expr(f"{fn}({arg.sql})", arg.params, STRING)
        raise self.fail(f"unsupported function {node.name!r} in filter")

    def literal(self, value: Any) -> _Expr:
        type_ = _python_type(value)
        if type_ is None:
            raise self.fail(f"unsupported value in filter: {_describe(value)}")
        return _Expr(f"%s{_CAST[type_]}", [value], type_, value=value, literal=True)

    def coerce(self, node: Any, type_: str | None) -> _Expr:
        """A literal as ``type_`` (the property's type) or a clear error."""
        if isinstance(node, cql.Node):
            expr = self.expr(node)
            if not expr.literal and _comparable(expr.type) != _comparable(type_):
                raise self.fail(f"cannot compare a {type_} with a {expr.type}")
            return expr
        value = node
        if type_ is None or type_ == STRING:
            ok = isinstance(value, str)
        elif type_ in (NUMBER, INTEGER):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value) and abs(value) < 1e300
        elif type_ == BOOLEAN:
            ok = isinstance(value, bool)
        elif type_ == DATE:
            if isinstance(value, str):
                value = _parse_date(value)
            ok = isinstance(value, date)
        elif type_ == DATETIME:
            if isinstance(value, str):
                value = _parse_datetime(value)
            ok = isinstance(value, date)
        else:
            ok = False
        if not ok:
            raise self.fail(f"{_describe(node)} is not {_article(type_ or STRING)}")
        return _Expr(f"%s{_CAST[type_ or STRING]}", [value], type_, value=value, literal=True)

    def geometry(self, node: Any) -> _Expr:
        if isinstance(node, cql.Attribute):
            expr = self.attribute(node)
            if expr.type != GEOMETRY:
                raise self.fail(f"{node.name!r} is not a geometry; use 'geometry'")
            return expr
        if isinstance(node, cql_values.Envelope):
            return self.literal_geometry(shapely.box(node.x1, node.y1, node.x2, node.y2))
        if isinstance(node, cql.Function) and node.name.lower() == "bbox":
            args = node.arguments
            if len(args) not in (4, 6) or not all(_is_number(a) for a in args):
                raise self.fail("BBOX() needs 4 (or 6) numbers")
            if len(args) == 6:
                args = [args[0], args[1], args[3], args[4]]
            return self.literal_geometry(shapely.box(*args))
        if isinstance(node, cql_values.Geometry):
            crs = self.crs
            geojson = dict(node.geometry)
            named = geojson.pop("crs", None)
            if named:
                crs = parse_crs(str(named.get("properties", {}).get("name", "")), "filter")
                if crs.uri == EPSG_4326:  # EWKT SRID=4326 means lon/lat, as PostGIS reads it
                    crs = SUPPORTED_CRS[CRS84]
            try:
                geom = shapely.geometry.shape(geojson)
            except Exception as exc:
                raise self.fail(f"invalid geometry in filter: {exc}") from None
            return self.literal_geometry(geom, crs)
        raise self.fail(f"expected a geometry, got {_describe(node)}")

    def literal_geometry(self, geom: Any, crs: Crs | None = None) -> _Expr:
        crs = crs or self.crs
        coords = shapely.get_coordinates(geom)
        if geom.is_empty or not len(coords) or not (abs(coords) < 1e15).all():
            raise self.fail("geometry in filter is empty or has non-finite coordinates")
        if crs.lat_first:
            geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
            coords = shapely.get_coordinates(geom)
        if crs.geographic and not (
            (abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all()
        ):
            raise self.fail("geometry in filter is outside longitude ±180 / latitude ±90")
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        sql = f"ST_GeomFromWKB(%s, {crs.srid})"
        if crs.srid != STORAGE_SRID:
            sql = f"ST_Transform({sql}, {STORAGE_SRID})"
        # a scalar subquery: built once per query, not once per row (see _bbox_clause)
        return _Expr(f"(SELECT {sql})", [shapely.to_wkb(geom)], GEOMETRY)


def _element(type_: str | None) -> str | None:
    return STRING if type_ == ARRAY else type_


def _comparable(type_: str | None) -> str | None:
    return {INTEGER: NUMBER, DATE: DATETIME}.get(type_ or "", type_)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _python_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER if math.isfinite(value) and abs(value) < 1e300 else None
    if isinstance(value, str):
        return STRING
    if isinstance(value, datetime):
        return DATETIME
    if isinstance(value, date):
        return DATE
    return None


def _parse_date(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def _parse_datetime(text: str) -> datetime | str:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


def _describe(node: Any) -> str:
    text = repr(node)
    return text if len(text) <= 80 else text[:77] + "..."
