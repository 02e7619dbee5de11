"""Each layer described once: its columns, their types, units, labels, who keeps them and where
they are published.

A layer's :class:`LayerSpec` lists every field a reader of the layer meets — the columns a file
import fills, the bookkeeping geoplan keeps (``version``, ``updated_at``) and the values derived
from other data (premises' nearest hub and walk) — each a :class:`ColumnSpec` with a *role*. Every
rendering is derived from it rather than written out again: file import, validation and export
(:mod:`geoplan.ingest`), the SQL that selects, renders and snapshots premises
(:mod:`geoplan.layers.sql`), the premises register's checks, the OGC collections' properties and
queryables (:mod:`geoplan.ogc.collections`), the API's request and response models
(``api/layer_models.py``) and the CLI's columns. Aliases let planners feed files as they come
(Norwegian or English headers, any case) without renaming columns first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from geoplan.vocab import (
    AREA_ROLES,
    ENERGY_LABELS,
    HUB_MODES,
    HUB_STATUSES,
    KOMMUNENUMMER_PATTERN,
    PREMISES_STATUSES,
    UNIT_STATUSES,
    USE_CATEGORIES,
)

# Plausible ranges of the layers' numbers (see ColumnSpec.max_value): far beyond any real value,
# far below where sums over a million rows could overflow.
MAX_FLOOR_AREA_M2 = 1_000_000.0
"""1 km² of floor space: more than any building in Norway."""
MAX_RENT_NOK_M2_YEAR = 100_000.0
"""NOK per m² and year: prime offices in Oslo ask about a tenth of it."""
MAX_ACCURACY_M = 100_000.0
"""100 km: a position less certain than that says nothing about the municipality."""
MAX_DEPARTURES_PER_HOUR = 1_000.0
"""One departure every 3.6 seconds: more than any stop in Norway serves."""
MIN_YEAR, MAX_YEAR = 1800, 2200
"""Years a boundary may be valid from (municipalities date from 1837); also the stored range of a
building's year built or renovated, which every way in also holds to the current year at most
(:attr:`ColumnSpec.not_future`)."""
MIN_FLOOR, MAX_FLOOR = -10, 200
"""Floors (etasje): 1 is the ground floor, 0 and below are basements (U1 = 0 … U10 = -9); the
tallest building in Norway has 37."""
MAX_WORKPLACES = 100_000
"""Office workplaces of one listing: far more than any building holds."""
MAX_PARKING_SPACES = 100_000
"""Parking spaces of one listing: the largest Norwegian car parks hold a few thousand."""
MAX_CEILING_HEIGHT_M = 100.0
"""Free ceiling height in metres: high-bay warehouses reach about 40."""


# Column kinds: how a value is parsed and which PostgreSQL type it is copied as.
SQL_TYPES: dict[str, str] = {
    "text": "text",
    "float": "float8",
    "int": "int4",
    "bool": "bool",
    "date": "date",
    "text[]": "text[]",
    "timestamp": "timestamptz",  # kept by geoplan, never imported
}

# Roles: who sets a field and so where it appears.
KEY = "key"  # the id: a file names it, geoplan makes it for API-created premises
ATTRIBUTE = "attribute"  # the layer's own data, from files or API clients
PROVENANCE = "provenance"  # where a row comes from and how far to trust it (every layer)
KEPT = "kept"  # bookkeeping geoplan writes itself: version, created_at, updated_at
DERIVED = "derived"  # computed from other layers (premises' nearest hub and walk)
SEARCH = "search"  # exists only in a premises search that names a ``hub``

IMPORTED = (KEY, ATTRIBUTE, PROVENANCE)
"""The roles of the columns a file import fills (:attr:`LayerSpec.columns`)."""
STORED = (KEY, ATTRIBUTE, PROVENANCE, KEPT)
"""The roles of the layer table's own columns: what a premises history snapshot holds."""
API_ORDER = (KEY, ATTRIBUTE, DERIVED, SEARCH, PROVENANCE, KEPT)
"""How the premises API and the CLI group a record's fields (``GET /premises`` features, the
response schema, the search's SELECT list)."""
RECORD_ROLES = tuple(r for r in API_ORDER if r != SEARCH)
"""A premises record as the API and CLI read one (``GET /premises/{id}``, a search without
``hub``), in API order."""
OGC_ORDER = (ATTRIBUTE, DERIVED, KEPT, PROVENANCE)
"""How the OGC collections group their properties (queryables, items); the stored premises heads
of migration 0003/0004 hold the same order without the derived values, which a page appends."""


