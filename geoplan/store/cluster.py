"""The PostgreSQL + PostGIS cluster that geoplan runs for itself when no database URL is given.

A new user should not have to install, configure or start a database server by hand: the first
``geoplan db up`` runs ``initdb`` under ``GEOPLAN_HOME``, and later calls just start it. The
cluster listens on a Unix socket inside ``GEOPLAN_HOME/run`` and on a loopback port only, with a
generated password (scram-sha-256), so other local users cannot walk in.

PostgreSQL refuses to run as root. When geoplan itself runs as root (containers, CI, fresh
servers) it creates an unprivileged system user (``GEOPLAN_SERVICE_USER``, default ``geoplan``)
and runs every server-side command as that user through ``runuser``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from geoplan.config import Settings
from geoplan.errors import GeoplanError

APT_PACKAGES = "postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting"


class LocalDBError(GeoplanError):
    """The managed cluster could not be set up or started; the message says what to do."""


def find_pg_bindir(explicit: Path | None = None) -> Path:
    """Find the directory holding ``initdb`` and ``pg_ctl``, preferring PostgreSQL 15."""
    if explicit:
        if not (explicit / "initdb").exists():
            raise LocalDBError(f"GEOPLAN_PG_BINDIR={explicit} has no initdb")
        return explicit
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    preferred = [c for c in candidates if c.parent.parent.name == "15"] + candidates
    if preferred:
        return preferred[0].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise LocalDBError(
        "PostgreSQL server binaries not found. Install them with: "
        f"apt-get install -y {APT_PACKAGES}"
    )


def postgis_available(bindir: Path) -> bool:
    """True when the PostGIS extension is installed for the PostgreSQL at ``bindir``."""
    version = bindir.parent.name
    return Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists()


def pgrouting_available(bindir: Path) -> bool:
    version = bindir.parent.name
    return Path(f"/usr/share/postgresql/{version}/extension/pgrouting.control").exists()


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    fields = _proc_stat(pid)
    return fields is not None and fields[0] != "Z"


def child_processes(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class ClusterStatus:
    url: str
    datadir: Path
    running: bool
    initialised: bool
    port: int
    postgis_version: str | None = None
    runs_as: str | None = None


class LocalCluster:
    """A PostgreSQL cluster living in ``home``; every method is idempotent."""

    def __init__(
        self,
        home: Path,
        port: int,
        *,
        db_name: str = "geoplan",
        db_user: str = "geoplan",
        service_user: str = "geoplan",
        pg_bindir: Path | None = None,
        durable: bool = True,
        log=print,
    ) -> None:
        self.home = Path(home)
        self.port = port
        self.db_name = db_name
        self.db_user = db_user
        self.service_user = service_user
        self.durable = durable
        self.log = log
        self._bindir = pg_bindir

    @classmethod
    def from_settings(cls, settings: Settings, *, log=print) -> LocalCluster:
        return cls(
            settings.home,
            settings.db_port,
            db_name=settings.db_name,
            db_user=settings.db_user,
            service_user=settings.service_user,
            pg_bindir=settings.pg_bindir,
            log=log,
        )

    # -- paths -------------------------------------------------------------------------------
    @property
    def bindir(self) -> Path:
        if self._bindir is None or not (self._bindir / "initdb").exists():
            self._bindir = find_pg_bindir(self._bindir)
        return self._bindir

    @property
    def datadir(self) -> Path:
        return self.home / "pgdata"

    @property
    def rundir(self) -> Path:
        return self.home / "run"

    @property
    def logfile(self) -> Path:
        return self.home / "postgresql.log"

    @property
    def password_file(self) -> Path:
        return self.home / "db-password"

    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    @property
    def url(self) -> str:
        pw = self.password if self.password_file.exists() else "PASSWORD"
        return f"postgresql+psycopg://{self.db_user}:{pw}@127.0.0.1:{self.port}/{self.db_name}"

    # -- running commands --------------------------------------------------------------------
    def _server_cmd(self, *args: str | Path) -> list[str]:
        cmd = [str(a) for a in args]
        if self.as_root:
            return ["runuser", "-u", self.service_user, "--", *cmd]
        return cmd

    def _run(
        self, *args: str | Path, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self._server_cmd(*args), capture_output=True, text=True, env=env)
        if check and proc.returncode != 0:
            raise LocalDBError(
                f"{Path(str(args[0])).name} failed: {(proc.stderr or proc.stdout).strip()}"
                + self._log_tail()
            )
        return proc

    def _log_tail(self, lines: int = 8) -> str:
        if not self.logfile.exists():
            return ""
        tail = self.logfile.read_text(errors="replace").splitlines()[-lines:]
        return "\nlast lines of " + str(self.logfile) + ":\n  " + "\n  ".join(tail)

    def _ensure_service_user(self) -> None:
        if not self.as_root:
            return
        try:
            pwd.getpwnam(self.service_user)
            return
        except KeyError:
            pass
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--home-dir",
                "/nonexistent",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                self.service_user,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        self.log(
            f"geoplan runs as root and PostgreSQL refuses root: created system user "
            f"'{self.service_user}' to run the managed database server"
        )

    def _give_to_service_user(self, path: Path) -> None:
        if self.as_root:
            pw = pwd.getpwnam(self.service_user)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _check_reachable(self) -> None:
        """As root, the service user must be able to traverse every parent of ``home``."""
        if not self.as_root:
            return
        proc = subprocess.run(
            ["runuser", "-u", self.service_user, "--", "test", "-w", str(self.home)],
            capture_output=True,
        )
        if proc.returncode != 0:
            raise LocalDBError(
                f"the database service user '{self.service_user}' cannot write {self.home}; "
                "set GEOPLAN_HOME to a directory outside /root (e.g. /var/lib/geoplan)"
            )

    @property
    def postmaster_pid(self) -> int | None:
        """The process id of the running server (from ``postmaster.pid``), if it left one."""
        try:
            return int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    # -- lifecycle ---------------------------------------------------------------------------
    def _prepare_home(self, password: str | None = None) -> None:
        """``home`` and its run directory, owned by the service user; the password file."""
        self._ensure_service_user()
        for d in (self.home, self.rundir):
            d.mkdir(parents=True, exist_ok=True)
            self._give_to_service_user(d)
        os.chmod(self.home, 0o700)
        self._check_reachable()
        if password is not None:
            self.password_file.write_text(password + "\n")
        elif not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
        os.chmod(self.password_file, 0o600)
        self._give_to_service_user(self.password_file)

    def init(self) -> bool:
        """Create the cluster if it does not exist; True when it was created now."""
        if self.initialised:
            return False
        bindir = self.bindir
        if not postgis_available(bindir):
            raise LocalDBError(
                "PostGIS is not installed for PostgreSQL "
                f"{bindir.parent.name}. Install it with: apt-get install -y {APT_PACKAGES}"
            )
        self._prepare_home()
        self.log(f"initialising a PostgreSQL cluster in {self.datadir}")
        self._run(
            bindir / "initdb",
            "-D",
            self.datadir,
            "-U",
            self.db_user,
            f"--pwfile={self.password_file}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        return True

    def init_standby(self, primary: LocalCluster) -> None:
        """Make this cluster a streaming replica of ``primary`` (which must be running).

        A base backup of the primary (``pg_basebackup``) told to follow it: ``-R`` writes
        ``standby.signal`` and the ``primary_conninfo`` to stream its WAL from. Started with
        :meth:`start`, the replica answers reads only and replays the primary's writes as they
        come. Users and passwords are the primary's (the replica is a copy of it).
        """
        if self.initialised:
            raise LocalDBError(f"{self.datadir} holds a cluster already")
        self._prepare_home(password=primary.password)
        self.log(f"copying the PostgreSQL cluster on port {primary.port} into {self.datadir}")
        self._run(
            self.bindir / "pg_basebackup",
            "--host=127.0.0.1",
            f"--port={primary.port}",
            f"--username={primary.db_user}",
            f"--pgdata={self.datadir}",
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-password",
            env={**os.environ, "PGPASSWORD": primary.password},
        )

    def running(self) -> bool:
        if not self.initialised:
            return False
        proc = self._run(self.bindir / "pg_ctl", "-D", self.datadir, "status", check=False)
        return proc.returncode == 0

    def start(self) -> bool:
        """Start the server if it is not running; True when it was started now."""
        if self.running():
            return False
        self.rundir.mkdir(parents=True, exist_ok=True)
        self._give_to_service_user(self.rundir)
        if not self.logfile.exists():
            self.logfile.touch()
        self._give_to_service_user(self.logfile)
        opts = [
            f"-p {self.port}",
            f"-k {self.rundir}",
            "-c listen_addresses=127.0.0.1",
        ]
        if not self.durable:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            self.bindir / "pg_ctl",
            "-D",
            self.datadir,
            "-l",
            self.logfile,
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(opts),
            "start",
        )
        self.log(f"started PostgreSQL on 127.0.0.1:{self.port} (data in {self.datadir})")
        return True

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was stopped now."""
        if not self.running():
            return False
        self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop")
        self.log("stopped PostgreSQL")
        return True

    def crash(self, timeout_s: float = 30) -> None:
        """``kill -9`` the server and all its processes at once, as a power cut or the OOM
        killer would, and wait until they are gone (the next :meth:`start` recovers from the
        WAL). For fault tests and benchmarks; :meth:`stop` is the way to stop it."""
        pid = self.postmaster_pid
        if pid is None or not _alive(pid):
            return
        victims = [pid, *child_processes(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + timeout_s
        # a killed postmaster counts as running for pg_ctl until its zombie is reaped (by init)
        while any(_alive(v) for v in victims) or self.running():
            if time.monotonic() > deadline:
                raise LocalDBError(f"PostgreSQL (pid {pid}) did not go away after SIGKILL")
            time.sleep(0.05)

    def _psql(self, sql: str, db: str = "postgres") -> str:
        env = {**os.environ, "PGPASSWORD": self.password}
        proc = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.db_user,
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAtc",
                sql,
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode != 0:
            raise LocalDBError(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def ensure_database(self) -> None:
        """Create the geoplan database and its extensions (PostGIS; pgRouting when installed)."""
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.db_name}'")
        if not exists:
            self._psql(f'CREATE DATABASE "{self.db_name}"')
            self.log(f"created database {self.db_name}")
        self._psql("CREATE EXTENSION IF NOT EXISTS postgis", db=self.db_name)
        if pgrouting_available(self.bindir):
            self._psql("CREATE EXTENSION IF NOT EXISTS pgrouting", db=self.db_name)

    def up(self) -> str:
        """Initialise, start and prepare the database; returns its URL. Safe to call any time."""
        self.init()
        self.start()
        self.ensure_database()
        return self.url

    def status(self) -> ClusterStatus:
        running = self.running()
        version = None
        if running:
            try:
                version = self._psql("SELECT postgis_full_version()", db=self.db_name)
                m = re.search(r'POSTGIS="([^"]+)"', version)
                version = m.group(1) if m else version
            except LocalDBError:
                version = None
        return ClusterStatus(
            url=self.url,
            datadir=self.datadir,
            running=running,
            initialised=self.initialised,
            port=self.port,
            postgis_version=version,
            runs_as=self.service_user if self.as_root else pwd.getpwuid(os.geteuid()).pw_name,
        )

    def destroy(self) -> None:
        """Stop the server and delete the cluster (used by tests for throwaway clusters)."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
