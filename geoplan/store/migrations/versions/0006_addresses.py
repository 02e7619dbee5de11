"""addresses and address_streets: Kartverket's Matrikkelen – Adresse register, for geocoding.

One row per official street address (``vegadresse``) of the municipalities whose files were
imported (``geoplan import-addresses``), with the register's own identifiers, the street's
normalised keys the geocoder looks up, a point in EPSG:25833 and provenance (source file,
dataset date, licence, accuracy).

``address_streets`` is derived from it, one row per street (``kommunenummer`` + ``adressekode``),
rebuilt for a municipality whenever its addresses are imported: the street's keys, how many
addresses it has, the address nearest their mean (what a street-only query answers) and how far
the street's addresses lie from that one. It keeps two questions off the 10⁵–10⁶ address rows.
No foreign key to ``addresses``: both are rewritten together, in one transaction, by the import
(a key's per-row checks would only slow the delete of a municipality's 10⁵ rows).

Indexes, each for one question the geocoder asks (:mod:`geoplan.addresses.geocoder`):

- ``addresses_street_loose_idx`` (``street_loose, nummer``): the street as spelt in the query,
  once normalised (case, ``gt.``/``gate``, ``vn.``/``veien``/``vegen``, æ/ø/å or ae/oe/aa), and
  the house numbers along it: the number itself and its neighbours are index range probes;
- ``address_streets_street_loose_idx``: a street-only query;
- ``address_streets_street_loose_trgm`` (GIN, ``gin_trgm_ops``): streets spelt *nearly* like
  the query (typos, a missing word), found with pg_trgm's similarity operator ``%`` among the
  streets rather than among every address of them. ``fastupdate = off``: an import's new
  streets go straight into the index instead of GIN's pending list, which every search would
  otherwise scan linearly until the next vacuum (measured: the fuzzy pass of a 10 000-query
  batch took 5–7 s right after an import, 0.5 s once the list was merged);
- ``addresses_kommunenummer_idx``, ``address_streets_kommunenummer_idx``: a re-import replaces
  one municipality's rows;
- ``addresses_geom_gist``: the GiST index every geometry in the store has.

pg_trgm ships with PostgreSQL itself (Debian's ``postgresql-15`` package, the contrib modules)
and is a *trusted* extension since PostgreSQL 13, so the database owner may create it without
superuser rights. Downgrading leaves the extension installed: extensions belong to the
database (as PostGIS does), and another schema may use it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "addresses",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("lokalid", sa.BigInteger(), nullable=False),
        sa.Column("kommunenummer", sa.Text(), nullable=False),
        sa.Column("kommunenavn", sa.Text(), nullable=True),
        sa.Column("adressekode", sa.Integer(), nullable=False),
        sa.Column("adressenavn", sa.Text(), nullable=False),
        sa.Column("nummer", sa.Integer(), nullable=False),
        sa.Column("bokstav", sa.Text(), server_default="", nullable=False),
        sa.Column("adressetilleggsnavn", sa.Text(), nullable=True),
        sa.Column("adresse_tekst", sa.Text(), nullable=False),
        sa.Column("postnummer", sa.Text(), nullable=True),
        sa.Column("poststed", sa.Text(), nullable=True),
        sa.Column("street_key", sa.Text(), nullable=False),
        sa.Column("street_loose", sa.Text(), nullable=False),
        sa.Column("dataset_date", sa.Date(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("sample", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint("nummer >= 0", name="addresses_nummer_check"),
        sa.CheckConstraint("kommunenummer ~ '^[0-9]{4}$'", name="addresses_kommunenummer_check"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lokalid", name="addresses_lokalid_key"),
    )
    op.create_index("addresses_geom_gist", "addresses", ["geom"], postgresql_using="gist")
    op.create_index("addresses_street_loose_idx", "addresses", ["street_loose", "nummer"])
    op.create_index("addresses_kommunenummer_idx", "addresses", ["kommunenummer"])
    op.create_table(
        "address_streets",
        sa.Column("kommunenummer", sa.Text(), nullable=False),
        sa.Column("adressekode", sa.Integer(), nullable=False),
        sa.Column("street_loose", sa.Text(), nullable=False),
        sa.Column("adressenavn", sa.Text(), nullable=False),
        sa.Column("addresses", sa.Integer(), nullable=False),
        sa.Column("middle_id", sa.BigInteger(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kommunenummer", "adressekode", "street_loose"),
    )
    op.create_index("address_streets_street_loose_idx", "address_streets", ["street_loose"])
    op.create_index("address_streets_kommunenummer_idx", "address_streets", ["kommunenummer"])
    op.execute(
        "CREATE INDEX address_streets_street_loose_trgm ON address_streets "
        "USING gin (street_loose gin_trgm_ops) WITH (fastupdate = off)"
    )


def downgrade() -> None:
    # and their indexes; pg_trgm stays (see the module docstring)
    op.drop_table("address_streets")
    op.drop_table("addresses")
