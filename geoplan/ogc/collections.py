"""The feature collections geoplan publishes: each described once (:class:`Collection`, its
:class:`Prop` list — for a layer, derived from the layer's own description in
:mod:`geoplan.layers.spec`), and every rendering — SELECT lists, queryables, filters, sort keys —
derived from that description.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import psycopg

from geoplan.config import STORAGE_SRID
from geoplan.errors import NotFoundError
from geoplan.geo.municipalities import kommune_phrase, served
from geoplan.layers.spec import (
    AREAS,
    BOUNDARY,
    DERIVED,
    HUBS,
    OGC_ORDER,
    PREMISES,
    ColumnSpec,
    LayerSpec,
    provenance_columns,
)

STRING, NUMBER, INTEGER, BOOLEAN, DATE, DATETIME, ARRAY = (
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "date-time",
    "array",
)
SQL_CAST = {
    STRING: "::text",
    NUMBER: "::double precision",
    INTEGER: "::double precision",
    BOOLEAN: "::boolean",
    DATE: "::date",
    DATETIME: "::timestamptz",
}


def type_phrase(type_: str) -> str:
    """A property type in words, for error messages (``number`` → "a number")."""
    return {
        NUMBER: "a number",
        INTEGER: "an integer",
        BOOLEAN: "true or false",
        DATE: "a date (YYYY-MM-DD)",
        DATETIME: "a date-time (RFC 3339)",
        ARRAY: "a list",
    }.get(type_, "text")


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


_PROP_TYPES = {
    "text": STRING,
    "float": NUMBER,
    "int": INTEGER,
    "bool": BOOLEAN,
    "date": DATE,
    "timestamp": DATETIME,
    "text[]": ARRAY,
}


def column_props(columns: Iterable[ColumnSpec]) -> tuple[Prop, ...]:
    """Published properties from field descriptions (:mod:`geoplan.layers.spec`)."""
    return tuple(
        Prop(
            c.name,
            _PROP_TYPES[c.kind],
            c.description,
            enum=c.allowed if c.kind == "text" else None,
            items_enum=c.allowed if c.kind == "text[]" else None,
        )
        for c in columns
    )


def layer_props(spec: LayerSpec) -> tuple[Prop, ...]:
    """The published properties of a layer, from its description: its queryable fields in
    :data:`~geoplan.layers.spec.OGC_ORDER` (the id is the Feature's)."""
    return column_props(c for c in spec.by_role(*OGC_ORDER) if c.queryable)


@dataclass(frozen=True)
class Collection:
    """A published table: identity, description, properties and geometry type.

    ``description`` may name ``{municipality}``: the served municipalities, filled in when the
    collection is described (:func:`describe`), so a store for Oslo does not speak of Lørenskog.
    """

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
    # The property ``datetime=`` selects on (OGC Part 1: the features' temporal geometry, an
    # instant), also the collection's temporal extent; None: ``datetime`` is ignored.
    temporal: str | None = None

    def prop(self, name: str) -> Prop | None:
        name = self.aliases.get(name, name)
        return next((p for p in self.props if p.name == name), None)

    @property
    def queryables(self) -> tuple[Prop, ...]:
        return tuple(p for p in self.props if p.queryable)

    @property
    def temporal_prop(self) -> Prop | None:
        """The property ``datetime`` selects on (a date or date-time), if any."""
        return self.prop(self.temporal) if self.temporal else None


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "areas",
            "areas",
            "Focus areas (næringsområder)",
            "The focus areas for business development in {municipality} with their role, "
            "identity and target industries, from the municipality's business-area strategy "
            "(shipped for Lørenskog: sentrum, stasjonsområdet, Fjellhamar, Visperud, Ahus, "
            "Losbydalen). Outlines are approximate (see accuracy_m and source on each feature).",
            "MultiPolygon",
            layer_props(AREAS),
            keywords=("næringsområder", "business areas", "Lørenskog"),
            temporal="updated_at",
        ),
        Collection(
            "hubs",
            "hubs",
            "Transit hubs (kollektivknutepunkt)",
            "Rail, metro and bus hubs in and near {municipality}, existing and planned, with lines "
            "and departures per hour. The shipped hubs are hand-curated from public sources "
            "and partly estimated; GTFS imports (e.g. Entur) add more (see source, accuracy_m "
            "and verified on each feature).",
            "Point",
            layer_props(HUBS),
            keywords=("kollektivknutepunkt", "transit", "Entur"),
            temporal="updated_at",
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
            layer_props(PREMISES),
            aliases={"use": "uses"},
            keywords=("ledige lokaler", "vacant premises", "SAMPLE DATA"),
            features_table="premises_features",
            # the derived values (premises_walk), appended to the stored head at read time
            live_props=tuple(c.name for c in PREMISES.by_role(DERIVED) if c.queryable),
            live_source="(SELECT premises_seq AS key, hub_id AS nearest_hub_id, walk_m, walk_min, "
            "method AS walk_method FROM premises_walk)",
            row_key="seq",
            # registration order: API-made ids are random ("p-" + hex), so an id order says
            # nothing, and a bbox page sorts ~1 000 integers instead of ~1 000 strings
            order_key="seq",
            lonlat="lonlat",
            # what a premises seeker asks of time: available by when (datetime=../2025-09-01)
            temporal="available_from",
        ),
        Collection(
            "boundary",
            "boundary",
            "Municipality boundary (kommunegrense)",
            "The boundary of {municipality} (from Kartverket's administrative units; see "
            "source and licence on the feature).",
            "MultiPolygon",
            layer_props(BOUNDARY),
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
            temporal="computed_at",
        ),
        Collection(
            "plans",
            "plans",
            "Zoning plans (reguleringsplaner)",
            "Zoning plans imported with `geoplan import-plan` (Reguleringsplanforslag 5.0 GML or "
            "SOSI), one feature per plan keyed by its national plan id "
            "<kommunenummer>_<planidentifikasjon>; the geometry is the plan area (RpOmråde), "
            "null when the file has none. Code names from layers/land_use_codes.toml.",
            "MultiPolygon",
            (
                Prop("plan_id", STRING, "Plan identifier within the municipality."),
                Prop("name", STRING, "Plan name (plannavn)."),
                Prop("plan_type", INTEGER, "Plan type code (plantype)."),
                Prop("plan_type_name", STRING, "Plan type, e.g. Detaljregulering."),
                Prop("status", INTEGER, "Plan status code (planstatus)."),
                Prop("status_name", STRING, "Plan status, e.g. Endelig vedtatt arealplan."),
                Prop("decision_date", DATE, "Date of the final decision (vedtakEndeligPlanDato)."),
                Prop("kommunenummer", STRING, "Municipality number."),
                Prop("format", STRING, "File format it was imported from."),
                Prop("source_file", STRING, "File it was imported from."),
                Prop("source_date", DATE, "The plan's own last update (oppdateringsdato)."),
                Prop("imported_at", DATETIME, "When geoplan imported it."),
                *column_props(provenance_columns()),
            ),
            keywords=("reguleringsplan", "zoning plan", "SOSI"),
            temporal="decision_date",
        ),
        Collection(
            "land_use",
            "land_use",
            "Land-use areas of zoning plans (arealformål)",
            "The land-use areas (RpArealformålOmråde) of the imported zoning plans: purpose code "
            "and its Norwegian name from the official code list (SOSI Plan 5.0, "
            "layers/land_use_codes.toml), field name, utilisation where the plan gives it, and "
            "the plan it belongs to (see plans).",
            "MultiPolygon",
            (
                Prop("plan", STRING, "Id of the plan (see plans)."),
                Prop("code", INTEGER, "Land-use purpose code (arealformål)."),
                Prop("name", STRING, "Land-use purpose, Norwegian name from the code list."),
                Prop("main_purpose", STRING, "Main purpose (hovedformål, pbl. § 12-5)."),
                Prop("field_name", STRING, "Field name on the plan map (feltnavn)."),
                Prop("ownership", STRING, "Ownership (eierform)."),
                Prop("utilisation_type", INTEGER, "Utilisation type code (utnyttingstype)."),
                Prop("utilisation_type_name", STRING, "Utilisation type, e.g. %-BYA."),
                Prop("utilisation", NUMBER, "Utilisation figure (utnyttingstall)."),
                Prop("utilisation_min", NUMBER, "Minimum utilisation (utnyttingstall_minimum)."),
                Prop("description", STRING, "Description (beskrivelse)."),
                Prop("kommunenummer", STRING, "Municipality number."),
                *column_props(provenance_columns()),
            ),
            keywords=("arealformål", "land use", "reguleringsplan"),
        ),
    )
}


