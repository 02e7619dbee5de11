"""netex hubs: the stop places and quays behind a hub (``hub_stops``), a hub's municipality.

A NeTEx stop register describes a hub as a tree: a (multimodal) StopPlace, its mono-modal child
StopPlaces and their Quays, each with its own id and position. geoplan's hub is the top of that
tree (one marker, one catchment, one nearest-hub answer per place a traveller names); the rest
is kept in ``hub_stops`` with its parent, so nothing of the register is lost and a later walk can
end at the nearest quay instead of the hub's centroid (see docs/netex.md). Rows belong to their
hub and go with it (``ON DELETE CASCADE``).

``hubs.kommunenummer`` keeps the municipality a stop register names for a stop place
(``TopographicPlaceRef``), so work on several municipalities can scope hubs without a spatial
join.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("hubs", sa.Column("kommunenummer", sa.Text(), nullable=True))
    op.create_table(
        "hub_stops",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("hub_id", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("public_code", sa.Text(), nullable=True),
        sa.Column("transport_mode", sa.Text(), nullable=True),
        sa.Column("stop_place_type", sa.Text(), nullable=True),
        sa.Column("lines", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("departures_per_hour", sa.Float(), nullable=True),
        sa.Column("other_ids", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("kommunenummer", sa.Text(), nullable=True),
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
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("sample", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint("kind IN ('stop_place', 'quay')", name="hub_stops_kind_check"),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("hub_stops_geom_gist", "hub_stops", ["geom"], postgresql_using="gist")
    op.create_index("hub_stops_hub_id_idx", "hub_stops", ["hub_id"])


def downgrade() -> None:
    op.drop_index("hub_stops_hub_id_idx", table_name="hub_stops")
    op.drop_index("hub_stops_geom_gist", table_name="hub_stops")
    op.drop_table("hub_stops")
    op.drop_column("hubs", "kommunenummer")
