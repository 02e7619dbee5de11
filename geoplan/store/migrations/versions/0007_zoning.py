"""zoning plans: the layers ``plans`` and ``land_use`` (arealformål areas), GiST-indexed.

A plan (``Arealplan`` of Reguleringsplanforslag 5.0, or the plan attributes of a SOSI
``RpOmråde``) is one row of ``plans``, keyed by its national plan id
``<kommunenummer>_<planidentifikasjon>``; its geometry is the union of its plan areas and may be
missing (a plan file without ``RpOmråde``). Each ``RpArealformålOmråde`` is one row of
``land_use``, tied to its plan (deleting or re-importing a plan replaces its areas). Both carry
the provenance columns every layer carries, and a ``kommunenummer`` where the plan gives one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PROVENANCE = """
    source text NOT NULL,
    source_url text,
    licence text,
    accuracy_m double precision,
    verified boolean NOT NULL DEFAULT false,
    sample boolean NOT NULL DEFAULT false"""


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE plans (
            id text PRIMARY KEY,
            plan_id text,
            name text NOT NULL,
            plan_type integer,
            plan_type_name text,
            status integer,
            status_name text,
            decision_date date,
            kommunenummer text CONSTRAINT plans_kommunenummer_check
                CHECK (kommunenummer ~ '^[0-9]{{4}}$'),
            lokal_id text,
            format text NOT NULL,
            source_file text NOT NULL,
            source_date date,
            imported_at timestamptz NOT NULL DEFAULT now(),
            geom geometry(MULTIPOLYGON, 25833),{PROVENANCE}
        )"""
    )
    op.execute(
        f"""
        CREATE TABLE land_use (
            id text PRIMARY KEY,
            plan text NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
            code integer NOT NULL,
            name text NOT NULL,
            main_purpose text NOT NULL,
            field_name text,
            ownership text,
            utilisation_type integer,
            utilisation_type_name text,
            utilisation double precision,
            utilisation_min double precision,
            description text,
            kommunenummer text CONSTRAINT land_use_kommunenummer_check
                CHECK (kommunenummer ~ '^[0-9]{{4}}$'),
            lokal_id text,
            gml_id text,
            geom geometry(MULTIPOLYGON, 25833) NOT NULL,{PROVENANCE}
        )"""
    )
    op.execute("CREATE INDEX plans_geom_gist ON plans USING gist (geom)")
    op.execute("CREATE INDEX land_use_geom_gist ON land_use USING gist (geom)")
    op.execute("CREATE INDEX land_use_plan_idx ON land_use (plan)")
    op.execute("CREATE INDEX land_use_code_idx ON land_use (code)")


def downgrade() -> None:
    op.execute("DROP TABLE land_use")
    op.execute("DROP TABLE plans")
