"""search units: ``premises_search`` carries ``unit_count``, so a size, rent or date filter is
answered on the narrow table, and ``lonlat``, so a distance is measured without reprojecting.

Since revision 0014 a listing may hold units, and ``min_area_m2``, ``max_area_m2``,
``max_rent_nok_m2``, ``available_by`` match a listing with units by one of its vacant units
(``geoplan/premises/conditions.py``): "a single space that meets the filter, or a listing with
units one of which meets it". ``premises_search`` could not tell the two apart, so every
search with one of these filters joined ``premises`` — and its count (``numberMatched``) read
all 10⁵ listings: ≈ 35–45 ms of the query mix's 2–5 ms searches (issue 13,
``docs/premises.md``). With ``unit_count`` beside the values it already copies, the condition
reads the narrow row, and only a listing with units looks at its units.

- ``unit_count`` (integer, NOT NULL, default 0), copied by the upsert trigger like the other
  columns (the function is replaced with the same body plus the column);
- ``lonlat`` (point, NOT NULL): the listing's position in CRS84 (``premises.lonlat``, revision
  0003: the very numbers ``ST_Transform(geom, 4326)`` gives). ``near=`` refines on the ellipsoid
  and ``sort=distance`` measures there; reprojecting each candidate cost ≈ 17 µs, the geography
  from these numbers a fraction of that;
- the covering indexes of the walk, use, area, rent and updated orders are rebuilt with
  ``unit_count`` in their ``INCLUDE`` list, so counts and pages stay index-only scans;
- ``premises_search_with_units``: the (few) listings with units, a partial index. The search
  counts a unit filter's two halves apart — single spaces, a range of the area or rent index;
  listings with units, this index — because ``max_area_m2`` bounds no listing with units and
  their disjunction is a range of no index (``available_by=…&max_area_m2=300`` was counted by
  reading all 10⁵ rows, ≈ 38 ms).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# As revision 0011 wrote them, with and without unit_count.
COLUMNS = (
    "seq, id, status, uses_mask, floor_area_m2, rent_nok_m2_year, available_from, kommunenummer, "
    "updated_at, geom"
)
SELECT = (
    "n.seq, n.id, n.status, geoplan_uses_mask(n.uses), n.floor_area_m2, n.rent_nok_m2_year, "
    "n.available_from, n.kommunenummer, n.updated_at, n.geom"
)


def _upsert(columns: str, select: str) -> str:
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns.split(", ")[1:])
    return f"""
CREATE OR REPLACE FUNCTION premises_search_upsert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO premises_search ({columns}, walk_min)
    SELECT {select}, w.walk_min
    FROM new_rows n LEFT JOIN premises_walk w ON w.premises_seq = n.seq
    ON CONFLICT (seq) DO UPDATE SET {assignments}, walk_min = EXCLUDED.walk_min;
    RETURN NULL;
END $$"""


def _indexes(include: str) -> list[str]:
    """Revision 0011's covering indexes with ``include`` as the walk order's INCLUDE list."""
    statements = [
        f"CREATE INDEX premises_search_walk ON premises_search (walk_min, id) INCLUDE ({include})",
        "CREATE INDEX premises_search_uses ON premises_search (uses_mask, walk_min) "
        f"INCLUDE ({include.replace('uses_mask, ', '')})",
    ]
    for name, key, column in (
        ("area", "floor_area_m2 DESC", "floor_area_m2"),
        ("rent", "rent_nok_m2_year", "rent_nok_m2_year"),
        ("updated", "updated_at DESC", None),
    ):
        covered = [c for c in include.split(", ") if c != column] + ["walk_min"]
        statements.append(
            f"CREATE INDEX premises_search_{name} ON premises_search ({key}, id) "
            f"INCLUDE ({', '.join(covered)})"
        )
    return statements


INCLUDE = "status, uses_mask, floor_area_m2, rent_nok_m2_year, available_from, kommunenummer, seq"
INDEXES = ("walk", "uses", "area", "rent", "updated")


def _rebuild_indexes(include: str) -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX premises_search_{name}")
    for statement in _indexes(include):
        op.execute(statement)


def upgrade() -> None:
    op.add_column(
        "premises_search",
        sa.Column("unit_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute("ALTER TABLE premises_search ADD COLUMN lonlat point")
    op.execute(
        "UPDATE premises_search s SET unit_count = p.unit_count, lonlat = p.lonlat "
        "FROM premises p WHERE p.seq = s.seq"
    )
    op.alter_column("premises_search", "lonlat", nullable=False)
    op.execute(_upsert(f"{COLUMNS}, unit_count, lonlat", f"{SELECT}, n.unit_count, n.lonlat"))
    _rebuild_indexes(INCLUDE.replace(", seq", ", unit_count, seq"))
    op.execute(
        "CREATE INDEX premises_search_with_units ON premises_search (seq) WHERE unit_count > 0"
    )


def downgrade() -> None:
    op.execute("DROP INDEX premises_search_with_units")
    op.execute(_upsert(COLUMNS, SELECT))
    _rebuild_indexes(INCLUDE)
    op.drop_column("premises_search", "lonlat")
    op.drop_column("premises_search", "unit_count")
