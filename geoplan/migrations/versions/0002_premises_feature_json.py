"""premises.feature_json: each listing's OGC GeoJSON Feature (CRS84), rendered when it is written.

Why: an OGC items page of 100 premises spent about a third of its PostgreSQL time building 100
features × 23 properties with ``json_build_object`` (PostgreSQL 15 works out each value's JSON
type anew on every call). Premises are read far more often than written (every map pan is a
page request; a listing changes a few times a month), so the Feature is rendered once, by a
trigger on every INSERT/UPDATE (COPY imports, API writes and the proximity re-annotation
included), and a page is then a ``string_agg`` of ready text. ``geoplan.features`` falls back
to building the JSON live for other CRSs, ``properties=`` subsets, and any row whose column is
NULL. ``tests/test_features.py`` checks that the stored text equals the live-built Feature, so
a property added to the registry without a new revision of this trigger is caught.

The expression is frozen here (a migration must not change when the code does); it is
``geoplan.features._feature_sql(premises, CRS84, all properties)`` with ``t.`` → ``NEW.``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FEATURE_SQL = """json_build_object('type', 'Feature', 'id', NEW.id, 'geometry', ST_AsGeoJSON(ST_Transform(NEW.geom, 4326), 7, 0)::json, 'properties', json_build_object('address', NEW.address, 'uses', NEW.uses, 'floor_area_m2', NEW.floor_area_m2, 'rent_nok_m2_year', NEW.rent_nok_m2_year, 'available_from', NEW.available_from, 'contact', NEW.contact, 'listing_url', NEW.listing_url, 'description', NEW.description, 'status', NEW.status, 'nearest_hub_id', NEW.nearest_hub_id, 'walk_m', NEW.walk_m, 'walk_min', NEW.walk_min, 'walk_method', NEW.walk_method, 'version', NEW.version, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'source', NEW.source, 'source_url', NEW.source_url, 'licence', NEW.licence, 'accuracy_m', NEW.accuracy_m, 'verified', NEW.verified, 'sample', NEW.sample))::text"""


def upgrade() -> None:
    op.add_column(
        "premises",
        sa.Column(
            "feature_json",
            sa.Text(),
            nullable=True,
            comment="The OGC GeoJSON Feature (CRS84, all properties), kept by a trigger",
        ),
    )
    # OR REPLACE: geoplan.db.rebuild_schema drops the tables (and so the trigger) but not
    # functions, then migrates afresh.
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION premises_feature_json() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.feature_json := {FEATURE_SQL};
            RETURN NEW;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER premises_feature_json BEFORE INSERT OR UPDATE ON premises "
        "FOR EACH ROW EXECUTE FUNCTION premises_feature_json()"
    )
    # Render the existing rows (an UPDATE that changes nothing else fires the trigger).
    op.execute("UPDATE premises SET feature_json = NULL")


def downgrade() -> None:
    op.execute("DROP TRIGGER premises_feature_json ON premises")
    op.execute("DROP FUNCTION premises_feature_json()")
    op.drop_column("premises", "feature_json")
