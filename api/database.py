"""The PostgreSQL servers the API talks to: their pools, their gates, and how an outage is met.

One :class:`Server` per PostgreSQL server: the primary (every write, and every read that must
see the latest), and with ``GEOPLAN_READ_DATABASE_URL`` a streaming replica for read-only work
(``api/deps.py`` chooses; ``api/consistency.py`` keeps a client's own writes visible to it). Each
server has a synchronous pool for the sync routes and an asyncio autocommit pool for the hot read
path (OGC items), each behind its own admission gate (``api/admission.py``), and one
:class:`Reachability` both consult.

What an outage costs (issue #14):

* A pooled connection is checked on checkout: if its socket has something to read — the server
  closed it (a restart, ``pg_terminate_backend``) or wrote to it unasked — an empty query tells
  whether it still works; if not, it is as good as that query would show, and the check costs a
  ``poll`` instead of a round trip to the server on every request. The first stale one — the server
  restarted, or dropped it — has the pool test all its idle connections at once, so after
  PostgreSQL comes back one request finds fresh connections instead of every stale connection
  failing a request of its own.
* A checkout that finds no working connection within :data:`CHECKOUT_TIMEOUT_S` (normally a
  slot holder gets one at once) marks the server down. While it is down, a request to it is
  refused at once — 503 with ``Retry-After`` on the primary, the primary instead of a replica —
  after one fresh connection attempt, shared by the requests that arrive meanwhile, shows it
  is still down (milliseconds while the server refuses connections, at most
  :data:`CONNECT_TIMEOUT_S` when it does not answer at all). So an outage costs a request
  milliseconds, not a connection timeout, and the first request after the server is back
  succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import Enum
from typing import Final, Literal, TypeVar

import psycopg
from fastapi import Request
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool

from api.admission import PAGES, SEARCHES, Admission
from api.load_shedding import client_gone, lane_of
from geoplan.config import Settings
from geoplan.store.db import DatabaseUnavailableError, conninfo

log = logging.getLogger("geoplan.api")

CHECKOUT_TIMEOUT_S = 2.0
"""Longest a request holding a slot waits for a working connection before the server counts as
down (a slot holder normally gets one at once: there are as many slots as connections)."""

CONNECT_TIMEOUT_S = 2
"""libpq ``connect_timeout`` of every connection the API opens (2 s is libpq's minimum)."""

RECONNECT_TIMEOUT_S = 1.0
"""The pool stops retrying a failed connection after this long; the next request that needs
one starts afresh (so a pool never sleeps through the server's return on a long backoff)."""

CONNECTION_DEFAULTS = {
    "application_name": "geoplan-api",  # how the API's connections show in pg_stat_activity
    "connect_timeout": str(CONNECT_TIMEOUT_S),
    # a dead peer that stops acknowledging is given up after 10 s, not the kernel's ~15 min
    "tcp_user_timeout": "10000",
}
"""libpq parameters the API's connections get unless the database URL sets them."""


T = TypeVar("T")


class Declined(Enum):
    """What :meth:`Server.run` returns when its ``ready`` check said no (the type of
    :data:`DECLINED`)."""

    DECLINED = "declined"


DECLINED: Final[Literal[Declined.DECLINED]] = Declined.DECLINED


class DatabaseDownError(DatabaseUnavailableError):
    """The server is known to be down: the request is refused without trying (HTTP 503).

    Not logged per request (:class:`Reachability` logs the outage once, and its end).
    """


def api_conninfo(url: str) -> str:
    """The libpq connection string of ``url`` with :data:`CONNECTION_DEFAULTS` filled in."""
    params = conninfo_to_dict(conninfo(url))
    for key, value in CONNECTION_DEFAULTS.items():
        params.setdefault(key, value)
    return make_conninfo(**params)


def connections_per_worker(settings: Settings) -> int:
    """The most connections one API worker opens to each server: its two pools' sizes.

    ``geoplan serve --workers N`` needs N times this within the server's ``max_connections``
    (docs/operations.md, "Sizing").
    """
    return settings.pool_size + settings.read_pool_size


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Reachability:
    """Whether one PostgreSQL server answers, so requests to a down server fail at once."""

    def __init__(self, name: str, conninfo: str, *, hint: str = ""):
        self.name = name
        self._conninfo = conninfo
        self._hint = hint
        self.down_since: float | None = None
        self.reason = ""
        self._probe: asyncio.Future[bool] | None = None

    def error(self) -> DatabaseDownError:
        return DatabaseDownError(f"the {self.name} is not reachable: {self.reason}")

    async def usable(self) -> bool:
        """True unless the server is known to be down. Then it is probed with a fresh
        connection — milliseconds while the server refuses connections, at most
        :data:`CONNECT_TIMEOUT_S` when it does not answer — and requests that arrive meanwhile
        wait for that probe's answer rather than starting their own (or being refused while
        the server may be back already)."""
        if self.down_since is None:
            return True
        probe = self._probe
        if probe is None:
            probe = self._probe = asyncio.ensure_future(self._connects())
        try:
            return await asyncio.shield(probe)
        finally:
            if self._probe is probe and probe.done():
                self._probe = None

    async def _connects(self) -> bool:
        try:
            conn = await psycopg.AsyncConnection.connect(self._conninfo)
            await conn.close()
        except (psycopg.Error, OSError) as exc:
            self.reason = _first_line(exc)
            return False
        self.reachable()
        return True

    def unreachable(self, exc: BaseException) -> None:
        """A checkout (or a probe at startup) found no working connection: the server is down."""
        self.reason = _first_line(exc)
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning(
                "the %s is not reachable (%s): requests that need it %s until it is back%s",
                self.name,
                self.reason,
                "are answered 503" if self.name == "database" else "go to the primary",
                self._hint,
            )

    def reachable(self) -> None:
        if self.down_since is not None:
            log.warning(
                "the %s is reachable again (after %.0f s)",
                self.name,
                time.monotonic() - self.down_since,
            )
            self.down_since = None


class Server:
    """One PostgreSQL server as the API uses it: two pools, their gates, its reachability."""

    def __init__(
        self, name: str, url: str, settings: Settings, *, read_pool_min: int | None = None
    ):
        self.name = name
        self.conninfo = api_conninfo(url)
        hint = " (start it with `geoplan db up`)" if settings.managed and name == "database" else ""
        self.reach = Reachability(name, self.conninfo, hint=hint)
        queue = {"max_waiting": settings.max_waiting, "max_wait_s": settings.max_wait_s}
        # one gate per pool, one slot per connection (see api/admission.py)
        # the map pages hold at most GEOPLAN_PAGE_SLOTS of the sync pool (their own lane)
        self.admission = Admission(
            settings.pool_size,
            lanes={PAGES: settings.page_slots},
            name=f"{name} pool",
            **queue,
        )
        # premises searches hold at most GEOPLAN_SEARCH_SLOTS of the read pool (their own lane):
        # the rest stays free for OGC items and tiles, and fewer searches run at once
        self.read_admission = Admission(
            settings.read_pool_size,
            lanes={SEARCHES: settings.search_slots},
            name=f"{name} read pool",
            **queue,
        )
        tag = "geoplan" if name == "database" else f"geoplan-{name.replace(' ', '-')}"
        self.pool = ConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=settings.pool_size,
            open=False,
            name=tag,
            timeout=CHECKOUT_TIMEOUT_S,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            check=self._check,
        )
        # The asyncio pool of autocommit connections for the hot read path (OGC items). Why a
        # second pool: sync work costs at least one thread-pool crossing per request (run(),
        # three with connection()), which on a busy 2-core server costs as much CPU as
        # building a page; an ``async def`` endpoint on an AsyncConnection costs none.
        # Autocommit, because each read is one statement: no BEGIN/COMMIT round trips. Fixed
        # size (unless ``read_pool_min``): requests beyond it wait in the gate, which keeps
        # latency even instead of letting backends fight over the cores.
        size = settings.read_pool_size
        self.read_pool = AsyncConnectionPool(
            self.conninfo,
            min_size=size if read_pool_min is None else read_pool_min,
            max_size=size,
            open=False,
            name=f"{tag}-read",
            kwargs={"autocommit": True},
            timeout=CHECKOUT_TIMEOUT_S,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            check=self._check_async,
        )

    # -- checked on checkout -----------------------------------------------------------------
    def _check(self, conn: psycopg.Connection) -> None:
        if not _server_spoke(conn):
            return
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            self.pool.check()  # one stale connection: test the idle others now, not one by one
            raise

    async def _check_async(self, conn: psycopg.AsyncConnection) -> None:
        if not _server_spoke(conn):
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            await self.read_pool.check()
            raise

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        """Open both pools without waiting for the server: an API that starts while the
        database is down answers 503 until it is back (and says so once in the log)."""
        try:
            conn = await psycopg.AsyncConnection.connect(self.conninfo)
            await conn.close()
        except (psycopg.Error, OSError) as exc:
            self.reach.unreachable(exc)
        self.pool.open(wait=False)
        await self.read_pool.open(wait=False)

    async def close(self) -> None:
        await self.read_pool.close()
        await run_in_threadpool(self.pool.close)

    # -- connections for one request ---------------------------------------------------------
    async def _admit(self) -> None:
        if not await self.reach.usable():
            raise self.reach.error()

    def _lost(self, exc: PoolTimeout) -> DatabaseUnavailableError:
        self.reach.unreachable(exc)
        return DatabaseUnavailableError(
            f"no working connection to the {self.name} within {CHECKOUT_TIMEOUT_S:g} s"
        )

    @asynccontextmanager
    async def connection(self, request: Request) -> AsyncIterator[psycopg.Connection]:
        """A pooled connection for one request, committed if the block succeeds.

        The request waits for its turn on the event loop (:class:`api.admission.Admission`, no
        thread held), takes a connection only when one is free, and gives it back without
        needing a second thread-pool slot — the arrangement that stalled the server past 40
        concurrent requests (issue #16). Three crossings to the thread pool (take, the block's
        work, give back): an ``async def`` endpoint does its work through :meth:`run` in one.
        """
        await self._admit()
        scope = request.scope
        async with self.admission.slot(
            request.is_disconnected, lane=lane_of(scope), gone=client_gone(scope)
        ):
            try:
                conn = await run_in_threadpool(self.pool.getconn)
            except PoolTimeout as exc:
                raise self._lost(exc) from exc
            self.reach.reachable()
            ok = False
            try:
                yield conn
                ok = True
            finally:
                await run_in_threadpool(_give_back, self.pool, conn, ok)

    async def run(
        self,
        request: Request,
        work: Callable[[psycopg.Connection], T],
        *,
        ready: Callable[[psycopg.Connection], bool] | None = None,
    ) -> T | Declined:
        """``work(conn)`` on a pooled connection, in ONE crossing to the thread pool.

        The request waits for its slot on the event loop, as with :meth:`connection`; then one
        worker thread takes the connection, runs ``work``, commits (or rolls back when
        ``work`` raised) and gives the connection back. :meth:`connection` costs three
        crossings (take, work, give back); under load the hand-offs cost as much interpreter
        time as cheap work itself (docs/api.md "Under load").

        ``ready(conn)``, when given, is asked first: False (or a connection error, or no
        connection to be had) gives the connection back untouched and returns
        :data:`DECLINED` — how a read tries a replica that may be down or behind the client.
        """
        await self._admit()
        scope = request.scope
        async with self.admission.slot(
            request.is_disconnected, lane=lane_of(scope), gone=client_gone(scope)
        ):
            return await run_in_threadpool(self._on_connection, work, ready)

    def _on_connection(
        self,
        work: Callable[[psycopg.Connection], T],
        ready: Callable[[psycopg.Connection], bool] | None,
    ) -> T | Declined:
        """The body of :meth:`run`, on its worker thread."""
        try:
            conn = self.pool.getconn()
        except PoolTimeout as exc:
            lost = self._lost(exc)
            if ready is not None:
                return DECLINED
            raise lost from exc
        self.reach.reachable()
        ok = False
        try:
            if ready is not None:
                try:
                    if not ready(conn):
                        return DECLINED
                except psycopg.OperationalError:
                    return DECLINED  # gone mid-check
            result = work(conn)
            ok = True
            return result
        finally:
            _give_back(self.pool, conn, ok)

    @asynccontextmanager
    async def read_connection(self, request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
        """A pooled autocommit asyncio connection for one request's reads."""
        await self._admit()
        scope = request.scope
        async with self.read_admission.slot(
            request.is_disconnected, lane=lane_of(scope), gone=client_gone(scope)
        ):
            try:
                conn = await self.read_pool.getconn()
            except PoolTimeout as exc:
                raise self._lost(exc) from exc
            self.reach.reachable()
            try:
                yield conn
            finally:
                await self.read_pool.putconn(conn)


def _server_spoke(conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
    """Whether an idle pooled connection needs the empty-query check: it is closed, or its socket
    is readable — the server closed it or sent something unasked (an idle connection gets no
    answer it did not ask for). Nothing to read means the server neither closed nor wrote to
    it, which is what the round trip would show too (a host that vanished without closing the
    connection hangs either check alike); ``poll``, not ``select``: the socket's number may pass
    ``FD_SETSIZE`` with a thousand clients connected."""
    if conn.closed or conn.broken:
        return True
    try:
        fd = conn.pgconn.socket
    except psycopg.OperationalError:
        return True
    readable = select.poll()
    readable.register(fd, select.POLLIN | select.POLLPRI)
    return bool(readable.poll(0))  # POLLHUP and POLLERR are reported whatever was asked


def _give_back(pool: ConnectionPool, conn: psycopg.Connection, commit: bool) -> None:
    """Commit (the request succeeded) or roll back, then return the connection to the pool.

    A connection the server dropped mid-request is handed back as it is (the pool replaces
    it): the request has been answered 503 already, and a rollback on it could only fail.
    """
    try:
        if not conn.broken:
            conn.commit() if commit else conn.rollback()
    except psycopg.OperationalError:
        if not conn.broken:
            raise
    finally:
        pool.putconn(conn)
