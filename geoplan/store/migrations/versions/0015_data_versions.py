"""data versions: one counter per served layer, bumped by every write, for HTTP validators.

The API answers ``If-None-Match`` / ``If-Modified-Since`` with 304 without building the page
(``api/conditional.py``). For that it needs, before it reads any data, a cheap answer to "has
anything this response reads changed?". ``data_versions`` holds one row per layer — ``version``
(a counter) and ``changed_at`` — and a statement-level trigger on each table of the layer bumps
that row in the writing transaction, so the new version becomes visible exactly when the new
rows do (and a rolled-back write bumps nothing). Statement level, not row level: an import of
10⁵ rows or a re-annotation of every premises costs one bump, not 10⁵. ``TRUNCATE`` counts too.

A layer is what one collection or map reads, possibly several tables:

- ``premises``: ``premises``, ``premises_walk`` (the nearest hub and walk, rewritten by every
  re-annotation) and ``premises_units`` (a listing's units, revision 0014). Its stored Features
  (``premises_features``), tile clusters (``premises_tile_cells``, revision 0008) and search
  rows (``premises_search``, revision 0011) are written only by ``premises``' own statement
  triggers, and its history (``premises_history``) only in the same transaction as the
  ``premises`` write: the bump on ``premises`` covers them, and a trigger of their own would
  count one statement two or three times;
- ``hubs``: ``hubs`` and ``hub_stops``; ``network``: ``walk_nodes`` and ``walk_edges``;
- ``addresses``: ``addresses`` and ``address_streets``;
- ``municipalities``: the national register (names and extents of municipalities a map may be
  scoped to, revision 0010);
- ``boundary``, ``areas``, ``catchments``, ``plans``, ``land_use``, ``assessments``: their table.

Not versioned: ``api_keys`` (never served), ``saved_searches`` (each one's own definition and
feed, not a layer; the feed's listings follow ``premises``) and ``data_versions`` itself.

The trigger also sends ``NOTIFY geoplan_data_versions, '<layer>'`` (delivered at commit, only when
the write commits), so each API worker can keep the versions in memory and re-read them only
after a write instead of on every request.

Concurrent writers to the same layer queue on its row from their first write statement to their
commit (the price of a version that changes exactly at commit). API writes are single short
transactions; a long import holds its layers' rows for its duration.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 12:00:00
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# layer -> the tables whose writes change it (see the docstring)
LAYER_TABLES: dict[str, tuple[str, ...]] = {
    "boundary": ("boundary",),
    "areas": ("areas",),
    "hubs": ("hubs", "hub_stops"),
    "premises": ("premises", "premises_walk", "premises_units"),
    "catchments": ("catchments",),
    "network": ("walk_nodes", "walk_edges"),
    "plans": ("plans",),
    "land_use": ("land_use",),
    "addresses": ("addresses", "address_streets"),
    "assessments": ("assessments",),
    "municipalities": ("municipalities",),
}


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE data_versions (
            layer text PRIMARY KEY,
            version bigint NOT NULL DEFAULT 0,
            changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )"""
    )
    values = ", ".join(f"('{layer}')" for layer in LAYER_TABLES)
    op.execute(f"INSERT INTO data_versions (layer) VALUES {values}")
    # clock_timestamp(), not now(): the time of the write statement, not of the transaction's
    # start, so Last-Modified is as close to the commit as the database can tell
    op.execute(
        """
        CREATE OR REPLACE FUNCTION geoplan_bump_data_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_versions SET version = version + 1, changed_at = clock_timestamp()
            WHERE layer = TG_ARGV[0];
            PERFORM pg_notify('geoplan_data_versions', TG_ARGV[0]);
            RETURN NULL;
        END $$"""
    )
    for layer, tables in LAYER_TABLES.items():
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_data_version "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION geoplan_bump_data_version('{layer}')"
            )


def downgrade() -> None:
    for tables in LAYER_TABLES.values():
        for table in tables:
            op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
    op.execute("DROP FUNCTION geoplan_bump_data_version()")
    op.execute("DROP TABLE data_versions")
