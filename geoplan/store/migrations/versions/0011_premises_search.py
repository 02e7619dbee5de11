"""premises search: a narrow table of what ``GET /premises`` filters and sorts on, kept by triggers.

A search such as ``use=office&max_walk_min=15&sort=walk`` at 10⁵ premises spent ≈ 15–20 ms
counting its ≈ 2 000 matches (``numberMatched``): the use condition is answered in ``premises``
(≈ 14 000 office rows, one heap page each), the walk in ``premises_walk`` (≈ 14 500 rows), and
the count is their join. ``premises_search`` holds both sides in one row per premises, so a
count is an index-only scan of one covering index (≈ 1 ms) and a page is the first hundred
entries of an index in the requested order:

- ``seq`` (the key, as ``premises_features``), ``id`` (every order ends with it), and under the
  names ``premises`` gives them — so a filter clause reads the same on either table —
  ``status``, ``floor_area_m2``, ``rent_nok_m2_year``, ``available_from``, ``kommunenummer``,
  ``updated_at``, ``geom`` and ``walk_min`` (``premises_walk``'s; NULL without a hub);
- ``uses_mask``: the use categories as bits (``geoplan_uses_mask``, bit *i* = the *i*-th of
  the vocabulary below, as :data:`geoplan.vocab.USE_CATEGORIES` orders them). ``uses &&
  '{office}'`` tested on every index entry cost 2–3 × what ``uses_mask & 1 <> 0`` does, and
  an integer can lead a btree index (below).

Kept exact by statement-level triggers on ``premises`` (INSERT and UPDATE, COPY imports
included: one upsert per statement over the transition table; DELETE cascades by the foreign
key). The walk is copied by ``premises_search_sync_walks(ids)``, which
:mod:`geoplan.proximity.annotate` calls after each (re-)annotation: it writes only rows whose
walk changed, so re-annotating after a hub moved rewrites the premises near it, not all of them.

Indexes: the walk order covers every filter column (counts and walk-ordered pages never read
the table); ``(uses_mask, walk_min)`` covers them too, so a search by use counts only the
entries of the masks that hold one of its uses (``uses_mask = ANY(…)``: 0.4 ms instead of
1.5 ms for the ≈ 2 000 offices within 15 minutes among 14 500 listings within 15 minutes);
the area, rent and updated orders by ``(key, id)``, covering the filters as well (a range of
area or rent is counted in its own index); GiST on ``geom`` for ``area=``. ≈ 10 MB each per
10⁵ premises.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:00:00
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Snapshot of the vocabulary's order (a revision keeps meaning what it meant); a migration that
# adds a use category replaces the function and recomputes the column.
USES = "ARRAY['office', 'retail', 'warehouse_logistics', 'production', 'health', 'hospitality', 'other']"
COLUMNS = (
    "seq, id, status, uses_mask, floor_area_m2, rent_nok_m2_year, available_from, kommunenummer, "
    "updated_at, geom"
)
SELECT = (
    "n.seq, n.id, n.status, geoplan_uses_mask(n.uses), n.floor_area_m2, n.rent_nok_m2_year, "
    "n.available_from, n.kommunenummer, n.updated_at, n.geom"
)
SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS.split(", ")[1:])
MASK = f"""
CREATE OR REPLACE FUNCTION geoplan_uses_mask(uses text[]) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(bit_or(1 << (array_position({USES}, u) - 1)), 0)::integer
    FROM unnest(uses) AS u WHERE array_position({USES}, u) IS NOT NULL
$$"""
UPSERT = f"""
CREATE OR REPLACE FUNCTION premises_search_upsert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO premises_search ({COLUMNS}, walk_min)
    SELECT {SELECT}, w.walk_min
    FROM new_rows n LEFT JOIN premises_walk w ON w.premises_seq = n.seq
    ON CONFLICT (seq) DO UPDATE SET {SET}, walk_min = EXCLUDED.walk_min;
    RETURN NULL;
END $$"""
SYNC = """
CREATE OR REPLACE FUNCTION premises_search_sync_walks(ids text[] DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    WITH changed AS (
        UPDATE premises_search s SET walk_min = c.walk_min
        FROM (SELECT t.seq, w.walk_min
              FROM premises_search t LEFT JOIN premises_walk w ON w.premises_seq = t.seq
              WHERE (ids IS NULL OR t.id = ANY(ids))
                AND t.walk_min IS DISTINCT FROM w.walk_min) c
        WHERE s.seq = c.seq
        RETURNING 1)
    SELECT count(*) FROM changed
$$"""
INCLUDE = "status, uses_mask, floor_area_m2, rent_nok_m2_year, available_from, kommunenummer, seq"


def upgrade() -> None:
    op.execute(MASK)
    op.create_table(
        "premises_search",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("uses_mask", sa.Integer(), nullable=False),
        sa.Column("floor_area_m2", sa.Float(), nullable=False),
        sa.Column("rent_nok_m2_year", sa.Float(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("kommunenummer", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("walk_min", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["seq"], ["premises.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
        # copies of checked values; finite, as every float column of the store (migration 0009)
        *(
            sa.CheckConstraint(
                f"{c} > '-Infinity'::float8 AND {c} < 'Infinity'::float8",
                name=f"premises_search_{c}_range",
            )
            for c in ("floor_area_m2", "rent_nok_m2_year", "walk_min")
        ),
    )
    op.execute(
        f"INSERT INTO premises_search ({COLUMNS}, walk_min) SELECT {SELECT}, w.walk_min "
        "FROM premises n LEFT JOIN premises_walk w ON w.premises_seq = n.seq"
    )
    op.execute(
        f"CREATE INDEX premises_search_walk ON premises_search (walk_min, id) INCLUDE ({INCLUDE})"
    )
    op.execute(
        "CREATE INDEX premises_search_uses ON premises_search (uses_mask, walk_min) "
        f"INCLUDE ({INCLUDE.replace('uses_mask, ', '')})"
    )
    for name, key, column in (
        ("area", "floor_area_m2 DESC", "floor_area_m2"),
        ("rent", "rent_nok_m2_year", "rent_nok_m2_year"),
        ("updated", "updated_at DESC", None),
    ):
        covered = [c for c in INCLUDE.split(", ") if c != column] + ["walk_min"]
        op.execute(
            f"CREATE INDEX premises_search_{name} ON premises_search ({key}, id) "
            f"INCLUDE ({', '.join(covered)})"
        )
    op.execute("CREATE INDEX premises_search_geom_gist ON premises_search USING gist (geom)")
    op.execute(UPSERT)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER premises_search_{event.lower()} AFTER {event} ON premises "
            "REFERENCING NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION premises_search_upsert()"
        )
    op.execute(SYNC)


def downgrade() -> None:
    op.execute("DROP FUNCTION premises_search_sync_walks(text[])")
    op.execute("DROP TRIGGER premises_search_update ON premises")
    op.execute("DROP TRIGGER premises_search_insert ON premises")
    op.execute("DROP FUNCTION premises_search_upsert()")
    op.drop_table("premises_search")
    op.execute("DROP FUNCTION geoplan_uses_mask(text[])")
