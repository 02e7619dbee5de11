"""premises_walk: nearest hub and walk of each premises move to their own table.

The annotation is derived data that every hub or network change recomputes for all premises.
Stored on the listing rows, a full re-annotation rewrote every listing (the wide rows, at half-
empty pages); in a narrow table of its own it is a bulk load. ``premises`` gets a compact
integer key ``seq`` for that bulk work, and readers read the view ``premises_annotated``, which
has the same columns the table had.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ANNOTATION = ("nearest_hub_id", "walk_m", "walk_min", "walk_method")

# A snapshot, not an import from geoplan.models: a revision must keep meaning what it meant.
VIEW = """
CREATE VIEW premises_annotated AS
SELECT p.id, p.address, p.uses, p.floor_area_m2, p.rent_nok_m2_year, p.available_from,
       p.contact, p.listing_url, p.description, p.status, p.seq, p.geom, p.version,
       p.created_at, p.updated_at, p.source, p.source_url, p.licence, p.accuracy_m, p.verified,
       p.sample, w.hub_id AS nearest_hub_id, w.walk_m, w.walk_min, w.method AS walk_method
FROM premises p LEFT JOIN premises_walk w ON w.premises_seq = p.seq
"""


def upgrade() -> None:
    op.add_column(
        "premises",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
    )
    op.create_unique_constraint("premises_seq_key", "premises", ["seq"])
    op.create_table(
        "premises_walk",
        sa.Column("premises_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hub_id", sa.Text(), nullable=False),
        sa.Column("walk_m", sa.Float(), nullable=False),
        sa.Column("walk_min", sa.Float(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "method IN ('network', 'straight_line')", name="premises_walk_method_check"
        ),
        sa.PrimaryKeyConstraint("premises_seq"),
    )
    # searches by walking time (max_walk_min, sort=walk) read it in walk order
    op.create_index("premises_walk_min_idx", "premises_walk", ["walk_min"])
    op.execute(
        "INSERT INTO premises_walk (premises_seq, hub_id, walk_m, walk_min, method) "
        "SELECT seq, nearest_hub_id, walk_m, walk_min, walk_method FROM premises "
        "WHERE nearest_hub_id IS NOT NULL AND walk_m IS NOT NULL AND walk_min IS NOT NULL "
        "AND walk_method IS NOT NULL"
    )
    for column in ANNOTATION:
        op.drop_column("premises", column)
    # Half-empty pages only served in-place re-annotation; listings now change one at a time.
    op.execute("ALTER TABLE premises RESET (fillfactor)")
    op.execute(VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW premises_annotated")
    op.add_column("premises", sa.Column("nearest_hub_id", sa.Text()))
    op.add_column("premises", sa.Column("walk_m", sa.Float()))
    op.add_column("premises", sa.Column("walk_min", sa.Float()))
    op.add_column("premises", sa.Column("walk_method", sa.Text()))
    op.execute(
        "UPDATE premises p SET nearest_hub_id = w.hub_id, walk_m = w.walk_m, "
        "walk_min = w.walk_min, walk_method = w.method FROM premises_walk w "
        "WHERE w.premises_seq = p.seq"
    )
    op.drop_table("premises_walk")
    op.drop_constraint("premises_seq_key", "premises")
    op.drop_column("premises", "seq")
    op.execute("ALTER TABLE premises SET (fillfactor = 50)")