@dataclass(frozen=True)
class ColumnSpec:
    """One field of a layer: what it holds, how it is checked, and who sets it.

    The first group of attributes is what an importer needs; ``role`` and the flags after it say
    where the field appears; ``label_*``, ``unit`` and ``description`` say what it means.
    """

    name: str
    kind: str = "text"  # a key of SQL_TYPES
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] | None = None  # closed vocabulary (for text and text[] values)
    value_aliases: dict[str, str] = field(default_factory=dict)  # e.g. "kontor" -> "office"
    min_value: float | None = None
    min_exclusive: bool = False  # True: value must be > min_value, else >= min_value
    # The largest plausible value (numbers): beyond it a value is a mistake (1e308 m², a rent of
    # 2^31) that would overflow sums and comparisons downstream. Every way in checks it: file
    # import, the register, the API's models (and so OpenAPI's ``maximum``), the search filters.
    max_value: float | None = None
    pattern: str | None = None  # a regular expression text values must match (``^…$``)
    pattern_hint: str = ""  # the pattern in words, for messages ("four digits, e.g. 0301")
    default: object = None  # what an empty cell means when the table column is NOT NULL
    role: str = ATTRIBUTE
    # Set by geoplan even though stored with the attributes (provenance ``source``, ``sample``);
    # key, kept, derived and search fields are read-only anyway.
    read_only: bool = False
    # Whether the column may hold NULL; None: nullable unless required or defaulted.
    nullable: bool | None = None
    # An OGC property of the layer's collection (and so queryable and sortable); False for the
    # values the collection's table does not hold (joined names, search-only values).
    queryable: bool = True
    exported: bool = True  # in ``geoplan export`` files (key, attribute, provenance always)
    # in the short listing: the CLI's search table and CSV, the layer's vector tiles
    summary: bool = False
    decimals: int | None = None  # search results round it (a derived estimate) to this many
    unit: str | None = None
    label_nb: str = ""
    label_en: str = ""
    description: str = ""  # one sentence, published (OGC queryables)
    # The API schema's wording where it has one of its own (the schema predates this
    # description and the published documents stay as they were).
    api_description: str | None = None
    examples: tuple[object, ...] = ()  # for the API's request schema
    # A year that may not lie after the current one (year built or renovated): checked by every
    # way in against today's date (:meth:`future`), within the static range the store's CHECK
    # holds (a planned building states its year in the description).
    not_future: bool = False
    # How a listing with units (``premises_units``) derives this value from its vacant units
    # (``sum``, ``min`` or ``earliest``); None: the listing's own value whatever its units.
    from_units: str | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]

    @property
    def is_nullable(self) -> bool:
        if self.nullable is not None:
            return self.nullable
        return not self.required and self.default is None

    @property
    def writable(self) -> bool:
        """Whether an API client sets it (a listing's attributes and most provenance)."""
        return self.role in (ATTRIBUTE, PROVENANCE) and not self.read_only

    def in_range(self, value: float) -> bool:
        """Whether a finite number lies in the declared range (``min_value``, ``max_value``):
        what the store's CHECK accepts too (a year's "not in the future" is :meth:`future`)."""
        low, high = self.min_value, self.max_value
        if low is not None and (value <= low if self.min_exclusive else value < low):
            return False
        return high is None or value <= high

    def future(self, value: float) -> str | None:
        """Why a ``not_future`` year is refused (it lies after the current one), else None."""
        year = date.today().year
        if self.not_future and value > year:
            return f"must not be in the future (≤ {year})"
        return None

    @property
    def range_text(self) -> str:
        """The declared range in words, for messages: ``> 0 and ≤ 1000000``."""
        parts = []
        if self.min_value is not None:
            parts.append(f"{'>' if self.min_exclusive else '≥'} {number_text(self.min_value)}")
        if self.max_value is not None:
            parts.append(f"≤ {number_text(self.max_value)}")
        return " and ".join(parts)


def number_text(value: float) -> str:
    """A number as people write it, and exactly the number: ``1000000``, ``0.5``, ``12345.75``
    (not ``1e+06``, nor ``12345.8`` as ``{:g}``'s six digits would make it)."""
    if float(value).is_integer():
        return str(int(value))
    text = repr(float(value))  # the shortest text that reads back as the same float
    return format(Decimal(text), "f") if "e" in text else text


