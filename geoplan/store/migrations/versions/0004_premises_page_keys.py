"""premises read path, part 2: stored Features keyed by ``seq``; walk values always finite.

An OGC items page of premises finds 100 stored heads (``premises_features``) and 100 walks
(``premises_walk``) for the ids a bbox scan returns. Measured with perf on a page request, the
100 primary-key probes into ``premises_features`` by text id spent most of their time comparing
strings (``bttextcmp`` under the database collation); the bbox index already returns each row's
integer ``seq`` (migration 0003 INCLUDEs it), so the heads are keyed by ``seq`` now, as the walks
are. ``seq`` never changes (an identity column ALWAYS generated), so the triggers no longer need
to chase renamed ids: one upsert on ``seq`` covers inserts, updates and renames.

The walk's numbers get a CHECK that they are finite and not negative. A page appends them to the
stored head as text (``walk_m::text``) instead of building a JSON object per row, which is only
valid JSON for finite numbers — the constraint is what makes that shortcut safe. Every writer
(``geoplan.proximity``) produces finite distances already; the check costs a comparison per row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:05:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Snapshot of migration 0003's head expression (a revision must keep meaning what it meant).
HEAD_SQL = """left((json_build_object('type', 'Feature', 'id', n.id, 'geometry', ST_AsGeoJSON(ST_Transform(n.geom, 4326), 7, 0)::json, 'properties', json_build_object('address', n.address, 'uses', n.uses, 'floor_area_m2', n.floor_area_m2, 'rent_nok_m2_year', n.rent_nok_m2_year, 'available_from', n.available_from, 'contact', n.contact, 'listing_url', n.listing_url, 'description', n.description, 'status', n.status, 'version', n.version, 'created_at', n.created_at, 'updated_at', n.updated_at, 'source', n.source, 'source_url', n.source_url, 'licence', n.licence, 'accuracy_m', n.accuracy_m, 'verified', n.verified, 'sample', n.sample)))::text, -2)"""

FINITE = (
    "walk_m >= 0 AND walk_m < 'Infinity'::float8 AND walk_min >= 0 "
    "AND walk_min < 'Infinity'::float8"
)  # NaN sorts above Infinity in PostgreSQL, so `< 'Infinity'` excludes it too


def upgrade() -> None:
    op.execute("ALTER TABLE premises_features ADD COLUMN seq bigint")
    op.execute("UPDATE premises_features f SET seq = p.seq FROM premises p WHERE p.id = f.id")
    op.execute("ALTER TABLE premises_features ALTER COLUMN seq SET NOT NULL")
    op.execute("ALTER TABLE premises_features DROP CONSTRAINT premises_features_pkey")
    op.execute("ALTER TABLE premises_features DROP COLUMN id")  # and its foreign key
    op.execute(
        "ALTER TABLE premises_features ADD CONSTRAINT premises_features_pkey PRIMARY KEY (seq)"
    )
    op.execute(
        "ALTER TABLE premises_features ADD CONSTRAINT premises_features_seq_fkey "
        "FOREIGN KEY (seq) REFERENCES premises (seq) ON DELETE CASCADE"
    )
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION premises_features_render() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO premises_features (seq, head)
            SELECT n.seq, {HEAD_SQL} FROM new_rows n
            ON CONFLICT (seq) DO UPDATE SET head = EXCLUDED.head;
            RETURN NULL;
        END $$"""
    )
    # the UPDATE trigger no longer needs the old rows
    op.execute("DROP TRIGGER premises_features_update ON premises")
    op.execute(
        "CREATE TRIGGER premises_features_update AFTER UPDATE ON premises "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_features_render()"
    )
    op.execute(
        f"ALTER TABLE premises_walk ADD CONSTRAINT premises_walk_finite_check CHECK ({FINITE})"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE premises_walk DROP CONSTRAINT premises_walk_finite_check")
    op.execute("ALTER TABLE premises_features ADD COLUMN id text")
    op.execute("UPDATE premises_features f SET id = p.id FROM premises p WHERE p.seq = f.seq")
    op.execute("ALTER TABLE premises_features ALTER COLUMN id SET NOT NULL")
    op.execute("ALTER TABLE premises_features DROP CONSTRAINT premises_features_pkey")
    op.execute("ALTER TABLE premises_features DROP COLUMN seq")  # and its foreign key
    op.execute(
        "ALTER TABLE premises_features ADD CONSTRAINT premises_features_pkey PRIMARY KEY (id)"
    )
    op.execute(
        "ALTER TABLE premises_features ADD CONSTRAINT premises_features_id_fkey "
        "FOREIGN KEY (id) REFERENCES premises (id) ON DELETE CASCADE ON UPDATE CASCADE"
    )
    # migration 0003's function and triggers, as they were
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION premises_features_render() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                DELETE FROM premises_features f USING old_rows o
                WHERE f.id = o.id AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
            END IF;
            INSERT INTO premises_features (id, head)
            SELECT n.id, {HEAD_SQL} FROM new_rows n
            ON CONFLICT (id) DO UPDATE SET head = EXCLUDED.head;
            RETURN NULL;
        END $$"""
    )
    op.execute("DROP TRIGGER premises_features_update ON premises")
    op.execute(
        "CREATE TRIGGER premises_features_update AFTER UPDATE ON premises "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_features_render()"
    )
