"""Turning work away at the door: a request the admission queue would refuse is answered 503
before the framework reads it.

Why: under overload a refused request costs what it costs to *reach* the refusal. Refused by
the connection dependency (:mod:`api.admission`), it had been routed, its query parameters
parsed and validated, a dependency graph solved, a problem document built and serialised — and
a client that is refused comes straight back. With 1 024 clients against a map page the
refusals took the CPU the accepted requests needed, the measured service rate fell, and more
were refused (docs/api.md "Under load").

:class:`LoadShedding` is a pure ASGI middleware right inside ``HeadAsGet``. It names the
request's *lane* from its path (:func:`classify`: the HTML map pages, the premises search, or
everything else) and the pool whose gate will admit it (the sync pool, or the asyncio read pool
of OGC items, vector tiles, nearest hubs and the search), asks that gate
:meth:`api.admission.Admission.refusal` — a few comparisons — and, if the gate would refuse,
sends a pre-encoded ``503`` problem+json with ``Retry-After``. Nothing is parsed, validated,
built or read from the database. Otherwise the request goes on with its lane in the ASGI
scope, and the connection dependency queues it in that lane.

With a read replica, reads may be served by either server: a request is turned away here only
when every server's gate would refuse it. The gate in the dependency still has the last word
(a request admitted here can be refused there, at the old cost, when the queue filled in the
meantime). Paths that need no database connection (static files, the OpenAPI document,
``/healthz``…) are not looked at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from api.admission import API, PAGES, SEARCHES, OverloadedError

LANE = "geoplan.lane"
"""The ASGI scope key holding the request's lane (read by :func:`lane_of`)."""

CONNECTION = "geoplan.connection"
"""The ASGI scope key holding the server's per-request connection state (:func:`client_gone`)."""

PAGE_PATHS = re.compile(r"/|/maps/.+")
"""The HTML map pages (``api/routers/maps.py``): the :data:`api.admission.PAGES` lane."""

SEARCH_PATH = "/premises"
"""The premises search: the :data:`api.admission.SEARCHES` lane of the read pool (a search
naming ``hub=`` is served on the sync pool, where that lane is the API's)."""

READ_POOL_PATHS = re.compile(
    r"/ogc/collections/[^/]+/(items|tiles/[^/]+/[^/]+/[^/]+/[^/]+)|/proximity/nearest"
)
"""Routes on the asyncio read pool (``api.deps.read_connection``): OGC items, vector tiles,
nearest hubs."""

NO_DATABASE = ("/static/", "/healthz", "/openapi.json", "/docs", "/redoc", "/tilgjengelighet")
"""Path prefixes this middleware lets through unexamined."""

SYNC_POOL = "admission"
READ_POOL = "read_admission"


def classify(path: str) -> tuple[str, str] | None:
    """The gate (``Server`` attribute) and lane a request for ``path`` waits in; None for a
    path that takes no database connection (or none this middleware knows of)."""
    if PAGE_PATHS.fullmatch(path):
        return SYNC_POOL, PAGES
    if path.startswith(NO_DATABASE):
        return None
    if path == SEARCH_PATH:
        return READ_POOL, SEARCHES
    if READ_POOL_PATHS.fullmatch(path):
        return READ_POOL, API
    return SYNC_POOL, API


def lane_of(scope: Scope) -> str:
    """The lane :class:`LoadShedding` named for this request (:data:`API` without it)."""
    return scope.get(LANE, API)


def client_gone(scope: Scope) -> Callable[[], bool] | None:
    """A check whether this request's client has gone, costing one attribute read — or None
    when the server does not offer one.

    uvicorn's ``receive`` is a method of its per-request cycle, whose ``disconnected`` flag is
    set when the connection is lost. The portable way, ``receive()`` until ``http.disconnect``,
    costs a message exchange and consumes the request's body message; the admission queue asks
    a thousand waiting requests with this instead (:meth:`api.admission.Admission.slot`).
    """
    cycle = scope.get(CONNECTION)
    if cycle is None:
        return None
    return lambda: cycle.disconnected


def _refusal_body(retry_after_s: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "the server is busy; try again shortly",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after_s).encode()),
    ]
    return body, headers


class LoadShedding:
    """Answer 503 at once for a request its gate would refuse (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._refusals: dict[int, tuple[bytes, list[tuple[bytes, bytes]]]] = {}
        self.refused = 0  # how many requests were turned away here (for tests and diagnostics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = classify(scope["path"])
        if where is None:
            await self.app(scope, receive, send)
            return
        gate, lane = where
        scope[LANE] = lane
        cycle = getattr(receive, "__self__", None)
        if cycle is not None and isinstance(getattr(cycle, "disconnected", None), bool):
            scope[CONNECTION] = cycle
        refusal = self._refusal(scope, gate, lane)
        if refusal is None:
            try:
                await self.app(scope, receive, send)
            finally:
                # The cycle holds the scope: with the cycle in the scope, a request's whole
                # scope (FastAPI's exit stacks, the request state) is a reference cycle that
                # only the cyclic collector frees. Past 1 024 connections, each request lived
                # long enough to reach the oldest generation, and full collections of
                # hundreds of milliseconds each took a sixth of the server's time.
                scope.pop(CONNECTION, None)
            return
        self.refused += 1
        body, headers = self._encoded(refusal)
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _refusal(scope: Scope, gate: str, lane: str) -> OverloadedError | None:
        """The refusal every server's gate would give, or None if any would admit."""
        state = scope["app"].state
        refusal = None
        for server in (getattr(state, "primary", None), getattr(state, "replica", None)):
            if server is None:
                continue
            refusal = getattr(server, gate).refusal(lane)
            if refusal is None:
                return None
        return refusal

    def _encoded(self, refusal: OverloadedError) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        encoded = self._refusals.get(refusal.retry_after_s)
        if encoded is None:
            encoded = self._refusals[refusal.retry_after_s] = _refusal_body(refusal.retry_after_s)
        return encoded