@dataclass(frozen=True)
class LayerSpec:
    """A layer: its table, geometry kind and fields (provenance fields are in all)."""

    name: str
    geometry: str  # "point" | "polygon"
    fields: tuple[ColumnSpec, ...]  # declared in API_ORDER
    # The fields of a record's ``units`` (premises: several spaces in one building, a table of
    # their own); empty: the layer's records have no units.
    unit_fields: tuple[ColumnSpec, ...] = ()

    @property
    def table(self) -> str:
        return self.name

    @property
    def columns(self) -> tuple[ColumnSpec, ...]:
        """The columns a file import fills (key, attributes, provenance), in file order."""
        return self.by_role(*IMPORTED)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.fields if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def by_role(self, *roles: str) -> tuple[ColumnSpec, ...]:
        """The fields of ``roles``, grouped in the order the roles are given."""
        return tuple(c for role in roles for c in self.fields if c.role == role)

    def names(self, *roles: str) -> tuple[str, ...]:
        return tuple(c.name for c in self.by_role(*roles))

    @property
    def read_only(self) -> tuple[str, ...]:
        """Fields geoplan keeps itself (API order): returned, but never set by a client."""
        return tuple(c.name for c in self.by_role(*API_ORDER) if not c.writable)

    @property
    def writable(self) -> tuple[ColumnSpec, ...]:
        """Fields an API client sets (API order)."""
        return tuple(c for c in self.by_role(*API_ORDER) if c.writable)


USE_ALIASES: dict[str, str] = {
    "kontor": "office",
    "offices": "office",
    "handel": "retail",
    "butikk": "retail",
    "shop": "retail",
    "lager": "warehouse_logistics",
    "logistikk": "warehouse_logistics",
    "lager/logistikk": "warehouse_logistics",
    "warehouse": "warehouse_logistics",
    "logistics": "warehouse_logistics",
    "warehouse/logistics": "warehouse_logistics",
    "produksjon": "production",
    "industri": "production",
    "industry": "production",
    "helse": "health",
    "servering": "hospitality",
    "hotell": "hospitality",
    "hotel": "hospitality",
    "restaurant": "hospitality",
    "annet": "other",
}
MODE_ALIASES: dict[str, str] = {
    "tog": "rail",
    "train": "rail",
    "jernbane": "rail",
    "t-bane": "metro",
    "tbane": "metro",
    "subway": "metro",
    "bus terminal": "bus_terminal",
    "bussterminal": "bus_terminal",
    "bus stop": "bus_stop",
    "bussholdeplass": "bus_stop",
    "holdeplass": "bus_stop",
}
STATUS_ALIASES: dict[str, str] = {"eksisterende": "existing", "planlagt": "planned"}
ROLE_ALIASES: dict[str, str] = {
    "local centre": "local_centre",
    "local center": "local_centre",
    "center": "centre",
    "sentrum": "centre",
    "lokalsenter": "local_centre",
    "næringsområde": "business_area",
    "business area": "business_area",
    "destinasjon": "destination",
}

_PROVENANCE_FIELDS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "source",
        aliases=("kilde",),
        role=PROVENANCE,
        read_only=True,  # the API names the key that wrote a listing
        nullable=False,
        summary=True,
        label_nb="Kilde",
        label_en="Source",
        description="Where the feature comes from.",
    ),
    ColumnSpec(
        "source_url",
        aliases=("kilde_url", "url_source"),
        role=PROVENANCE,
        label_nb="Kilde-URL",
        label_en="Source URL",
        description="Link to the source.",
    ),
    ColumnSpec(
        "licence",
        aliases=("license", "lisens"),
        role=PROVENANCE,
        label_nb="Lisens",
        label_en="Licence",
        description="Licence of the source data.",
    ),
    ColumnSpec(
        "accuracy_m",
        "float",
        aliases=("accuracy", "noyaktighet_m", "nøyaktighet_m"),
        min_value=0,
        max_value=MAX_ACCURACY_M,
        role=PROVENANCE,
        summary=True,
        unit="m",
        label_nb="Posisjonsnøyaktighet",
        label_en="Positional accuracy",
        description="Positional accuracy in metres (estimate).",
    ),
    ColumnSpec(
        "verified",
        "bool",
        aliases=("verifisert",),
        role=PROVENANCE,
        nullable=False,
        summary=True,
        label_nb="Verifisert",
        label_en="Verified",
        description="Whether someone has checked the feature against the source.",
    ),
    ColumnSpec(
        "sample",
        "bool",
        aliases=("eksempel",),
        role=PROVENANCE,
        read_only=True,  # API listings are never sample data
        nullable=False,
        summary=True,
        label_nb="Eksempeldata",
        label_en="Sample data",
        description="True for invented SAMPLE data, never to be taken as real.",
    ),
)
PROVENANCE_NAMES = tuple(c.name for c in _PROVENANCE_FIELDS)


