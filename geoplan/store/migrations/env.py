"""Alembic environment: runs geoplan's revisions against the configured store."""

from alembic import context
from sqlalchemy import create_engine, pool

from geoplan.store.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS, pgRouting and Tiger tables are the extensions' business, not ours.
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_online() -> None:
    connectable = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
