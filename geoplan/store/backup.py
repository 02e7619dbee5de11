"""``geoplan db backup`` / ``geoplan db restore``: the whole database to one file and back.

A backup is ``pg_dump``'s custom format: compressed, self-describing, and restored by
``pg_restore`` in ONE transaction, so a restore that fails half-way leaves the database exactly
as it was. It is written to ``FILE.partial`` and renamed when complete, so a backup file that
exists is a whole backup.

A restore replaces geoplan's tables with the backup's. The extensions (PostGIS, pgRouting) are
left in place rather than dropped and re-created: re-creating PostGIS needs a superuser, which
the owner of an external database (``GEOPLAN_DATABASE_URL``) usually is not, and dropping it
would take every geometry with it. They are created first when the target lacks them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from geoplan.store.db import DatabaseError, connect, conninfo

CUSTOM_FORMAT_SIGNATURE = b"PGDMP"
"""The first bytes of every ``pg_dump --format=custom`` file."""

CLIENT_PACKAGE = "postgresql-client-15"


class BackupError(DatabaseError):
    """A backup or restore could not be made; the message says why and what to do."""


def default_backup_file(directory: Path) -> Path:
    """``directory/geoplan-YYYYMMDD-HHMMSS.dump``: a backup's name unless the user gives one."""
    return directory / f"geoplan-{datetime.now():%Y%m%d-%H%M%S}.dump"


def pg_program(name: str, bindir: Path | None = None) -> str:
    """``pg_dump`` or ``pg_restore``: the managed cluster's (``bindir``), else the newest
    installed under /usr/lib/postgresql (a newer client reads older servers, not the reverse),
    else the one on PATH."""
    if bindir is not None and (bindir / name).exists():
        return str(bindir / name)
    installed = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    if installed:
        return str(installed[0])
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(f"{name} not found; install it with: apt-get install -y {CLIENT_PACKAGE}")


def _last_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The line of a pg_dump/pg_restore failure that says what went wrong."""
    lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln]
    line = (errors or lines or ["unknown error"])[0]
    return re.sub(r"^(pg_dump|pg_restore): (error: )?", "", line)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection string for a pg_* program, and its environment: the password travels in
    ``PGPASSWORD``, not on the command line where any local user could read it."""
    params = conninfo_to_dict(conninfo(url))
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**params), env


def _check_reachable(url: str) -> None:
    """Raise :class:`~geoplan.store.db.DatabaseUnavailableError` (one line, with a hint) before
    a pg_dump/pg_restore would say the same in several."""
    connect(url, connect_timeout=5).close()


def backup(url: str, file: Path, *, bindir: Path | None = None) -> Path:
    """Dump the database at ``url`` into ``file`` (custom format); returns ``file``."""
    _check_reachable(url)
    file = Path(file)
    if file.is_dir():
        raise BackupError(f"{file} is a directory; name the backup file to write")
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    target, env = _libpq(url)
    proc = subprocess.run(
        [pg_program("pg_dump", bindir), "--format=custom", f"--file={partial}", target],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the backup failed: {_last_error(proc)}")
    partial.replace(file)
    return file


def check_backup_file(file: Path) -> None:
    """Refuse, in one line, a file that is missing or not a custom-format dump."""
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"no such backup file: {file}")
    with file.open("rb") as f:
        head = f.read(64)
    if head.startswith(CUSTOM_FORMAT_SIGNATURE):
        return
    if b"PostgreSQL database dump" in head:
        raise BackupError(
            f"{file} is a plain SQL dump, not a pg_dump custom-format backup; "
            "restore it with psql instead"
        )
    raise BackupError(
        f"{file} is not a geoplan backup (pg_dump custom format, as made by `geoplan db backup`)"
    )


def _extensions(entries: list[str]) -> list[str]:
    """Names of the extensions a backup's table of contents creates."""
    names = []
    for line in entries:
        m = re.match(r"^\d+; \d+ \d+ EXTENSION - (\S+) ", line)
        if m:
            names.append(m.group(1))
    return names


def restore(url: str, file: Path, *, bindir: Path | None = None) -> None:
    """Replace the database at ``url`` with the backup in ``file``, all or nothing."""
    file = Path(file)
    check_backup_file(file)
    _check_reachable(url)
    pg_restore = pg_program("pg_restore", bindir)
    listing = subprocess.run(
        [pg_restore, "--list", str(file)], capture_output=True, text=True, errors="replace"
    )
    if listing.returncode != 0:
        raise BackupError(f"cannot read the backup {file}: {_last_error(listing)}")
    entries = listing.stdout.splitlines()
    with connect(url, autocommit=True) as conn:
        for name in _extensions(entries):
            try:
                conn.execute(f'CREATE EXTENSION IF NOT EXISTS "{name}"')
            except psycopg.Error as exc:  # no right to create it, or not installed
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise BackupError(
                    f"the backup needs the {name} extension, which cannot be created: {first}"
                ) from exc
    # everything but the extensions and their comments (see the module docstring)
    skip = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) ")
    keep = [ln for ln in entries if not skip.match(ln)]
    target, env = _libpq(url)
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as lst:
        lst.write("\n".join(keep) + "\n")
    try:
        proc = subprocess.run(
            [
                pg_restore,
                f"--use-list={lst.name}",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={target}",
                str(file),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
    finally:
        Path(lst.name).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise BackupError(f"the restore failed and changed nothing: {_last_error(proc)}")