def municipality_phrase(conn: psycopg.Connection) -> str:
    """The served municipalities as the descriptions name them: ``Lørenskog kommune``, ``the
    municipalities Lillestrøm, Lørenskog and Rælingen``; ``the municipality`` before a boundary
    is loaded."""
    names = [k.name for k in served(conn)]
    return kommune_phrase(names) if names else "the municipality"


def describe(conn: psycopg.Connection, coll: Collection) -> str:
    """The collection's description for this store (its ``{municipality}`` filled in)."""
    return coll.description.format(municipality=municipality_phrase(conn))


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


@dataclass
class Extent:
    bbox: list[float] | None  # CRS84 minlon, minlat, maxlon, maxlat
    count: int
    # first and last value of the temporal property as RFC 3339 (None: no value, or no property)
    interval: list[str | None] = field(default_factory=lambda: [None, None])


def extent(conn: psycopg.Connection, coll: Collection) -> Extent:
    """The collection's spatial extent in CRS84 and temporal extent, computed from the data."""
    # ST_Extent is the box in 25833; its reprojected corners bound the data closely enough for
    # a client's "zoom to layer" (metres at Lørenskog's latitude) and it reads no geometry twice.
    temporal = coll.temporal_prop
    first, last = (f"min({temporal.sql})", f"max({temporal.sql})") if temporal else ("NULL", "NULL")
    row = conn.execute(
        f"""SELECT n, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t_first, t_last FROM (
              SELECT count(*) AS n, ST_Transform(
                       ST_SetSRID(ST_Extent(geom)::geometry, {STORAGE_SRID}), 4326) AS e,
                     {first} AS t_first, {last} AS t_last
              FROM {coll.table} t) s"""
    ).fetchone()
    interval = [_rfc3339(row[5]), _rfc3339(row[6])] if row else [None, None]
    if row is None or row[1] is None:
        return Extent(None, 0, interval)
    return Extent([round(v, 7) for v in row[1:5]], row[0], interval)


def _rfc3339(value: date | datetime | None) -> str | None:
    """A temporal extent bound: a date-time in UTC (a date as its first instant)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
