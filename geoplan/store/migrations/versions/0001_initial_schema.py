"""initial schema: layers with provenance, premises history, API keys, walk network, catchments,
assessments; a GiST index on every geometry.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:14:23.663849
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GEOMETRY_TABLES = (
    "boundary",
    "areas",
    "hubs",
    "premises",
    "walk_nodes",
    "walk_edges",
    "catchments",
    "assessments",
)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), server_default="write", nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('write', 'admin')", name="api_keys_scope_check"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "areas",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("identity", sa.Text(), nullable=True),
        sa.Column("identity_en", sa.Text(), nullable=True),
        sa.Column(
            "target_industries", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "target_industries_en", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("strategy_ref", sa.Text(), nullable=True),
        sa.Column("development_area", sa.Boolean(), server_default="true", nullable=False),
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
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("sample", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "role IN ('centre', 'local_centre', 'business_area', 'campus', 'destination')",
            name="areas_role_check",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("use", sa.Text(), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("input", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "boundary",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kommunenummer", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.Integer(), nullable=True),
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
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hubs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="existing", nullable=False),
        sa.Column("lines", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("departures_per_hour", sa.Float(), nullable=True),
        sa.Column("nsr_id", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("sample", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "mode IN ('rail', 'metro', 'bus_terminal', 'bus_stop')", name="hubs_mode_check"
        ),
        sa.CheckConstraint("status IN ('existing', 'planned')", name="hubs_status_check"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "premises_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("premises_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_premises_history_premises_id"), "premises_history", ["premises_id"], unique=False
    )
    op.create_table(
        "walk_edges",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("reverse_cost", sa.Float(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("osm_way_id", sa.BigInteger(), nullable=True),
        sa.Column("highway", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="LINESTRING",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_walk_edges_source"), "walk_edges", ["source"], unique=False)
    op.create_index(op.f("ix_walk_edges_target"), "walk_edges", ["target"], unique=False)
    op.create_table(
        "walk_nodes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("osm_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "catchments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hub_id", sa.Text(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("inputs_md5", sa.Text(), nullable=True),
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
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hub_id", "minutes", name="catchments_hub_minutes_key"),
    )
    op.create_table(
        "premises",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("uses", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("floor_area_m2", sa.Float(), nullable=False),
        sa.Column("rent_nok_m2_year", sa.Float(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("listing_url", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="available", nullable=False),
        sa.Column("nearest_hub_id", sa.Text(), nullable=True),
        sa.Column("walk_m", sa.Float(), nullable=True),
        sa.Column("walk_min", sa.Float(), nullable=True),
        sa.Column("walk_method", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("sample", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "cardinality(uses) > 0 AND uses <@ ARRAY['office', 'retail', 'warehouse_logistics', 'production', 'health', 'hospitality', 'other']::text[]",
            name="premises_uses_check",
        ),
        sa.CheckConstraint("status IN ('available', 'withdrawn')", name="premises_status_check"),
        sa.CheckConstraint("floor_area_m2 > 0", name="premises_floor_area_check"),
        sa.CheckConstraint("rent_nok_m2_year >= 0", name="premises_rent_check"),
        sa.PrimaryKeyConstraint("id"),
        postgresql_with={"fillfactor": 50},
    )

    for table in GEOMETRY_TABLES:
        op.create_index(f"{table}_geom_gist", table, ["geom"], postgresql_using="gist")
    op.create_index("premises_status_idx", "premises", ["status"])
    op.create_index("premises_uses_gin", "premises", ["uses"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("premises_uses_gin", table_name="premises")
    op.drop_index("premises_status_idx", table_name="premises")
    for table in GEOMETRY_TABLES:
        op.drop_index(f"{table}_geom_gist", table_name=table)
    op.drop_table("premises")
    op.drop_table("catchments")
    op.drop_table("walk_nodes")
    op.drop_index(op.f("ix_walk_edges_target"), table_name="walk_edges")
    op.drop_index(op.f("ix_walk_edges_source"), table_name="walk_edges")
    op.drop_table("walk_edges")
    op.drop_index(op.f("ix_premises_history_premises_id"), table_name="premises_history")
    op.drop_table("premises_history")
    op.drop_table("hubs")
    op.drop_table("boundary")
    op.drop_table("assessments")
    op.drop_table("areas")
    op.drop_table("api_keys")
