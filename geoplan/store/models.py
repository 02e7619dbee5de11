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
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from geoplan.config import STORAGE_SRID
from geoplan.vocab import (
    AREA_ROLES,
    HUB_MODES,
    HUB_STATUSES,
    KOMMUNENUMMER_PATTERN,
    PREMISES_STATUSES,
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
    """The municipality a feature lies in (migration 0005): four digits, filled by a trigger
    from the geometry when a write leaves it empty (``geoplan_kommunenummer``: the served
    boundary first, then the national register), kept when the data gives it."""

    kommunenummer: Mapped[str | None] = mapped_column(Text)


class Base(DeclarativeBase):
    pass


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
    __table_args__ = (_kommunenummer_check("municipalities"),)
    kommunenummer: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[int | None] = mapped_column(Integer)
    # the national file's checksum: it is loaded again only when the file changed
    file_md5: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Boundary(Kommunenummer, Provenance, Base):
    """The municipalities the store serves (one row or more per kommunenummer)."""

    __tablename__ = "boundary"
    __table_args__ = (_kommunenummer_check("boundary"),)
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Area(Kommunenummer, Provenance, Base):
    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(_in("role", AREA_ROLES), name="areas_role_check"),
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
        _kommunenummer_check("premises"),
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
    # premises_lonlat_gist INCLUDE (id, seq), made by migration 0003 like the other GiST indexes).
    lonlat = mapped_column(
        _Point(),
        Computed(
            "point(ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)))",
            persisted=True,
        ),
    )


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


# The view ``premises_annotated`` (created by migration 0002, recreated with ``lonlat`` by 0003
# and with ``kommunenummer`` by 0005; a migration that adds premises columns must recreate it) is
# premises as readers see them: every listing column plus ``nearest_hub_id``, ``walk_m``,
# ``walk_min`` and ``walk_method`` from premises_walk (NULLs where no hub exists). PostgreSQL
# drops the join when a query reads no walk column (premises_seq is unique), so reading through
# the view costs nothing extra. Writes go to ``premises``.


class PremisesHistory(Base):
    """Every change to a premises row: who, when, before and after. Nothing is ever lost."""

    __tablename__ = "premises_history"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    premises_id: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    action: Mapped[str] = mapped_column(Text, nullable=False)  # create/update/withdraw/import
    actor: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
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


class WalkNode(Base):
    """Vertices of the pedestrian network (pgRouting topology)."""

    __tablename__ = "walk_nodes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    geom = mapped_column(_geom("POINT"), nullable=False)


class WalkEdge(Base):
    """Edges of the pedestrian network; ``cost``/``reverse_cost`` are metres (pgRouting style)."""

    __tablename__ = "walk_edges"
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


GEOMETRY_TABLES = (
    "municipalities",
    "boundary",
    "areas",
    "hubs",
    "premises",
    "walk_nodes",
    "walk_edges",
    "catchments",
    "assessments",
)
