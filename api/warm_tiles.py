"""Warm vector tiles answered before routing: a kept tile costs a dictionary lookup and a send.

The tile route (``api/routers/tiles.py``) keeps every tile it makes in the app's tile cache
(:class:`api.answer_cache.AnswerCache`, keyed by the layer's data version). Profiled under
``python -m bench.tiles`` (py-spy on the worker, zoom 16–17, every tile warm), a warm hit spent
about half of the worker's time in FastAPI — matching the path against every route, solving the
endpoint's parameters, the exception and exit-stack wrappers — and a third sending the bytes.
:class:`WarmTiles`, the innermost middleware, answers a tile it finds in the cache itself and
passes everything else (a miss, a bad address, another path) on to the route, unchanged. Every
middleware outside it (HEAD, load shedding, CORS, the request guard, the coding-aware ETag,
compression, security headers) still sees the answer, so a warm tile leaves with the headers
the route gives it: both build it with :func:`tile_response` under the key :func:`tile_key`
makes.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from urllib.parse import parse_qsl

from fastapi.responses import Response
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.answer_cache import AnswerCache
from geoplan.errors import GeoplanError
from geoplan.ogc import tiles

TILE_PATH = re.compile(
    r"/ogc/collections/(?P<collection>[^/]+)/tiles/(?P<tms>[^/]+)"
    r"/(?P<z>[^/]+)/(?P<y>[^/]+)/(?P<x>[^/]+)"
)
"""A tile's path, as the route declares it (``{tileMatrix}/{tileRow}/{tileCol}``)."""
LOOKED_UP = "geoplan.warm_tile_key"
"""Scope entry where :class:`WarmTiles` leaves the key it found nothing under, so the route
neither reads the version again nor counts a second miss."""


def query_key(query_string: bytes) -> tuple[tuple[str, str], ...]:
    """The query as a key: its parameters sorted (the same query in another order is the same
    tile), decoded as Starlette decodes them (``request.query_params.multi_items()``)."""
    return tuple(sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)))


async def tile_key(
    cache: AnswerCache, request: Request, layer: tiles.TileLayer, address: tiles.Tile
) -> Hashable:
    """The cache key of a tile: the layer's data version, the layer, the address and the whole
    query (only a query that once passed validation is ever stored under it)."""
    return await cache.key(
        request, (layer.name,), layer.name, address, query_key(request.scope["query_string"])
    )


def tile_response(data: bytes, tag: str, max_age_s: int, if_none_match: str | None) -> Response:
    """A tile's answer: 304 when the client has it, 204 when empty, else the MVT bytes."""
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age_s}"}
    if tiles.not_modified(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=tiles.MVT, headers=headers)


class WarmTiles:
    """Answer a GET (or HEAD, made a GET outside) for a tile kept in ``cache`` (see the module)."""

    def __init__(self, app: ASGIApp, cache: AnswerCache, max_age_s: int) -> None:
        self.app = app
        self.cache = cache
        self.max_age_s = max_age_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and self.cache.enabled:
            match = TILE_PATH.fullmatch(scope["path"])
            if match is not None:
                response = await self._kept(scope, match)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _kept(self, scope: Scope, match: re.Match[str]) -> Response | None:
        layer = tiles.TILE_LAYERS.get(match["collection"])
        if layer is None or match["tms"] != tiles.TMS_ID:
            return None
        try:
            address = tiles.parse_tile(match["z"], match["y"], match["x"])
        except GeoplanError:
            return None  # the route says what is wrong
        key = await tile_key(self.cache, Request(scope), layer, address)
        kept = self.cache.get(key)
        if kept is None:
            scope[LOOKED_UP] = key
            return None
        data, tag = kept
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        return tile_response(data, tag, self.max_age_s, if_none_match)
