"""``/proximity``: nearest hubs on foot, walking catchments and coverage of vacant premises.

Thin: each endpoint checks nothing itself and calls one function in :mod:`geoplan.proximity`,
whose ``ValidationError(field=...)`` becomes a 422 problem naming the field. ``/nearest``, asked
for every click on a map and every site a developer looks at, runs on the asyncio read pool
(:func:`api.deps.read_connection`, no worker thread, the replica when there is one); the
catchments and the coverage run on the primary in one thread-pool crossing
(:func:`api.deps.on_primary`): they build temporary tables.
"""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import app_walk, on_primary, read_connection
from api.geojson import GEOJSON, geojson_responses
from geoplan import proximity
from geoplan.geo import municipalities

router = APIRouter(prefix="/proximity", tags=["proximity"])


@router.get("/nearest", summary="The k nearest transit hubs on foot from a point")
async def nearest(
    request: Request,
    lon: float = Query(..., description="Longitude (WGS84)", examples=[10.9548]),
    lat: float = Query(..., description="Latitude (WGS84)", examples=[59.9267]),
    k: int = Query(3, description=f"How many hubs (1–{proximity.MAX_K})"),
) -> dict:
    """Each hub with straight-line and walking distance, walking minutes and the ``method``
    (``network`` or ``straight_line`` = straight line × detour factor), nearest on foot first."""
    margin_m = request.app.state.settings.region_margin_m
    walk = app_walk(request)
    async with read_connection(request) as conn:
        return await proximity.nearest_report_async(conn, lon, lat, k, walk=walk, margin_m=margin_m)


@router.get(
    "/catchments",
    summary="Walking catchments of hubs as GeoJSON (WGS84)",
    response_class=JSONResponse,
    responses=geojson_responses("Catchment polygons with hub, minutes and method."),
)
async def catchments(
    request: Request,
    hub: str | None = Query(None, description="Hub id; all hubs when omitted"),
    minutes: float | None = Query(
        None, description="Walking minutes; stored for 5, 10 and 15, others computed on demand"
    ),
) -> JSONResponse:
    fc = await on_primary(
        request, proximity.catchments_geojson, hub, minutes, walk=app_walk(request)
    )
    return JSONResponse(fc, media_type=GEOJSON)


@router.get("/coverage", summary="Vacant premises within 5/10/15 min walk of hubs, per area")
async def coverage(
    request: Request,
    kommune: list[str] | None = Query(
        None,
        description="Only these municipalities' premises and focus areas (kommunenummer); "
        "repeat or comma-separate for several; default: everything in the store",
    ),
) -> dict:
    return await on_primary(request, _coverage, app_walk(request), kommune)


def _coverage(
    conn: psycopg.Connection, walk: proximity.WalkSettings, kommune: list[str] | None
) -> dict:
    return proximity.coverage_report(conn, walk=walk, kommuner=municipalities.scope(conn, kommune))
