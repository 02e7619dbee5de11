"""Read-your-writes with a read replica: a client sees its own write at once, wherever it reads.

A streaming replica replays the primary's writes a moment after they commit. Without care, a
client that saves a listing and reloads the page could be sent to a replica that has not
replayed it yet, and see its change undone. So:

* every successful write answers with the primary's WAL position after it (``Geoplan-LSN``
  header, and the ``geoplan_lsn`` cookie that browsers and HTTP sessions send back by
  themselves, for :data:`COOKIE_MAX_AGE_S`);
* a read carrying a position (the header or the cookie) goes to a replica only once the replica
  has replayed that far (``pg_last_wal_replay_lsn()``), and to the primary until then. Other
  clients' reads go to the replica as usual.

How far each replica connection has replayed is remembered per connection (it only grows), so
a read costs an extra round trip only while its client's write is newer than anything that
connection has seen replayed. Per connection rather than per replica, because the read URL may
be a load balancer over several replicas, each at its own position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import psycopg
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoplan.store.replication import (
    format_lsn,
    parse_lsn,
    replay_position,
    replay_position_async,
    wal_position,
)

LSN_HEADER = "Geoplan-LSN"
LSN_COOKIE = "geoplan_lsn"
COOKIE_MAX_AGE_S = 600
"""How long a browser keeps sending its last write's position: long past any healthy replica's
lag (normally well under a second)."""

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES = "geoplan.writes"  # scope key: where the primary connection of a write request is kept


def client_lsn(request: Request) -> int | None:
    """The newest WAL position the client says it wrote at (header or cookie), if any."""
    positions = [
        parse_lsn(request.headers.get(LSN_HEADER)),
        parse_lsn(request.cookies.get(LSN_COOKIE)),
    ]
    known = [p for p in positions if p is not None]
    return max(known) if known else None


# -- the replica side: has this connection replayed the client's write? ------------------------
_replayed: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


def has_replayed(conn: psycopg.Connection, lsn: int) -> bool:
    """True when the replica behind ``conn`` has replayed the WAL up to ``lsn``."""
    if _replayed.get(conn, -1) >= lsn:
        return True
    position = replay_position(conn)
    if position is None:
        return True  # not a replica after all (the URL names a primary): it has everything
    _replayed[conn] = position
    return position >= lsn


async def has_replayed_async(conn: psycopg.AsyncConnection, lsn: int) -> bool:
    """:func:`has_replayed` on an asyncio connection."""
    if _replayed.get(conn, -1) >= lsn:
        return True
    position = await replay_position_async(conn)
    if position is None:
        return True
    _replayed[conn] = position
    return position >= lsn


# -- the primary side: tell a writing client where its write is --------------------------------
def remember_write_connection(request: Request, conn: psycopg.Connection) -> None:
    """Note the primary connection of a write request, for :class:`WritePosition` to ask."""
    holder = request.scope.get(_WRITES)
    if holder is not None and request.method not in SAFE_METHODS:
        holder["conn"] = conn


def forget_write_connection(request: Request) -> None:
    """The connection goes back to the pool: nobody may ask it anything for this request."""
    holder = request.scope.get(_WRITES)
    if holder is not None:
        holder.pop("conn", None)


def with_write_position(
    request: Request, work: Callable[[psycopg.Connection], T]
) -> Callable[[psycopg.Connection], T]:
    """``work``, followed — for a write request when :class:`WritePosition` is installed — by
    its commit and the WAL position after it, kept for :class:`WritePosition` to send.

    For work done in one crossing (:func:`api.deps.on_primary`): the connection goes back to
    the pool before the response starts, so the position is read on it while it is still the
    request's. A failed commit fails the request (nothing was stored); a position that cannot
    be read after the commit only goes unpromised."""
    holder = request.scope.get(_WRITES)
    if holder is None or request.method in SAFE_METHODS:
        return work

    def positioned(conn: psycopg.Connection) -> T:
        result = work(conn)
        conn.commit()
        try:
            holder["lsn"] = wal_position(conn)
        except psycopg.Error:
            holder["lsn"] = None  # the primary went away after the commit: nothing to promise
        return result

    return positioned


def _committed_position(conn: psycopg.Connection) -> int:
    """The WAL position past the request's writes (committed now if the endpoint did not)."""
    conn.commit()
    return wal_position(conn)


class WritePosition:
    """ASGI middleware: a successful write's response carries the primary's WAL position.

    The position is asked on the write's own connection, after the endpoint committed and
    before the connection goes back to the pool (FastAPI releases a request's dependencies
    after the response is sent). Installed only when a read replica is configured.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        holder: dict[str, Any] = {}
        scope[_WRITES] = holder

        async def send_with_position(message: Message) -> None:
            conn = holder.get("conn")
            start = message["type"] == "http.response.start" and message["status"] < 400
            lsn = None
            if start and holder.get("lsn") is not None:  # read in the work's own crossing
                lsn = format_lsn(holder["lsn"])
            elif start and conn:
                try:
                    lsn = format_lsn(await run_in_threadpool(_committed_position, conn))
                except psycopg.Error:
                    lsn = None  # the primary went away after the commit: nothing to promise
            if lsn is not None:
                cookie = (
                    f"{LSN_COOKIE}={lsn}; Max-Age={COOKIE_MAX_AGE_S}; Path=/; HttpOnly; "
                    "SameSite=Lax"
                )
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (LSN_HEADER.lower().encode(), lsn.encode()),
                        (b"set-cookie", cookie.encode()),
                    ],
                }
            await send(message)

        await self.app(scope, receive, send_with_position)
