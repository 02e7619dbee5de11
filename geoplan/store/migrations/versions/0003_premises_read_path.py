"""premises read path: stored Features (premises_features) and a lon/lat point with a covering
GiST index (premises.lonlat), so an OGC items page of premises reads ready text and answers a
CRS84 bbox from the index alone.

1. ``premises_features``: each listing's OGC GeoJSON Feature (CRS84) up to the end of its own
   properties, rendered when it is written; readers append the walk properties, which live in
   ``premises_walk`` (migration 0002) and change with every re-annotation, and close it. An
   items page of 100 premises spent about a third of its PostgreSQL time building 100 features
   × 23 properties with ``json_build_object`` (PostgreSQL 15 works out each value's JSON type
   anew on every call). Listings are read far more often than written (every map pan is a page
   request; a listing changes a few times a month), so statement-level triggers render the
   heads of every INSERT/UPDATE of ``premises`` (COPY imports and API writes) with one
   set-based upsert per statement, and a page is a ``string_agg`` of ready text plus four
   walk values. ``geoplan.features`` builds the JSON live for other CRSs, ``properties=``
   subsets, and any row without a stored head; ``tests/test_features.py`` checks that spliced
   pages equal live-built ones, so a property added to the registry without a new revision of
   the trigger is caught. A table of its own rather than a column: ~800 bytes inline made
   ``premises`` several times larger on disk, which slowed every scan of it (the ``/premises``
   search by 40 %), while a page needs only its 100 heads. The expression is frozen here (a
   migration must not change when the code does): it is ``geoplan.features._feature_sql(
   premises, CRS84, the stored properties)`` with ``t.`` → ``NEW.``, less the closing ``}}``.

2. ``premises.lonlat``: the position in CRS84 as a PostgreSQL ``point``, generated from ``geom``
   (``ST_Transform`` is IMMUTABLE), with a GiST index that INCLUDEs ``id`` (and ``seq``); the view
   ``premises_annotated`` shows it. A CRS84 bbox is a
   plain lon/lat box there (``lonlat <@ box``, exact for points), and the built-in point GiST
   opclass can return its values, so matching, counting and ordering the ids of a bbox page is an
   index-only scan: no visit to ~1 000 scattered heap pages per request, which was the largest
   remaining cost of a page. (PostGIS's geometry GiST cannot do index-only scans.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The Feature without the walk properties, as text without its closing "}}" (properties, Feature)
HEAD_SQL = """left((json_build_object('type', 'Feature', 'id', NEW.id, 'geometry', ST_AsGeoJSON(ST_Transform(NEW.geom, 4326), 7, 0)::json, 'properties', json_build_object('address', NEW.address, 'uses', NEW.uses, 'floor_area_m2', NEW.floor_area_m2, 'rent_nok_m2_year', NEW.rent_nok_m2_year, 'available_from', NEW.available_from, 'contact', NEW.contact, 'listing_url', NEW.listing_url, 'description', NEW.description, 'status', NEW.status, 'version', NEW.version, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'source', NEW.source, 'source_url', NEW.source_url, 'licence', NEW.licence, 'accuracy_m', NEW.accuracy_m, 'verified', NEW.verified, 'sample', NEW.sample)))::text, -2)"""

# Snapshots, not imports from geoplan: a revision must keep meaning what it meant.
VIEW_0002 = """
CREATE VIEW premises_annotated AS
SELECT p.id, p.address, p.uses, p.floor_area_m2, p.rent_nok_m2_year, p.available_from,
       p.contact, p.listing_url, p.description, p.status, p.seq, p.geom, p.version,
       p.created_at, p.updated_at, p.source, p.source_url, p.licence, p.accuracy_m, p.verified,
       p.sample, w.hub_id AS nearest_hub_id, w.walk_m, w.walk_min, w.method AS walk_method
FROM premises p LEFT JOIN premises_walk w ON w.premises_seq = p.seq
"""
VIEW = VIEW_0002.replace("CREATE VIEW", "CREATE OR REPLACE VIEW").replace(
    "w.method AS walk_method", "w.method AS walk_method, p.lonlat"
)


def upgrade() -> None:
    op.create_table(
        "premises_features",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("head", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["premises.id"], ondelete="CASCADE", onupdate="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    # Statement-level, over the transition table: one set-based upsert per statement, so a
    # bulk write (an import) costs one INSERT … SELECT, not a PL/pgSQL call per row.
    # OR REPLACE: geoplan.db.rebuild_schema drops the tables (and so the triggers) but not
    # functions, then migrates afresh. An id that changes: the old id's row is deleted (the
    # foreign key's cascade may have renamed it already); one row under the new id remains.
    render = HEAD_SQL.replace("NEW.", "n.")
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
            SELECT n.id, {render} FROM new_rows n
            ON CONFLICT (id) DO UPDATE SET head = EXCLUDED.head;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER premises_features_insert AFTER INSERT ON premises "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_features_render()"
    )
    op.execute(
        "CREATE TRIGGER premises_features_update AFTER UPDATE ON premises "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION premises_features_render()"
    )
    # the rows already there
    op.execute(
        "INSERT INTO premises_features (id, head) "
        f"SELECT p.id, {HEAD_SQL.replace('NEW.', 'p.')} FROM premises p"
    )
    op.execute(
        "ALTER TABLE premises ADD COLUMN lonlat point GENERATED ALWAYS AS "
        "(point(ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)))) STORED"
    )
    # seq too: through the view premises_annotated PostgreSQL drops the walk join but still
    # wants seq (its join key) from the scan, and without it would visit the heap again.
    op.execute(
        "CREATE INDEX premises_lonlat_gist ON premises USING gist (lonlat) INCLUDE (id, seq)"
    )
    op.execute(VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW premises_annotated")
    op.execute(VIEW_0002)
    op.drop_index("premises_lonlat_gist", table_name="premises")
    op.drop_column("premises", "lonlat")
    op.execute("DROP TRIGGER premises_features_update ON premises")
    op.execute("DROP TRIGGER premises_features_insert ON premises")
    op.execute("DROP FUNCTION premises_features_render()")
    op.drop_table("premises_features")
