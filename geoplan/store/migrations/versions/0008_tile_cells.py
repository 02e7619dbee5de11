"""premises tile clusters: counts and position sums per Web Mercator grid cell, kept by triggers.

A vector tile of premises at a low zoom (``geoplan.ogc.tiles``) shows clusters: the tile cut into
16 × 16 cells, one point per cell with a ``count``. Counted from the listings, a zoom-12 tile
of Lørenskog with 10⁶ premises reads ≈ 230 000 index entries (≈ 100–240 ms); counted from this
table it reads at most 1 024 rows. ``premises_tile_cells`` holds, for every cluster level ``z``
stored, every cell ``(cx, cy)`` of the global grid of that level (``2^(z+4)`` cells a side: the
16 × 16 cells of each zoom-``z`` tile) and every ``status``: how many premises lie in it (``n``)
and the sums of their normalised Web Mercator coordinates (``sx``, ``sy`` in [0, 1): x from
the west, y from the north), so a cluster's position is the mean of its members. Levels 1, 3,
…, 15 are stored; a tile of zoom ``z`` reads the nearest stored level at or above ``z`` and
merges 1 or 4 cells into each of its own.

Statement-level triggers over transition tables keep it exact on every INSERT, UPDATE, DELETE
(COPY imports and API writes alike) and TRUNCATE of ``premises``: the rows that leave a cell
count −1, those that enter it +1, summed per cell in one upsert per statement; cells left
empty are deleted. An update that moves no listing and changes no status nets to nothing and
writes nothing (sums that cancel to within 10⁻¹² — 40 µm on the ground — count as unchanged:
float sums of ±u in any order need not cancel exactly).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Snapshots, not imports from geoplan: a revision must keep meaning what it meant.
LEVELS = "ARRAY[1, 3, 5, 7, 9, 11, 13, 15]"
U = "((r.lonlat[0] + 180) / 360)"
V = "((1 - ln(tan(pi() / 4 + radians(r.lonlat[1]) / 2)) / pi()) / 2)"


def _delta(source: str) -> str:
    """Per stored level and cell: the change of count and sums that ``source`` rows make."""
    return f"""
        SELECT l.z, floor({U} * 2 ^ (l.z + 4))::int AS cx, floor({V} * 2 ^ (l.z + 4))::int AS cy,
               r.status, sum(r.d)::int AS n, sum(r.d * {U}) AS sx, sum(r.d * {V}) AS sy
        FROM ({source}) r CROSS JOIN unnest({LEVELS}) AS l(z)
        GROUP BY 1, 2, 3, 4
        HAVING sum(r.d) <> 0 OR abs(sum(r.d * {U})) > 1e-12 OR abs(sum(r.d * {V})) > 1e-12"""


def _apply(source: str, removes: bool) -> str:
    upsert = f"""
            INSERT INTO premises_tile_cells AS c (z, cx, cy, status, n, sx, sy)
            SELECT * FROM ({_delta(source)}) d ORDER BY z, cx, cy, status
            ON CONFLICT (z, cx, cy, status) DO UPDATE
            SET n = c.n + EXCLUDED.n, sx = c.sx + EXCLUDED.sx, sy = c.sy + EXCLUDED.sy;"""
    if not removes:
        return upsert
    return (
        upsert
        + f"""
            DELETE FROM premises_tile_cells c
            USING (SELECT DISTINCT l.z, floor({U} * 2 ^ (l.z + 4))::int AS cx,
                          floor({V} * 2 ^ (l.z + 4))::int AS cy, r.status
                   FROM old_rows r CROSS JOIN unnest({LEVELS}) AS l(z)) k
            WHERE c.z = k.z AND c.cx = k.cx AND c.cy = k.cy AND c.status = k.status
              AND c.n <= 0;"""
    )


NEW = "SELECT 1 AS d, lonlat, status FROM new_rows"
OLD = "SELECT -1 AS d, lonlat, status FROM old_rows"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE premises_tile_cells (
            z smallint NOT NULL,
            cx integer NOT NULL,
            cy integer NOT NULL,
            status text NOT NULL,
            n integer NOT NULL,
            sx double precision NOT NULL,
            sy double precision NOT NULL,
            PRIMARY KEY (z, cx, cy, status)
        )"""
    )
    # OR REPLACE: geoplan.db.rebuild_schema drops the tables (and so the triggers) but not
    # functions, then migrates afresh.
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION premises_tile_cells_apply() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {_apply(NEW, False)}
            ELSIF TG_OP = 'UPDATE' THEN
                {_apply(f"{NEW} UNION ALL {OLD}", True)}
            ELSIF TG_OP = 'DELETE' THEN
                {_apply(OLD, True)}
            END IF;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION premises_tile_cells_truncate() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE premises_tile_cells;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER premises_tile_cells_insert AFTER INSERT ON premises "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_tile_cells_apply()"
    )
    op.execute(
        "CREATE TRIGGER premises_tile_cells_update AFTER UPDATE ON premises "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_tile_cells_apply()"
    )
    op.execute(
        "CREATE TRIGGER premises_tile_cells_delete AFTER DELETE ON premises "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_tile_cells_apply()"
    )
    op.execute(
        "CREATE TRIGGER premises_tile_cells_truncate AFTER TRUNCATE ON premises "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_tile_cells_truncate()"
    )
    # the rows already there
    op.execute(
        f"INSERT INTO premises_tile_cells (z, cx, cy, status, n, sx, sy) "
        f"{_delta('SELECT 1 AS d, lonlat, status FROM premises')}"
    )


def downgrade() -> None:
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER premises_tile_cells_{event} ON premises")
    op.execute("DROP FUNCTION premises_tile_cells_apply()")
    op.execute("DROP FUNCTION premises_tile_cells_truncate()")
    op.execute("DROP TABLE premises_tile_cells")
