"""HTML map pages: ``/`` and ``/maps/overview``, ``/maps/premises``, ``/maps/premises/{id}``,
``/maps/areas/{slug}``.

Thin: each page is built by a function in ``maps/`` that reads through ``geoplan.mapdata``.
Bad filter values are 422 problem+json naming the parameter; an unknown area or premises is 404.
"""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.answer_cache import AnswerCache
from api.deps import app_walk, get_read_conn, read_conn_unless
from api.search_filters import premises_form_query
from geoplan.geo import municipalities
from geoplan.premises import PremisesQuery
from geoplan.store.snapshot import read_snapshot
from maps.area import render_area_map
from maps.listing import render_listing_map
from maps.overview import render_overview
from maps.search import render_premises_map

router = APIRouter(tags=["maps"])


def _link_base(request: Request) -> str:
    """Links in served pages are root-relative unless GEOPLAN_PUBLIC_URL says otherwise."""
    public = request.app.state.settings.public_url
    return public.rstrip("/") if public else ""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/maps/overview", response_class=HTMLResponse, summary="Overview map (HTML)")
def overview(
    request: Request,
    conn: psycopg.Connection = Depends(get_read_conn),
    kommune: list[str] | None = Query(
        None,
        description="Municipality number(s) (kommunenummer) to show; repeat or "
        "comma-separate for several; default: every municipality the store serves",
    ),
) -> HTMLResponse:
    """Boundary, focus areas, hubs, walking catchments and all vacant premises."""
    # the page as last rendered is sent again while the database snapshot is the same (no
    # commit since): with 10⁶ premises a render takes ≈ 0.5–1 s (counting them, folium), the
    # snapshot read ≈ 0.1 ms (see api/answer_cache.py)
    kommuner = municipalities.scope(conn, kommune)
    cache: AnswerCache = request.app.state.page_cache
    link_base = _link_base(request)
    key = ("overview", read_snapshot(conn), tuple(kommuner or ()), link_base)
    page = cache.get(key)
    if page is None:
        page = render_overview(
            conn,
            link_base=link_base,
            walk=app_walk(request),
            tiles_threshold=request.app.state.settings.map_tiles_threshold,
            kommuner=kommuner,
        )
        cache.put(key, page, len(page))
    return HTMLResponse(page)


@router.get("/maps/premises", response_class=HTMLResponse, summary="Premises search map (HTML)")
def premises_map(
    request: Request,
    conn: psycopg.Connection = Depends(read_conn_unless("hub")),
    q: PremisesQuery = Depends(premises_form_query),
) -> HTMLResponse:
    """Matching premises, the hubs and catchments the filter used, and a result table.

    Empty parameters (as a submitted HTML form sends them) mean "no filter"; otherwise the
    parameters and their checks are those of ``GET /premises``.
    """
    return HTMLResponse(
        render_premises_map(
            conn,
            q,
            link_base=_link_base(request),
            walk=app_walk(request),
            tiles_threshold=request.app.state.settings.map_tiles_threshold,
        )
    )


@router.get("/maps/areas/{slug}", response_class=HTMLResponse, summary="Focus-area map (HTML)")
def area_map(
    slug: str, request: Request, conn: psycopg.Connection = Depends(get_read_conn)
) -> HTMLResponse:
    """One focus area: identity, the hubs serving it with catchments, premises around it."""
    return HTMLResponse(
        render_area_map(conn, slug, link_base=_link_base(request), walk=app_walk(request))
    )


@router.get(
    "/maps/premises/{premises_id}", response_class=HTMLResponse, summary="One premises (HTML)"
)
def premises_page(
    premises_id: str, request: Request, conn: psycopg.Connection = Depends(get_read_conn)
) -> HTMLResponse:
    """One vacant premises: its facts in words, on a map with its nearest hub's walking rings."""
    return HTMLResponse(
        render_listing_map(conn, premises_id, link_base=_link_base(request), walk=app_walk(request))
    )
