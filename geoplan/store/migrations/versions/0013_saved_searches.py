"""Saved premises searches (issue 13, item 5): a search's filters kept under an unguessable id,
read back as a stable URL and an Atom feed, and an optional webhook with its delivery state.

``saved_searches``: ``id`` is the capability (``secrets.token_urlsafe``: whoever knows it may read,
follow and delete the search); ``filters`` the search parameters as ``GET /premises`` takes
them (a JSON object, checked when saved); the webhook columns say where new and changed matches
are POSTed, with the HMAC ``webhook_secret`` and where delivery stands (``notified_until``: the
listings' ``updated_at`` up to which matches were delivered; failures and the next attempt).

Revision ID: 0013
Revises: 0012
Create Date: 2027-01-10 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text),
        sa.Column("filters", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("created_by", sa.Text),
        sa.Column("webhook_url", sa.Text),
        sa.Column("webhook_secret", sa.Text),
        sa.Column("notified_until", sa.DateTime(timezone=True)),
        sa.Column("webhook_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("webhook_last_error", sa.Text),
        sa.Column("webhook_next_attempt", sa.DateTime(timezone=True)),
        sa.CheckConstraint("jsonb_typeof(filters) = 'object'", name="saved_searches_filters_check"),
        sa.CheckConstraint(
            "(webhook_url IS NULL) = (webhook_secret IS NULL)", name="saved_searches_webhook_check"
        ),
    )
    op.create_index(
        "saved_searches_webhook_idx",
        "saved_searches",
        ["webhook_next_attempt"],
        postgresql_where=sa.text("webhook_url IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("saved_searches")
