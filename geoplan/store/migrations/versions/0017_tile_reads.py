"""tile reads: premises tiles read from one index, and the overview's premises counted ahead.

Two reads that grew with the register (issue 13, measured with 10⁶ premises):

- **A single-premises tile** (zoom ≥ 16, ≈ 1 000 listings) found its rows in the ``lonlat`` GiST
  index in ≈ 2 ms, then read ≈ 1 000 heap pages in random order — listings are stored in the
  order they were registered, not by place — for the tile's properties (``EXPLAIN``: 52 of
  62 ms). ``premises_lonlat_gist`` (revision 0003: ``INCLUDE (id, seq)``) now also INCLUDEs
  every ``premises`` column a tile carries, so the tile is an index-only scan: GiST keeps
  nearby points on the same leaf pages, which is the locality the heap lacks, and stays so
  however listings arrive (a one-time CLUSTER would not). The index-only bbox pages of the
  items route keep working (their columns are still there). Price: the index grows from
  ≈ 100 to ≈ 350 MB per 10⁶ premises and each write updates the wider entry.
- **The overview** counted the vacant premises and the sample ones on every render (a parallel
  scan of the whole table, 0.3–0.45 s at 10⁶ — the first load after a commit paid it).
  ``premises_counts`` holds the number of premises per ``status`` and ``sample``, kept exact by
  statement-level triggers over transition tables on every INSERT, UPDATE, DELETE and TRUNCATE
  of ``premises`` (the pattern of revision 0008's tile cells): one small upsert per statement.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 18:00:00
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Snapshot, not an import from geoplan: the premises columns a tile carries (geoplan.ogc.tiles,
# the summary fields of geoplan.layers.spec) when this revision was written.
TILE_COLUMNS = (
    "id, seq, address, uses, floor_area_m2, rent_nok_m2_year, available_from, status, source, "
    "accuracy_m, verified, sample"
)


def _apply(source: str, removes: bool) -> str:
    upsert = f"""
            INSERT INTO premises_counts AS c (status, sample, n)
            SELECT r.status, r.sample, sum(r.d) FROM ({source}) r
            GROUP BY 1, 2 HAVING sum(r.d) <> 0 ORDER BY 1, 2
            ON CONFLICT (status, sample) DO UPDATE SET n = c.n + EXCLUDED.n;"""
    if not removes:
        return upsert
    return upsert + "\n            DELETE FROM premises_counts WHERE n <= 0;"


NEW = "SELECT 1 AS d, status, sample FROM new_rows"
OLD = "SELECT -1 AS d, status, sample FROM old_rows"


def upgrade() -> None:
    op.execute("DROP INDEX premises_lonlat_gist")
    op.execute(
        f"CREATE INDEX premises_lonlat_gist ON premises USING gist (lonlat) INCLUDE ({TILE_COLUMNS})"
    )
    op.execute(
        """
        CREATE TABLE premises_counts (
            status text NOT NULL,
            sample boolean NOT NULL,
            n bigint NOT NULL,
            PRIMARY KEY (status, sample)
        )"""
    )
    # OR REPLACE: geoplan.db.rebuild_schema drops the tables (and so the triggers) but not
    # functions, then migrates afresh.
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION premises_counts_apply() RETURNS trigger
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
        CREATE OR REPLACE FUNCTION premises_counts_truncate() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE premises_counts;
            RETURN NULL;
        END $$"""
    )
    for event, refs in (
        ("insert", "NEW TABLE AS new_rows"),
        ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("delete", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER premises_counts_{event} AFTER {event.upper()} ON premises "
            f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION premises_counts_apply()"
        )
    op.execute(
        "CREATE TRIGGER premises_counts_truncate AFTER TRUNCATE ON premises "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_counts_truncate()"
    )
    # the listings already there
    op.execute(
        "INSERT INTO premises_counts (status, sample, n) "
        "SELECT status, sample, count(*) FROM premises GROUP BY 1, 2"
    )


def downgrade() -> None:
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER premises_counts_{event} ON premises")
    op.execute("DROP FUNCTION premises_counts_apply()")
    op.execute("DROP FUNCTION premises_counts_truncate()")
    op.execute("DROP TABLE premises_counts")
    op.execute("DROP INDEX premises_lonlat_gist")
    op.execute(
        "CREATE INDEX premises_lonlat_gist ON premises USING gist (lonlat) INCLUDE (id, seq)"
    )
