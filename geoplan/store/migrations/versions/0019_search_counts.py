"""search counts: how many listings there are per status, use combination and municipality,
kept by triggers, so the broadest searches are counted exactly without reading ten thousand
index entries (issue 13).

``GET /premises`` counts its matches (``numberMatched``) in ``premises_search``, stopping past
``COUNT_CAP`` (10 000) and giving the planner's estimate beyond. The searches that match most
— the search page as it opens (every vacant listing), one use, a municipality's warehouses —
are the ones whose every condition is on ``status``, ``uses_mask`` or ``kommunenummer``: each
read 10 001 index entries (≈ 2–3 ms at 10⁵ premises, the largest part of those searches) and
still answered with an estimate. ``premises_search_counts`` holds one row per combination of
those three columns with its number of listings (≈ 100 rows per municipality), so such a
search sums a few rows, the same conditions applied, and its count is exact however many
match.

Kept exact by statement-level triggers over transition tables on every INSERT, UPDATE, DELETE
and TRUNCATE of ``premises_search`` (the pattern of revision 0017's ``premises_counts``): one
small upsert per statement. ``kommunenummer`` is ``''`` for a listing without one (a primary
key column cannot be NULL): no ``kommune=`` condition matches it, as none matches NULL.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 03:00:00
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

KEY = "status, uses_mask, kommunenummer"


def _rows(table: str, d: int) -> str:
    return (
        f"SELECT {d} AS d, status, uses_mask, coalesce(kommunenummer, '') AS kommunenummer "
        f"FROM {table}"
    )


def _apply(source: str, removes: bool) -> str:
    upsert = f"""
            INSERT INTO premises_search_counts AS c ({KEY}, n)
            SELECT r.status, r.uses_mask, r.kommunenummer, sum(r.d) FROM ({source}) r
            GROUP BY 1, 2, 3 HAVING sum(r.d) <> 0 ORDER BY 1, 2, 3
            ON CONFLICT ({KEY}) DO UPDATE SET n = c.n + EXCLUDED.n;"""
    if not removes:
        return upsert
    return upsert + "\n            DELETE FROM premises_search_counts WHERE n <= 0;"


NEW = _rows("new_rows", 1)
OLD = _rows("old_rows", -1)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE premises_search_counts (
            status text NOT NULL,
            uses_mask integer NOT NULL,
            kommunenummer text NOT NULL,
            n bigint NOT NULL,
            PRIMARY KEY (status, uses_mask, kommunenummer)
        )"""
    )
    # OR REPLACE: geoplan.db.rebuild_schema drops the tables (and so the triggers) but not
    # functions, then migrates afresh.
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION premises_search_counts_apply() RETURNS trigger
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
        CREATE OR REPLACE FUNCTION premises_search_counts_truncate() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE premises_search_counts;
            RETURN NULL;
        END $$"""
    )
    for event, refs in (
        ("insert", "NEW TABLE AS new_rows"),
        ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("delete", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER premises_search_counts_{event} AFTER {event.upper()} "
            f"ON premises_search REFERENCING {refs} "
            "FOR EACH STATEMENT EXECUTE FUNCTION premises_search_counts_apply()"
        )
    op.execute(
        "CREATE TRIGGER premises_search_counts_truncate AFTER TRUNCATE ON premises_search "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_search_counts_truncate()"
    )
    # the listings already there
    op.execute(
        f"INSERT INTO premises_search_counts ({KEY}, n) "
        f"SELECT r.status, r.uses_mask, r.kommunenummer, count(*) FROM ({_rows('premises_search', 1)}) r "
        "GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER premises_search_counts_{event} ON premises_search")
    op.execute("DROP FUNCTION premises_search_counts_apply()")
    op.execute("DROP FUNCTION premises_search_counts_truncate()")
    op.execute("DROP TABLE premises_search_counts")