@dataclass
class ProvenanceDefaults:
    """Provenance for rows whose file leaves it out (options of ``geoplan import`` and
    ``geoplan import-addresses``); ``None`` leaves the importer's own default."""

    source: str | None = None
    source_url: str | None = None
    licence: str | None = None
    accuracy_m: float | None = None
    verified: bool | None = None
    sample: bool | None = None


def provenance_columns() -> tuple[ColumnSpec, ...]:
    """The provenance fields every layer carries (for tables described elsewhere, e.g. zoning)."""
    return _PROVENANCE_FIELDS


def _provenance(**changes: dict[str, object]) -> tuple[ColumnSpec, ...]:
    """The provenance fields, some worded for one layer (``name={"attribute": value}``)."""
    return tuple(replace(c, **changes.get(c.name, {})) for c in _PROVENANCE_FIELDS)


def _updated_at(description: str) -> ColumnSpec:
    return ColumnSpec(
        "updated_at",
        "timestamp",
        role=KEPT,
        nullable=False,
        label_nb="Sist endret",
        label_en="Last changed",
        description=description,
    )


_KOMMUNENUMMER = ColumnSpec(
    "kommunenummer",
    aliases=("kommunenr", "kommune_nr", "municipality_number"),
    pattern=KOMMUNENUMMER_PATTERN,
    pattern_hint="four digits, e.g. 0301 or 3222",
    read_only=True,  # derived from the position unless an imported file names it
    label_nb="Kommunenummer",
    label_en="Municipality number",
    description="Number of the municipality the feature lies in (kommunenummer); derived from "
    "its position unless the data gives it.",
)
"""The municipality of a feature (migration 0005): the last attribute of areas, hubs and
premises. A file may name it; otherwise the store derives it from the geometry (a trigger)."""

_ID = ColumnSpec(
    "id",
    required=True,
    aliases=("fid_text", "identifier", "ident"),
    role=KEY,
    summary=True,
    label_nb="Id",
    label_en="Id",
)
_NAME = ColumnSpec(
    "name", required=True, aliases=("navn", "title"), label_nb="Navn", label_en="Name"
)

BOUNDARY = LayerSpec(
    "boundary",
    "polygon",
    (
        ColumnSpec(
            "id",
            required=True,
            aliases=("kommunenummer", "kommunenr", "identifier"),
            role=KEY,
            label_nb="Id",
            label_en="Id",
        ),
        ColumnSpec(
            "name",
            required=True,
            aliases=("navn", "kommunenavn"),
            summary=True,
            label_nb="Kommunenavn",
            label_en="Municipality",
            description="Name of the municipality.",
        ),
        ColumnSpec(
            "kommunenummer",
            aliases=("kommunenr", "municipality_number"),
            pattern=KOMMUNENUMMER_PATTERN,
            pattern_hint=_KOMMUNENUMMER.pattern_hint,
            label_nb="Kommunenummer",
            label_en="Municipality number",
            description="Municipality number.",
        ),
        ColumnSpec(
            "valid_from",
            "int",
            aliases=("gyldig_fra",),
            min_value=MIN_YEAR,
            max_value=MAX_YEAR,
            unit="year",
            label_nb="Gyldig fra",
            label_en="Valid from",
            description="Year the boundary is valid from.",
        ),
        *_provenance(),
    ),
)

