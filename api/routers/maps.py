"""HTML map pages: ``/`` and ``/maps/overview``, ``/maps/premises``, ``/maps/premises/{id}``,
``/maps/areas/{slug}``.

Thin: each page is built by a function in ``maps/`` that reads through ``geoplan.mapdata``.
Bad filter values are 422 problem+json naming the parameter; an unknown area or premises is 404.
Every page takes ``?embed=1`` (the map alone, for an ``<iframe>`` on another site; see
``maps.embed``). A built page is kept until a layer it shows changes (the app's ``page_cache``, an
:class:`api.answer_cache.AnswerCache` keyed by the layers' ``data_versions``, as the warm tiles
are): a repeated page costs a lookup on the event loop — no connection, no thread. A page
not kept is built in one thread-pool crossing (:func:`api.deps.on_read_connection`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api import search_filters
from api.answer_cache import AnswerCache
from api.conditional import MAP_LAYERS
from api.deps import app_walk, on_read_connection
from geoplan.geo import municipalities
from maps.area import render_area_map
from maps.embed import Embedding
from maps.listing import render_listing_map
from maps.overview import render_overview
from maps.search import render_premises_map

router = APIRouter(tags=["maps"])


async def embed_mode(
    embed: bool = Query(
        False,
        description="1: the map alone, for an <iframe> on another site: no side panel or result "
        "table, a link to the full page (sites allowed to embed it: GEOPLAN_FRAME_ANCESTORS).",
    ),
) -> bool:
    """``?embed=1`` (a dependency, so the page's own parameters come first in the docs; the
    premises map's filters, read by the route itself, come after it)."""
    return embed


EMBED = Depends(embed_mode)


async def _page(
    request: Request,
    build: Callable[[psycopg.Connection], str],
    *,
    primary: bool = False,
) -> HTMLResponse:
    """The page of this request: from the app's page cache, else ``build(conn)`` — on a read
    connection (the primary's when ``primary``), in one thread-pool crossing — and kept.

    The key: the map layers' versions, read *before* the page is built (so a kept page is
    never older than its key says), the path and query string as sent (``embed=1``
    included) and the day (pages say "ledig nå" by today's date). The app's settings
    (walking model, public URL, tile threshold) are fixed per app and so per cache."""
    cache: AnswerCache = request.app.state.page_cache
    key = await cache.key(
        request, MAP_LAYERS, request.url.path, request.scope["query_string"], date.today()
    )
    body = cache.get(key)
    if body is None:
        body = await on_read_connection(request, _encoded, build, primary=primary)
        cache.put(key, body, len(body))
    return HTMLResponse(body)


def _encoded(conn: psycopg.Connection, build: Callable[[psycopg.Connection], str]) -> bytes:
    return build(conn).encode()


def _link_base(request: Request) -> str:
    """Links in served pages are root-relative unless GEOPLAN_PUBLIC_URL says otherwise."""
    public = request.app.state.settings.public_url
    return public.rstrip("/") if public else ""


def _embedding(request: Request, embed: bool) -> Embedding:
    """The page's embed mode and the origins allowed to frame it (the app's settings)."""
    return Embedding(embed, tuple(request.app.state.settings.frame_ancestor_list))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/maps/overview", response_class=HTMLResponse, summary="Overview map (HTML)")
async def overview(
    request: Request,
    kommune: list[str] | None = Query(
        None,
        description="Municipality number(s) (kommunenummer) to show; repeat or "
        "comma-separate for several; default: every municipality the store serves",
    ),
    embed: bool = EMBED,
) -> HTMLResponse:
    """Boundary, focus areas, hubs, walking catchments and all vacant premises."""
    return await _page(
        request,
        lambda conn: render_overview(
            conn,
            link_base=_link_base(request),
            walk=app_walk(request),
            tiles_threshold=request.app.state.settings.map_tiles_threshold,
            kommuner=municipalities.scope(conn, kommune),
            embedding=_embedding(request, embed),
        ),
    )


@router.get(
    "/maps/premises",
    response_class=HTMLResponse,
    summary="Premises search map (HTML)",
    openapi_extra=search_filters.openapi(form=True),
)
async def premises_map(request: Request, embed: bool = EMBED) -> HTMLResponse:
    """Matching premises, the hubs and catchments the filter used, and a result table.

    Empty parameters (as a submitted HTML form sends them) mean "no filter"; otherwise the
    parameters and their checks are those of ``GET /premises``.
    """
    q = search_filters.premises_form_query(request)
    # hub= computes its walks in session temp tables, which a hot standby cannot create
    return await _page(
        request,
        lambda conn: render_premises_map(
            conn,
            q,
            link_base=_link_base(request),
            walk=app_walk(request),
            tiles_threshold=request.app.state.settings.map_tiles_threshold,
            embedding=_embedding(request, embed),
        ),
        primary=bool(request.query_params.get("hub")),
    )


@router.get("/maps/areas/{slug}", response_class=HTMLResponse, summary="Focus-area map (HTML)")
async def area_map(
    slug: str,
    request: Request,
    embed: bool = EMBED,
) -> HTMLResponse:
    """One focus area: identity, the hubs serving it with catchments, premises around it."""
    return await _page(
        request,
        lambda conn: render_area_map(
            conn,
            slug,
            link_base=_link_base(request),
            walk=app_walk(request),
            embedding=_embedding(request, embed),
        ),
    )


@router.get(
    "/maps/premises/{premises_id}", response_class=HTMLResponse, summary="One premises (HTML)"
)
async def premises_page(
    premises_id: str,
    request: Request,
    embed: bool = EMBED,
) -> HTMLResponse:
    """One vacant premises: its facts in words, on a map with its nearest hub's walking rings."""
    return await _page(
        request,
        lambda conn: render_listing_map(
            conn,
            premises_id,
            link_base=_link_base(request),
            walk=app_walk(request),
            embedding=_embedding(request, embed),
        ),
    )
