"""``geoplan db ...``: the store's lifecycle and schema."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer

from geoplan.cli.common import console, fail, info, user_errors

db_app = typer.Typer(
    help="Manage the database (the local PostGIS cluster, or GEOPLAN_DATABASE_URL)."
)


def _cluster():
    from geoplan.config import get_settings
    from geoplan.store.cluster import LocalCluster

    settings = get_settings()
    if not settings.managed:
        return None
    return LocalCluster.from_settings(settings, log=info)


@db_app.command("up")
def up() -> None:
    """Create (first time) and start the managed PostGIS cluster, apply migrations, and load
    Norway's municipalities (giving existing rows their kommunenummer)."""
    from geoplan.config import get_settings
    from geoplan.ingest.municipalities import refresh
    from geoplan.store import db

    with user_errors():
        url = db.ensure_store(log=info)
        db.ensure_current_schema(url, log=info)
        with db.transaction(url) as conn:
            done = refresh(conn, get_settings().layers_dir)
    national = done.register
    if national.loaded:
        info(
            f"national register: {national.municipalities} municipalities from "
            f"{national.path.name} ({national.repaired} polygons made valid)"
        )
    derived = {t: n for t, n in done.backfilled.items() if n}
    if derived:
        info("kommunenummer derived for " + ", ".join(f"{n} {t}" for t, n in derived.items()))
    console.print(f"database ready: {_redact(url)}")


@db_app.command("down")
def down() -> None:
    """Stop the managed cluster (data is kept)."""
    cluster = _cluster()
    if cluster is None:
        fail("GEOPLAN_DATABASE_URL is set: geoplan does not manage that database")
    with user_errors():
        stopped = cluster.stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def status() -> None:
    """Print the URL, data directory, PostGIS version and whether the database is running."""
    from geoplan.store import db

    cluster = _cluster()
    with user_errors():
        if cluster is not None:
            st = cluster.status()
            console.print(f"url:        {_redact(st.url)}")
            console.print(f"managed:    yes (runs as {st.runs_as})")
            console.print(f"data dir:   {st.datadir}")
            console.print(f"running:    {'yes' if st.running else 'no'}")
            console.print(f"postgis:    {st.postgis_version or '-'}")
            if st.running:
                console.print(f"schema:     {db.current_revision() or 'not migrated'}")
            return
        url = db.database_url()
        console.print(f"url:        {_redact(url)}")
        console.print("managed:    no (GEOPLAN_DATABASE_URL)")
        try:
            with db.connect(url) as conn:
                console.print("running:    yes")
                console.print(f"postgis:    {db.postgis_version(conn)}")
            console.print(f"schema:     {db.current_revision(url) or 'not migrated'}")
        except db.DatabaseError as exc:
            console.print(f"running:    no ({exc})")


@db_app.command("url")
def url(
    show_password: bool = typer.Option(False, "--show-password", help="Print the password too."),
) -> None:
    """Print the database URL (password hidden unless asked)."""
    from geoplan.store import db

    u = db.database_url()
    # plain text, not console markup: a password may hold "[/…]" (`psql "$(geoplan db url)"`)
    typer.echo(u if show_password else _redact(u))


@db_app.command("shell")
def shell() -> None:
    """Open psql on the database."""
    from geoplan.store import db

    psql = shutil.which("psql")
    if not psql:
        fail("psql not found; install it with: apt-get install -y postgresql-client-15")
    os.execv(psql, [psql, db.conninfo(db.database_url())])


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply schema migrations (Alembic) up to REVISION."""
    from geoplan.store import db

    with user_errors():
        db.upgrade(revision)
        console.print(f"schema at {db.current_revision()}")


@db_app.command("downgrade")
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, e.g. base or -1."),
) -> None:
    """Revert schema migrations down to REVISION."""
    from geoplan.store import db

    with user_errors():
        db.downgrade(revision)
        console.print(f"schema at {db.current_revision() or 'base'}")


@db_app.command("backup")
def backup(
    file: Path | None = typer.Argument(
        None,
        help="The backup file to write. Default: GEOPLAN_HOME/backups/geoplan-<date>-<time>.dump.",
        show_default=False,
    ),
) -> None:
    """Back the whole database up into one file (pg_dump custom format)."""
    from geoplan.config import get_settings
    from geoplan.store import backup as backups
    from geoplan.store import db

    settings = get_settings()
    cluster = _cluster()
    with user_errors():
        target = file or backups.default_backup_file(settings.home / "backups")
        written = backups.backup(
            db.database_url(settings), target, bindir=cluster.bindir if cluster else None
        )
    console.print(f"backed up to {written} ({_size(written.stat().st_size)})", soft_wrap=True)


@db_app.command("restore")
def restore(
    file: Path = typer.Argument(..., help="A backup made by `geoplan db backup`."),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Replace the database's contents without asking."
    ),
) -> None:
    """Replace the database's contents with a backup, all or nothing.

    Every table geoplan keeps is replaced by the backup's (listings, history, keys, imported
    layers). A restore that fails changes nothing. Stop writers (the API) first.
    """
    from geoplan.config import get_settings
    from geoplan.store import backup as backups
    from geoplan.store import db

    settings = get_settings()
    cluster = _cluster()
    with user_errors():
        backups.check_backup_file(file)
        url = db.database_url(settings)
        if not yes:
            if not sys.stdin.isatty():
                fail("restore replaces the database's contents; confirm with --yes")
            typer.confirm(
                f"Replace the contents of {_redact(url)} with {file}?", abort=True, err=True
            )
        backups.restore(url, file, bindir=cluster.bindir if cluster else None)
        schema = db.current_revision(url)
    console.print(f"restored {file} (schema {schema or 'not migrated'})", soft_wrap=True)
    head = _head_revision()
    if schema != head:
        info(
            f"the backup's schema is {schema or 'empty'}, this geoplan's is {head}: "
            "run `geoplan db upgrade` to bring it up to date"
        )


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from geoplan.store import db

    return ScriptDirectory.from_config(db.alembic_config("postgresql://")).get_current_head()


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def _redact(url: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