AREAS = LayerSpec(
    "areas",
    "polygon",
    (
        ColumnSpec(
            "id",
            required=True,
            aliases=("slug", "identifier"),
            role=KEY,
            label_nb="Id",
            label_en="Id",
        ),
        replace(_NAME, label_nb="Områdenavn", summary=True, description="Name of the area."),
        ColumnSpec(
            "role",
            required=True,
            aliases=("rolle",),
            summary=True,
            allowed=AREA_ROLES,
            value_aliases=ROLE_ALIASES,
            label_nb="Rolle",
            label_en="Role",
            description="Role in the strategy.",
        ),
        ColumnSpec(
            "identity",
            aliases=("identitet",),
            label_nb="Identitet",
            label_en="Identity (Norwegian)",
            description="Identity (Norwegian).",
        ),
        ColumnSpec(
            "identity_en",
            label_nb="Identitet (engelsk)",
            label_en="Identity",
            description="Identity (English).",
        ),
        ColumnSpec(
            "target_industries",
            "text[]",
            aliases=("malgrupper", "bransjer"),
            nullable=False,  # an empty list, never NULL
            label_nb="Målbransjer",
            label_en="Target industries (Norwegian)",
            description="Target industries (Norwegian).",
        ),
        ColumnSpec(
            "target_industries_en",
            "text[]",
            nullable=False,
            label_nb="Målbransjer (engelsk)",
            label_en="Target industries",
            description="Target industries (English).",
        ),
        ColumnSpec(
            "strategy_ref",
            aliases=("strategi_ref",),
            label_nb="Strategihenvisning",
            label_en="Strategy reference",
            description="Where in the strategy the area is described.",
        ),
        ColumnSpec(
            "development_area",
            "bool",
            aliases=("utviklingsomrade",),
            default=True,
            summary=True,
            label_nb="Utviklingsområde",
            label_en="Development area",
            description="Whether it is a development area.",
        ),
        _KOMMUNENUMMER,
        *_provenance(),
        _updated_at("Last change in geoplan."),
    ),
)

HUBS = LayerSpec(
    "hubs",
    "point",
    (
        _ID,
        replace(_NAME, label_nb="Knutepunkt", summary=True, description="Name of the hub."),
        ColumnSpec(
            "mode",
            required=True,
            aliases=("modus", "type", "kind"),
            summary=True,
            allowed=HUB_MODES,
            value_aliases=MODE_ALIASES,
            label_nb="Transportform",
            label_en="Mode",
            description="Transport mode.",
        ),
        ColumnSpec(
            "status",
            allowed=HUB_STATUSES,
            value_aliases=STATUS_ALIASES,
            default="existing",
            summary=True,
            label_nb="Status",
            label_en="Status",
            description="Existing or planned.",
        ),
        ColumnSpec(
            "lines",
            "text[]",
            aliases=("linjer", "routes"),
            nullable=False,
            label_nb="Linjer",
            label_en="Lines",
            description="Lines serving the hub.",
        ),
        ColumnSpec(
            "departures_per_hour",
            "float",
            aliases=("avganger_per_time", "departures"),
            min_value=0,
            max_value=MAX_DEPARTURES_PER_HOUR,
            unit="1/h",
            label_nb="Avganger per time",
            label_en="Departures per hour",
            description="Departures per hour (weekday daytime).",
        ),
        ColumnSpec(
            "nsr_id",
            aliases=("nsr", "stopplace_id", "nsr_stopplace_id"),
            label_nb="NSR-id",
            label_en="NSR id",
            description="Entur National Stop Register id.",
        ),
        ColumnSpec(
            "address",
            aliases=("adresse",),
            label_nb="Adresse",
            label_en="Address",
            description="Address.",
        ),
        ColumnSpec(
            "notes",
            aliases=("merknad", "merknader", "note"),
            label_nb="Merknader",
            label_en="Notes",
            description="Notes.",
        ),
        _KOMMUNENUMMER,
        *_provenance(),
        _updated_at("Last change in geoplan."),
    ),
)

ENERGY_LABEL_ALIASES: dict[str, str] = {label.lower(): label for label in ENERGY_LABELS}


def _floor(description: str) -> ColumnSpec:
    return ColumnSpec(
        "floor",
        "int",
        aliases=("etasje", "etg", "storey"),
        min_value=MIN_FLOOR,
        max_value=MAX_FLOOR,
        label_nb="Etasje",
        label_en="Floor",
        description=description,
        examples=(2,),
    )


def _year(name: str, aliases: tuple[str, ...], label_nb: str, label_en: str, what: str):
    return ColumnSpec(
        name,
        "int",
        aliases=aliases,
        min_value=MIN_YEAR,
        max_value=MAX_YEAR,
        not_future=True,
        unit="year",
        label_nb=label_nb,
        label_en=label_en,
        description=what,
    )


