"""premises fields and units: what premises seekers filter on, and several spaces in one building.

1. Nine listing attributes on ``premises`` (all nullable, so every existing row stays as it
   was): ``floor``, ``workplaces``, ``parking_spaces``, ``energy_label`` (A–G),
   ``year_built``, ``year_renovated``, ``ceiling_height_m``, ``loading_dock``, ``broker_org``;
   and ``unit_count`` (NOT NULL DEFAULT 0), kept by geoplan. Each gets the CHECK of its
   declared range (``geoplan/layers/spec.py``), as migration 0009 gave the older columns; a
   renovation is not before the building (``year_renovated >= year_built``). The "not in the
   future" rule of the years depends on today's date, so it is the writers', not a CHECK's.
2. ``premises_units``: the units (separately let spaces) of a listing, keyed by the listing's
   ``seq`` and their ``position`` in it, a ``label`` unique within the listing, each with its own
   floor, area, rent, availability and status (``available`` | ``let``); deleted with the
   listing. A listing with units carries their number in ``unit_count`` and its area, rent and
   availability are derived from its vacant units by the writers (``geoplan.premises.units``,
   ``geoplan.ingest.writer``): area the sum, rent the lowest, availability the earliest.
3. Existing listings keep every value and get no units (``unit_count`` 0): a listing without
   units is one space, searched on its own area, rent and availability, as before. Nothing is
   invented for them.
4. ``premises_annotated`` shows the new columns (at its end: a view only grows there); stored
   premises heads (``premises_features``, migrations 0003/0004/0010) render them in the layer
   description's order (the attributes before ``kommunenummer``, ``unit_count`` after
   ``version``) and are rendered again here for the rows already there.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Snapshots (a revision must keep meaning what it meant): 0010's head and view.
HEAD_0010 = """left((json_build_object('type', 'Feature', 'id', n.id, 'geometry', ST_AsGeoJSON(ST_Transform(n.geom, 4326), 7, 0)::json, 'properties', json_build_object('address', n.address, 'uses', n.uses, 'floor_area_m2', n.floor_area_m2, 'rent_nok_m2_year', n.rent_nok_m2_year, 'available_from', n.available_from, 'contact', n.contact, 'listing_url', n.listing_url, 'description', n.description, 'status', n.status, 'kommunenummer', n.kommunenummer, 'version', n.version, 'created_at', n.created_at, 'updated_at', n.updated_at, 'source', n.source, 'source_url', n.source_url, 'licence', n.licence, 'accuracy_m', n.accuracy_m, 'verified', n.verified, 'sample', n.sample)))::text, -2)"""
VIEW_0010 = """
CREATE OR REPLACE VIEW premises_annotated AS
SELECT p.id, p.address, p.uses, p.floor_area_m2, p.rent_nok_m2_year, p.available_from,
       p.contact, p.listing_url, p.description, p.status, p.seq, p.geom, p.version,
       p.created_at, p.updated_at, p.source, p.source_url, p.licence, p.accuracy_m, p.verified,
       p.sample, w.hub_id AS nearest_hub_id, w.walk_m, w.walk_min, w.method AS walk_method, p.lonlat, p.kommunenummer
FROM premises p LEFT JOIN premises_walk w ON w.premises_seq = p.seq
"""

COLUMNS: dict[str, sa.types.TypeEngine] = {
    "floor": sa.Integer(),
    "workplaces": sa.Integer(),
    "parking_spaces": sa.Integer(),
    "energy_label": sa.Text(),
    "year_built": sa.Integer(),
    "year_renovated": sa.Integer(),
    "ceiling_height_m": sa.Float(),
    "loading_dock": sa.Boolean(),
    "broker_org": sa.Text(),
}
ATTRIBUTES = tuple(COLUMNS)
CHECKS: dict[str, str] = {
    "floor": "floor BETWEEN -10 AND 200",
    "workplaces": "workplaces BETWEEN 0 AND 100000",
    "parking_spaces": "parking_spaces BETWEEN 0 AND 100000",
    "energy_label": "energy_label IN ('A', 'B', 'C', 'D', 'E', 'F', 'G')",
    "year_built": "year_built BETWEEN 1800 AND 2200",
    "year_renovated": "year_renovated BETWEEN 1800 AND 2200 AND year_renovated >= year_built",
    "ceiling_height_m": "ceiling_height_m > 0 AND ceiling_height_m <= 100",
    "unit_count": "unit_count BETWEEN 0 AND 500",
}
"""premises column → its CHECK (constraint ``premises_<column>_range``)."""
UNIT_CHECKS: dict[str, str] = {
    "floor": "floor BETWEEN -10 AND 200",
    "area_m2": "area_m2 > 0 AND area_m2 <= 1000000",
    "rent_nok_m2_year": "rent_nok_m2_year BETWEEN 0 AND 100000",
    "status": "status IN ('available', 'let')",
    "label": "length(btrim(label)) > 0",
}

HEAD = HEAD_0010.replace(
    "'kommunenummer', n.kommunenummer, ",
    "".join(f"'{c}', n.{c}, " for c in ATTRIBUTES) + "'kommunenummer', n.kommunenummer, ",
).replace("'version', n.version, ", "'version', n.version, 'unit_count', n.unit_count, ")
VIEW = VIEW_0010.replace(
    "p.lonlat, p.kommunenummer\n",
    "p.lonlat, p.kommunenummer, " + ", ".join(f"p.{c}" for c in (*ATTRIBUTES, "unit_count")) + "\n",
)


def _render(head: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION premises_features_render() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO premises_features (seq, head)
            SELECT n.seq, {head} FROM new_rows n
            ON CONFLICT (seq) DO UPDATE SET head = EXCLUDED.head;
            RETURN NULL;
        END $$"""


def upgrade() -> None:
    for name, type_ in COLUMNS.items():
        op.add_column("premises", sa.Column(name, type_, nullable=True))
    op.add_column(
        "premises", sa.Column("unit_count", sa.Integer(), nullable=False, server_default="0")
    )
    for column, check in CHECKS.items():
        op.create_check_constraint(f"premises_{column}_range", "premises", check)
    op.create_table(
        "premises_units",
        sa.Column("premises_seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("rent_nok_m2_year", sa.Float(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), server_default="available", nullable=False),
        sa.ForeignKeyConstraint(["premises_seq"], ["premises.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("premises_seq", "position"),
        sa.UniqueConstraint("premises_seq", "label", name="premises_units_label_key"),
        *(
            sa.CheckConstraint(check, name=f"premises_units_{column}_range")
            for column, check in UNIT_CHECKS.items()
        ),
    )
    op.execute(VIEW)
    op.execute(_render(HEAD))
    op.execute(f"UPDATE premises_features f SET head = {HEAD} FROM premises n WHERE n.seq = f.seq")


def downgrade() -> None:
    op.execute(_render(HEAD_0010))
    op.execute(
        f"UPDATE premises_features f SET head = {HEAD_0010} FROM premises n WHERE n.seq = f.seq"
    )
    op.execute("DROP VIEW premises_annotated")
    op.execute(VIEW_0010.replace("CREATE OR REPLACE VIEW", "CREATE VIEW"))
    op.drop_table("premises_units")
    for column in CHECKS:
        op.drop_constraint(f"premises_{column}_range", "premises")
    for name in (*COLUMNS, "unit_count"):
        op.drop_column("premises", name)
