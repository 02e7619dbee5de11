"""kommunenummer on every feature: the national municipality register and a derived municipality
number on boundary, areas, hubs and premises.

1. ``municipalities``: all of Norway's municipalities (kommunenummer, name, generalised polygon
   in EPSG:25833, provenance), GiST-indexed. Empty after this revision: ``geoplan db up``,
   ``geoplan load`` and ``geoplan init`` fill it from the national file shipped in ``layers/``
   (``geoplan.ingest.municipalities``), so the data never lives in a revision.
2. ``kommunenummer`` (four digits, CHECKed) on ``areas``, ``hubs`` and ``premises``; the column
   ``boundary`` already had gets the same CHECK (values that were not four digits, which no
   import could have meant, are cleared first and derived again).
3. ``geoplan_kommunenummer(geom, served)``: the municipality a geometry lies in — a point as it
   is, anything else by ``ST_PointOnSurface`` — looked up first in the served boundary (what
   the region checks use, so a premises inside the served municipality always carries its
   number, even where the generalised national polygons differ) and then in
   ``municipalities``; NULL outside both. The boundary layer itself looks up only the national
   register (``served`` false).
4. A ``BEFORE INSERT OR UPDATE OF geom, kommunenummer`` row trigger on the four tables fills
   ``kommunenummer`` when a write leaves it NULL, and derives it again when a write moves the
   geometry without changing the number. A number the data gives is kept. Every writer (file
   import, ``geoplan load``, the API, GTFS and later importers) gets it without knowing; on
   ``INSERT … ON CONFLICT`` PostgreSQL applies BEFORE INSERT triggers to the proposed row, so
   ``EXCLUDED.kommunenummer`` already holds the derived value and an unchanged re-import stays
   unchanged. Cost, measured on 100 000 premises: about 7 µs a row (docs/municipalities.md).
5. ``premises_annotated`` shows the column; stored premises heads (``premises_features``,
   migration 0004) render it after ``status``, as the layer description orders it, and are
   rendered again here for the rows already there.

Existing rows get their number when ``geoplan db up`` or ``geoplan load`` next runs (after the
national register is loaded): ``geoplan.ingest.municipalities.backfill``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
ADDED = ("areas", "premises")
"""Tables that get the column here (boundary had it from 0001, hubs from 0005)."""
branch_labels = None
depends_on = None

FEATURE_TABLES = ("boundary", "areas", "hubs", "premises")
PATTERN = "^[0-9]{4}$"

# Snapshots (a revision must keep meaning what it meant): 0004's head and 0003's view, each
# with kommunenummer added.
HEAD_0004 = """left((json_build_object('type', 'Feature', 'id', n.id, 'geometry', ST_AsGeoJSON(ST_Transform(n.geom, 4326), 7, 0)::json, 'properties', json_build_object('address', n.address, 'uses', n.uses, 'floor_area_m2', n.floor_area_m2, 'rent_nok_m2_year', n.rent_nok_m2_year, 'available_from', n.available_from, 'contact', n.contact, 'listing_url', n.listing_url, 'description', n.description, 'status', n.status, 'version', n.version, 'created_at', n.created_at, 'updated_at', n.updated_at, 'source', n.source, 'source_url', n.source_url, 'licence', n.licence, 'accuracy_m', n.accuracy_m, 'verified', n.verified, 'sample', n.sample)))::text, -2)"""
HEAD = HEAD_0004.replace(
    "'status', n.status, ", "'status', n.status, 'kommunenummer', n.kommunenummer, "
)
VIEW_0003 = """
CREATE OR REPLACE VIEW premises_annotated AS
SELECT p.id, p.address, p.uses, p.floor_area_m2, p.rent_nok_m2_year, p.available_from,
       p.contact, p.listing_url, p.description, p.status, p.seq, p.geom, p.version,
       p.created_at, p.updated_at, p.source, p.source_url, p.licence, p.accuracy_m, p.verified,
       p.sample, w.hub_id AS nearest_hub_id, w.walk_m, w.walk_min, w.method AS walk_method, p.lonlat
FROM premises p LEFT JOIN premises_walk w ON w.premises_seq = p.seq
"""
VIEW = VIEW_0003.replace("p.lonlat\n", "p.lonlat, p.kommunenummer\n")

LOOKUP = """
CREATE OR REPLACE FUNCTION geoplan_kommunenummer(g geometry, served boolean DEFAULT true)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    pt geometry;
    found text;
