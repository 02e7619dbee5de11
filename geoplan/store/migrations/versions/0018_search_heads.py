"""search heads: each listing's stored Feature cut once, when written, into the two pieces a
``GET /premises`` page splices its live values between (issue 13).

A search page lists its properties in API order — the key, the listing's attributes, the walk
(live, from ``premises_walk``), provenance, kept — while the stored head
(``premises_features.head``, revision 0003) holds them in OGC order for the items pages. Every
search row cut the head apart and put it together again: four ``split_part`` and one
``replace`` over ≈ 1 KB of text per listing, about 40 % of what PostgreSQL spent on the
features of a page (docs/premises.md). ``premises_search_heads`` holds the result of that
cutting:

- ``head``: the Feature up to the end of the listing's attributes, the key (``"id"``) first
  among its properties;
- ``tail``: its provenance properties, then its kept ones (from ``, "source" : ``).

A page is then ``head || walk || tail || units || '}}'``. The pieces are derived from
``premises_features.head`` by statement-level triggers on that table (the pattern of revision
0003), so whatever renders the head — the triggers on ``premises`` of revisions 0003–0014,
COPY imports, API writes — the pieces follow in the same statement, and a later revision that
changes the head's rendering need not touch this one. A table of its own rather than two
more columns of ``premises_features``: a row of both forms (≈ 2.1 KB) would pass PostgreSQL's
TOAST threshold (≈ 2 KB) and be compressed, making every page of either route decompress its
rows. Price: ≈ 1 KB more per listing (≈ 100 MB per 10⁵).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 22:15:00
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Snapshots, not imports from geoplan: the head's layout (revisions 0003/0014) when this
# revision was written — ``{"type" : "Feature", "id" : …, "geometry" : …, "properties" :
# {attributes…, "version" : …kept…, "source" : …provenance…`` — and the property that starts
# each part. A property name followed by " : " cannot occur inside a value (JSON escapes quotes).
KEPT = ', "version" : '
PROVENANCE = ', "source" : '
PROPERTIES = '"properties" : {'


def _pieces(head: str) -> tuple[str, str]:
    """The search head and tail of the stored head ``head`` (an SQL expression)."""
    attributes = f"split_part({head}, '{KEPT}', 1)"
    rest = f"split_part({head}, '{KEPT}', 2)"
    feature_id = f"""split_part(split_part({head}, '"id" : ', 2), ', "geometry" : ', 1)"""
    search_head = (
        f"""replace({attributes}, '{PROPERTIES}', '{PROPERTIES}"id" : ' || {feature_id} || ', ')"""
    )
    search_tail = (
        f"'{PROVENANCE}' || split_part({rest}, '{PROVENANCE}', 2) "
        f"|| '{KEPT}' || split_part({rest}, '{PROVENANCE}', 1)"
    )
    return search_head, search_tail


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE premises_search_heads (
            seq bigint PRIMARY KEY
                REFERENCES premises_features (seq) ON DELETE CASCADE ON UPDATE CASCADE,
            head text NOT NULL,
            tail text NOT NULL
        )"""
    )
    head, tail = _pieces("n.head")
    # OR REPLACE: geoplan.db.rebuild_schema drops the tables (and so the triggers) but not
    # functions, then migrates afresh. Deletes cascade through the foreign key.
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION premises_search_heads_render() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO premises_search_heads (seq, head, tail)
            SELECT n.seq, {head}, {tail} FROM new_rows n
            ON CONFLICT (seq) DO UPDATE SET head = EXCLUDED.head, tail = EXCLUDED.tail;
            RETURN NULL;
        END $$"""
    )
    for event in ("insert", "update"):
        op.execute(
            f"CREATE TRIGGER premises_search_heads_{event} AFTER {event.upper()} "
            "ON premises_features REFERENCING NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION premises_search_heads_render()"
        )
    # the listings already there
    head, tail = _pieces("f.head")
    op.execute(
        f"INSERT INTO premises_search_heads (seq, head, tail) "
        f"SELECT f.seq, {head}, {tail} FROM premises_features f"
    )


def downgrade() -> None:
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER premises_search_heads_{event} ON premises_features")
    op.execute("DROP FUNCTION premises_search_heads_render()")
    op.execute("DROP TABLE premises_search_heads")
