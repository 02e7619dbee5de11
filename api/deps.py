"""Request dependencies shared by the routers: database connections (the primary's, or for
read-only work a replica's), the app's settings as the core takes them (walking model, policy),
API-key auth."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import psycopg
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import consistency
from api.answer_cache import AnswerCache, KeptLookups
from api.database import DECLINED, Server
from geoplan.assessment.policy import Policy, load_policy
from geoplan.auth.keys import ApiKey
from geoplan.premises.lookups import LOOKUP_LAYERS
from geoplan.proximity import WalkSettings
from geoplan.store.db import DatabaseUnavailableError

T = TypeVar("T")


# -- database connections ------------------------------------------------------------------------
# The primary takes every write and every read that must see the latest. With
# GEOPLAN_READ_DATABASE_URL, read-only work goes to the replica unless the client's own last
# write is newer than what the replica has replayed (api/consistency.py), or the replica is
# down (then the primary serves it: reads keep working, only slower under load).
#
# An ``async def`` endpoint hands its database work to on_primary / on_read_connection: the
# request waits for its slot on the event loop, then ONE crossing to the thread pool takes the
# connection, does the work, commits and gives the connection back (api/database.py
# Server.run). The ``yield`` dependency get_conn costs three crossings (take, endpoint, give
# back) and remains for the ``def`` writes whose API key is checked by a dependency
# (require_scope), where the key's 401/403 must come before the body's 422.
async def get_conn(request: Request) -> AsyncIterator[psycopg.Connection]:
    """A pooled connection to the primary for one request; committed when the request
    succeeds. Writes, and reads that must see the latest, take this one."""
    async with _primary(request) as conn:
        yield conn


async def on_primary(request: Request, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(conn, *args, **kwargs)`` on a connection to the primary, committed if it returns:
    the connection taken, the work done, the commit and the give-back on ONE worker thread
    (:meth:`api.database.Server.run`). Writes, and reads that must see the latest, go here.

    With a read replica, a write's WAL position is read on the same thread after its commit,
    for :class:`api.consistency.WritePosition` to send back (read-your-writes)."""
    work = consistency.with_write_position(request, _bound(fn, args, kwargs))
    return await request.app.state.primary.run(request, work)  # type: ignore[return-value]


async def on_read_connection(
    request: Request, fn: Callable[..., T], /, *args: Any, primary: bool = False, **kwargs: Any
) -> T:
    """``fn(conn, *args, **kwargs)`` for read-only work in one thread-pool crossing, on the
    replica when one is configured, reachable and has replayed the client's own last write;
    on the primary otherwise (or when ``primary``: work a hot standby cannot do, such as
    session temp tables).

    Only for work that never writes, not even to a session temp table: a hot standby refuses
    both."""
    work = _bound(fn, args, kwargs)
    state = request.app.state
    replica: Server | None = state.replica
    if not primary and replica is not None and await replica.reach.usable():
        lsn = consistency.client_lsn(request)
        try:
            result = await replica.run(request, work, ready=_replayed_check(lsn))
        except DatabaseUnavailableError:
            result = DECLINED  # went down since it was asked: this read goes to the primary
        if result is not DECLINED:
            return result
    return await state.primary.run(request, work)  # type: ignore[return-value]


