"""What a file must hold to become a layer: columns, their types, vocabularies and aliases.

Import, ``geoplan load``, GTFS import and export all read these specs, so a column means the same
thing everywhere. Aliases let planners feed files as they come (Norwegian or English headers, any
case) without renaming columns first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geoplan.vocab import AREA_ROLES, HUB_MODES, HUB_STATUSES, PREMISES_STATUSES, USE_CATEGORIES

# Column kinds: how a value is parsed and which PostgreSQL type it is copied as.
SQL_TYPES: dict[str, str] = {
    "text": "text",
    "float": "float8",
    "int": "int4",
    "bool": "bool",
    "date": "date",
    "text[]": "text[]",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a layer table as an importer sees it."""

    name: str
    kind: str = "text"  # a key of SQL_TYPES
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] | None = None  # closed vocabulary (for text and text[] values)
    value_aliases: dict[str, str] = field(default_factory=dict)  # e.g. "kontor" -> "office"
    min_value: float | None = None
    min_exclusive: bool = False  # True: value must be > min_value, else >= min_value
    default: object = None  # what an empty cell means when the table column is NOT NULL

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class LayerSpec:
    """A layer: its table, geometry kind and columns (provenance columns are added to all)."""

    name: str
    geometry: str  # "point" | "polygon"
    columns: tuple[ColumnSpec, ...]

    @property
    def table(self) -> str:
        return self.name

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


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

PROVENANCE: tuple[ColumnSpec, ...] = (
    ColumnSpec("source", aliases=("kilde",)),
    ColumnSpec("source_url", aliases=("kilde_url", "url_source")),
    ColumnSpec("licence", aliases=("license", "lisens")),
    ColumnSpec(
        "accuracy_m", "float", aliases=("accuracy", "noyaktighet_m", "nøyaktighet_m"), min_value=0
    ),
    ColumnSpec("verified", "bool", aliases=("verifisert",)),
    ColumnSpec("sample", "bool", aliases=("eksempel",)),
)
PROVENANCE_NAMES = tuple(c.name for c in PROVENANCE)

_ID = ColumnSpec("id", required=True, aliases=("fid_text", "identifier", "ident"))
_NAME = ColumnSpec("name", required=True, aliases=("navn", "title"))

LAYER_SPECS: dict[str, LayerSpec] = {
    "boundary": LayerSpec(
        "boundary",
        "polygon",
        (
            ColumnSpec("id", required=True, aliases=("kommunenummer", "kommunenr", "identifier")),
            ColumnSpec("name", required=True, aliases=("navn", "kommunenavn")),
            ColumnSpec("kommunenummer", aliases=("kommunenr", "municipality_number")),
            ColumnSpec("valid_from", "int", aliases=("gyldig_fra",)),
            *PROVENANCE,
        ),
    ),
    "areas": LayerSpec(
        "areas",
        "polygon",
        (
            ColumnSpec("id", required=True, aliases=("slug", "identifier")),
            _NAME,
            ColumnSpec(
                "role",
                required=True,
                aliases=("rolle",),
                allowed=AREA_ROLES,
                value_aliases=ROLE_ALIASES,
            ),
            ColumnSpec("identity", aliases=("identitet",)),
            ColumnSpec("identity_en"),
            ColumnSpec("target_industries", "text[]", aliases=("malgrupper", "bransjer")),
            ColumnSpec("target_industries_en", "text[]"),
            ColumnSpec("strategy_ref", aliases=("strategi_ref",)),
            ColumnSpec("development_area", "bool", aliases=("utviklingsomrade",), default=True),
            *PROVENANCE,
        ),
    ),
    "hubs": LayerSpec(
        "hubs",
        "point",
        (
            _ID,
            _NAME,
            ColumnSpec(
                "mode",
                required=True,
                aliases=("modus", "type", "kind"),
                allowed=HUB_MODES,
                value_aliases=MODE_ALIASES,
            ),
            ColumnSpec(
                "status", allowed=HUB_STATUSES, value_aliases=STATUS_ALIASES, default="existing"
            ),
            ColumnSpec("lines", "text[]", aliases=("linjer", "routes")),
            ColumnSpec(
                "departures_per_hour",
                "float",
                aliases=("avganger_per_time", "departures"),
                min_value=0,
            ),
            ColumnSpec("nsr_id", aliases=("nsr", "stopplace_id", "nsr_stopplace_id")),
            ColumnSpec("address", aliases=("adresse",)),
            ColumnSpec("notes", aliases=("merknad", "merknader", "note")),
            ColumnSpec("kommunenummer", aliases=("kommunenr", "municipality_number")),
            *PROVENANCE,
        ),
    ),
    "premises": LayerSpec(
        "premises",
        "point",
        (
            _ID,
            ColumnSpec("address", required=True, aliases=("adresse", "addr")),
            ColumnSpec(
                "uses",
                "text[]",
                required=True,
                aliases=("use", "bruk", "formal", "formål", "category", "categories", "kategori"),
                allowed=USE_CATEGORIES,
                value_aliases=USE_ALIASES,
            ),
            ColumnSpec(
                "floor_area_m2",
                "float",
                required=True,
                aliases=("area_m2", "floor_area", "areal", "areal_m2", "bra", "bta"),
                min_value=0,
                min_exclusive=True,
            ),
            ColumnSpec(
                "rent_nok_m2_year",
                "float",
                aliases=("rent", "leie", "leiepris", "rent_nok_m2", "leie_kr_m2_ar"),
                min_value=0,
            ),
            ColumnSpec(
                "available_from", "date", aliases=("ledig_fra", "available", "tilgjengelig_fra")
            ),
            ColumnSpec("contact", aliases=("kontakt", "email", "epost")),
            ColumnSpec("listing_url", aliases=("url", "annonse_url", "link", "lenke")),
            ColumnSpec("description", aliases=("beskrivelse", "desc")),
            ColumnSpec("status", allowed=PREMISES_STATUSES, default="available"),
            *PROVENANCE,
        ),
    ),
}

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