BEGIN
    IF g IS NULL OR ST_IsEmpty(g) THEN
        RETURN NULL;
    END IF;
    pt := CASE WHEN GeometryType(g) = 'POINT' THEN g ELSE ST_PointOnSurface(g) END;
    IF served THEN
        SELECT b.kommunenummer INTO found FROM boundary b
        WHERE b.kommunenummer IS NOT NULL AND ST_Intersects(b.geom, pt)
        ORDER BY b.kommunenummer LIMIT 1;
        IF found IS NOT NULL THEN
            RETURN found;
        END IF;
    END IF;
    SELECT m.kommunenummer INTO found FROM municipalities m
    WHERE ST_Intersects(m.geom, pt) ORDER BY m.kommunenummer LIMIT 1;
    RETURN found;
END $$
"""
FILL = """
CREATE OR REPLACE FUNCTION geoplan_kommunenummer_fill() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kommunenummer IS NULL
       OR (TG_OP = 'UPDATE' AND NEW.kommunenummer IS NOT DISTINCT FROM OLD.kommunenummer
           AND NEW.geom IS DISTINCT FROM OLD.geom) THEN
        NEW.kommunenummer := geoplan_kommunenummer(NEW.geom, TG_TABLE_NAME <> 'boundary');
    END IF;
    RETURN NEW;
END $$
"""


def _render(head: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION premises_features_render() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO premises_features (seq, head)
            SELECT n.seq, {head} FROM new_rows n
            ON CONFLICT (seq) DO UPDATE SET head = EXCLUDED.head;
            RETURN NULL;
        END $$"""


def upgrade() -> None:
    op.create_table(
        "municipalities",
        sa.Column("kommunenummer", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Integer(), nullable=True),
        sa.Column("file_md5", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("sample", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            f"kommunenummer ~ '{PATTERN}'", name="municipalities_kommunenummer_check"
        ),
        # stored numbers are finite and plausible, as every layer's since 0009
        sa.CheckConstraint(
            "accuracy_m BETWEEN 0 AND 100000", name="municipalities_accuracy_m_range"
        ),
        sa.PrimaryKeyConstraint("kommunenummer"),
    )
    op.create_index("municipalities_geom_gist", "municipalities", ["geom"], postgresql_using="gist")
    for table in ADDED:
        op.add_column(table, sa.Column("kommunenummer", sa.Text(), nullable=True))
    # boundary had the column from the start, hubs since 0005 (NeTEx): keep only valid numbers
    for table in ("boundary", "hubs"):
        op.execute(f"UPDATE {table} SET kommunenummer = NULL WHERE kommunenummer !~ '{PATTERN}'")
    for table in FEATURE_TABLES:
        op.create_check_constraint(
            f"{table}_kommunenummer_check", table, f"kommunenummer ~ '{PATTERN}'"
        )
    op.execute(LOOKUP)
    op.execute(FILL)
    for table in FEATURE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_kommunenummer BEFORE INSERT OR UPDATE OF geom, kommunenummer "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION geoplan_kommunenummer_fill()"
        )
    op.execute(VIEW)
    op.execute(_render(HEAD))
    op.execute(f"UPDATE premises_features f SET head = {HEAD} FROM premises n WHERE n.seq = f.seq")


def downgrade() -> None:
    op.execute(_render(HEAD_0004))
    op.execute(
        f"UPDATE premises_features f SET head = {HEAD_0004} FROM premises n WHERE n.seq = f.seq"
    )
    op.execute("DROP VIEW premises_annotated")
    op.execute(VIEW_0003.replace("CREATE OR REPLACE VIEW", "CREATE VIEW"))
    for table in FEATURE_TABLES:
        op.execute(f"DROP TRIGGER {table}_kommunenummer ON {table}")
        op.drop_constraint(f"{table}_kommunenummer_check", table)
    op.execute("DROP FUNCTION geoplan_kommunenummer_fill()")
    op.execute("DROP FUNCTION geoplan_kommunenummer(geometry, boolean)")
    for table in ADDED:
        op.drop_column(table, "kommunenummer")
    op.drop_index("municipalities_geom_gist", table_name="municipalities")
    op.drop_table("municipalities")