def _bound(fn: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> Callable[..., T]:
    if not args and not kwargs:
        return fn
    return lambda conn: fn(conn, *args, **kwargs)


def _replayed_check(lsn: int | None) -> Callable[[psycopg.Connection], bool]:
    """Whether a replica connection may serve a client whose last write was at ``lsn``."""
    if lsn is None:
        return lambda conn: True
    return lambda conn: consistency.has_replayed(conn, lsn)


@asynccontextmanager
async def _primary(request: Request) -> AsyncIterator[psycopg.Connection]:
    async with request.app.state.primary.connection(request) as conn:
        consistency.remember_write_connection(request, conn)
        try:
            yield conn
        finally:
            consistency.forget_write_connection(request)


@asynccontextmanager
async def read_connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """``async with read_connection(request) as conn``: a pooled autocommit asyncio connection
    for one request's reads, from the replica or the primary as :func:`on_read_connection`
    chooses.

    Taken inside the endpoint rather than as a FastAPI dependency: a dependency with ``yield``
    costs an exit stack and a context manager per request, on the route that runs most. Each
    pool has its own gate (:class:`api.admission.Admission`), so excess load is refused at
    once rather than queued inside the pool.
    """
    state = request.app.state
    if state.replica is None:  # the common case, kept as cheap as it was
        async with state.primary.read_connection(request) as conn:
            yield conn
        return
    async with AsyncExitStack() as stack:
        conn = await _from_replica(request, stack) or await stack.enter_async_context(
            state.primary.read_connection(request)
        )
        yield conn


async def _from_replica(request: Request, stack: AsyncExitStack) -> psycopg.AsyncConnection | None:
    """A replica's asyncio read connection entered into ``stack``, or None when the read must
    go to the primary: no replica, the replica down, or behind the client's own last write."""
    replica: Server | None = request.app.state.replica
    if replica is None or not await replica.reach.usable():
        return None
    lsn = consistency.client_lsn(request)
    attempt = AsyncExitStack()
    try:
        conn = await attempt.enter_async_context(replica.read_connection(request))
        if lsn is not None and not await consistency.has_replayed_async(conn, lsn):
            await attempt.aclose()
            return None
    except (DatabaseUnavailableError, psycopg.OperationalError):
        # down or gone mid-check: this read and the next ones go to the primary
        await attempt.aclose()
        return None
    await stack.enter_async_context(attempt)
    return conn


# -- the app's settings, as the core functions take them ----------------------------------------
async def known_lookups(request: Request) -> KeptLookups | None:
    """The lookups of searches answered since the reference layers last changed (None: not
    kept now), for :func:`geoplan.premises.check_query_async`."""
    cache: AnswerCache = request.app.state.search_cache
    version = await cache.key(request, LOOKUP_LAYERS, "lookups")
    return None if version is None else KeptLookups(cache, version)


def kept_counts(request: Request) -> KeptLookups | None:
    """Where this worker keeps the counts of premises searches (None: ``GEOPLAN_SEARCH_CACHE_MB``
    is 0), for :func:`geoplan.premises.search_features_async`. Each count carries the data
    versions it was made at and the search's statement checks them itself, so they are kept
    under no version here."""
    cache: AnswerCache = request.app.state.search_cache
    return KeptLookups(cache, "counts") if cache.enabled else None


def app_walk(request: Request) -> WalkSettings:
    """The walking model of this app's settings (``create_app(settings)``), passed to every core
    call whose result depends on it, so the app's settings govern it, not the process's."""
    return WalkSettings.from_settings(request.app.state.settings)


def app_policy(request: Request) -> Policy:
    """The assessment policy named by this app's settings (re-read when the file changes)."""
    return load_policy(request.app.state.settings.policy_file)


# -- authentication ------------------------------------------------------------------------------
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `geoplan keys create --name <who>`, sent as "
    "`Authorization: Bearer gp_...`. Reads need no key; writes need scope `write` or `admin`.",
)


NO_KEY = "this request needs an API key: Authorization: Bearer <key>"
UNKNOWN_KEY = "the API key is unknown or revoked"


def unauthorized(detail: str, error: str | None = None) -> HTTPException:
    """401 with the ``WWW-Authenticate`` challenge (RFC 6750); also sent by
    :mod:`api.request_guard` for a body without a key, before the body is read."""
    challenge = f'Bearer realm="geoplan", error="{error}"' if error else 'Bearer realm="geoplan"'
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


def require_scope(scope: str) -> Callable[..., ApiKey]:
    """A dependency that admits only requests bearing an active key allowed ``scope``.

    No key or an unknown/revoked key → 401 with ``WWW-Authenticate: Bearer``; a valid key
    without the scope → 403. The key itself never reaches a log line.
    """

    def dependency(
        credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
        conn: psycopg.Connection = Depends(get_conn),
    ) -> ApiKey:
        return authorize(conn, credentials, scope)

    return dependency


def authorize(
    conn: psycopg.Connection, credentials: HTTPAuthorizationCredentials | None, scope: str
) -> ApiKey:
    """The active key of ``credentials`` if it is allowed ``scope`` (see :func:`require_scope`).

    Called inside an ``async def`` endpoint's one crossing (:func:`on_primary`), so the key is
    checked on the connection the write then uses."""
    from geoplan.auth.keys import verify_key

    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized(NO_KEY)
    key = verify_key(conn, credentials.credentials)
    if key is None:
        raise unauthorized(UNKNOWN_KEY, "invalid_token")
    if not key.allows(scope):
        raise HTTPException(403, f"the key {key.name!r} lacks the {scope!r} scope")
    return key
