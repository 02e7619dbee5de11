"""The tables, as GeoAlchemy2 models. Alembic revisions in ``geoplan/store/migrations`` create them.

Every layer row carries provenance (:class:`Provenance`): where it came from, how accurate its
position is, whether anyone verified it, and whether it is sample data. Geometries are stored in
EPSG:25833 (metres) with a GiST index each.
"""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from geoplan.config import STORAGE_SRID
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


def _geom(kind: str) -> Geometry:
    return Geometry(kind, srid=STORAGE_SRID, spatial_index=False)


class _Point(UserDefinedType):
    """PostgreSQL's built-in ``point`` (not PostGIS): its GiST opclass allows index-only scans."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "point"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _kommunenummer_check(table: str) -> CheckConstraint:
    return CheckConstraint(
        f"kommunenummer ~ '{KOMMUNENUMMER_PATTERN}'", name=f"{table}_kommunenummer_check"
    )


class Kommunenummer:
    """The municipality a feature lies in (migration 0010; hubs since 0005): four digits, filled
    by a trigger from the geometry when a write leaves it empty (``geoplan_kommunenummer``: the
    served boundary first, then the national register), kept when the data gives it."""

    kommunenummer: Mapped[str | None] = mapped_column(Text)


class Base(DeclarativeBase):
    pass


# Stored numbers are finite and plausible (migration 0009): the layer description's
# ranges (geoplan/layers/spec.py) where it bounds a column, else just finite.
def _range(table: str, column: str, check: str) -> CheckConstraint:
    return CheckConstraint(check, name=f"{table}_{column}_range")


def _finite(table: str, column: str) -> CheckConstraint:
    return _range(
        table, column, f"{column} > '-Infinity'::float8 AND {column} < 'Infinity'::float8"
    )


def _accuracy(table: str) -> CheckConstraint:
    return _range(table, "accuracy_m", "accuracy_m BETWEEN 0 AND 100000")


def _departures(table: str) -> CheckConstraint:
    return _range(table, "departures_per_hour", "departures_per_hour BETWEEN 0 AND 1000")


class Provenance:
    """Columns every layer row carries, so nothing invented is ever presented as real."""

    source: Mapped[str] = mapped_column(Text, nullable=False)
    source_url: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    sample: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")


class Municipality(Provenance, Base):
    """Norway's municipalities (the national register, migration 0005): filled from the national
    file in ``layers/`` by :mod:`geoplan.ingest.municipalities`, read to derive every feature's
    ``kommunenummer`` and to choose the municipalities a store serves (``geoplan init``)."""

    __tablename__ = "municipalities"
    __table_args__ = (_kommunenummer_check("municipalities"), _accuracy("municipalities"))
    kommunenummer: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[int | None] = mapped_column(Integer)
    # the national file's checksum: it is loaded again only when the file changed
    file_md5: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Boundary(Kommunenummer, Provenance, Base):
    """The municipalities the store serves (one row or more per kommunenummer)."""

    __tablename__ = "boundary"
    __table_args__ = (
        _accuracy("boundary"),
        _range("boundary", "valid_from", "valid_from BETWEEN 1800 AND 2200"),
        _kommunenummer_check("boundary"),
    )
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Area(Kommunenummer, Provenance, Base):
    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(_in("role", AREA_ROLES), name="areas_role_check"),
        _accuracy("areas"),
        _kommunenummer_check("areas"),
    )
    id: Mapped[str] = mapped_column(Text, primary_key=True)  # slug, e.g. "visperud"
    name: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    identity: Mapped[str | None] = mapped_column(Text)
    identity_en: Mapped[str | None] = mapped_column(Text)
    target_industries: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default="{}"
    )
    target_industries_en: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default="{}"
    )
    strategy_ref: Mapped[str | None] = mapped_column(Text)
    development_area: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Hub(Kommunenummer, Provenance, Base):
    __tablename__ = "hubs"
    __table_args__ = (
        CheckConstraint(_in("mode", HUB_MODES), name="hubs_mode_check"),
        CheckConstraint(_in("status", HUB_STATUSES), name="hubs_status_check"),
        _accuracy("hubs"),
        _departures("hubs"),
        _kommunenummer_check("hubs"),
    )
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    mode: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="existing")
    lines: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    departures_per_hour: Mapped[float | None] = mapped_column(Float)
    nsr_id: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("POINT"), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class HubStop(Provenance, Base):
    """A stop place or quay behind a hub, as a stop register (NeTEx) describes it.

    The hub is the top stop place (what the map and proximity show); its child stop places and
    quays are kept here with their own ids, positions and departures (``geoplan.ingest.netex``).
    """

    __tablename__ = "hub_stops"
    __table_args__ = (
        CheckConstraint("kind IN ('stop_place', 'quay')", name="hub_stops_kind_check"),
        Index("hub_stops_hub_id_idx", "hub_id"),
        _accuracy("hub_stops"),
        _departures("hub_stops"),
    )
    id: Mapped[str] = mapped_column(Text, primary_key=True)  # NeTEx id, e.g. NSR:Quay:7184
    hub_id: Mapped[str] = mapped_column(
        Text, ForeignKey("hubs.id", ondelete="CASCADE"), nullable=False
    )
    parent_id: Mapped[str | None] = mapped_column(Text)  # the stop place it belongs to
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    public_code: Mapped[str | None] = mapped_column(Text)
    transport_mode: Mapped[str | None] = mapped_column(Text)
    stop_place_type: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    departures_per_hour: Mapped[float | None] = mapped_column(Float)
    other_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    kommunenummer: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("POINT"), nullable=False)


class Premises(Kommunenummer, Provenance, Base):
    __tablename__ = "premises"
    __table_args__ = (
        CheckConstraint("floor_area_m2 > 0", name="premises_floor_area_check"),
        CheckConstraint("rent_nok_m2_year >= 0", name="premises_rent_check"),
        CheckConstraint(
            "cardinality(uses) > 0 AND uses <@ ARRAY["
            + ", ".join(repr(u) for u in USE_CATEGORIES)
            + "]::text[]",
            name="premises_uses_check",
        ),
        CheckConstraint(_in("status", PREMISES_STATUSES), name="premises_status_check"),
        _accuracy("premises"),
        _range("premises", "floor_area_m2", "floor_area_m2 > 0 AND floor_area_m2 <= 1000000"),
        _range("premises", "rent_nok_m2_year", "rent_nok_m2_year BETWEEN 0 AND 100000"),
        _kommunenummer_check("premises"),
        # the fields premises seekers filter on (migration premises_fields)
        _range("premises", "floor", "floor BETWEEN -10 AND 200"),
        _range("premises", "workplaces", "workplaces BETWEEN 0 AND 100000"),
        _range("premises", "parking_spaces", "parking_spaces BETWEEN 0 AND 100000"),
        _range("premises", "energy_label", _in("energy_label", ENERGY_LABELS)),
        _range("premises", "year_built", "year_built BETWEEN 1800 AND 2200"),
        _range(
            "premises",
            "year_renovated",
            "year_renovated BETWEEN 1800 AND 2200 AND year_renovated >= year_built",
        ),
        _range("premises", "ceiling_height_m", "ceiling_height_m > 0 AND ceiling_height_m <= 100"),
        _range("premises", "unit_count", "unit_count BETWEEN 0 AND 500"),
        Index(
            "premises_owner_key_idx",
            "owner_key_id",
            "updated_at",
            postgresql_where=text("owner_key_id IS NOT NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    uses: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    floor_area_m2: Mapped[float] = mapped_column(Float, nullable=False)
    rent_nok_m2_year: Mapped[float | None] = mapped_column(Float)
    available_from: Mapped[date | None] = mapped_column(Date)
    contact: Mapped[str | None] = mapped_column(Text)
    listing_url: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="available")
    floor: Mapped[int | None] = mapped_column(Integer)
    workplaces: Mapped[int | None] = mapped_column(Integer)
    parking_spaces: Mapped[int | None] = mapped_column(Integer)
    energy_label: Mapped[str | None] = mapped_column(Text)
    year_built: Mapped[int | None] = mapped_column(Integer)
    year_renovated: Mapped[int | None] = mapped_column(Integer)
    ceiling_height_m: Mapped[float | None] = mapped_column(Float)
    loading_dock: Mapped[bool | None] = mapped_column(Boolean)
    broker_org: Mapped[str | None] = mapped_column(Text)
    # how many units (premises_units) the listing holds; kept by the writers with the area,
    # rent and availability derived from the vacant ones
    unit_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # The API key that created the listing (migration premises_owner): only it, or an admin
    # key, may change or withdraw the listing. NULL: imported, sample or CLI data (admin only).
    owner_key_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    # A compact internal key for bulk work (binary COPY of fixed-width rows, integer joins);
    # the public identity stays ``id``.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False, unique=True)
    geom = mapped_column(_geom("POINT"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    # The position in CRS84 as a PostgreSQL point, for index-only CRS84 bbox scans (GiST index
    # premises_lonlat_gist, made by migration 0003 like the other GiST indexes, INCLUDE (id, seq);
    # since migration 0017 INCLUDE every column a premises vector tile carries as well).
    lonlat = mapped_column(
        _Point(),
        Computed(
            "point(ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)))",
            persisted=True,
        ),
    )


class PremisesUnit(Base):
    """The units (separately let spaces) of a premises listing, in the listing's order
    (migration premises_fields): each with its own floor, area, rent, availability and status.

    Written only by the register (``geoplan.premises.units``) and ``geoplan import``, which keep
    the listing's ``unit_count``, area, rent and availability consistent with them in the same
    transaction; deleted with the listing.
    """

    __tablename__ = "premises_units"
    __table_args__ = (
        UniqueConstraint("premises_seq", "label", name="premises_units_label_key"),
        _range("premises_units", "floor", "floor BETWEEN -10 AND 200"),
        _range("premises_units", "area_m2", "area_m2 > 0 AND area_m2 <= 1000000"),
        _range("premises_units", "rent_nok_m2_year", "rent_nok_m2_year BETWEEN 0 AND 100000"),
        _range("premises_units", "status", _in("status", UNIT_STATUSES)),
        _range("premises_units", "label", "length(btrim(label)) > 0"),
    )
    premises_seq: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("premises.seq", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(Text, nullable=False)
    floor: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Float, nullable=False)
    rent_nok_m2_year: Mapped[float | None] = mapped_column(Float)
    available_from: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="available")


class PremisesFeature(Base):
    """Each premises' OGC GeoJSON Feature (CRS84), rendered when the listing is written.

    Written only by the triggers of migrations 0003/0004 (on every INSERT/UPDATE of ``premises``,
    COPY imports included). ``head`` is the Feature's text up to the end of the listing's own
    properties, left open: OGC item pages append the walk properties (``premises_walk``, which
    every re-annotation rewrites) and close it, instead of building 23 properties per row
    (:mod:`geoplan.ogc`). A table of its own, not a column, so ``premises`` keeps its row
    size and its scans (the search) their speed.
    """

    __tablename__ = "premises_features"
    # keyed by premises.seq (migration 0004), which the bbox index returns: integer probes
    seq: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("premises.seq", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    head: Mapped[str] = mapped_column(Text, nullable=False)


class PremisesSearchHead(Base):
    """Each listing's stored Feature cut, once, into the pieces a ``GET /premises`` page puts
    its live values between: ``head`` (the Feature up to the end of the listing's attributes,
    the key first among its properties) and ``tail`` (provenance, then kept), so a page is
    ``head || walk || tail || units`` instead of cutting 100 heads per request
    (:func:`geoplan.premises.search._stored_feature_sql`).

    Written only by the triggers of migration 0018, on every INSERT/UPDATE of
    ``premises_features`` (so they follow its head whatever renders it); deletes cascade.
    """

    __tablename__ = "premises_search_heads"
    seq: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("premises_features.seq", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    head: Mapped[str] = mapped_column(Text, nullable=False)
    tail: Mapped[str] = mapped_column(Text, nullable=False)


class PremisesSearch(Base):
    """What ``GET /premises`` filters and sorts on, one narrow row per premises: the listing's
    columns of that name, its use categories as bits (``uses_mask``, SQL function
    ``geoplan_uses_mask``) and its walk to the nearest hub (``walk_min``).

    Written only by the triggers of migration ``premises_search`` (INSERT/UPDATE of
    ``premises``; deletes cascade) and by ``premises_search_sync_walks()``, which
    :mod:`geoplan.proximity.annotate` calls after every annotation. Listing and walk side by side
    let a search count its matches in one index-only scan (:mod:`geoplan.premises.search`).
    """

    __tablename__ = "premises_search"
    __table_args__ = tuple(
        _finite("premises_search", c) for c in ("floor_area_m2", "rent_nok_m2_year", "walk_min")
    )
    seq: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("premises.seq", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    id: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    uses_mask: Mapped[int] = mapped_column(Integer, nullable=False)
    floor_area_m2: Mapped[float] = mapped_column(Float, nullable=False)
    rent_nok_m2_year: Mapped[float | None] = mapped_column(Float)
    available_from: Mapped[date | None] = mapped_column(Date)
    kommunenummer: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    geom = mapped_column(_geom("POINT"), nullable=False)
    walk_min: Mapped[float | None] = mapped_column(Float)
    unit_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    """The listing's (migration 0016): a size, rent or date filter on a listing
    without units is answered by this row alone."""
    lonlat = mapped_column(_Point(), nullable=False)
    """``premises.lonlat`` (migration 0016): distances from ``near`` on the
    ellipsoid without reprojecting each row."""


class PremisesSearchCount(Base):
    """How many listings of ``premises_search`` there are per ``status``, ``uses_mask`` and
    ``kommunenummer`` (``''`` for none): a search whose every condition is on these three is
    counted by summing rows here, exactly, instead of reading its matches
    (:func:`geoplan.premises.search._counted_sql`).

    Written only by the triggers of migration 0019 (every INSERT, UPDATE, DELETE and
    TRUNCATE of ``premises_search``); a combination with none has no row.
    """

    __tablename__ = "premises_search_counts"
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    uses_mask: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kommunenummer: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)


class PremisesWalk(Base):
    """Each premises' nearest existing hub and walk there: derived data, kept apart from listings.

    Written only by :mod:`geoplan.proximity` whenever premises, hubs or the network change.
    Keeping it out of ``premises`` means re-annotating a million listings writes a million
    narrow rows (or replaces the table) instead of rewriting every listing, and never touches a
    listing's version, ETag or history. Readers use the view ``premises_annotated``
    (see below). No foreign key on purpose: its per-row check would slow
    the bulk path and guard nothing the annotation does not (a deleted premises' seq is never
    reused, and every re-annotation drops rows of premises that are gone).
    """

    __tablename__ = "premises_walk"
    __table_args__ = (
        CheckConstraint(
            "method IN ('network', 'straight_line')", name="premises_walk_method_check"
        ),
        # pages append the numbers as text (geoplan.ogc): valid JSON only when finite
        CheckConstraint(
            "walk_m >= 0 AND walk_m < 'Infinity'::float8 AND walk_min >= 0 "
            "AND walk_min < 'Infinity'::float8",
            name="premises_walk_finite_check",
        ),
        # searches by walking time read it in walk order (rebuilt with the table by proximity)
        Index("premises_walk_min_idx", "walk_min"),
    )
    premises_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hub_id: Mapped[str] = mapped_column(Text, nullable=False)
    walk_m: Mapped[float] = mapped_column(Float, nullable=False)
    walk_min: Mapped[float] = mapped_column(Float, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)


class PremisesTileCell(Base):
    """Premises per Web Mercator grid cell: the clusters of low-zoom vector tiles.

    Written only by the triggers of migration 0008 (every INSERT, UPDATE, DELETE and
    TRUNCATE of ``premises``): for each stored cluster level ``z`` (1, 3, …, 15), each cell of
    its global grid (``2^(z+4)`` a side) and each status, the number of premises in it and the
    sums of their normalised Web Mercator coordinates (x from the west, y from the north, in
    [0, 1)), so a tile reads ≤ 1 024 rows instead of every listing (:mod:`geoplan.ogc.tiles`).
    """

    __tablename__ = "premises_tile_cells"
    z: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    cx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    sx: Mapped[float] = mapped_column(Float, nullable=False)
    sy: Mapped[float] = mapped_column(Float, nullable=False)
    __table_args__ = (
        _finite("premises_tile_cells", "sx"),
        _finite("premises_tile_cells", "sy"),
    )


class PremisesCount(Base):
    """How many premises there are per ``status`` and ``sample``: what the overview says and
    how it decides between inline premises and tiles, without counting a million listings.

    Written only by the triggers of migration 0017 (every INSERT, UPDATE, DELETE and
    TRUNCATE of ``premises``); a combination with none has no row.
    """

    __tablename__ = "premises_counts"
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    sample: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)


# The view ``premises_annotated`` (created by migration 0002, recreated with ``lonlat`` by 0003,
# with ``kommunenummer`` by 0010 and with the premises fields by premises_fields; a migration
# that adds premises columns must recreate it) is premises as readers see them: every listing
# column plus ``nearest_hub_id``, ``walk_m``, ``walk_min`` and ``walk_method`` from premises_walk
# (NULLs where no hub exists). PostgreSQL drops the join when a query reads no walk column
# (premises_seq is unique), so reading through the view costs nothing extra. Writes go to
# ``premises``.


class PremisesHistory(Base):
    """Every change to a premises row: who, when, before and after. Nothing is ever lost."""

    __tablename__ = "premises_history"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    premises_id: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    action: Mapped[str] = mapped_column(Text, nullable=False)  # create/update/withdraw/import
    actor: Mapped[str | None] = mapped_column(Text)
    # clock_timestamp(): the moment of the change, not the start of its transaction (revision
    # 0009); the history is read in version order.
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()
    )
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)


class ApiKey(Base):
    """API keys for writes; only a hash of the key is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scope IN ('write', 'admin')", name="api_keys_scope_check"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    scope: Mapped[str] = mapped_column(Text, nullable=False, server_default="write")
    prefix: Mapped[str] = mapped_column(Text, nullable=False)
    key_hash: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SavedSearch(Base):
    """A saved premises search: its filters under an unguessable id, read as a stable URL and
    an Atom feed, with an optional webhook and its delivery state (migration ``saved_searches``,
    :mod:`geoplan.premises.saved`)."""

    __tablename__ = "saved_searches"
    __table_args__ = (
        CheckConstraint("jsonb_typeof(filters) = 'object'", name="saved_searches_filters_check"),
        CheckConstraint(
            "(webhook_url IS NULL) = (webhook_secret IS NULL)", name="saved_searches_webhook_check"
        ),
        Index(
            "saved_searches_webhook_idx",
            "webhook_next_attempt",
            postgresql_where=text("webhook_url IS NOT NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    filters: Mapped[dict] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    created_by: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    notified_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    webhook_failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    webhook_last_error: Mapped[str | None] = mapped_column(Text)
    webhook_next_attempt: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WalkNode(Base):
    """Vertices of the pedestrian network (pgRouting topology)."""

    __tablename__ = "walk_nodes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    geom = mapped_column(_geom("POINT"), nullable=False)


class WalkEdge(Base):
    """Edges of the pedestrian network; ``cost``/``reverse_cost`` are metres (pgRouting style)."""

    __tablename__ = "walk_edges"
    __table_args__ = tuple(_finite("walk_edges", c) for c in ("cost", "reverse_cost", "length_m"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    target: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    cost: Mapped[float] = mapped_column(Float, nullable=False)
    reverse_cost: Mapped[float] = mapped_column(Float, nullable=False)
    length_m: Mapped[float] = mapped_column(Float, nullable=False)
    osm_way_id: Mapped[int | None] = mapped_column(BigInteger)
    highway: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("LINESTRING"), nullable=False)


class Catchment(Base):
    """Area reachable on foot from a hub within ``minutes``."""

    __tablename__ = "catchments"
    __table_args__ = (UniqueConstraint("hub_id", "minutes", name="catchments_hub_minutes_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hub_id: Mapped[str] = mapped_column(
        Text, ForeignKey("hubs.id", ondelete="CASCADE"), nullable=False
    )
    minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)  # network | straight_line
    # What the polygon was computed from (hub position, network, settings), hashed: catchments
    # are recomputed only for hubs whose inputs changed (geoplan.proximity.refresh_catchments).
    inputs_md5: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Assessment(Base):
    """A stored case assessment: its input, the full result and the site."""

    __tablename__ = "assessments"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    created_by: Mapped[str | None] = mapped_column(Text)
    use: Mapped[str] = mapped_column(Text, nullable=False)
    verdict: Mapped[str] = mapped_column(Text, nullable=False)
    input: Mapped[dict] = mapped_column(JSONB, nullable=False)
    result: Mapped[dict] = mapped_column(JSONB, nullable=False)
    geom = mapped_column(_geom("GEOMETRY"), nullable=False)


class Address(Provenance, Base):
    """An official street address (``vegadresse``) from Kartverket's Matrikkelen – Adresse.

    Written only by :mod:`geoplan.addresses` (``geoplan import-addresses``), which replaces a
    municipality's rows as a whole; read by its geocoder. ``street_key`` and ``street_loose`` are
    ``adressenavn`` normalised the way queries are (:mod:`geoplan.addresses.normalise`): the
    loose key is what the geocoder looks up (with the house number: one btree index, migration
    0005_addresses), the strict one tells an exact spelling from a loose one. ``attributes``
    keeps the register's other identifiers (gnr/bnr, adresseId, uuid, grunnkrets, ...).
    """

    __tablename__ = "addresses"
    __table_args__ = (
        CheckConstraint("nummer >= 0", name="addresses_nummer_check"),
        CheckConstraint("kommunenummer ~ '^[0-9]{4}$'", name="addresses_kommunenummer_check"),
        UniqueConstraint("lokalid", name="addresses_lokalid_key"),
        Index("addresses_street_loose_idx", "street_loose", "nummer"),
        Index("addresses_kommunenummer_idx", "kommunenummer"),
        _accuracy("addresses"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    lokalid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kommunenummer: Mapped[str] = mapped_column(Text, nullable=False)
    kommunenavn: Mapped[str | None] = mapped_column(Text)
    adressekode: Mapped[int] = mapped_column(Integer, nullable=False)
    adressenavn: Mapped[str] = mapped_column(Text, nullable=False)
    nummer: Mapped[int] = mapped_column(Integer, nullable=False)
    bokstav: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    adressetilleggsnavn: Mapped[str | None] = mapped_column(Text)
    adresse_tekst: Mapped[str] = mapped_column(Text, nullable=False)
    postnummer: Mapped[str | None] = mapped_column(Text)
    poststed: Mapped[str | None] = mapped_column(Text)
    street_key: Mapped[str] = mapped_column(Text, nullable=False)
    street_loose: Mapped[str] = mapped_column(Text, nullable=False)
    dataset_date: Mapped[date | None] = mapped_column(Date)
    attributes: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    geom = mapped_column(_geom("POINT"), nullable=False)


class AddressStreet(Base):
    """One street of the address register (``kommunenummer`` + ``adressekode``), derived.

    Rebuilt for a municipality by every import of its addresses (:mod:`geoplan.addresses`), so
    the geocoder asks street questions of a few thousand streets instead of every address:
    streets spelt nearly like a query (pg_trgm trigram index on ``street_loose``), and where a
    street-only query points — ``middle_id``, the address nearest the mean of the street's
    addresses, which lie within ``radius_m`` of it.
    """

    __tablename__ = "address_streets"
    __table_args__ = (
        Index("address_streets_street_loose_idx", "street_loose"),
        Index("address_streets_kommunenummer_idx", "kommunenummer"),
        Index(
            "address_streets_street_loose_trgm",
            "street_loose",
            postgresql_using="gin",
            postgresql_ops={"street_loose": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},
        ),
        _finite("address_streets", "radius_m"),
    )
    kommunenummer: Mapped[str] = mapped_column(Text, primary_key=True)
    adressekode: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    street_loose: Mapped[str] = mapped_column(Text, primary_key=True)
    adressenavn: Mapped[str] = mapped_column(Text, nullable=False)
    addresses: Mapped[int] = mapped_column(Integer, nullable=False)
    middle_id: Mapped[int] = mapped_column(BigInteger, nullable=False)  # no foreign key: 0005
    radius_m: Mapped[float] = mapped_column(Float, nullable=False)


class DataVersion(Base):
    """One served layer's version: bumped by a statement-level trigger on each of its tables in
    the writing transaction (migration 0015), read by the API for ETag/Last-Modified.

    ``layer`` names what a collection or map reads (``premises`` covers ``premises``,
    ``premises_walk`` and ``premises_units``, and what their triggers derive; ``hubs`` covers
    ``hub_stops``; ``network`` the walking network; ``addresses`` covers ``address_streets``;
    ``municipalities`` the national register). Never written by application code.
    """

    __tablename__ = "data_versions"
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()
    )


GEOMETRY_TABLES = (
    "municipalities",
    "boundary",
    "areas",
    "hubs",
    "hub_stops",
    "premises",
    "walk_nodes",
    "walk_edges",
    "catchments",
    "assessments",
    "addresses",
    "plans",
    "land_use",
)


class Plan(Provenance, Base):
    """A zoning plan (reguleringsplan), keyed by its national plan id (migration 0005)."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("kommunenummer ~ '^[0-9]{4}$'", name="plans_kommunenummer_check"),
        Index("plans_geom_gist", "geom", postgresql_using="gist"),
        _accuracy("plans"),
    )
    # the national plan id "<kommunenummer>_<planidentifikasjon>"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    plan_id: Mapped[str | None] = mapped_column(Text)  # planidentifikasjon
    name: Mapped[str] = mapped_column(Text, nullable=False)
    plan_type: Mapped[int | None] = mapped_column(Integer)
    plan_type_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    status_name: Mapped[str | None] = mapped_column(Text)
    decision_date: Mapped[date | None] = mapped_column(Date)  # vedtakEndeligPlanDato
    kommunenummer: Mapped[str | None] = mapped_column(Text)
    lokal_id: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str] = mapped_column(Text, nullable=False)
    source_file: Mapped[str] = mapped_column(Text, nullable=False)
    source_date: Mapped[date | None] = mapped_column(Date)  # the plan's oppdateringsdato
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    geom = mapped_column(_geom("MULTIPOLYGON"))  # the plan area; missing when the file has none


class LandUse(Provenance, Base):
    """One land-use area (arealformål, RpArealformålOmråde) of a plan (migration 0005)."""

    __tablename__ = "land_use"
    __table_args__ = (
        CheckConstraint("kommunenummer ~ '^[0-9]{4}$'", name="land_use_kommunenummer_check"),
        Index("land_use_geom_gist", "geom", postgresql_using="gist"),
        Index("land_use_plan_idx", "plan"),
        Index("land_use_code_idx", "code"),
        _accuracy("land_use"),
        _finite("land_use", "utilisation"),
        _finite("land_use", "utilisation_min"),
    )
    id: Mapped[str] = mapped_column(Text, primary_key=True)  # "<plan id>/<lokalId>"
    plan: Mapped[str] = mapped_column(
        Text, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False
    )
    code: Mapped[int] = mapped_column(Integer, nullable=False)  # arealformål
    name: Mapped[str] = mapped_column(Text, nullable=False)  # from layers/land_use_codes.toml
    main_purpose: Mapped[str] = mapped_column(Text, nullable=False)  # hovedformål
    field_name: Mapped[str | None] = mapped_column(Text)  # feltnavn
    ownership: Mapped[str | None] = mapped_column(Text)  # eierform
    utilisation_type: Mapped[int | None] = mapped_column(Integer)  # utnyttingstype
    utilisation_type_name: Mapped[str | None] = mapped_column(Text)
    utilisation: Mapped[float | None] = mapped_column(Float)  # utnyttingstall
    utilisation_min: Mapped[float | None] = mapped_column(Float)  # utnyttingstall_minimum
    description: Mapped[str | None] = mapped_column(Text)
    kommunenummer: Mapped[str | None] = mapped_column(Text)
    lokal_id: Mapped[str | None] = mapped_column(Text)
    gml_id: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