_BUILDING_FIELDS: tuple[ColumnSpec, ...] = (
    _floor(
        "Floor of the space (1 = ground floor, 0 and below = basement); with units, each "
        "unit has its own."
    ),
    ColumnSpec(
        "workplaces",
        "int",
        aliases=("arbeidsplasser", "kontorplasser", "workstations", "desks"),
        min_value=0,
        max_value=MAX_WORKPLACES,
        label_nb="Arbeidsplasser",
        label_en="Workplaces",
        description="Office workplaces the space is laid out for.",
        examples=(40,),
    ),
    ColumnSpec(
        "parking_spaces",
        "int",
        aliases=("parkering", "parkeringsplasser", "p_plasser", "parking"),
        min_value=0,
        max_value=MAX_PARKING_SPACES,
        label_nb="Parkeringsplasser",
        label_en="Parking spaces",
        description="Parking spaces that come with the premises.",
    ),
    ColumnSpec(
        "energy_label",
        aliases=("energimerke", "energikarakter", "energy_rating"),
        allowed=ENERGY_LABELS,
        value_aliases=ENERGY_LABEL_ALIASES,
        label_nb="Energikarakter",
        label_en="Energy label",
        description="Energy label of the building's energy certificate, A (best) to G.",
        examples=("B",),
    ),
    _year(
        "year_built",
        ("byggeår", "byggear", "built", "construction_year"),
        "Byggeår",
        "Year built",
        "Year the building was completed.",
    ),
    _year(
        "year_renovated",
        ("rehabilitert", "renovert", "renovated", "renovation_year"),
        "Rehabilitert",
        "Year renovated",
        "Year of the last major renovation; not before the year built.",
    ),
    ColumnSpec(
        "ceiling_height_m",
        "float",
        aliases=("takhøyde", "takhoyde", "takhøyde_m", "fri_takhøyde", "ceiling_height"),
        min_value=0,
        min_exclusive=True,
        max_value=MAX_CEILING_HEIGHT_M,
        unit="m",
        label_nb="Takhøyde",
        label_en="Ceiling height",
        description="Free ceiling height in metres (warehouses, production).",
    ),
    ColumnSpec(
        "loading_dock",
        "bool",
        aliases=("lasterampe", "rampe", "loading_ramp"),
        label_nb="Lasterampe",
        label_en="Loading dock",
        description="Whether the premises has a loading dock (empty: not stated).",
    ),
    ColumnSpec(
        "broker_org",
        aliases=("megler", "meglerforetak", "broker", "brokerage", "utleier"),
        label_nb="Meglerforetak",
        label_en="Broker",
        description="The brokerage (or landlord) that lets the premises.",
        examples=("Eksempel Næringsmegling AS",),
    ),
)
"""What premises seekers filter on beyond use, size, rent and place (issue 13): the attributes
after ``status`` (migration ``fields``)."""

UNIT_FIELDS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "label",
        required=True,
        aliases=("lokale", "enhet", "unit", "unit_label", "name"),
        label_nb="Lokale",
        label_en="Unit",
        description="The unit's name within the building, unique there (e.g. `2. etg. vest`).",
        examples=("2. etg. vest",),
    ),
    _floor("Floor of the unit (1 = ground floor, 0 and below = basement)."),
    ColumnSpec(
        "area_m2",
        "float",
        required=True,
        aliases=("floor_area_m2", "areal", "areal_m2", "bra"),
        min_value=0,
        min_exclusive=True,
        max_value=MAX_FLOOR_AREA_M2,
        unit="m²",
        label_nb="Areal",
        label_en="Floor area",
        description="Floor area of the unit in m².",
        examples=(300,),
    ),
    ColumnSpec(
        "rent_nok_m2_year",
        "float",
        aliases=("rent", "leie", "leiepris"),
        min_value=0,
        max_value=MAX_RENT_NOK_M2_YEAR,
        unit="NOK/m²/year",
        label_nb="Leiepris",
        label_en="Asking rent",
        description="Asking rent of the unit, NOK per m² per year.",
        examples=(1800,),
    ),
    ColumnSpec(
        "available_from",
        "date",
        aliases=("ledig_fra", "available"),
        label_nb="Ledig fra",
        label_en="Available from",
        description="Date the unit is available (empty: now).",
    ),
    ColumnSpec(
        "status",
        allowed=UNIT_STATUSES,
        value_aliases={"ledig": "available", "utleid": "let"},
        default="available",
        label_nb="Status",
        label_en="Status",
        description="`available` (vacant) or `let`.",
    ),
)
"""The units (separately let spaces) of a premises listing, each a row of ``premises_units``:
the API's ``units`` array, import and export. The listing's area, rent and availability are
derived from its vacant units (:attr:`ColumnSpec.from_units`)."""
MAX_UNITS = 500
"""Units one listing may hold: a large office block has a few hundred."""

