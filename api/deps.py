"""Request dependencies shared by the routers: pooled database connections, the app's settings
as the core takes them (walking model, policy), API-key auth."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import psycopg
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from starlette.concurrency import run_in_threadpool

from geoplan.assessment.policy import Policy, load_policy
from geoplan.auth.keys import ApiKey
from geoplan.proximity import WalkSettings


def open_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> ConnectionPool:
    """The pool of the synchronous routes; :func:`get_conn` admits at most ``max_size``
    requests to it at once, so a request never waits inside the pool holding a thread."""
    from geoplan.store.db import conninfo

    pool = ConnectionPool(
        conninfo(url), min_size=min_size, max_size=max_size, open=False, name="geoplan"
    )
    pool.open(wait=True, timeout=30)
    return pool


async def open_read_pool(url: str, *, size: int) -> AsyncConnectionPool:
    """An asyncio pool of autocommit connections for the hot read paths (OGC items).

    Why a second pool: a sync endpoint costs three thread-pool hops per request in FastAPI
    (the ``get_conn`` generator in, the endpoint, the generator out), which on a busy 2-core
    server cost as much CPU as building the page. An ``async def`` endpoint on an
    ``AsyncConnection`` runs on the event loop with none. Autocommit, because each read is one
    statement: no ``BEGIN``/``COMMIT`` round trips. Fixed size: requests beyond ``size`` wait
    in the pool's FIFO queue, which keeps latency even instead of letting PostgreSQL backends
    fight over the cores.
    """
    from geoplan.store.db import conninfo

    pool = AsyncConnectionPool(
        conninfo(url),
        min_size=size,
        max_size=size,
        open=False,
        name="geoplan-read",
        kwargs={"autocommit": True},
    )
    await pool.open(wait=True, timeout=30)
    return pool


@asynccontextmanager
async def read_connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """``async with read_connection(request) as conn``: a pooled autocommit asyncio connection.

    Taken inside the endpoint rather than as a FastAPI dependency: a dependency with ``yield``
    costs an exit stack and a context manager per request, on the route that runs most. The
    read pool has its own gate (:class:`api.admission.Admission`), so excess load is refused
    at once rather than queued inside the pool.
    """
    state = request.app.state
    pool: AsyncConnectionPool = state.read_pool
    async with state.read_admission.slot(request.is_disconnected), pool.connection() as conn:
        yield conn


async def get_conn(request: Request) -> AsyncIterator[psycopg.Connection]:
    """A pooled connection for one request; committed when the request succeeds.

    An ``async`` dependency on purpose: the request waits for its turn on the event loop
    (:class:`api.admission.Admission`, no thread held), takes a connection only when one is
    free, and gives it back without needing a second thread-pool slot — the arrangement that
    stalled the server past 40 concurrent requests (issue #16).
    """
    state = request.app.state
    pool: ConnectionPool = state.pool
    async with state.admission.slot(request.is_disconnected):
        conn = await run_in_threadpool(pool.getconn)
        ok = False
        try:
            yield conn
            ok = True
        finally:
            await run_in_threadpool(_give_back, pool, conn, ok)


def _give_back(pool: ConnectionPool, conn: psycopg.Connection, commit: bool) -> None:
    """Commit (the request succeeded) or roll back, then return the connection to the pool."""
    try:
        if commit:
            conn.commit()
        else:
            conn.rollback()
    finally:
        pool.putconn(conn)


# -- the app's settings, as the core functions take them ----------------------------------------
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
        from geoplan.auth.keys import verify_key

        if credentials is None or credentials.scheme.lower() != "bearer":
            raise unauthorized(NO_KEY)
        key = verify_key(conn, credentials.credentials)
        if key is None:
            raise unauthorized(UNKNOWN_KEY, "invalid_token")
        if not key.allows(scope):
            raise HTTPException(403, f"the key {key.name!r} lacks the {scope!r} scope")
        return key

    return dependency
