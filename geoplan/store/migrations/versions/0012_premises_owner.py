"""premises owner: which API key created a listing, so a broker's key may change only its own.

``premises.owner_key_id`` (nullable, ``REFERENCES api_keys(id) ON DELETE SET NULL``; keys are
revoked, never deleted, so the owner of a listing stays known after its key is revoked). Set by
``POST /premises`` (and the broker page, ``/megler``) to the writing key; file imports,
``geoplan load`` and the command line leave it NULL.

Existing rows: a listing whose history starts with a ``create`` entry written through the API
(actor ``"<name> (API key #<id>)"``, as ``api/routers/premises.py`` has always written it) gets
that key as its owner, when the key exists. Every other row (imported, shipped sample data,
created on the command line) has no known owner: only ``admin`` keys may change or withdraw it
(docs/megler.md).

A partial index on the owner serves "my listings" (``GET /me/premises``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "premises",
        sa.Column(
            "owner_key_id",
            sa.Integer(),
            sa.ForeignKey("api_keys.id", ondelete="SET NULL", name="premises_owner_key_id_fkey"),
            nullable=True,
        ),
    )
    op.create_index(
        "premises_owner_key_idx",
        "premises",
        ["owner_key_id", "updated_at"],
        postgresql_where=sa.text("owner_key_id IS NOT NULL"),
    )
    # The key that created a listing through the API, from the first history entry.
    op.execute(
        r"""UPDATE premises p SET owner_key_id = k.id
            FROM premises_history h JOIN api_keys k
                 ON k.id = (substring(h.actor FROM '\(API key #([0-9]{1,9})\)$'))::int
            WHERE h.premises_id = p.id AND h.action = 'create'"""
    )


def downgrade() -> None:
    op.drop_index("premises_owner_key_idx", table_name="premises")
    op.drop_column("premises", "owner_key_id")