_WALK_METHOD = "`network` or `straight_line` estimate"
PREMISES = LayerSpec(
    "premises",
    "point",
    (
        _ID,
        ColumnSpec(
            "address",
            required=True,
            aliases=("adresse", "addr"),
            summary=True,
            label_nb="Adresse",
            label_en="Address",
            description="Street address.",
            examples=("Solheimveien 10, 1473 Lørenskog",),
        ),
        ColumnSpec(
            "uses",
            "text[]",
            required=True,
            aliases=("use", "bruk", "formal", "formål", "category", "categories", "kategori"),
            allowed=USE_CATEGORIES,
            value_aliases=USE_ALIASES,
            summary=True,
            label_nb="Formål",
            label_en="Use categories",
            description="Use categories offered.",
        ),
        ColumnSpec(
            "floor_area_m2",
            "float",
            required=True,
            aliases=("area_m2", "floor_area", "areal", "areal_m2", "bra", "bta"),
            min_value=0,
            min_exclusive=True,
            max_value=MAX_FLOOR_AREA_M2,
            summary=True,
            unit="m²",
            label_nb="Areal",
            label_en="Floor area",
            description="Floor area in m²; with units, the sum of the vacant units' areas.",
            api_description="Floor area in m²; with `units`, the sum of the vacant units' areas "
            "(derived by geoplan, may be left out)",
            examples=(450,),
            from_units="sum",
        ),
        ColumnSpec(
            "rent_nok_m2_year",
            "float",
            aliases=("rent", "leie", "leiepris", "rent_nok_m2", "leie_kr_m2_ar"),
            min_value=0,
            max_value=MAX_RENT_NOK_M2_YEAR,
            summary=True,
            unit="NOK/m²/year",
            label_nb="Leiepris",
            label_en="Asking rent",
            description="Asking rent, NOK per m² per year; with units, the lowest of the vacant "
            "units'.",
            examples=(1900,),
            from_units="min",
        ),
        ColumnSpec(
            "available_from",
            "date",
            aliases=("ledig_fra", "available", "tilgjengelig_fra"),
            summary=True,
            label_nb="Ledig fra",
            label_en="Available from",
            description="Date the premises is available; with units, the earliest of the vacant "
            "units' (empty: now).",
            from_units="earliest",
        ),
        ColumnSpec(
            "contact",
            aliases=("kontakt", "email", "epost"),
            label_nb="Kontakt",
            label_en="Contact",
            description="Contact.",
        ),
        ColumnSpec(
            "listing_url",
            aliases=("url", "annonse_url", "link", "lenke"),
            label_nb="Annonse",
            label_en="Listing",
            description="Link to the listing.",
        ),
        ColumnSpec(
            "description",
            aliases=("beskrivelse", "desc"),
            label_nb="Beskrivelse",
            label_en="Description",
            description="Description.",
        ),
        ColumnSpec(
            "status",
            allowed=PREMISES_STATUSES,
            default="available",
            summary=True,
            label_nb="Status",
            label_en="Status",
            description="Listing status.",
        ),
        *_BUILDING_FIELDS,
        _KOMMUNENUMMER,
        # Derived: premises_walk, rewritten by every re-annotation (never a listing change).
        ColumnSpec(
            "nearest_hub_id",
            role=DERIVED,
            summary=True,
            label_nb="Nærmeste knutepunkt (id)",
            label_en="Nearest hub (id)",
            description="Id of the nearest transit hub (see hubs).",
            api_description="Nearest existing hub",
        ),
        ColumnSpec(
            "nearest_hub_name",
            role=DERIVED,
            queryable=False,  # joined from hubs
            exported=False,
            summary=True,
            label_nb="Nærmeste knutepunkt",
            label_en="Nearest hub",
            description="Name of the nearest transit hub.",
        ),
        ColumnSpec(
            "walk_m",
            "float",
            role=DERIVED,
            decimals=1,
            unit="m",
            label_nb="Gangavstand",
            label_en="Walking distance",
            description="Walking distance to the nearest hub, metres.",
            api_description="Walking distance to the nearest hub (m)",
        ),
        ColumnSpec(
            "walk_min",
            "float",
            role=DERIVED,
            decimals=1,
            summary=True,
            unit="min",
            label_nb="Gangtid",
            label_en="Walking time",
            description="Walking time to the nearest hub, minutes.",
            api_description="Walking time to the nearest hub (min)",
        ),
        ColumnSpec(
            "walk_method",
            role=DERIVED,
            summary=True,
            label_nb="Beregning av gangtid",
            label_en="Walk method",
            description="How the walk was computed (network/straight line).",
            api_description=_WALK_METHOD,
        ),
        # Search: the walk to the hub a search names (``hub``), computed for that search.
        ColumnSpec(
            "hub_id",
            role=SEARCH,
            queryable=False,
            exported=False,
            summary=True,
            label_nb="Valgt knutepunkt (id)",
            label_en="Chosen hub (id)",
            description="Id of the hub the search named.",
            api_description="The hub named by `hub` (search only)",
        ),
        ColumnSpec(
            "hub_name",
            role=SEARCH,
            queryable=False,
            exported=False,
            label_nb="Valgt knutepunkt",
            label_en="Chosen hub",
            description="Name of the hub the search named.",
        ),
        ColumnSpec(
            "hub_walk_m",
            "float",
            role=SEARCH,
            queryable=False,
            exported=False,
            decimals=1,
            unit="m",
            label_nb="Gangavstand til valgt knutepunkt",
            label_en="Walking distance to the chosen hub",
            description="Walking distance to the hub the search named, metres.",
        ),
        ColumnSpec(
            "hub_walk_min",
            "float",
            role=SEARCH,
            queryable=False,
            exported=False,
            decimals=1,
            summary=True,
            unit="min",
            label_nb="Gangtid til valgt knutepunkt",
            label_en="Walking time to the chosen hub",
            description="Walking time to the hub the search named, minutes.",
        ),
        ColumnSpec(
            "hub_walk_method",
            role=SEARCH,
            queryable=False,
            exported=False,
            label_nb="Beregning av gangtid til valgt knutepunkt",
            label_en="Walk method to the chosen hub",
            description="How that walk was computed (network/straight line).",
        ),
        *_provenance(
            sample={"api_description": "True for invented demonstration data, never a real listing"}
        ),
        ColumnSpec(
            "version",
            "int",
            role=KEPT,
            nullable=False,
            label_nb="Versjon",
            label_en="Version",
            description="Version, incremented by each change.",
        ),
        ColumnSpec(
            "unit_count",
            "int",
            role=KEPT,
            nullable=False,
            label_nb="Antall lokaler",
            label_en="Units",
            description="Number of units (separately let spaces) listed in the building; 0: the "
            "listing is one space.",
        ),
        ColumnSpec(
            "created_at",
            "timestamp",
            role=KEPT,
            nullable=False,
            exported=False,
            label_nb="Opprettet",
            label_en="Created",
            description="When the listing was created.",
        ),
        _updated_at("Last change."),
    ),
    unit_fields=UNIT_FIELDS,
)

LAYER_SPECS: dict[str, LayerSpec] = {s.name: s for s in (BOUNDARY, AREAS, HUBS, PREMISES)}

# Coordinate columns of CSV files (normalised names), checked in this order.
LON_NAMES = ("lon", "lng", "long", "longitude", "lengdegrad")
LAT_NAMES = ("lat", "latitude", "breddegrad")
X_NAMES = ("x", "east", "easting", "ost", "øst")
Y_NAMES = ("y", "north", "northing", "nord")


def normalise_name(name: str) -> str:
    """Compare column names without case, surrounding blanks or space/hyphen differences."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def layer_spec(layer: str) -> LayerSpec:
    from geoplan.errors import ValidationError

    try:
        return LAYER_SPECS[layer]
    except KeyError:
        raise ValidationError(
            f"unknown layer {layer!r}; choose one of {', '.join(LAYER_SPECS)}", field="layer"
        ) from None
